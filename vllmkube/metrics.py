"""The vLLM metric table: which name each signal has in which vLLM version.

Scaler queries, recording rules, alerts and the dashboard take metric names from
here; nothing else in the package or the templates spells a vLLM metric name
(tests/test_metrics.py greps for it).

Which release exports which name is not written here: it is read from the metrics
each release's wheel declares (``releases.py``, tools/extract_vllm.py). Exported means
visible on /metrics of a default server: declared by the V1 engine and not only under
``--show-hidden-metrics-for-version``. What is written here is which names carry the same
signal, oldest first, and why they changed (shared reference kubernetes-vllm-facts.md
section 2): PR #18354 added kv_cache_usage_perc and prefix_cache_* (0.9.2) and PR #24245 hid
the old names in 0.11, PR #29330 removed them; PR #24110 added inter_token_latency_seconds
and deprecated time_per_output_token_seconds (0.11), PR #29330 hid it. The deprecation policy
is: deprecated in X.Y, hidden in X.Y+1, removed in X.Y+2.

Counters are listed as exposed (``_total``); histograms without their
``_bucket``/``_sum``/``_count`` suffixes.
"""
from __future__ import annotations

from functools import cache
from typing import Literal, NamedTuple

from . import releases, versions
from .versions import VllmVersion

Signal = Literal[
    "queue", "running", "kv_usage", "ttft", "itl", "e2e", "preemptions",
    "prefix_cache_hits", "prefix_cache_queries", "prompt_tokens", "generation_tokens", "request_success",
]
Kind = Literal["gauge", "counter", "histogram"]

FLOOR = versions.RELEASES[0]  # the oldest release the table speaks for
_SUFFIXES = ("_bucket", "_sum", "_count")


class MetricName(NamedTuple):
    signal: Signal
    name: str  # as exposed on /metrics (counters with _total, histograms without suffix)
    kind: Kind


# Names of one signal, oldest first: a version exporting two of them gets the later one.
TABLE: tuple[MetricName, ...] = (
    MetricName("queue", "vllm:num_requests_waiting", "gauge"),
    MetricName("running", "vllm:num_requests_running", "gauge"),
    MetricName("kv_usage", "vllm:gpu_cache_usage_perc", "gauge"),
    MetricName("kv_usage", "vllm:kv_cache_usage_perc", "gauge"),
    MetricName("ttft", "vllm:time_to_first_token_seconds", "histogram"),
    MetricName("itl", "vllm:time_per_output_token_seconds", "histogram"),
    MetricName("itl", "vllm:inter_token_latency_seconds", "histogram"),
    MetricName("e2e", "vllm:e2e_request_latency_seconds", "histogram"),
    # V1 declares the counter "vllm:num_preemptions"; the exposed name kept its _total.
    MetricName("preemptions", "vllm:num_preemptions_total", "counter"),
    MetricName("prefix_cache_hits", "vllm:gpu_prefix_cache_hits_total", "counter"),
    MetricName("prefix_cache_hits", "vllm:prefix_cache_hits_total", "counter"),
    MetricName("prefix_cache_queries", "vllm:gpu_prefix_cache_queries_total", "counter"),
    MetricName("prefix_cache_queries", "vllm:prefix_cache_queries_total", "counter"),
    MetricName("prompt_tokens", "vllm:prompt_tokens_total", "counter"),
    MetricName("generation_tokens", "vllm:generation_tokens_total", "counter"),
    MetricName("request_success", "vllm:request_success_total", "counter"),
)

SIGNALS: tuple[str, ...] = tuple(dict.fromkeys(m.signal for m in TABLE))
@cache
def known_names() -> frozenset[str]:
    """Every vllm: name any extracted release declares (hidden and V0-only ones included)."""
    return frozenset(n for r in releases.all_releases() for n in r.metrics)


def __getattr__(attr: str):
    if attr == "KNOWN_NAMES":  # computed on first use: it reads every release's data
        return known_names()
    raise AttributeError(attr)


def _judges(v: VllmVersion) -> list[releases.Release]:
    """The release(s) that answer for ``v``: itself, or the extracted releases around it."""
    return [r for r in dict.fromkeys(releases.around(v)) if r is not None]


def name(signal: Signal, v: VllmVersion) -> str:
    """The name ``signal`` has in vLLM ``v`` (the newest name when two are exported)."""
    if not v.at_least(FLOOR):
        raise KeyError(f"the metric table starts at vLLM {FLOOR}, not {v}")
    below, above = releases.around(v)
    judge = below or above
    found = [m.name for m in TABLE if m.signal == signal and judge.exports(m.name)]
    if not found:
        raise KeyError(f"vLLM {v} exports no metric for {signal}")
    return found[-1]


def names(v: VllmVersion) -> dict[str, str]:
    """signal -> name for every signal of the table."""
    return {s: name(s, v) for s in SIGNALS}  # type: ignore[arg-type]


def kind(signal: Signal) -> Kind:
    return next(m.kind for m in TABLE if m.signal == signal)


def exported(metric: str, v: VllmVersion) -> bool:
    """Whether vLLM ``v`` exports ``metric`` (histogram series suffixes accepted).

    Names no extracted release declares are not judged (True): vLLM builds some names at
    run time (KV-connector families). Between two extracted releases, either exporting it counts.
    """
    known = known_names()
    base = metric
    for suffix in _SUFFIXES:
        if metric.endswith(suffix) and metric[: -len(suffix)] in known:
            base = metric[: -len(suffix)]
    if base not in known:
        return True
    return any(r.exports(base) for r in _judges(v))


def replacement(metric: str, v: VllmVersion) -> str | None:
    """The name ``v`` uses for the signal of a name it does not export."""
    for m in TABLE:
        if m.name == metric:
            try:
                return name(m.signal, v)
            except KeyError:
                return None
    return None

