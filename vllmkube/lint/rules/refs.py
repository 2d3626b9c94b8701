"""Cross references between the linted objects.

A reference to something that is not linted is an error when objects of that kind exist in
scope (most likely a typo), and an info finding when none do (it may live elsewhere).
"""
from __future__ import annotations

import os

from ..findings import Severity
from ..bundle import RAY_CLUSTER_SPEC, SCALABLE, Bundle, Pod, map_matches, related, selector_matches
from ..documents import Document, as_dict, as_list, dig
from ..controllers import autoscales_itself


def _missing_severity(candidates: list, near: Document) -> Severity:
    """A miss is an error (most likely a typo) when an object of that kind sits in the same
    file; otherwise the target may simply live elsewhere: info."""
    return Severity.ERROR if any(getattr(c, "doc", c).file == near.file for c in candidates) else Severity.INFO


def _names(docs: list) -> str:
    names = sorted({d.name for d in docs})
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def check(b: Bundle) -> None:
    _autoscalers(b)
    _services(b)
    _monitors(b)
    _claims(b)


# ----------------------------------------------------------------------------- autoscalers
def _autoscalers(b: Bundle) -> None:
    owners: dict[tuple, Document] = {}
    for a in b.of("ScaledObject", "HorizontalPodAutoscaler"):
        if a.kind == "HorizontalPodAutoscaler" and any(
                (o or {}).get("kind") == "ScaledObject" for o in a.get("metadata", "ownerReferences") or []):
            continue  # KEDA's own HPA
        ref = a.get("spec", "scaleTargetRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            continue
        kind = str(ref.get("kind") or ("Deployment" if a.kind == "ScaledObject" else ""))
        name = str(ref["name"])
        target = b.find(kind, name, a)
        made = b.generated(kind, name, a) if target is None else None
        if made is not None:  # an operator creates it (KServe's <name>-predictor)
            if kind in ("Deployment", "LeaderWorkerSet") and autoscales_itself(made.owner):
                b.report("autoscaler-conflict", a, ("spec", "scaleTargetRef"),
                         f"{made.owner.ref} makes {name} and its own autoscaler: {a.ref} fights it",
                         "drop this object and use predictor.autoScaling (serving.kserve.io/autoscalerClass: keda)")
            continue
        if target is None:
            same = b.near(a, kind)
            extra = f" (linted {kind}s: {_names(same)})" if same else ""
            b.report("scale-target-missing", a, ("spec", "scaleTargetRef", "name"),
                     f"scaleTargetRef names {kind} {name!r}, which is not among the linted objects{extra}",
                     "fix scaleTargetRef (kind defaults to Deployment), or lint the workload with it",
                     _missing_severity(same, a))
            continue
        key = (target.kind, target.name, target.namespace)
        if key in owners:
            b.report("autoscaler-conflict", a, ("spec", "scaleTargetRef"),
                     f"{a.ref} and {owners[key].ref} both scale {target.ref}: they fight over the replica count",
                     "keep one autoscaler (a ScaledObject already creates its own HPA)")
            continue
        owners[key] = a
        if target.kind in SCALABLE and "replicas" in as_dict(target.get("spec")):
            b.report("replicas-with-autoscaler", target, ("spec", "replicas"),
                     f"spec.replicas is set while {a.ref} scales this {target.kind}: every kubectl apply resets "
                     "the replica count", "remove spec.replicas; the autoscaler owns it")


# ----------------------------------------------------------------------------- services
def _in_monitor_scope(m: Document, doc: Document) -> bool:
    """Whether a monitor's namespaceSelector reaches ``doc`` (unnamespaced: same file only)."""
    sel = as_dict(m.get("spec", "namespaceSelector"))
    names = {str(n) for n in as_list(sel.get("matchNames"))}
    if sel.get("any") is not True and not names:
        return related(m, doc)
    if doc.namespace is None:
        return doc.file == m.file
    if doc.file != m.file and os.path.dirname(doc.file) != os.path.dirname(m.file):
        return False  # another folder is another application (see bundle.related)
    return sel.get("any") is True or doc.namespace in names


# Ports KubeRay adds to every Ray container (ray-operator/controllers/ray/common/pod.go).
RAY_PORTS = frozenset({"gcs-server", "dashboard", "client", "serve", "metrics", "as-metrics", "dash-metrics"})


def _port_names(pod: Pod) -> set[str]:
    names = {str(port.get("name")) for _, c in pod.containers() for port in as_list(c.get("ports"))
             if isinstance(port, dict) and port.get("name")}
    return names | RAY_PORTS if pod.doc.kind in RAY_CLUSTER_SPEC else names


def _services(b: Bundle) -> None:
    for svc in b.of("Service"):
        selector = svc.get("spec", "selector")
        if svc.get("spec", "type") == "ExternalName" or not isinstance(selector, dict) or not selector:
            continue
        scope = b.pods_near(svc)
        matched = [p for p in scope if map_matches(selector, p.labels)]
        if not matched:
            extra = f" (linted workloads: {_names([p.doc for p in scope])})" if scope else ""
            b.report("service-selector-mismatch", svc, ("spec", "selector"),
                     f"the selector matches no pod template among the linted objects{extra}: the Service has no endpoints",
                     "make spec.selector a subset of the pod template's labels", _missing_severity(scope, svc))
            continue
        _duplicate_ports(b, svc)
        for i, port in enumerate(as_list(svc.get("spec", "ports"))):
            target = port.get("targetPort") if isinstance(port, dict) else None
            if isinstance(target, str) and not target.isdigit():
                lacking = [p.doc.ref for p in matched if target not in _port_names(p)]
                if lacking:
                    b.report("service-target-port-missing", svc, ("spec", "ports", i, "targetPort"),
                             f"targetPort {target!r} is not a named container port of {', '.join(lacking[:3])}",
                             f"name the container port {target!r}, or use the port number")


def _duplicate_ports(b: Bundle, svc: Document) -> None:
    seen: dict[tuple, int] = {}
    for i, port in enumerate(as_list(svc.get("spec", "ports"))):
        if not isinstance(port, dict) or "port" not in port:
            continue
        key = (str(port.get("port")), str(port.get("protocol") or "TCP"))
        if key in seen:
            b.report("service-port-duplicate", svc, ("spec", "ports", i, "port"),
                     f"ports[{seen[key]}] and ports[{i}] both use {key[0]}/{key[1]}: the API server rejects the Service "
                     "(Duplicate value)", "give each Service port its own number (e.g. metrics on the API port needs "
                     "no second entry)")
        else:
            seen[key] = i


# ----------------------------------------------------------------------------- monitors
def _monitors(b: Bundle) -> None:
    for m in b.of("ServiceMonitor"):
        scope = [s for s in b.of("Service") if _in_monitor_scope(m, s)]
        matched = [s for s in scope if selector_matches(m.get("spec", "selector"), s.get("metadata", "labels") or {})]
        if not _report_unmatched(b, m, scope, matched, "Service"):
            continue
        for i, ep in enumerate(as_list(m.get("spec", "endpoints"))):
            port = ep.get("port") if isinstance(ep, dict) else None
            if isinstance(port, str) and port:
                lacking = [s.ref for s in matched if port not in {str(p.get("name")) for p in as_list(s.get("spec", "ports"))
                                                                   if isinstance(p, dict)}]
                if lacking:
                    b.report("monitor-port-missing", m, ("spec", "endpoints", i, "port"),
                             f"port {port!r} is not a named port of {', '.join(lacking[:3])}: nothing is scraped",
                             "use the Service port's name (ServiceMonitor) or set targetPort")
    for m in b.of("PodMonitor"):
        scope = [p for p in b.pods if _in_monitor_scope(m, p.doc)]
        matched = [p for p in scope if selector_matches(m.get("spec", "selector"), p.labels)]
        if not _report_unmatched(b, m, [p.doc for p in scope], matched, "pod template"):
            continue
        for i, ep in enumerate(as_list(m.get("spec", "podMetricsEndpoints"))):
            port = ep.get("port") if isinstance(ep, dict) else None
            if isinstance(port, str) and port:
                lacking = [p.doc.ref for p in matched if port not in _port_names(p)]
                if lacking:
                    b.report("monitor-port-missing", m, ("spec", "podMetricsEndpoints", i, "port"),
                             f"port {port!r} is not a named container port of {', '.join(lacking[:3])}: nothing is scraped",
                             "name the container port, or use portNumber")


# Labels of Services and pods that operators create (KServe, LWS, KubeRay): objects not linted.
OPERATOR_LABEL_PREFIXES = ("serving.kserve.io/", "leaderworkerset.sigs.k8s.io/", "ray.io/")


def _report_unmatched(b: Bundle, m: Document, scope: list, matched: list, what: str) -> bool:
    if matched:
        return True
    keys = [str(k) for k in as_dict(m.get("spec", "selector", "matchLabels"))]
    keys += [str(as_dict(e).get("key")) for e in as_list(m.get("spec", "selector", "matchExpressions"))]
    if any(k.startswith(OPERATOR_LABEL_PREFIXES) for k in keys):
        return False  # it selects what an operator creates
    extra = f" (linted: {_names(scope)})" if scope else ""
    b.report("monitor-selector-mismatch", m, ("spec", "selector"),
             f"the selector matches no {what} among the linted objects{extra}: Prometheus scrapes nothing",
             f"make spec.selector match the {what}'s labels (and namespaceSelector its namespace)",
             _missing_severity(scope, m))
    return False


# ----------------------------------------------------------------------------- claims
def _claims(b: Bundle) -> None:
    for pod in b.pods:
        templates = {str(dig(t, "metadata", "name")) for t in as_list(pod.doc.get("spec", "volumeClaimTemplates"))
                     + as_list(pod.doc.get("spec", "leaderWorkerTemplate", "volumeClaimTemplates"))}
        for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
            claim = dig(vol, "persistentVolumeClaim", "claimName")
            if not isinstance(claim, str) or not claim or claim in templates:
                continue
            if b.find("PersistentVolumeClaim", str(claim), pod.doc) is None:
                same = b.near(pod.doc, "PersistentVolumeClaim")
                extra = f" (linted claims: {_names(same)})" if same else ""
                b.report("pvc-missing", pod.doc, pod.spec_path + ("volumes", i, "persistentVolumeClaim", "claimName"),
                         f"volume {dig(vol, 'name')!r} claims {claim!r}, which is not among the linted objects{extra}: "
                         "the pod stays Pending until it exists", "create the claim (or lint it with the workload), or fix claimName",
                         _missing_severity(same, pod.doc))
