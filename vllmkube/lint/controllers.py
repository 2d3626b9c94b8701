"""What workload controllers make from the objects lint sees: the labels they add to pods, the
pod specs embedded in custom resources, and the objects they create themselves.

LeaderWorkerSet (kubernetes-sigs/lws, api/leaderworkerset/v1/leaderworkerset_types.go,
pkg/webhooks/pod_webhook.go): every pod gets leaderworkerset.sigs.k8s.io/name = the LWS and
.../worker-index, "0" on the leader; the other indexes (1..size-1) are the workers'.

KServe InferenceService (kserve v0.20.0, Standard mode): the predictor (and each spec.canary[]
predictor) is a pod spec; the controller makes the Deployment, Service and autoscaler
``<isvc>-predictor`` (``<isvc>-<canary>-predictor`` for a canary) and labels the pods
serving.kserve.io/inferenceservice = the InferenceService and component = predictor, plus
predictor.labels. LLMInferenceService (v1alpha2): spec.template and spec.worker are pod specs.
"""
from __future__ import annotations

from typing import Iterator

from .documents import Document, as_dict, as_list

LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
LWS_WORKER_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"
KSERVE_ISVC = "serving.kserve.io/inferenceservice"
KSERVE_AUTOSCALER = "serving.kserve.io/autoscalerClass"


def added_labels(doc: Document, template_path: tuple) -> dict[str, str]:
    """The labels ``doc``'s controller puts on the pods of the template at ``template_path``."""
    if doc.kind == "LeaderWorkerSet":
        labels = {LWS_NAME: doc.name}
        if template_path[-1:] == ("leaderTemplate",):
            labels[LWS_WORKER_INDEX] = "0"
        return labels
    return {}


def embedded_pods(doc: Document) -> Iterator[tuple[tuple, dict, dict]]:
    """(path of the pod spec, the spec, the pods' labels) of pod specs a custom resource embeds
    without a pod template around them."""
    if doc.kind == "LLMInferenceService":
        # KServe labels the workload pods with spec.labels and its own (kserve.io/component: workload).
        labels = {"app.kubernetes.io/name": doc.name, "kserve.io/component": "workload", **as_dict(doc.get("spec", "labels"))}
        for key in ("template", "worker"):
            p = doc.get("spec", key)
            if isinstance(p, dict):
                yield ("spec", key), p, labels
        return
    if doc.kind != "InferenceService":
        return
    base = {KSERVE_ISVC: doc.name, "component": "predictor"}
    predictor = doc.get("spec", "predictor")
    if isinstance(predictor, dict):
        yield ("spec", "predictor"), predictor, {**as_dict(predictor.get("labels")), **base}
    for i, c in enumerate(as_list(doc.get("spec", "canary"))):
        p = as_dict(as_dict(c).get("predictor"))
        if p:
            yield ("spec", "canary", i, "predictor"), p, {**as_dict(p.get("labels")), **base}


def made_by(docs: list[Document], kind: str, name: str, namespace: str | None) -> Document | None:
    """The InferenceService whose controller makes ``kind`` ``name`` (its <isvc>-predictor Deployment)."""
    if kind != "Deployment" or not name.endswith("-predictor"):
        return None
    for d in docs:
        if d.kind == "InferenceService" and (d.namespace or "default") == (namespace or "default"):
            names = {f"{d.name}-predictor"} | {f"{d.name}-{as_dict(as_dict(c).get('predictor')).get('name')}-predictor"
                                              for c in as_list(d.get("spec", "canary"))}
            if name in names:
                return d
    return None


def autoscales_itself(isvc: Document) -> bool:
    """KServe makes its own HPA or ScaledObject unless autoscalerClass is external or none (default hpa)."""
    value = str(isvc.get("metadata", "annotations", KSERVE_AUTOSCALER, default="hpa") or "hpa")
    return value not in ("external", "none")


def command_from_controller(doc: Document) -> bool:
    """KServe's LLMInferenceService preset supplies the vllm serve command of the main container
    (its flags are not in the object: lint cannot check them)."""
    return doc.kind == "LLMInferenceService"
