"""KEDA ScaledObject semantics for Prometheus triggers (shared reference facts, section 1).

* A query must return one series, or KEDA errors ("returned multiple elements").
* AverageValue (the default): desired = ceil(M / threshold), M must be a TOTAL.
  Value: desired = ceil(readyPods x M / threshold), M must be a PER-REPLICA value.
* vLLM series carry namespace and model_name; without them a query mixes services.
* cooldownPeriod only governs scaling to and from zero.
* fallback supports Value triggers from KEDA 2.18 (docs <= 2.17: AverageValue only).
"""
from __future__ import annotations

from .. import metricnames as router
from ..bundle import Bundle
from ..documents import Document, as_list, dig
from ..promqlshape import PromQLError, form, metric_name, parse, selectors, single_series
from .versions import isvc_queries

# A matcher on one of these selects one workload's series: it scopes namespace and model at once.
WORKLOAD_LABELS = ("job", "service", "pod", "instance", "container", "endpoint")


def prometheus_triggers(so: Document):
    for i, t in enumerate(as_list(so.get("spec", "triggers"))):
        if isinstance(t, dict) and t.get("type") == "prometheus":
            yield i, t


def check(b: Bundle) -> None:
    _isvc(b)
    for so in b.of("ScaledObject"):
        spec = so.get("spec") or {}
        if not isinstance(spec, dict):
            continue
        modifiers = bool(dig(spec, "advanced", "scalingModifiers"))
        value_triggers = []
        only_vllm = True
        triggers = list(prometheus_triggers(so))
        for i, t in triggers:
            explicit = t.get("metricType")
            metric_type = explicit or "AverageValue"
            if metric_type == "Value":
                value_triggers.append(i)
            query = dig(t, "metadata", "query")
            if not isinstance(query, str):
                only_vllm = False
                continue
            try:
                node = parse(query)
            except PromQLError:
                only_vllm = False
                continue
            names = [metric_name(s) for s in selectors(node)]
            # the router's request counter exists at zero engine replicas: it can wake the service
            only_vllm = only_vllm and bool(names) and all(n.startswith("vllm:") and not router.wakes_from_zero(n)
                                                          for n in names)
            qpath = ("spec", "triggers", i, "metadata", "query")
            ok, why = single_series(node)
            if not ok:
                b.report("keda-query-not-aggregated", so, qpath,
                         f"the query can return several series ({why}); KEDA then fails with \"returned multiple elements\"",
                         "aggregate to one series: sum(...) with AverageValue, or avg(...) with Value")
            _metric_type(b, so, i, metric_type, explicit is not None, node, modifiers)
            _scope(b, so, qpath, node)
        _cooldown(b, so, spec)
        # Any other trigger (the KEDA HTTP add-on's external-push, a queue, cron) can wake it.
        # (ScaledObjects KServe generates from an InferenceService are checked there: _isvc)
        if triggers and only_vllm and len(triggers) == len(as_list(spec.get("triggers"))):
            _zero(b, so, spec)
        if value_triggers and isinstance(spec.get("fallback"), dict):  # noqa: SIM102
            which = ", ".join(f"triggers[{i}]" for i in value_triggers)
            b.report("keda-fallback-value-trigger", so, ("spec", "fallback"),
                     f"fallback with metricType Value ({which}) needs KEDA 2.18 or newer; older KEDA supports "
                     "fallback for AverageValue triggers only", "run KEDA >= 2.18, or use AverageValue triggers")


def _isvc(b: Bundle) -> None:
    """KServe turns spec.predictor.autoScaling into a ScaledObject: the same query rules hold."""
    for isvc in b.of("InferenceService"):
        for qpath, query in isvc_queries(isvc):
            try:
                node = parse(query)
            except PromQLError:
                continue
            ok, why = single_series(node)
            if not ok:
                b.report("keda-query-not-aggregated", isvc, qpath,
                         f"the query can return several series ({why}); the ScaledObject KServe creates then fails "
                         "with \"returned multiple elements\"",
                         "aggregate to one series: sum(...) with target AverageValue, or avg(...) with target Value")
            external = qpath[:6]  # ...metrics[i].external
            metric_type = str(dig(isvc.get(*external), "target", "type") or "AverageValue")
            if metric_type in ("Value", "AverageValue"):
                _metric_type(b, isvc, external + ("target", "type"), metric_type, True, node, False, external)
            _scope(b, isvc, qpath, node)


def _metric_type(b: Bundle, so: Document, i, metric_type: str, explicit: bool, node, modifiers: bool,
                 base: tuple = ()) -> None:
    base = base or ("spec", "triggers", i)
    path = i if isinstance(i, tuple) else (base + ("metricType",) if explicit else base)
    if metric_type == "Utilization":
        b.report("keda-metrictype-mismatch", so, path, "metricType Utilization only exists for cpu and memory triggers",
                 "use AverageValue with a sum(...) query, or Value with an avg(...) query")
        return
    if modifiers:  # scalingModifiers compose the triggers; the composite metricType decides
        return
    shape, what = form(node)
    label = "AverageValue" if explicit else "AverageValue (the default, metricType unset)"
    if metric_type == "AverageValue" and shape == "average":
        b.report("keda-metrictype-mismatch", so, path,
                 f"metricType {label} with a per-replica query ({what}): the HPA divides by the replica count "
                 "again, so it scales N-fold too little",
                 "query the total (sum(...)) with AverageValue, or keep the average and set metricType: Value")
    elif metric_type == "Value" and shape == "total":
        b.report("keda-metrictype-mismatch", so, path,
                 f"metricType Value with a total ({what}): the HPA multiplies it by the ready pods, so it scales "
                 "N-fold too much", "query a per-replica avg(...) with Value, or use the sum(...) with metricType: AverageValue")


def _scope(b: Bundle, so: Document, qpath: tuple, node) -> None:
    for sel in selectors(node):
        name = metric_name(sel)
        if not name.startswith("vllm:"):
            continue
        have = {label for label, op, _ in sel.matchers if op in ("=", "=~")}
        if have & set(WORKLOAD_LABELS):
            continue  # job="..." (or service, pod) already selects one workload
        model_label = "model" if router.router_only(name) else "model_name"
        missing = [label for label in ("namespace", model_label) if label not in have]
        if missing:
            where = "in the cluster" if "namespace" in missing else "in the namespace"
            wanted = ", ".join(f'{label}="..."' for label in missing)
            what = ("the router labels requests by model" if model_label == "model"
                    else "model_name is the first --served-model-name")
            b.report("keda-query-unscoped", so, qpath,
                     f"{name} is selected without {' and '.join(missing)}: the query also counts every other vLLM {where}",
                     f"add {wanted} to the selector ({what})")
            return


def scales_to_zero(spec: dict) -> bool:
    """minReplicaCount 0 (also its default) or idleReplicaCount 0 (idle at zero, active at min)."""
    return spec.get("minReplicaCount") in (None, 0) or spec.get("idleReplicaCount") == 0


def _cooldown(b: Bundle, so: Document, spec: dict) -> None:
    min_r = spec.get("minReplicaCount")
    if "cooldownPeriod" in spec and not scales_to_zero(spec) and isinstance(min_r, int):
        b.report("keda-cooldown-without-scale-to-zero", so, ("spec", "cooldownPeriod"),
                 f"cooldownPeriod only applies to scaling to and from zero, and minReplicaCount is {min_r}: it has no effect",
                 "remove it; slow scale-down with advanced.horizontalPodAutoscalerConfig.behavior.scaleDown."
                 "stabilizationWindowSeconds")


def _zero(b: Bundle, so: Document, spec: dict) -> None:
    if not scales_to_zero(spec):
        return
    min_r = spec.get("minReplicaCount")
    if min_r in (None, 0):
        said = "minReplicaCount " + ("is not set and defaults to 0" if min_r is None else "is 0")
        path = ("spec", "minReplicaCount") if min_r is not None else ("spec",)
    else:
        said, path = "idleReplicaCount is 0", ("spec", "idleReplicaCount")
    b.report("keda-scale-to-zero-vllm-metrics", so, path,
             f"{said}, but every trigger reads vLLM metrics: at zero replicas no vLLM pod exports "
             "them, so nothing scales the service back up",
             "keep at least one replica (minReplicaCount: 1, no idleReplicaCount), or add a trigger that sees requests before they reach vLLM (gateway or queue)")
