"""Compiled templates cached between runs never change the output, and a broken cache is skipped."""
from __future__ import annotations

import jinja2

from vllmkube import templatecache
from vllmkube.render import context, environment, q


def fresh_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=environment().loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters["q"] = q
    return env


def render_all(env: jinja2.Environment) -> str:
    from vllmkube.spec import RenderSpec, build
    from vllmkube.workflow import plan_render

    plan, _ = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf-token"}))
    return env.get_template("deployment.yaml.j2").render(context(plan))


def test_cached_code_renders_the_same(tmp_path):
    plain = render_all(fresh_env())
    first = fresh_env()
    templatecache.enable(first, tmp_path)
    assert render_all(first) == plain and any(tmp_path.iterdir())  # compiled and stored
    second = fresh_env()
    templatecache.enable(second, tmp_path)
    assert render_all(second) == plain  # loaded from the cache


def test_damaged_or_unwritable_cache_is_skipped(tmp_path):
    env = fresh_env()
    templatecache.enable(env, tmp_path)
    render_all(env)
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"garbage")
    damaged = fresh_env()
    templatecache.enable(damaged, tmp_path)
    assert render_all(damaged) == render_all(fresh_env())
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    env = fresh_env()
    templatecache.enable(env, blocked / "templates")  # cannot be created: no cache at all
    assert env.bytecode_cache is None and render_all(env)
