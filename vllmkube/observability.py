"""Autoscaling triggers, Prometheus rules and the Grafana dashboard of one release.

All vLLM metric names come from ``metrics.name(signal, version)``. The KEDA/HPA maths
(docs/autoscaling.md; shared reference kubernetes-vllm-facts.md section 1.5):

* AverageValue (KEDA's default): desired = ceil(M / threshold). M must be a TOTAL over all
  replicas, so the queue trigger is ``sum(waiting)`` and never divided by replicas.
* Value: desired = ceil(readyPods x M / threshold). M must be a per-replica average, so the
  KV-cache trigger is ``avg(kv usage)``.
* Every query aggregates to exactly one series (KEDA errors on more) and selects only this
  service (namespace + model_name).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import metrics, naming
from .errors import InputError
from .promql import matchers, service_selector
from .versions import VllmVersion

if TYPE_CHECKING:
    from .deploy import DeploymentPlan, RuleGroup, Trigger
    from .sizing import SizingPlan
    from .spec import RenderSpec

DEFAULT_QUEUE_THRESHOLD = 5
RATE_WINDOW = "5m"


def queue_threshold(spec: "RenderSpec", sizing: "SizingPlan") -> float:
    """Waiting requests per replica that justify another replica (SLO planning may set it)."""
    return spec.queue_threshold or DEFAULT_QUEUE_THRESHOLD


def _num(x: float) -> str:
    return f"{x:g}"


def triggers(spec: "RenderSpec", v: VllmVersion, namespace: str, served: str, sizing: "SizingPlan") -> list["Trigger"]:
    from .deploy import Trigger

    sel = service_selector(namespace, served)
    out = [
        Trigger("queue-depth", f"sum({metrics.name('queue', v)}{{{sel}}})", _num(queue_threshold(spec, sizing)),
                "AverageValue", "0" if spec.scale_to_zero else None),
        Trigger("kv-cache-usage", f"avg({metrics.name('kv_usage', v)}{{{sel}}})", _num(spec.kv_cache_threshold), "Value"),
    ]
    if spec.scale_to_zero:
        raise InputError("--scale-to-zero", "at zero replicas no vLLM pod exports metrics, so nothing would wake the "
                         "service", "keep --min-replicas 1 (scale-to-zero needs a request-buffering gateway)")
    return out


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str, runbook: str,
           labels: dict[str, str]) -> "Any":
    from .deploy import Rule

    return Rule("alert", name, expr, for_, {"severity": severity, **labels},
                {"summary": summary, "description": description, "runbook_url": runbook})


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def rules(spec: "RenderSpec", v: VllmVersion, plan: "DeploymentPlan") -> list["RuleGroup"]:
    from .deploy import Rule, RuleGroup

    m = metrics.names(v)
    sel = service_selector(plan.namespace, plan.served_model_name)
    by = "namespace, model_name"
    w = RATE_WINDOW

    def p99(signal: str) -> str:
        return f"histogram_quantile(0.99, sum by ({by}, le) (rate({m[signal]}_bucket{{{sel}}}[{w}])))"

    rec = [
        Rule("record", "vllmkube:num_requests_waiting:sum", f"sum by ({by}) ({m['queue']}{{{sel}}})"),
        Rule("record", "vllmkube:num_requests_running:sum", f"sum by ({by}) ({m['running']}{{{sel}}})"),
        Rule("record", "vllmkube:kv_cache_usage:avg", f"avg by ({by}) ({m['kv_usage']}{{{sel}}})"),
        Rule("record", "vllmkube:kv_cache_usage:max", f"max by ({by}) ({m['kv_usage']}{{{sel}}})"),
        Rule("record", "vllmkube:time_to_first_token_seconds:p99_5m", p99("ttft")),
        Rule("record", "vllmkube:inter_token_latency_seconds:p99_5m", p99("itl")),
        Rule("record", "vllmkube:e2e_request_latency_seconds:p99_5m", p99("e2e")),
        Rule("record", "vllmkube:num_preemptions:rate5m", f"sum by ({by}) (rate({m['preemptions']}{{{sel}}}[{w}]))"),
        Rule("record", "vllmkube:generation_tokens:rate5m", f"sum by ({by}) (rate({m['generation_tokens']}{{{sel}}}[{w}]))"),
        Rule("record", "vllmkube:prompt_tokens:rate5m", f"sum by ({by}) (rate({m['prompt_tokens']}{{{sel}}}[{w}]))"),
        Rule("record", "vllmkube:prefix_cache_hit_ratio:rate5m",
             f"sum by ({by}) (rate({m['prefix_cache_hits']}{{{sel}}}[{w}])) / "
             f"sum by ({by}) (rate({m['prefix_cache_queries']}{{{sel}}}[{w}])) > 0"),
    ]
    runbook = spec.runbook_url.rstrip("/")
    ctx = {"namespace": plan.namespace, "service": plan.release}
    slo_ttft, slo_itl = spec.slo_ttft_p99, spec.slo_itl_p99
    qt = float(plan.triggers[0].threshold)
    job = plan.release if plan.monitor_kind == "servicemonitor" else f"{plan.namespace}/{plan.release}"
    up_sel = matchers(namespace=plan.namespace, job=job)
    hpa = matchers(namespace=plan.namespace, horizontalpodautoscaler=plan.names["hpa"])
    down_for = max(600, plan.startup_probe.period_s * plan.startup_probe.failure_threshold)
    alerts = [
        _alert("VllmTTFTP99AboveSLO", f"{p99('ttft')} > {_num(slo_ttft)}", "5m", "warning",
               "TTFT p99 above the SLO", f"Time to first token p99 of {plan.served_model_name} is {{{{ $value | humanizeDuration }}}}, "
               f"above the {_num(slo_ttft)}s objective.", f"{runbook}#vllmttftp99aboveslo", ctx),
        _alert("VllmITLP99AboveSLO", f"{p99('itl')} > {_num(slo_itl)}", "5m", "warning",
               "Inter-token latency p99 above the SLO", f"Inter-token latency p99 of {plan.served_model_name} is "
               f"{{{{ $value | humanizeDuration }}}}, above the {_num(slo_itl)}s objective.", f"{runbook}#vllmitlp99aboveslo", ctx),
        _alert("VllmKVCacheNearlyFull", f"max by ({by}) ({m['kv_usage']}{{{sel}}}) > 0.9", "5m", "warning",
               "KV cache above 90% for 5 minutes", "A replica's KV cache is {{ $value | humanizePercentage }} full; "
               "requests will be preempted or queued.", f"{runbook}#vllmkvcachenearlyfull", ctx),
        _alert("VllmPreemptionRateHigh", f"sum by ({by}) (rate({m['preemptions']}{{{sel}}}[1m])) > 0.05", "30s", "warning",
               "vLLM is preempting requests", "{{ $value | humanize }} preemptions/s: the KV cache is too small for the "
               "running batch.", f"{runbook}#vllmpreemptionratehigh", ctx),
        _alert("VllmQueueDepthPerReplicaHigh",
               f"sum by ({by}) ({m['queue']}{{{sel}}}) / on ({by}) group_left count by ({by}) "
               f"(count by ({by}, pod) ({m['queue']}{{{sel}}})) > {_num(qt * 2)}", "10m", "warning",
               "Requests queue up on every replica", f"{{{{ $value | humanize }}}} requests wait per replica, twice the "
               f"autoscaling threshold ({_num(qt)}), for 10 minutes.", f"{runbook}#vllmqueuedepthperreplicahigh", ctx),
        _alert("VllmTargetDown", f"max by (namespace, pod) (up{{{up_sel}}}) == 0", _duration(down_for), "critical",
               "A vLLM pod's metrics endpoint is down", "{{ $labels.pod }} has not answered /metrics for longer than "
               "its start-up budget.", f"{runbook}#vllmtargetdown", ctx),
        _alert("VllmMetricsAbsent", f"absent(up{{{up_sel}}})", "10m", "critical",
               "No vLLM target is scraped", f"Prometheus scrapes no target of {plan.release} in {plan.namespace}: "
               "the monitor does not match, or no pod runs.", f"{runbook}#vllmmetricsabsent", ctx),
        _alert("VllmAutoscalerAtMaxWhileQueueGrows",
               f"(max(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}) >= "
               f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})) and on () "
               f"(deriv(sum({m['queue']}{{{sel}}})[10m:1m]) > 0)", "10m", "critical",
               "Autoscaler is at max replicas and the queue still grows",
               f"{plan.release} runs {plan.max_replicas} replicas (the maximum) and waiting requests keep rising.",
               f"{runbook}#vllmautoscaleratmaxwhilequeuegrows", ctx),
    ]
    return [RuleGroup(f"{plan.release}.vllm.records", rec, "30s"), RuleGroup(f"{plan.release}.vllm.alerts", alerts)]


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


def dashboard(spec: "RenderSpec", v: VllmVersion, plan: "DeploymentPlan") -> dict:
    m = metrics.names(v)
    sel = service_selector(plan.namespace, plan.served_model_name)
    w = RATE_WINDOW

    def q(signal: str, quantile: float) -> str:
        return f"histogram_quantile({quantile}, sum by (le) (rate({m[signal]}_bucket{{{sel}}}[{w}])))"

    dep = matchers(namespace=plan.namespace, deployment=plan.names["server"])
    panels = [
        ("Time to first token", [(q("ttft", 0.5), "p50"), (q("ttft", 0.99), "p99"), (f"vector({_num(spec.slo_ttft_p99)})", "SLO p99")], "s", None),
        ("Inter-token latency", [(q("itl", 0.5), "p50"), (q("itl", 0.99), "p99"), (f"vector({_num(spec.slo_itl_p99)})", "SLO p99")], "s", None),
        ("Requests waiting", [(f"sum({m['queue']}{{{sel}}})", "waiting"),
                              (f"vector({plan.triggers[0].threshold}) * scalar(count(count by (pod) ({m['queue']}{{{sel}}})))", "scale-up point")], "short", None),
        ("Requests running", [(f"sum by (pod) ({m['running']}{{{sel}}})", "{{pod}}")], "short", None),
        ("KV-cache usage", [(f"{m['kv_usage']}{{{sel}}}", "{{pod}}"), (f"vector({plan.triggers[1].threshold})", "scale-up average")], "percentunit", 1.0),
        ("Preemptions", [(f"sum(rate({m['preemptions']}{{{sel}}}[{w}]))", "preemptions/s")], "short", None),
        ("Tokens per second", [(f"sum(rate({m['generation_tokens']}{{{sel}}}[{w}]))", "generated"),
                               (f"sum(rate({m['prompt_tokens']}{{{sel}}}[{w}]))", "prompt")], "short", None),
        ("Prefix-cache hit rate", [(f"sum(rate({m['prefix_cache_hits']}{{{sel}}}[{w}])) / sum(rate({m['prefix_cache_queries']}{{{sel}}}[{w}]))", "hit rate")], "percentunit", 1.0),
        ("Replicas", [(f"max(kube_deployment_status_replicas_ready{{{dep}}})", "ready"),
                      (f"max(kube_deployment_spec_replicas{{{dep}}})", "desired"), (f"vector({plan.max_replicas})", "max")], "short", None),
    ]
    return {
        "uid": naming.short_hash(plan.namespace, plan.release, n=12),
        "title": f"vLLM {plan.release} ({plan.namespace})",
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
