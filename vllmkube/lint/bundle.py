"""Everything the rules look at, indexed once: objects by kind, pod templates, vLLM servers.

Rules never walk raw documents for pods: ``Bundle.pods`` knows where each workload kind
keeps its pod template, and ``Bundle.servers`` holds every container that runs a vLLM
server, its parsed arguments and the vLLM version read from its image tag.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..versions import VllmVersion
from . import imagetags
from .documents import Document, as_dict, as_list, dig
from .findings import Finding
from .ruleset import RULES
from .vllmargs import Invocation, find_server

DISABLE_ANNOTATION = "lint.vllmkube.io/disable"
# kind -> path of the pod template (pod spec is <path>.spec, labels <path>.metadata.labels)
POD_TEMPLATES: dict[str, list[tuple[str, ...]]] = {
    "Deployment": [("spec", "template")], "StatefulSet": [("spec", "template")], "DaemonSet": [("spec", "template")],
    "ReplicaSet": [("spec", "template")], "ReplicationController": [("spec", "template")], "Job": [("spec", "template")],
    "CronJob": [("spec", "jobTemplate", "spec", "template")],
    "LeaderWorkerSet": [("spec", "leaderWorkerTemplate", "leaderTemplate"), ("spec", "leaderWorkerTemplate", "workerTemplate")],
    # KServe LLMInferenceService: the serving pod, and the worker pods of a multi-node (LWS) layout
    "LLMInferenceService": [("spec", "template"), ("spec", "worker"), ("spec", "prefill", "template"),
                            ("spec", "prefill", "worker")],
}
# KubeRay: where a kind keeps its RayCluster spec (head group + worker groups, each with a pod template)
RAY_CLUSTER_SPEC: dict[str, tuple[str, ...]] = {
    "RayCluster": ("spec",), "RayService": ("spec", "rayClusterConfig"), "RayJob": ("spec", "rayClusterSpec"),
    "RayClusterFleet": ("spec", "template", "spec"),  # AIBrix: a Deployment-like fleet of RayClusters
}
# Kinds whose template paths above point at a pod spec itself, not at {metadata, spec}
POD_SPEC_KINDS = frozenset({"InferenceService", "LLMInferenceService"})
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "LeaderWorkerSet"}
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"


def pod_template_paths(doc: Document) -> list[tuple]:
    paths = list(POD_TEMPLATES.get(doc.kind, []))
    base = RAY_CLUSTER_SPEC.get(doc.kind)
    if base is not None:
        paths.append(base + ("headGroupSpec", "template"))
        paths += [base + ("workerGroupSpecs", i, "template") for i in range(len(as_list(doc.get(*base, "workerGroupSpecs"))))]
    if doc.kind == "InferenceService":
        for component in ("predictor", "transformer", "explainer"):
            if component == "predictor" or as_list(doc.get("spec", component, "containers")):
                paths.append(("spec", component))  # the component is itself a pod spec (KServe adds the model container)
        # Standard-mode canaries (v0.20.0): each spec.canary[] predictor is a pod spec of its own
        paths += [("spec", "canary", i, "predictor") for i, _ in enumerate(as_list(doc.get("spec", "canary")))]
    return paths


def controller_labels(doc: Document, path: tuple) -> dict:
    """Labels a controller adds to the pods it creates (LWS; KServe predictors)."""
    if doc.kind == "LeaderWorkerSet":
        labels = {LWS_NAME_LABEL: doc.name}
        if path and path[-1] == "leaderTemplate":
            labels[LWS_WORKER_INDEX_LABEL] = "0"
        elif path and path[-1] == "workerTemplate" and doc.get("spec", "leaderWorkerTemplate", "leaderTemplate"):
            labels[LWS_WORKER_INDEX_LABEL] = "1..size-1"  # with a leaderTemplate, workers are never index 0
        return labels
    if doc.kind == "InferenceService" and (path[:2] == ("spec", "predictor") or path[:2] == ("spec", "canary")):
        # KServe copies the component's own labels (ComponentExtensionSpec.labels) onto its pods
        return {**as_dict(doc.get(*path, "labels")), "serving.kserve.io/inferenceservice": doc.name,
                "component": "predictor", "app": f"isvc.{doc.name}-predictor"}
    if doc.kind == "LLMInferenceService":
        return as_dict(doc.get("spec", "labels"))  # spec.labels go on the workload pods
    return {}


@dataclass(frozen=True)
class Generated:
    """An object an operator creates from a linted one (KServe's <name>-predictor Deployment)."""
    kind: str
    name: str
    owner: Document

    @property
    def namespace(self) -> str | None:
        return self.owner.namespace

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


def generated(doc: Document) -> list[Generated]:
    if doc.kind == "InferenceService" and doc.name:
        # RawDeployment (Standard) mode: Deployment, Service and (with KEDA) ScaledObject <name>-predictor
        return [Generated(k, f"{doc.name}-predictor", doc) for k in ("Deployment", "Service", "ScaledObject",
                                                                      "HorizontalPodAutoscaler")]
    if doc.kind == "LLMInferenceService" and doc.name:
        return [Generated("Deployment", f"{doc.name}-kserve", doc)]
    return []


@dataclass
class Pod:
    doc: Document
    path: tuple  # the pod template (or the Pod itself): spec at spec_path
    spec: dict
    labels: dict
    spec_path: tuple = ()

    def __post_init__(self) -> None:
        if not self.spec_path and self.doc.kind not in POD_SPEC_KINDS:
            self.spec_path = self.path + ("spec",)

    @property
    def namespace(self) -> str | None:
        return self.doc.namespace

    def containers(self, init: bool = False) -> Iterator[tuple[tuple, dict]]:
        keys = ("initContainers", "containers") if init else ("containers",)
        at = self.spec_path if self.spec_path is not None else self.path + ("spec",)
        for key in keys:
            for i, c in enumerate(as_list(self.spec.get(key))):
                if isinstance(c, dict):
                    yield self.spec_path + (key, i), c


@dataclass
class Server:
    pod: Pod
    cpath: tuple
    container: dict
    inv: Invocation
    image: str
    version: VllmVersion | None  # None: unknown, or older than the flag/metric tables
    version_problem: str
    release: VllmVersion | None = None  # the release the tag names, even below the tables

    @property
    def doc(self) -> Document:
        return self.pod.doc


def image_is_vllm(image: str) -> bool:
    return imagetags.is_vllm(image)


def image_tag(image: str) -> str | None:
    return imagetags.tag(image)


def image_version(image: str) -> tuple[VllmVersion | None, str, VllmVersion | None]:
    """(version the tables can judge, why not, the release the tag names)."""
    found = imagetags.version(image)
    if found.version is None:
        return None, found.problem, None
    if found.below_tables:
        from ..versions import OLDEST_VLLM

        return None, (f"vLLM {found.version} (image {image!r}) is older than {OLDEST_VLLM}, the oldest release the "
                      "flag and metric tables cover"), found.version
    return found.version, "", found.version


def same_namespace(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def related(a: Document, b: Document) -> bool:
    """Whether two objects may refer to each other. In one file, an object without a namespace
    goes wherever it is applied, so it matches any namespace there. Across files, only objects
    in the same folder that both name the same namespace match: a folder of unrelated samples
    (all in "default", or in none) is not one application."""
    if a.file == b.file:
        return same_namespace(a.namespace, b.namespace)
    return a.namespace is not None and a.namespace == b.namespace and _folder(a.file) == _folder(b.file)


@functools.lru_cache(maxsize=4096)
def _folder(file: str) -> str:
    return os.path.dirname(file)


# Labels controllers put on pods with values only known at run time (a pod's ordinal, a
# template hash, a generated cluster name): a selector on them cannot be judged, so it passes.
RUNTIME_LABELS = frozenset({
    "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-name", "job-name", "batch.kubernetes.io/controller-uid", "controller-uid",
    "leaderworkerset.sigs.k8s.io/worker-index", "leaderworkerset.sigs.k8s.io/group-index",
    "leaderworkerset.sigs.k8s.io/group-key", "leaderworkerset.sigs.k8s.io/template-revision-hash",
    "ray.io/cluster", "ray.io/node-type", "ray.io/group", "ray.io/serve", "ray.io/is-ray-node",
})


def selector_matches(selector: Any, labels: dict) -> bool:
    """A LabelSelector (matchLabels/matchExpressions); an empty selector matches everything."""
    if not isinstance(selector, dict):
        return False
    labels = as_dict(labels)
    for k, v in as_dict(selector.get("matchLabels")).items():
        if labels.get(k) != v and not _unknown(k, labels):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op, values = expr.get("key"), expr.get("operator"), as_list(expr.get("values"))
        if _unknown(key, labels):
            continue
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def map_matches(selector: Any, labels: dict) -> bool:
    labels = as_dict(labels)
    return isinstance(selector, dict) and bool(selector) and all(labels.get(k) == v or _unknown(k, labels)
                                                                 for k, v in selector.items())


def _unknown(key: str, labels: dict) -> bool:
    """A run-time label the pod's known labels do not pin (controller_labels knows some: an LWS leader's
    worker-index is "0", a worker's never is)."""
    return key in RUNTIME_LABELS and key not in labels


@dataclass
class Bundle:
    docs: list[Document]
    disabled: frozenset[str] = frozenset()
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_kind: dict[str, list[Document]] = {}
        for d in self.docs:
            self.by_kind.setdefault(d.kind, []).append(d)
        self.pods = list(self._pods())
        self.servers = list(self._servers())

    def of(self, *kinds: str) -> list[Document]:
        return [d for k in kinds for d in self.by_kind.get(k, [])]

    def near(self, doc: Document, *kinds: str) -> list[Document]:
        """Objects of ``kinds`` that ``doc`` may refer to (see ``related``)."""
        return [d for d in self.of(*kinds) if related(doc, d)]

    def find(self, kind: str, name: str, near: Document) -> Document | None:
        return next((d for d in self.by_kind.get(kind, []) if d.name == name and related(near, d)), None)

    def generated(self, kind: str, name: str, near: Document) -> Generated | None:
        """An object an operator creates from a linted object (KServe, LWS), if any."""
        return next((g for d in self.docs for g in generated(d) if g.kind == kind and g.name == name
                     and related(near, d)), None)

    def pods_near(self, doc: Document) -> list[Pod]:
        return [p for p in self.pods if related(doc, p.doc)]

    def _pods(self) -> Iterator[Pod]:
        for d in self.docs:
            if d.kind == "Pod" and isinstance(d.get("spec"), dict):
                yield Pod(d, (), d.get("spec"), as_dict(d.get("metadata", "labels")), ("spec",))
            for path in pod_template_paths(d):
                direct = d.kind in POD_SPEC_KINDS
                spec = d.get(*path) if direct else d.get(*path, "spec")
                if isinstance(spec, dict):
                    labels = {**as_dict(d.get(*path, "metadata", "labels")), **controller_labels(d, path)}
                    yield Pod(d, path, spec, labels, path if direct else path + ("spec",))

    def _servers(self) -> Iterator[Server]:
        for pod in self.pods:
            for cpath, c in pod.containers():
                image = str(c.get("image") or "")
                inv = find_server(c, cpath, image_is_vllm(image))
                if inv is not None:
                    version, problem, release = image_version(image)
                    yield Server(pod, cpath, c, inv, image, version, problem, release)

    def servers_of(self, doc: Document) -> list[Server]:
        return [s for s in self.servers if s.doc is doc]

    def report(self, rule: str, doc: Document, path: tuple, message: str, fix: str, severity=None) -> None:
        if rule in self.disabled:
            return
        off = str(doc.get("metadata", "annotations", DISABLE_ANNOTATION, default="") or "")
        if rule in {r.strip() for r in off.split(",")}:
            return
        self.findings.append(doc.finding(rule, severity or RULES[rule].severity, path, message, fix))
