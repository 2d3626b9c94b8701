"""Autoscaling triggers, Prometheus rules and the Grafana dashboard of one release.

All vLLM metric names come from ``metrics.name(signal, version)``. The KEDA/HPA maths
(docs/autoscaling.md; shared reference kubernetes-vllm-facts.md sections 1.4-1.6):

* AverageValue (KEDA's default): desired = ceil(M / threshold). M must be a TOTAL over all
  replicas, so the queue trigger is ``sum(waiting)`` and never divided by replicas.
* Value: desired = ceil(readyPods x M / threshold). M must be a per-replica average, so the
  KV-cache trigger is ``avg(kv usage)``.
* Every query aggregates to exactly one series (KEDA errors on more; vLLM exports one
  series per pod and per engine) and selects only this service (namespace + model_name).

tests/test_autoscaling_promtool.py and tests/test_alerts_promtool.py evaluate every query
and rule rendered from here with promtool against synthetic vLLM series.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import metrics, naming
from .errors import InputError
from .promql import matchers, quote, service_selector
from .versions import VllmVersion

if TYPE_CHECKING:
    from .deploy import DeploymentPlan, RuleGroup, Trigger
    from .serving import ServingPlan
    from .sizing import SizingPlan
    from .spec import RenderSpec

DEFAULT_QUEUE_THRESHOLD = 5
RATE_WINDOW = "5m"
# The activation trigger only wakes the service (activationThreshold 0: any traffic). Its
# scaling threshold is so large that ceil(M / T) stays at 1 for any real request rate, so it
# never asks for more replicas than the vLLM triggers do (the HPA takes the max of all).
ACTIVATION_SCALE_THRESHOLD = "1000000"
KV_ALERT_LEVEL = 0.9
PREEMPTION_ALERT_RATE = 0.05  # preemptions per second


def queue_threshold(spec: "RenderSpec", serving: "ServingPlan | None" = None) -> float:
    """Waiting requests per replica that justify another replica: the user's, else what keeps
    TTFT p99 within the SLO (serving plan), else a default."""
    if spec.queue_threshold:
        return spec.queue_threshold
    if serving is not None:
        return serving.queue_threshold
    return DEFAULT_QUEUE_THRESHOLD


def _num(x: float) -> str:
    return f"{x:g}"


def triggers(spec: "RenderSpec", v: VllmVersion, namespace: str, served: str, sizing: "SizingPlan",
             serving: "ServingPlan | None" = None) -> list["Trigger"]:
    from .deploy import Trigger

    zero = spec.scale_to_zero
    activation = (spec.activation_query or "").strip()
    if zero and not activation:
        raise InputError("--scale-to-zero", "at zero replicas no vLLM pod exports metrics, so the vLLM triggers could "
                         "never wake the service", "add --activation-query with your gateway's or ingress' request "
                         "rate for this service, or keep --min-replicas 1")
    if activation and not zero:
        raise InputError("--activation-query", "only wakes a service scaled to zero", "add --scale-to-zero or drop it")
    sel = service_selector(namespace, served)
    # With replicas >= 1 an empty result means a wrong name or selector: make it an error
    # (ignoreNullValues false) so KEDA reports it and the fallback holds the replicas,
    # instead of reading 0 and silently never scaling. At zero replicas empty is normal.
    out = [
        Trigger("queue-depth", f"sum({metrics.name('queue', v)}{{{sel}}})", _num(queue_threshold(spec, serving)),
                "AverageValue", "0" if zero else None, ignore_null_values=zero),
        Trigger("kv-cache-usage", f"avg({metrics.name('kv_usage', v)}{{{sel}}})", _num(spec.kv_cache_threshold),
                "Value", "0" if zero else None, ignore_null_values=zero),
    ]
    if serving is not None:
        # Finished requests per second, summed: holds the replicas the traffic needs while the
        # queue is empty, so queue-only scaling does not drop a replica and pay its cold start again.
        out.append(Trigger("request-rate", f"sum(rate({metrics.name('request_success', v)}{{{sel}}}[1m]))",
                           _num(serving.target_rps_per_replica), "AverageValue", "0" if zero else None,
                           ignore_null_values=zero))
    if zero:
        out.append(Trigger("activation", activation, ACTIVATION_SCALE_THRESHOLD, "AverageValue", "0"))
    return out


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str, runbook: str,
           labels: dict[str, str]) -> "Any":
    from .deploy import Rule

    return Rule("alert", name, expr, for_, {"severity": severity, **labels},
                {"summary": summary, "description": description, "runbook_url": f"{runbook}#{name.lower()}"})


def _literal(text: str) -> str:
    """User text inside an annotation: Prometheus expands annotations as Go templates."""
    return f"{{{{ {quote(text)} }}}}" if "{{" in text else text


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

    def total(signal: str) -> str:
        return f"sum by ({by}) ({m[signal]}{{{sel}}})"

    def rate(signal: str, window: str = w) -> str:
        return f"sum by ({by}) (rate({m[signal]}{{{sel}}}[{window}]))"

    # Pods that export metrics: a vLLM pod serves /metrics only once its model is loaded.
    replicas = f"count by ({by}) (count by ({by}, pod) ({m['queue']}{{{sel}}}))"
    rec = [
        Rule("record", "vllmkube:num_requests_waiting:sum", total("queue")),
        Rule("record", "vllmkube:num_requests_running:sum", total("running")),
        Rule("record", "vllmkube:replicas_exporting:count", replicas),
        Rule("record", "vllmkube:kv_cache_usage:avg", f"avg by ({by}) ({m['kv_usage']}{{{sel}}})"),
        Rule("record", "vllmkube:kv_cache_usage:max", f"max by ({by}) ({m['kv_usage']}{{{sel}}})"),
        Rule("record", "vllmkube:time_to_first_token_seconds:p99_5m", p99("ttft")),
        Rule("record", "vllmkube:inter_token_latency_seconds:p99_5m", p99("itl")),
        Rule("record", "vllmkube:e2e_request_latency_seconds:p99_5m", p99("e2e")),
        Rule("record", "vllmkube:num_preemptions:rate5m", rate("preemptions")),
        Rule("record", "vllmkube:generation_tokens:rate5m", rate("generation_tokens")),
        Rule("record", "vllmkube:prompt_tokens:rate5m", rate("prompt_tokens")),
        Rule("record", "vllmkube:request_success:rate5m", rate("request_success")),
        # No series (rather than NaN) while nothing is looked up.
        Rule("record", "vllmkube:prefix_cache_hit_ratio:rate5m",
             f"{rate('prefix_cache_hits')} / ({rate('prefix_cache_queries')} > 0)"),
    ]
    runbook = spec.runbook_url.rstrip("/")
    ctx = {"namespace": plan.namespace, "service": plan.release}
    slo_ttft, slo_itl = spec.slo_ttft_p99, spec.slo_itl_p99
    qt = float(plan.triggers[0].threshold)
    job = plan.release if plan.monitor_kind == "servicemonitor" else f"{plan.namespace}/{plan.release}"
    up_sel = matchers(namespace=plan.namespace, job=job)
    hpa = matchers(namespace=plan.namespace, horizontalpodautoscaler=plan.names["hpa"])
    dep = matchers(namespace=plan.namespace, deployment=plan.names["server"])
    startup_s = plan.startup_probe.period_s * plan.startup_probe.failure_threshold
    down_for = _duration(max(600, startup_s))
    queue_for = _duration(max(600, startup_s))  # a new replica needs a cold start before it helps
    absent_up = f"absent(up{{{up_sel}}})"
    if plan.idle_replicas is not None:  # scaled to zero on purpose: absent only matters when pods are wanted
        absent_up += f" and on () (max(kube_deployment_spec_replicas{{{dep}}}) > 0)"
    name = _literal(plan.served_model_name)
    alerts = [
        _alert("VllmTTFTP99AboveSLO", f"{p99('ttft')} > {_num(slo_ttft)}", "5m", "warning",
               "TTFT p99 above the SLO", f"Time to first token p99 of {name} is {{{{ $value | humanizeDuration }}}}, "
               f"above the {_num(slo_ttft)}s objective.", runbook, ctx),
        _alert("VllmITLP99AboveSLO", f"{p99('itl')} > {_num(slo_itl)}", "5m", "warning",
               "Inter-token latency p99 above the SLO", f"Inter-token latency p99 of {name} is "
               f"{{{{ $value | humanizeDuration }}}}, above the {_num(slo_itl)}s objective.", runbook, ctx),
        _alert("VllmKVCacheNearlyFull", f"max by ({by}) ({m['kv_usage']}{{{sel}}}) > {_num(KV_ALERT_LEVEL)}", "5m",
               "warning", f"KV cache above {KV_ALERT_LEVEL:.0%} for 5 minutes",
               f"The fullest KV cache of {name} is {{{{ $value | humanizePercentage }}}} used; new requests queue "
               "and running ones get preempted.", runbook, ctx),
        _alert("VllmPreemptionRateHigh", f"{rate('preemptions', '1m')} > {_num(PREEMPTION_ALERT_RATE)}", "30s", "warning",
               "vLLM is preempting requests", f"{name} preempts {{{{ $value | printf \"%.2f\" }}}} requests/s: the KV "
               "cache is too small for the running batch.", runbook, ctx),
        _alert("VllmQueueDepthPerReplicaHigh", f"{total('queue')} / on ({by}) {replicas} > {_num(qt * 2)}", queue_for,
               "warning", "Requests queue up on every replica",
               f"{{{{ $value | printf \"%.1f\" }}}} requests of {name} wait per replica, more than twice the "
               f"autoscaling threshold ({_num(qt)}), for longer than a cold start.", runbook, ctx),
        _alert("VllmTargetDown", f"max by (namespace, pod) (up{{{up_sel}}}) == 0", down_for, "warning",
               "A vLLM pod's metrics endpoint is down", "{{ $labels.pod }} has not answered /metrics for longer "
               "than its start-up budget.", runbook, ctx),
        _alert("VllmTargetAbsent", absent_up, "10m", "critical",
               "No vLLM target is scraped", f"Prometheus scrapes no target of {plan.release} in {plan.namespace}: "
               "the monitor selects nothing, or no pod runs.", runbook, ctx),
        _alert("VllmScalerMetricsAbsent",
               f"absent({m['kv_usage']}{{{sel}}}) and on () (max(up{{{up_sel}}}) == 1)", "10m", "critical",
               "Targets are up but the autoscaler's metrics are missing",
               f"No {m['kv_usage']} series with model_name {name}: the served model name or the vLLM version "
               "the manifests were rendered for does not match the pods, so autoscaling sees nothing.", runbook, ctx),
    ]
    if "autoscaling" in plan.components:  # about the HPA KEDA creates
        alerts.append(_alert(
            "VllmAutoscalerAtMaxWhileQueueGrows",
            f"(max(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}) >= "
            f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})) and on () "
            f"(deriv(sum({m['queue']}{{{sel}}})[10m:1m]) > 0)", "10m", "critical",
            "Autoscaler is at max replicas and the queue still grows",
            f"{plan.release} runs {plan.max_replicas} replicas (the maximum) and waiting requests keep rising.",
            runbook, ctx))
    return [RuleGroup(f"{plan.release}.vllm.records", rec), RuleGroup(f"{plan.release}.vllm.alerts", alerts)]


def alert_names() -> list[str]:
    """Every alert ``rules`` can emit (docs/runbook.md has one section each)."""
    return ["VllmTTFTP99AboveSLO", "VllmITLP99AboveSLO", "VllmKVCacheNearlyFull", "VllmPreemptionRateHigh",
            "VllmQueueDepthPerReplicaHigh", "VllmTargetDown", "VllmTargetAbsent", "VllmScalerMetricsAbsent",
            "VllmAutoscalerAtMaxWhileQueueGrows"]


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

    def rate(signal: str) -> str:
        return f"sum(rate({m[signal]}{{{sel}}}[{w}]))"

    dep = matchers(namespace=plan.namespace, deployment=plan.names["server"])
    pods = f"count(count by (pod) ({m['queue']}{{{sel}}}))"
    panels = [
        ("Time to first token", [(q("ttft", 0.5), "p50"), (q("ttft", 0.9), "p90"), (q("ttft", 0.99), "p99"),
                                 (f"vector({_num(spec.slo_ttft_p99)})", "SLO p99")], "s", None),
        ("Inter-token latency", [(q("itl", 0.5), "p50"), (q("itl", 0.9), "p90"), (q("itl", 0.99), "p99"),
                                 (f"vector({_num(spec.slo_itl_p99)})", "SLO p99")], "s", None),
        ("Requests waiting", [(f"sum({m['queue']}{{{sel}}})", "waiting"),
                              (f"{plan.triggers[0].threshold} * {pods}", "scale-up point")], "short", None),
        ("Requests running", [(f"sum by (pod) ({m['running']}{{{sel}}})", "{{pod}}")], "short", None),
        ("KV-cache usage", [(f"avg by (pod) ({m['kv_usage']}{{{sel}}})", "{{pod}}"),
                            (f"avg({m['kv_usage']}{{{sel}}})", "average (scaler)"),
                            (f"vector({plan.triggers[1].threshold})", "scale-up average")], "percentunit", 1.0),
        ("Preemptions", [(rate("preemptions"), "preemptions/s")], "short", None),
        ("Tokens per second", [(rate("generation_tokens"), "generated"), (rate("prompt_tokens"), "prompt")], "short", None),
        ("Prefix-cache hit rate", [(f"{rate('prefix_cache_hits')} / {rate('prefix_cache_queries')}", "hit rate")],
         "percentunit", 1.0),
        ("Replicas", [(f"max(kube_deployment_status_replicas_ready{{{dep}}})", "ready"),
                      (f"max(kube_deployment_spec_replicas{{{dep}}})", "desired"), (pods, "exporting metrics"),
                      (f"vector({plan.max_replicas})", "max")], "short", None),
        ("End-to-end latency", [(q("e2e", 0.5), "p50"), (q("e2e", 0.99), "p99")], "s", None),
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
