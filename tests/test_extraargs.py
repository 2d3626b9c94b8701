"""--extra-arg adds vllm serve flags; it may not change one the plan decides. Unknown vLLM releases are refused."""
from __future__ import annotations

import pytest

from clirun import run
from vllmkube import extraargs
from vllmkube.errors import InputError
from vllmkube.lint import lint_text

BASE = ["render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100"]


@pytest.mark.parametrize("extra,flag", [
    (["--tensor-parallel-size=2"], "--tensor-parallel-size"),
    (["-tp", "2"], "--tensor-parallel-size"),
    (["--tensor_parallel_size=2"], "--tensor-parallel-size"),
    (["--pipeline-parallel-size=2"], "--pipeline-parallel-size"),  # not spelled out at PP 1, still the plan's
    (["--data-parallel-size=2"], "--tensor-parallel-size"),  # more GPUs than the limit
    (["--max-model-len=32768"], "--max-model-len"),
    (["--port=9000"], "--port"),
    (["--served-model-name", "other"], "--served-model-name"),
    (["--quantization=fp8"], "--quantization"),
    (["--enable-prefix-caching"], "--enable-prefix-caching"),
    (["--kv-cache-memory-bytes=10G"], "--gpu-memory-utilization"),
    (["--model", "x"], "--model"),
])
def test_contradicting_extra_args_are_refused(capsys, extra, flag):
    r = run(capsys, *BASE, *[f"--extra-arg={a}" for a in extra])
    assert (r.code, r.out) == (2, "")
    line = r.err.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: --extra-arg: ") and flag in line


def test_added_flags_pass_through_and_lint_clean(capsys):
    r = run(capsys, *BASE, "--extra-arg=--max-num-queued-reqs=64", "--extra-arg=--enable-log-requests")
    assert r.code == 0, r.err
    assert '"--max-num-queued-reqs=64"' in r.out and '"--enable-log-requests"' in r.out
    errors = [f for f in lint_text(r.out, options=_no_schema()).findings if f.severity.label == "error"]
    assert errors == []


def _no_schema():
    from vllmkube.lint import LintOptions

    return LintOptions(schema=False)


def test_the_message_names_the_rendered_value():
    with pytest.raises(InputError) as err:
        extraargs.check({"--tensor-parallel-size": 1, "--enforce-eager": False}, ["-tp", "2"])
    assert "--tensor-parallel-size 1" in str(err.value)
    extraargs.check({"--tensor-parallel-size": 1}, ["--max-num-queued-reqs", "8"])  # not the plan's: fine


def test_a_vllm_release_newer_than_known_needs_an_explicit_override(capsys):
    refused = run(capsys, *BASE, "--vllm-version", "9.9.9")
    assert (refused.code, refused.out) == (2, "") and "--allow-unknown-vllm-version" in refused.err
    allowed = run(capsys, *BASE, "--vllm-version", "9.9.9", "--allow-unknown-vllm-version")
    assert allowed.code == 0 and '"vllm/vllm-openai:v9.9.9"' in allowed.out
    assert "warning: vLLM 9.9.9 is newer than" in allowed.err
    size = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "--vllm-version", "1.0.0")
    assert size.code == 2


def test_a_patch_release_newer_than_the_data_needs_the_override_too(capsys):
    """A patch release can change flags (the data has examples), so only extracted releases are known."""
    from vllmkube.versions import newest

    major, minor, patch = newest().parts
    newer = f"{major}.{minor}.{patch + 1}"
    r = run(capsys, *BASE, "--vllm-version", newer)
    assert r.code == 2 and "newer than" in r.err and r.out == ""
    r = run(capsys, *BASE, "--vllm-version", newer, "--allow-unknown-vllm-version")
    assert r.code == 0 and "newer than" in r.err and f"vllm-openai:v{newer}" in r.out
