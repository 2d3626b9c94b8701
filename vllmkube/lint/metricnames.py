"""Metric names lint knows that vLLM's own table (``vllmkube.metrics``) does not cover:

* the V0-engine metrics hidden since 0.9 and removed after, to call them deprecated whatever the
  version (shared facts 2.3; PR #14136, #15458). Names the router also exports are not listed;
* the production-stack router's metrics (vllm-project/production-stack, vllm_router).

This is the one lint module that spells such names (tests/test_metrics.py exempts it).

Router:
The router exports some vLLM engine names itself (labelled by ``server``, the backend URL) and
some of its own. Its request counter is labelled ``model`` (not ``model_name``) and counts
requests even when no engine replica exists, so it can wake a service scaled to zero.
Source: src/vllm_router/services/metrics_service/__init__.py at commit a6c01db (2026-08);
prometheus_client exposes a Counter named X as X_total.
"""
from __future__ import annotations

# exposed name -> its labels
METRICS: dict[str, tuple[str, ...]] = {
    "vllm:num_requests_running": ("server",),
    "vllm:num_requests_waiting": ("server",),
    "vllm:gpu_prefix_cache_hit_rate": ("server",),
    "vllm:gpu_prefix_cache_hits_total": ("server",),
    "vllm:gpu_prefix_cache_queries_total": ("server",),
    "vllm:current_qps": ("server",),
    "vllm:avg_decoding_length": ("server",),
    "vllm:num_prefill_requests": ("server",),
    "vllm:num_decoding_requests": ("server",),
    "vllm:num_incoming_requests_total": ("model",),
    "vllm:healthy_pods_total": ("server",),
    "vllm:avg_latency": ("server",),
    "vllm:avg_itl": ("server",),
    "vllm:num_requests_swapped": ("server",),
    "vllm:input_tokens_total": ("server", "model"),
    "vllm:output_tokens_total": ("server", "model"),
    "vllm:request_errors_total": ("server", "model", "error_type"),
    "vllm:request_latency_seconds": ("server", "model", "status"),
}
ENGINE_ALSO = frozenset({"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_prefix_cache_hit_rate",
                         "vllm:gpu_prefix_cache_hits_total", "vllm:gpu_prefix_cache_queries_total",
                         "vllm:num_requests_swapped"})
# Series that exist while no engine replica runs: requests reaching the router are counted.
WAKES_FROM_ZERO = frozenset({"vllm:num_incoming_requests_total"})
_SUFFIXES = ("_bucket", "_sum", "_count", "_created")
V0_ONLY = frozenset({"vllm:cpu_cache_usage_perc", "vllm:cpu_prefix_cache_hit_rate", "vllm:time_in_queue_requests",
                     "vllm:model_forward_time_milliseconds", "vllm:model_execute_time_milliseconds"})


def base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in METRICS:
            return name[: -len(suffix)]
    return name


def router_only(name: str) -> bool:
    b = base(name)
    return b in METRICS and b not in ENGINE_ALSO


def wakes_from_zero(name: str) -> bool:
    return base(name) in WAKES_FROM_ZERO
