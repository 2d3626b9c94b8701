"""The fast loader render uses to check its own documents."""
import platform

import pytest

from vllmkube import yamlio


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="ruamel.yaml.clib is CPython only")
def test_render_parses_back_with_libyaml():
    """ruamel.yaml.clib is a dependency on CPython; without it render is ~7x slower (benchmarks/cli_latency.py)."""
    assert yamlio.uses_c_parser()


def test_plain_loader_reads_plain_data_and_rejects_duplicate_keys():
    """The config loader (vllmkube.yaml) and Document.data."""
    assert yamlio.load_plain_one('a: "1"\nb: [1, 2.5, true]\nc: {d: null}\n') == {
        "a": "1", "b": [1, 2.5, True], "c": {"d": None}}
    with pytest.raises(Exception):
        yamlio.load_plain_one("a: 1\na: 2\n")


PATHS = (("apiVersion",), ("kind",), ("metadata", "name"))


def test_outline_returns_the_scalars_asked_for():
    text = 'apiVersion: v1\nkind: "Service"\nmetadata:\n  name: web\n  labels: {a: b}\nspec:\n  ports: [{name: x}]\n'
    assert yamlio.outline(text, PATHS) == {("apiVersion",): "v1", ("kind",): "Service", ("metadata", "name"): "web"}
    # nulls and paths below a sequence are not the mapping's scalars
    assert yamlio.outline("kind: null\nitems:\n  - name: a\n", (("kind",), ("name",))) == {}


@pytest.mark.parametrize("text, problem", [
    ("a: 1\nb:\n  c: 1\n  c: 2\n", "duplicate key 'c' at line 4"),
    ("a: 1\n---\nb: 2\n", "a second document"),
    ("- a\n- b\n", "not a mapping"),
    ("a: &x 1\nb: *x\n", "anchor or alias"),
    ("a: !!binary aGk=\n", "explicit tag"),
    ("a: !!str 1\n", "explicit tag"),
    ("? [a]\n: 1\n", "not a plain value"),
    ("a: [1, 2\n", "expected"),  # libyaml's own syntax error
    ("", "no document"),
])
@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
def test_outline_rejects_what_a_manifest_must_not_hold(text, problem, parser):
    """Both parsers: libyaml's (ruamel.yaml.clib), and the pure-Python one used where clib is missing."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True) if parser == "pure-python" else None
    if parser == "libyaml" and not yamlio.uses_c_parser():
        pytest.skip("ruamel.yaml.clib is not installed")
    with pytest.raises(Exception, match=problem):
        yamlio.outline(text, PATHS, yaml)


def test_outline_agrees_with_the_full_loader_on_every_example():
    """Render checks its documents with outline; every golden example's documents pass it and
    name the same kind and name as a full load (a quoted, escaped or block scalar included)."""
    from pathlib import Path

    streams = sorted(Path(__file__).resolve().parent.parent.glob("examples/*/rendered.yaml"))
    assert streams
    from ruamel.yaml import YAML

    pure = YAML(typ="safe", pure=True)
    for stream in streams:
        for text in stream.read_text().split("\n---\n")[1:]:
            full = yamlio.load_plain_one(text)
            top = yamlio.outline(text, PATHS)
            assert (top[("kind",)], top[("metadata", "name")]) == (full["kind"], full["metadata"]["name"]), stream
            assert yamlio.outline(text, PATHS, pure) == top
