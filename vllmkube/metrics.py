"""The vLLM metric table: which name each signal has in which vLLM version.

Scaler queries, recording rules, alerts, the dashboard and lint all take metric names
from here; nothing else spells a vLLM metric name.

Sources (shared reference kubernetes-vllm-facts.md section 2): vLLM 0.33.0 wheel
(v1/metrics/loggers.py); renames in PR #18354 (kv_cache_usage_perc and prefix_cache_*
added, 0.9.2), PR #24245 (old names hidden in 0.11), PR #29330 (removed in 0.12),
PR #24110 (inter_token_latency_seconds added and time_per_output_token_seconds
deprecated in 0.11, hidden in 0.12). A hidden metric is not exported unless
--show-hidden-metrics-for-version is set, so "exported" means visible by default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .versions import VllmVersion

Signal = Literal[
    "queue", "running", "kv_usage", "ttft", "itl", "e2e", "preemptions",
    "prefix_cache_hits", "prefix_cache_queries", "prompt_tokens", "generation_tokens", "request_success",
]
Kind = Literal["gauge", "counter", "histogram"]

_INF = "999.0.0"


@dataclass(frozen=True)
class MetricName:
    signal: Signal
    name: str  # as exposed on /metrics (counters with _total, histograms without suffix)
    kind: Kind
    since: str  # first version exporting it by default
    until: str = _INF  # first version no longer exporting it by default


# One row per exposed name. Where two names overlap, the later row wins.
TABLE: tuple[MetricName, ...] = (
    MetricName("queue", "vllm:num_requests_waiting", "gauge", "0.1.0"),
    MetricName("running", "vllm:num_requests_running", "gauge", "0.1.0"),
    MetricName("kv_usage", "vllm:gpu_cache_usage_perc", "gauge", "0.1.0", "0.11.0"),
    MetricName("kv_usage", "vllm:kv_cache_usage_perc", "gauge", "0.9.2"),
    MetricName("ttft", "vllm:time_to_first_token_seconds", "histogram", "0.1.0"),
    MetricName("itl", "vllm:time_per_output_token_seconds", "histogram", "0.1.0", "0.12.0"),
    MetricName("itl", "vllm:inter_token_latency_seconds", "histogram", "0.11.0"),
    MetricName("e2e", "vllm:e2e_request_latency_seconds", "histogram", "0.1.0"),
    MetricName("preemptions", "vllm:num_preemptions_total", "counter", "0.1.0"),
    MetricName("prefix_cache_hits", "vllm:gpu_prefix_cache_hits_total", "counter", "0.8.0", "0.11.0"),
    MetricName("prefix_cache_hits", "vllm:prefix_cache_hits_total", "counter", "0.9.2"),
    MetricName("prefix_cache_queries", "vllm:gpu_prefix_cache_queries_total", "counter", "0.8.0", "0.11.0"),
    MetricName("prefix_cache_queries", "vllm:prefix_cache_queries_total", "counter", "0.9.2"),
    MetricName("prompt_tokens", "vllm:prompt_tokens_total", "counter", "0.1.0"),
    MetricName("generation_tokens", "vllm:generation_tokens_total", "counter", "0.1.0"),
    MetricName("request_success", "vllm:request_success_total", "counter", "0.1.0"),
)

# Names a version never exports although older/other versions did (for lint messages).
KNOWN_NAMES = frozenset(m.name for m in TABLE)


def _exported(m: MetricName, v: VllmVersion) -> bool:
    return v.at_least(m.since) and not v.at_least(m.until)


def name(signal: Signal, v: VllmVersion) -> str:
    """The name ``signal`` has in vLLM ``v`` (the newest name when two are exported)."""
    found = [m.name for m in TABLE if m.signal == signal and _exported(m, v)]
    if not found:
        raise KeyError(f"vLLM {v} exports no metric for {signal}")
    return found[-1]


def names(v: VllmVersion) -> dict[str, str]:
    return {m.signal: name(m.signal, v) for m in TABLE}


def exported(metric: str, v: VllmVersion) -> bool:
    """Whether vLLM ``v`` exports ``metric`` (histogram series suffixes accepted)."""
    base = metric
    for suffix in ("_bucket", "_sum", "_count"):
        if metric.endswith(suffix) and metric[: -len(suffix)] in KNOWN_NAMES:
            base = metric[: -len(suffix)]
    rows = [m for m in TABLE if m.name == base]
    return any(_exported(m, v) for m in rows) if rows else True  # names we do not track are not judged


def replacement(metric: str, v: VllmVersion) -> str | None:
    """The name ``v`` uses for the signal of a name it does not export."""
    for m in TABLE:
        if m.name == metric:
            try:
                return name(m.signal, v)
            except KeyError:
                return None
    return None
