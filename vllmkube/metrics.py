"""The vLLM metric table: which name each signal has in which vLLM version.

Scaler queries, recording rules, alerts and the dashboard take metric names from
here; nothing else in the package or the templates spells a vLLM metric name
(tests/test_metrics.py greps for it).

The table covers vLLM 0.8 (V1 engine by default) to ``versions.NEWEST_VLLM``.
Sources (shared reference kubernetes-vllm-facts.md section 2): vLLM 0.33.0 wheel
(v1/metrics/loggers.py); renames in PR #18354 (kv_cache_usage_perc and prefix_cache_*
added, 0.9.2), PR #24245 (old names hidden in 0.11), PR #29330 (removed in 0.12),
PR #24110 (inter_token_latency_seconds added and time_per_output_token_seconds
deprecated in 0.11), PR #29330 again (time_per_output_token_seconds hidden in 0.12).
The deprecation policy is: deprecated in X.Y, hidden in X.Y+1, removed in X.Y+2. A
hidden metric is not exported unless --show-hidden-metrics-for-version is set, so
"exported" here means visible by default, and a row's ``until`` is the version that
hides it.

Counters are listed as exposed (``_total``); histograms without their
``_bucket``/``_sum``/``_count`` suffixes.
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

FLOOR = "0.8.0"  # the oldest version the table speaks for (V1 engine by default)
_INF = "999.0.0"


@dataclass(frozen=True)
class MetricName:
    signal: Signal
    name: str  # as exposed on /metrics (counters with _total, histograms without suffix)
    kind: Kind
    since: str  # first version exporting it by default (FLOOR: already there at 0.8)
    until: str = _INF  # first version no longer exporting it by default (hidden or removed)


# One row per exposed name. Where two names of one signal overlap, the later row wins:
# a version that exports both the deprecated and the new name gets the new one.
TABLE: tuple[MetricName, ...] = (
    MetricName("queue", "vllm:num_requests_waiting", "gauge", FLOOR),
    MetricName("running", "vllm:num_requests_running", "gauge", FLOOR),
    MetricName("kv_usage", "vllm:gpu_cache_usage_perc", "gauge", FLOOR, "0.11.0"),
    MetricName("kv_usage", "vllm:kv_cache_usage_perc", "gauge", "0.9.2"),
    MetricName("ttft", "vllm:time_to_first_token_seconds", "histogram", FLOOR),
    MetricName("itl", "vllm:time_per_output_token_seconds", "histogram", FLOOR, "0.12.0"),
    MetricName("itl", "vllm:inter_token_latency_seconds", "histogram", "0.11.0"),
    MetricName("e2e", "vllm:e2e_request_latency_seconds", "histogram", FLOOR),
    # V1 declares the counter "vllm:num_preemptions"; the exposed name kept its _total.
    MetricName("preemptions", "vllm:num_preemptions_total", "counter", FLOOR),
    MetricName("prefix_cache_hits", "vllm:gpu_prefix_cache_hits_total", "counter", FLOOR, "0.11.0"),
    MetricName("prefix_cache_hits", "vllm:prefix_cache_hits_total", "counter", "0.9.2"),
    MetricName("prefix_cache_queries", "vllm:gpu_prefix_cache_queries_total", "counter", FLOOR, "0.11.0"),
    MetricName("prefix_cache_queries", "vllm:prefix_cache_queries_total", "counter", "0.9.2"),
    MetricName("prompt_tokens", "vllm:prompt_tokens_total", "counter", FLOOR),
    MetricName("generation_tokens", "vllm:generation_tokens_total", "counter", FLOOR),
    MetricName("request_success", "vllm:request_success_total", "counter", FLOOR),
)

SIGNALS: tuple[str, ...] = tuple(dict.fromkeys(m.signal for m in TABLE))
KNOWN_NAMES = frozenset(m.name for m in TABLE)


def _exported(m: MetricName, v: VllmVersion) -> bool:
    return v.at_least(m.since) and not v.at_least(m.until)


def name(signal: Signal, v: VllmVersion) -> str:
    """The name ``signal`` has in vLLM ``v`` (the newest name when two are exported)."""
    if not v.at_least(FLOOR):
        raise KeyError(f"the metric table starts at vLLM {FLOOR}, not {v}")
    found = [m.name for m in TABLE if m.signal == signal and _exported(m, v)]
    if not found:
        raise KeyError(f"vLLM {v} exports no metric for {signal}")
    return found[-1]


def names(v: VllmVersion) -> dict[str, str]:
    """signal -> name for every signal of the table."""
    return {s: name(s, v) for s in SIGNALS}  # type: ignore[arg-type]


def kind(signal: Signal) -> Kind:
    return next(m.kind for m in TABLE if m.signal == signal)


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

