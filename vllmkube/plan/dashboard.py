"""The Grafana dashboard of one release (a ConfigMap the Grafana sidecar picks up): latency
against the SLOs, queue and KV cache against the autoscaling thresholds, replicas."""
from __future__ import annotations

from typing import Any

from .. import metrics, naming
from ..promql import RATE_WINDOW, number, service_selector
from ..spec import RenderSpec
from ..versions import VllmVersion
from .identity import Identity
from .scaling import Scaling
from .values import Workload


def _panel(pid: int, title: str, exprs: list[tuple[str, str]], unit: str, x: int, y: int, maxv: float | None = None) -> dict:
    defaults: dict[str, Any] = {"unit": unit}
    if maxv is not None:
        defaults.update({"min": 0, "max": maxv})
    return {
        "id": pid, "type": "timeseries", "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": legend} for i, (e, legend) in enumerate(exprs)],
    }


def dashboard(spec: RenderSpec, v: VllmVersion, identity: Identity, scaling: Scaling, workload: Workload) -> dict:
    m = metrics.names(v)
    sel = service_selector(identity.namespace, identity.served_model_name)
    w = RATE_WINDOW

    def q(signal: str, quantile: float) -> str:
        return f"histogram_quantile({quantile}, sum by (le) (rate({m[signal]}_bucket{{{sel}}}[{w}])))"

    def rate(signal: str) -> str:
        return f"sum(rate({m[signal]}{{{sel}}}[{w}]))"

    desired, ready = workload.replica_queries(identity)  # kube-state-metrics, by workload kind
    pods = f"count(count by (pod) ({m['queue']}{{{sel}}}))"
    panels = [
        ("Time to first token", [(q("ttft", 0.5), "p50"), (q("ttft", 0.9), "p90"), (q("ttft", 0.99), "p99"),
                                 (f"vector({number(spec.slo_ttft_p99)})", "SLO p99")], "s", None),
        ("Inter-token latency", [(q("itl", 0.5), "p50"), (q("itl", 0.9), "p90"), (q("itl", 0.99), "p99"),
                                 (f"vector({number(spec.slo_itl_p99)})", "SLO p99")], "s", None),
        ("Requests waiting", [(f"sum({m['queue']}{{{sel}}})", "waiting"),
                              (f"{scaling.triggers[0].threshold} * {pods}", "scale-up point")], "short", None),
        ("Requests running", [(f"sum by (pod) ({m['running']}{{{sel}}})", "{{pod}}")], "short", None),
        ("KV-cache usage", [(f"avg by (pod) ({m['kv_usage']}{{{sel}}})", "{{pod}}"),
                            (f"avg({m['kv_usage']}{{{sel}}})", "average (scaler)"),
                            (f"vector({scaling.triggers[1].threshold})", "scale-up average")], "percentunit", 1.0),
        ("Preemptions", [(rate("preemptions"), "preemptions/s")], "short", None),
        ("Tokens per second", [(rate("generation_tokens"), "generated"), (rate("prompt_tokens"), "prompt")], "short", None),
        ("Prefix-cache hit rate", [(f"{rate('prefix_cache_hits')} / {rate('prefix_cache_queries')}", "hit rate")],
         "percentunit", 1.0),
        ("Replicas", [(ready, "ready"), (desired, "desired"), (pods, "exporting metrics"),
                      (f"vector({scaling.max_replicas})", "max")], "short", None),
        ("End-to-end latency", [(q("e2e", 0.5), "p50"), (q("e2e", 0.99), "p99")], "s", None),
    ]
    return {
        "uid": naming.short_hash(identity.namespace, identity.release, n=12),
        "title": f"vLLM {identity.release} ({identity.namespace})",
        "tags": ["vllm", "vllmkube"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]},
        "panels": [_panel(i + 1, t, e, u, (i % 2) * 12, (i // 2) * 8, mx) for i, (t, e, u, mx) in enumerate(panels)],
    }
