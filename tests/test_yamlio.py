"""The fast loader render uses to check its own documents."""
import platform

import pytest

from vllmkube import yamlio


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="ruamel.yaml.clib is CPython only")
def test_render_parses_back_with_libyaml():
    """ruamel.yaml.clib is a dependency on CPython; without it render is ~7x slower (benchmarks/cli_latency.py)."""
    assert yamlio.uses_c_parser()


def test_plain_loader_reads_plain_data_and_rejects_duplicate_keys():
    assert yamlio.load_plain_all('---\na: "1"\nb: [1, 2.5, true]\n---\n---\nc: {d: null}\n') == [
        {"a": "1", "b": [1, 2.5, True]}, {"c": {"d": None}}]
    with pytest.raises(Exception):
        yamlio.load_plain_all("a: 1\na: 2\n")
