"""serveargs.check: a vLLM command line against the option set the release's own parser has,
and every example's rendered vLLM command lines parsed that way."""
from __future__ import annotations

import shlex

import importlib.util
from pathlib import Path

import pytest

from vllmkube import releases, serveargs, versions
from vllmkube.yamlio import load_all

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/vllmkube.yaml"))
NEWEST = versions.NEWEST_VLLM
OLDEST = versions.RELEASES[0]


@pytest.mark.parametrize("argv", [
    ["/models/m", "--max-model-len", "4096", "--tensor-parallel-size=2"],
    ["m", "-tp", "2", "--enforce-eager", "--port", "8000"],
    ["m", "--no-enable-prefix-caching", "--enable-chunked-prefill"],
    ["m", "--served-model-name", "a", "b", "--host", "0.0.0.0"],
    ["m", "--max_model_len", "4096"],  # underscores: vLLM's FlexibleArgumentParser
    ["m", "--max-model", "4096"],  # a unique prefix: argparse's allow_abbrev
    ["--port", "$(PORT)", "m"],
    ["m", "--gpu-memory-utilization", "0.9", "--seed", "-1"],
    [],
])
def test_lines_the_newest_parser_accepts(argv):
    assert serveargs.check(argv, NEWEST) == []


@pytest.mark.parametrize("argv, problem", [
    (["m", "--max-model-lenght", "4096"], "unrecognized argument --max-model-lenght"),
    (["m", "extra"], "unrecognized argument 'extra'"),
    (["m", "--enforce-eager=true"], "takes no value"),
    (["m", "--max-model-len"], "expects a value"),
    (["m", "--max-model-len", "--port", "1"], "expects a value"),
    (["m", "--served-model-name"], "expects a value"),
    (["m", "--max"], "ambiguous option --max"),
    (["m", "--port", "80a"], "is not an int"),  # --max-model-len takes 4k: a vLLM converter
    (["m", "--gpu-memory-utilization", "90%"], "is not a float"),
    (["m", "--enable-prefix-caching=false"], "takes no value"),
    (["m", "--no-disable-log-requests"], "unrecognized argument"),
])
def test_lines_the_newest_parser_rejects(argv, problem):
    found = serveargs.check(argv, NEWEST)
    assert found and problem in found[0], found


def test_boolean_negative_forms_follow_the_release():
    r = releases.load(NEWEST)
    option = r.serve.lookup("--enable-prefix-caching")
    assert "--no-enable-prefix-caching" in option.negative
    assert serveargs.check(["m", "--no-enable-prefix-caching"], NEWEST) == []
    assert serveargs.check(["m", "--disable-log-requests"], "0.33.0") == []


def test_choices_are_checked_when_the_release_lists_them():
    r = releases.load(NEWEST)
    flag, option = next((n, o) for n, o in sorted(r.serve.options.items()) if o.takes_value and o.choices)
    good = str(option.choices[0])
    assert serveargs.check(["m", flag, good], NEWEST) == []
    assert "is not one of" in serveargs.check(["m", flag, "no-such-choice"], NEWEST)[0]


def test_the_api_server_module_takes_no_positional_model():
    assert serveargs.check(["--model", "m"], NEWEST, positional_model=False) == []
    assert serveargs.check(["m"], NEWEST, positional_model=False) == ["unrecognized argument 'm'"]


def test_a_version_without_data_is_refused():
    with pytest.raises(KeyError):
        serveargs.check(["m"], "0.10.9")  # inside the extracted range, but not a release with data


def test_a_release_newer_than_the_data_reads_as_the_newest():
    """--allow-unknown-vllm-version renders for it; its command line is checked as the newest release's."""
    assert serveargs.check(["m", "--no-such-flag"], "99.0.0") == serveargs.check(["m", "--no-such-flag"], versions.NEWEST_VLLM)
    assert serveargs.check(["m", "--no-such-flag"], "99.0.0")


def test_server_argv_finds_list_and_shell_forms():
    assert serveargs.server_argv({"command": ["vllm", "serve"], "args": ["m", "-tp", "2"]}) == (["m", "-tp", "2"], True)
    assert serveargs.server_argv({"command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                                  "args": ["--model", "m"]}) == (["--model", "m"], False)
    leader = {"command": ["/bin/sh", "-c"],
              "args": ["ray start --head --port=6379 && vllm serve m --tensor-parallel-size 8 \\\n --pipeline-parallel-size 2"]}
    assert serveargs.server_argv(leader) == (["m", "--tensor-parallel-size", "8", "--pipeline-parallel-size", "2"], True)
    worker = {"command": ["sh", "-c", "vllm serve m --headless --nnodes 2 --node-rank $(LWS_WORKER_INDEX)"]}
    assert serveargs.server_argv(worker)[0][-1] == "$(LWS_WORKER_INDEX)"
    assert serveargs.server_argv({"command": ["/bin/sh", "-c", "until [ -f x ]; do sleep 1; done"]}) is None


def _containers(node):
    """Every container of every pod template in a document (Deployment, LWS leader and worker, Job...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _containers(value)


def _render(folder: Path) -> str:
    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "examples" / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.render_example(folder)


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_every_example_command_line_parses_for_its_pinned_release(folder):
    lines = []
    for doc in load_all(_render(folder)):
        for c in _containers(doc):
            found = serveargs.server_argv(c)
            extra = next((e.get("value") for e in c.get("env") or [] if e.get("name") == "VLLM_ADDITIONAL_ARGS"), None)
            if not found and doc.get("kind") == "LLMInferenceService" and extra:
                found = (shlex.split(extra), False)  # KServe's preset runs vllm serve; these flags go after its own
            if found:
                image_tag = str(c.get("image", "")).rsplit(":", 1)[-1].lstrip("v")
                lines.append((c.get("name"), image_tag, *found))
    assert lines, "no vLLM server command line in the example"
    for name, tag, argv, positional in lines:
        assert tag in versions.RELEASES, f"{folder.name}/{name}: image tag {tag} has no extracted data"
        assert serveargs.check(argv, tag, positional) == [], (folder.name, name, argv)


@pytest.mark.parametrize("version", [OLDEST, "0.10.2", NEWEST])
def test_rendered_lines_parse_for_old_and_new_releases(version):
    from promtool_harness import render
    _, docs = render(model="llama-3.1-8b", gpu="h100", vllm_version=version)
    argv, positional = next(f for c in _containers(docs["Deployment"][0]) if (f := serveargs.server_argv(c)))
    assert serveargs.check(argv, version, positional) == []
