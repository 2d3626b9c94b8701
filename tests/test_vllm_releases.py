"""The vLLM release data (vllmkube/data/vllm/*.json, written by tools/extract_vllm.py from the
wheels): it covers what the CLI accepts, carries provenance, and render, lint and the parse check
answer from it."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from clirun import run as cli

from vllmkube import flags, metrics, releases, serveargs, versions
from vllmkube.lint import lint_text
from vllmkube.versions import VllmVersion

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "vllmkube" / "data" / "vllm"
V = VllmVersion.parse_plain


def _tool():
    spec = importlib.util.spec_from_file_location("extract_vllm", ROOT / "tools" / "extract_vllm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_minor_from_0_8_to_the_newest_has_data():
    newest_minor = V(versions.NEWEST_VLLM).parts[1]
    minors = {V(r).parts[1] for r in versions.RELEASES}
    assert set(range(8, newest_minor + 1)) <= minors
    assert versions.RELEASES[0] == "0.8.0" and versions.NEWEST_VLLM == max(versions.RELEASES, key=V)


@pytest.mark.parametrize("version", versions.RELEASES)
def test_each_release_file_has_provenance_and_the_options_render_uses(version):
    path = DATA / f"{version}.json"
    data = json.loads(path.read_text())
    assert data["vllm"] == version
    prov = data["provenance"]
    assert re.fullmatch(rf"vllm-{re.escape(version)}-[\w.-]+\.whl", prov["wheel"])
    assert re.fullmatch(r"[0-9a-f]{64}", prov["sha256"])
    assert "argparse" in prov["options"]
    r = releases.load(version)
    for flag in ("--tensor-parallel-size", "-tp", "--max-model-len", "--gpu-memory-utilization", "--served-model-name",
                 "--no-enable-prefix-caching", "--max-num-seqs", "--max-num-batched-tokens", "--port", "--host"):
        assert r.serve.accepts(flag), (version, flag)
    assert "--input-file" in r.run_batch or "-i" in r.run_batch
    for signal in metrics.SIGNALS:
        assert r.metrics[metrics.name(signal, r.version)].kind == metrics.kind(signal)
    # deterministic, compact: the file is exactly what the tool's writer makes of its content
    assert path.read_text() == _tool().dump(data)
    assert path.stat().st_size < 120_000


def test_cli_renders_every_release_it_has_data_for_and_only_those(capsys):
    newest = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--vllm-version", versions.RELEASES[0])
    assert newest.code == 0, newest.err
    between = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--vllm-version", "0.33.7")
    assert between.code == 2 and between.out == ""
    assert "--vllm-version" in between.err and "0.33.7" in between.err and "docs/vllm-versions.md" in between.err
    assert "Traceback" not in between.err


def test_the_default_vllm_version_is_the_newest_release_with_data():
    from vllmkube.spec import RenderSpec
    assert RenderSpec.model_fields["vllm_version"].default == versions.NEWEST_VLLM


def test_disable_log_requests_is_what_each_release_parser_says():
    """The hand-written table said removed in 0.12; 0.33.0's own parser accepts it (it is the
    negative form of --enable-log-requests)."""
    assert flags.accepts("--disable-log-requests", V("0.33.0")) is True
    assert releases.load("0.33.0").serve.lookup("--disable-log-requests").name == "--enable-log-requests"
    assert flags.accepts("--disable-log-requests", V("0.8.5")) is True
    rejecting = [r for r in versions.RELEASES if not releases.load(r).serve.accepts("--disable-log-requests")]
    for r in rejecting:
        assert flags.accepts("--disable-log-requests", V(r)) is False


def _deployment(image: str, *args: str) -> str:
    lines = "\n".join(f"            - {json.dumps(a)}" for a in args)
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers:
        - name: vllm
          image: {image}
          command: [vllm, serve]
          args:
{lines}
"""


def _rejected(text: str) -> list[str]:
    return [f.message for f in lint_text(text, "m.yaml").findings if f.rule == "vllm-flag-rejected"]


def test_lint_accepts_disable_log_requests_on_0_33_0():
    assert _rejected(_deployment("vllm/vllm-openai:v0.33.0", "m", "--disable-log-requests")) == []


def test_lint_rejects_a_flag_no_release_accepts_and_one_the_release_lacks():
    found = _rejected(_deployment("vllm/vllm-openai:v0.33.0", "m", "--max-model-lenght", "4096"))
    assert len(found) == 1 and "no vLLM release accepts it" in found[0]
    first = flags.describe("--shutdown-timeout").since
    older = [r for r in versions.RELEASES if V(r) < V(first)][-1]
    found = _rejected(_deployment(f"vllm/vllm-openai:v{older}", "m", "--shutdown-timeout", "30"))
    assert len(found) == 1 and f"added in {first}" in found[0]


def test_a_version_between_extracted_releases_is_judged_by_both_neighbours():
    r = versions.RELEASES
    gaps = [(a, b) for a, b in zip(r, r[1:]) if V(a).parts[:2] == V(b).parts[:2] and V(b).parts[2] - V(a).parts[2] > 1]
    between = VllmVersion(*V(r[-1]).parts[:2], V(r[-1]).parts[2] + 1)  # past the newest: the newest answers
    assert flags.accepts("--tensor-parallel-size", between) is True
    assert flags.accepts("--no-such-flag", between) is None  # not judged
    for a, b in gaps:
        mid = VllmVersion(*V(a).parts[:2], V(a).parts[2] + 1)
        for flag in ("--shutdown-timeout", "--enable-log-requests", "--disable-log-requests"):
            either = releases.load(a).serve.accepts(flag) or releases.load(b).serve.accepts(flag)
            assert flags.accepts(flag, mid) is either


def test_batch_defaults_come_from_the_release():
    r = releases.load(versions.NEWEST_VLLM)
    assert r.batch_defaults, "the newest release should expose EngineArgs.get_batch_defaults"
    t = r.batch_defaults["80GiB"]
    assert releases.default_batching(r.version, 80, "hopper") == (t["max_num_batched_tokens"], t["max_num_seqs"])
    a100 = r.batch_defaults["80GiB-A100"]
    assert releases.default_batching(r.version, 80, "ampere") == (a100["max_num_batched_tokens"], a100["max_num_seqs"])


def test_a_setting_the_release_cannot_express_is_a_clear_input_error(capsys):
    """0.8.0's parser has no --no-enable-chunked-prefill (its --enable-chunked-prefill takes a value)."""
    assert not releases.load("0.8.0").serve.accepts("--no-enable-chunked-prefill")
    res = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--vllm-version", "0.8.0",
              "--no-chunked-prefill")
    assert res.code == 2 and res.out == "" and "--no-enable-chunked-prefill" in res.err and "Traceback" not in res.err
