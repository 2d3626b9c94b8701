"""The metric table: right names per vLLM version, and the only place that spells them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from promtool_harness import all_promql, exported_names, render

from vllmkube import metrics, versions
from vllmkube.versions import VllmVersion

REPO = Path(__file__).resolve().parent.parent
NEWEST = versions.NEWEST_VLLM
_newest_minor = VllmVersion.parse_plain(NEWEST).parts[1]
# Every minor from 0.8 to the newest, plus the patch releases around the renames.
VERSIONS = sorted({f"0.{m}.0" for m in range(8, _newest_minor + 1)} | {"0.8.5", "0.9.1", "0.9.2", "0.10.2", "0.11.2", NEWEST},
                  key=lambda s: VllmVersion.parse_plain(s))
VLLM_NAME = re.compile(r"vllm:[a-zA-Z_:][a-zA-Z0-9_:]*")


@pytest.mark.parametrize("version", VERSIONS)
def test_each_signal_gets_the_newest_name_the_version_exports(version):
    v = VllmVersion.parse_plain(version)
    oracle = exported_names(version)  # written from the facts file, independently of metrics.py
    assert set(metrics.SIGNALS) == set(oracle)
    for signal in metrics.SIGNALS:
        assert metrics.name(signal, v) == oracle[signal][-1], (version, signal)
        assert metrics.exported(metrics.name(signal, v), v)


@pytest.mark.parametrize("version, kv, itl", [
    ("0.8.0", "vllm:gpu_cache_usage_perc", "vllm:time_per_output_token_seconds"),
    ("0.9.1", "vllm:gpu_cache_usage_perc", "vllm:time_per_output_token_seconds"),
    ("0.9.2", "vllm:kv_cache_usage_perc", "vllm:time_per_output_token_seconds"),
    ("0.10.0", "vllm:kv_cache_usage_perc", "vllm:time_per_output_token_seconds"),
    ("0.10.2", "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),
    ("0.11.0", "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),
    ("0.12.0", "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),
    (NEWEST, "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),
])
def test_renamed_signals_by_version(version, kv, itl):
    v = VllmVersion.parse_plain(version)
    assert metrics.name("kv_usage", v) == kv
    assert metrics.name("itl", v) == itl


def test_hidden_and_removed_names_are_not_exported():
    assert not metrics.exported("vllm:gpu_cache_usage_perc", VllmVersion.parse_plain("0.11.0"))
    assert metrics.exported("vllm:gpu_cache_usage_perc", VllmVersion.parse_plain("0.10.2"))
    assert not metrics.exported("vllm:time_per_output_token_seconds_bucket", VllmVersion.parse_plain("0.12.0"))
    assert metrics.exported("vllm:time_per_output_token_seconds_bucket", VllmVersion.parse_plain("0.11.0"))
    assert not metrics.exported("vllm:kv_cache_usage_perc", VllmVersion.parse_plain("0.9.1"))
    assert metrics.replacement("vllm:gpu_cache_usage_perc", versions.newest()) == "vllm:kv_cache_usage_perc"


def test_the_table_starts_at_0_8():
    with pytest.raises(KeyError):
        metrics.name("queue", VllmVersion.parse_plain("0.7.3"))


def test_nothing_outside_the_table_spells_a_vllm_metric_name():
    # lint/metricnames.py: names outside vLLM's table (the production-stack router's, V0 leftovers)
    files = [p for p in (REPO / "vllmkube").rglob("*.py") if p.name not in ("metrics.py", "metricnames.py")]
    files += list((REPO / "templates").glob("*"))
    assert any(p.name == "rules.py" for p in files)
    offenders = [f"{p.relative_to(REPO)}: {m}" for p in files if p.is_file()
                 for m in VLLM_NAME.findall(p.read_text(encoding="utf-8"))]
    assert offenders == []


def _names_used(docs) -> set[str]:
    used = set()
    for _, expr in all_promql(docs):
        for name in VLLM_NAME.findall(expr):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return used


@pytest.mark.parametrize("version", ["0.8.5", "0.10.2", "0.11.0", NEWEST])
def test_render_uses_only_names_the_version_exports(version):
    _, docs = render(model="llama-3.1-8b", gpu="h100", vllm_version=version)
    exported = {n for names in exported_names(version).values() for n in names}
    used = _names_used(docs)
    assert used <= exported, sorted(used - exported)
    assert {"vllm:num_requests_waiting", "vllm:time_to_first_token_seconds"} <= used


def test_0_10_0_and_newest_render_their_own_names():
    """`vllmkube render --model llama-3.1-8b --gpu h100 --vllm-version 0.10.0` vs the default."""
    _, old = render(model="llama-3.1-8b", gpu="h100", vllm_version="0.10.0")
    _, new = render(model="llama-3.1-8b", gpu="h100")
    old_names, new_names = _names_used(old), _names_used(new)
    assert "vllm:time_per_output_token_seconds" in old_names and "vllm:inter_token_latency_seconds" not in old_names
    assert "vllm:inter_token_latency_seconds" in new_names and "vllm:time_per_output_token_seconds" not in new_names
    for names in (old_names, new_names):
        assert "vllm:kv_cache_usage_perc" in names and "vllm:gpu_cache_usage_perc" not in names
    kv_query = {t["name"]: t["metadata"]["query"] for t in new["ScaledObject"][0]["spec"]["triggers"]}["kv-cache-usage"]
    assert kv_query.startswith("avg(vllm:kv_cache_usage_perc{")


def test_cli_render_0_10_0_uses_its_names(capsys):
    from clirun import run as cli

    old = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--vllm-version", "0.10.0")
    new = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100")
    assert old.code == new.code == 0, old.err + new.err
    assert "vllm:time_per_output_token_seconds_bucket" in old.out and "vllm:inter_token_latency" not in old.out
    assert "vllm:inter_token_latency_seconds_bucket" in new.out and "vllm:time_per_output_token" not in new.out
