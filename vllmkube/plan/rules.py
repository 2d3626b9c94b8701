"""Prometheus rules of one release: recording rules and alerts, every metric name from
``metrics.names(version)`` and every selector limited to this service (namespace + model_name).

tests/test_alerts_promtool.py fires and silences every alert with promtool against synthetic
vLLM series; docs/runbook.md has a section for each alert.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import metrics
from ..promql import RATE_WINDOW, matchers, number, quote, service_selector
from ..spec import RenderSpec
from ..versions import VllmVersion
from .identity import Identity
from .pod import PodTemplate
from .scaling import Scaling
from .values import Workload

KV_ALERT_LEVEL = 0.9
PREEMPTION_ALERT_RATE = 0.05  # preemptions per second
# Latency alerts need this many requests per second over the window: a p99 of a handful of
# requests is their maximum, and one slow request is not an incident.
MIN_LATENCY_RPS = 0.1


@dataclass(frozen=True)
class Rule:
    kind: str  # record | alert
    name: str
    expr: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: list[Rule]
    interval: str | None = None


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str, runbook: str,
           labels: dict[str, str]) -> Rule:
    return Rule("alert", name, expr, for_, {"severity": severity, **labels},
                {"summary": summary, "description": description, "runbook_url": f"{runbook}#{name.lower()}"})


def _literal(text: str) -> str:
    """User text inside an annotation: Prometheus expands annotations as Go templates."""
    return f"{{{{ {quote(text)} }}}}" if "{{" in text else text


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def rules(spec: RenderSpec, v: VllmVersion, identity: Identity, pod: PodTemplate, scaling: Scaling,
          workload: Workload) -> list[RuleGroup]:
    m = metrics.names(v)
    sel = service_selector(identity.namespace, identity.served_model_name)
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
    ctx = {"namespace": identity.namespace, "service": identity.release}
    slo_ttft, slo_itl = spec.slo_ttft_p99, spec.slo_itl_p99
    qt = float(scaling.triggers[0].threshold)
    job = identity.release if spec.monitor == "servicemonitor" else f"{identity.namespace}/{identity.release}"
    up_sel = matchers(namespace=identity.namespace, job=job)
    hpa = matchers(namespace=identity.namespace, horizontalpodautoscaler=workload.hpa_name(identity))
    desired_replicas = workload.replica_queries(identity)[0]
    startup_s = pod.startup_probe.period_s * pod.startup_probe.failure_threshold
    down_for = _duration(max(600, startup_s))
    queue_for = _duration(max(600, startup_s))  # a new replica needs a cold start before it helps
    absent_up = f"absent(up{{{up_sel}}})"
    if scaling.idle_replicas is not None:  # scaled to zero on purpose: absent only matters when pods are wanted
        absent_up += f" and on () ({desired_replicas} > 0)"
    name = _literal(identity.served_model_name)
    # requests per second: every request observes TTFT once (the +Inf bucket counts them all)
    traffic = (f"sum by ({by}) (rate({m['ttft']}_bucket{{{sel},le=\"+Inf\"}}[{w}])) >= {number(MIN_LATENCY_RPS)}")
    guarded = f" and on ({by}) ({traffic})"
    queueing = f"({total('queue')} / on ({by}) {replicas} > {number(qt)})"
    preempting = f"({rate('preemptions')} > 0)"
    # Pods still in their init containers (waiting for or running the download) are not down.
    initializing = (f"max by (namespace, pod) (kube_pod_init_container_status_running"
                    f"{{{matchers(namespace=identity.namespace)}}}) == 1")
    alerts = [
        _alert("VllmTTFTP99AboveSLO", f"{p99('ttft')} > {number(slo_ttft)}{guarded}", "5m", "warning",
               "TTFT p99 above the SLO", f"Time to first token p99 of {name} is {{{{ $value | humanizeDuration }}}}, "
               f"above the {number(slo_ttft)}s objective.", runbook, ctx),
        _alert("VllmITLP99AboveSLO", f"{p99('itl')} > {number(slo_itl)}{guarded}", "5m", "warning",
               "Inter-token latency p99 above the SLO", f"Inter-token latency p99 of {name} is "
               f"{{{{ $value | humanizeDuration }}}}, above the {number(slo_itl)}s objective.", runbook, ctx),
        # vLLM fills the KV cache on purpose: full is only a problem when requests queue or get preempted.
        _alert("VllmKVCacheNearlyFull", f"max by ({by}) ({m['kv_usage']}{{{sel}}}) > {number(KV_ALERT_LEVEL)} "
               f"and on ({by}) ({preempting} or {queueing})", "15m",
               "warning", f"KV cache above {KV_ALERT_LEVEL:.0%} while requests queue or get preempted",
               f"The fullest KV cache of {name} is {{{{ $value | humanizePercentage }}}} used and requests queue "
               "beyond the autoscaling threshold or get preempted.", runbook, ctx),
        _alert("VllmPreemptionRateHigh", f"{rate('preemptions')} > {number(PREEMPTION_ALERT_RATE)}", "10m", "warning",
               "vLLM is preempting requests", f"{name} preempts {{{{ $value | printf \"%.2f\" }}}} requests/s: the KV "
               "cache is too small for the running batch.", runbook, ctx),
        _alert("VllmQueueDepthPerReplicaHigh", f"{total('queue')} / on ({by}) {replicas} > {number(qt * 2)}", queue_for,
               "warning", "Requests queue up on every replica",
               f"{{{{ $value | printf \"%.1f\" }}}} requests of {name} wait per replica, more than twice the "
               f"autoscaling threshold ({number(qt)}), for longer than a cold start.", runbook, ctx),
        _alert("VllmTargetDown", f"(max by (namespace, pod) (up{{{up_sel}}}) == 0) unless on (namespace, pod) "
               f"({initializing})", down_for, "warning",
               "A vLLM pod's metrics endpoint is down", "{{ $labels.pod }} has not answered /metrics for longer "
               "than its start-up budget.", runbook, ctx),
        _alert("VllmTargetAbsent", absent_up, "10m", "critical",
               "No vLLM target is scraped", f"Prometheus scrapes no target of {identity.release} in {identity.namespace}: "
               "the monitor selects nothing, or no pod runs.", runbook, ctx),
        _alert("VllmScalerMetricsAbsent",
               f"absent({m['kv_usage']}{{{sel}}}) and on () (max(up{{{up_sel}}}) == 1)", "10m", "critical",
               "Targets are up but the autoscaler's metrics are missing",
               f"No {m['kv_usage']} series with model_name {name}: the served model name or the vLLM version "
               "the manifests were rendered for does not match the pods, so autoscaling sees nothing.", runbook, ctx),
    ]
    if "autoscaling" in identity.components:  # about the HPA KEDA creates
        alerts.append(_alert(
            "VllmAutoscalerAtMaxWhileQueueGrows",
            f"(max(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}) >= "
            f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})) and on () "
            f"(deriv(sum({m['queue']}{{{sel}}})[10m:1m]) > 0)", "10m", "critical",
            "Autoscaler is at max replicas and the queue still grows",
            f"{identity.release} runs {scaling.max_replicas} replicas (the maximum) and waiting requests keep rising.",
            runbook, ctx))
    return [RuleGroup(f"{identity.release}.vllm.records", rec), RuleGroup(f"{identity.release}.vllm.alerts", alerts)]


def alert_names() -> list[str]:
    """Every alert ``rules`` can emit (docs/runbook.md has one section each)."""
    return ["VllmTTFTP99AboveSLO", "VllmITLP99AboveSLO", "VllmKVCacheNearlyFull", "VllmPreemptionRateHigh",
            "VllmQueueDepthPerReplicaHigh", "VllmTargetDown", "VllmTargetAbsent", "VllmScalerMetricsAbsent",
            "VllmAutoscalerAtMaxWhileQueueGrows"]
