"""Everything the rules look at, indexed once: objects by kind, pod templates, vLLM servers.

Rules never walk raw documents for pods: ``Bundle.pods`` knows where each workload kind
keeps its pod template, and ``Bundle.servers`` holds every container that runs a vLLM
server, its parsed arguments and the vLLM version read from its image tag.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import InputError
from ..versions import VllmVersion
from .documents import Document, as_dict, as_list
from .controllers import added_labels, command_from_controller, embedded_pods
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
}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "LeaderWorkerSet"}


@dataclass
class Pod:
    doc: Document
    path: tuple  # the pod template (or the Pod itself): spec at path + ("spec",)
    spec: dict
    labels: dict
    spec_path: tuple | None = None  # where the spec is when not at path + ("spec",) (a KServe predictor)

    @property
    def namespace(self) -> str | None:
        return self.doc.namespace

    def containers(self, init: bool = False) -> Iterator[tuple[tuple, dict]]:
        keys = ("initContainers", "containers") if init else ("containers",)
        at = self.spec_path if self.spec_path is not None else self.path + ("spec",)
        for key in keys:
            for i, c in enumerate(as_list(self.spec.get(key))):
                if isinstance(c, dict):
                    yield at + (key, i), c


@dataclass
class Server:
    pod: Pod
    cpath: tuple
    container: dict
    inv: Invocation
    image: str
    version: VllmVersion | None
    version_problem: str

    @property
    def doc(self) -> Document:
        return self.pod.doc


def image_is_vllm(image: str) -> bool:
    return "vllm" in image.split("@")[0].lower()


def image_tag(image: str) -> str | None:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def image_version(image: str) -> tuple[VllmVersion | None, str]:
    """The vLLM version in a tag like vllm/vllm-openai:v0.10.2 (or 0.10.2-cu128); else why not."""
    if not image_is_vllm(image):
        return None, f"image {image!r} is not a vllm image, so its tag says nothing about the vLLM version"
    tag = image_tag(image)
    if not tag:
        return None, f"image {image!r} has no tag"
    try:
        return VllmVersion.parse(tag, field="image"), ""
    except InputError:
        return None, f"tag {tag!r} of {image!r} is not a vLLM release"


def same_namespace(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def selector_matches(selector: Any, labels: dict) -> bool:
    """A LabelSelector (matchLabels/matchExpressions); an empty selector matches everything."""
    if not isinstance(selector, dict):
        return False
    labels = as_dict(labels)
    for k, v in as_dict(selector.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op, values = expr.get("key"), expr.get("operator"), as_list(expr.get("values"))
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
    return isinstance(selector, dict) and bool(selector) and all(labels.get(k) == v for k, v in selector.items())


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

    def find(self, kind: str, name: str, namespace: str | None) -> Document | None:
        return next((d for d in self.by_kind.get(kind, []) if d.name == name and same_namespace(d.namespace, namespace)), None)

    def _pods(self) -> Iterator[Pod]:
        for d in self.docs:
            if d.kind == "Pod" and isinstance(d.get("spec"), dict):
                yield Pod(d, (), d.get("spec"), as_dict(d.get("metadata", "labels")))
            for path in POD_TEMPLATES.get(d.kind, []):
                spec = d.get(*path, "spec")
                if isinstance(spec, dict):
                    labels = {**as_dict(d.get(*path, "metadata", "labels")), **added_labels(d, path)}
                    yield Pod(d, path, spec, labels)
            for spec_path, spec, labels in embedded_pods(d):
                yield Pod(d, spec_path[:-1], spec, labels, spec_path)

    def _servers(self) -> Iterator[Server]:
        for pod in self.pods:
            if command_from_controller(pod.doc):
                continue
            for cpath, c in pod.containers():
                image = str(c.get("image") or "")
                inv = find_server(c, cpath, image_is_vllm(image))
                if inv is not None:
                    version, problem = image_version(image)
                    yield Server(pod, cpath, c, inv, image, version, problem)

    def servers_of(self, doc: Document) -> list[Server]:
        return [s for s in self.servers if s.doc is doc]

    def report(self, rule: str, doc: Document, path: tuple, message: str, fix: str, severity=None) -> None:
        if rule in self.disabled:
            return
        off = str(doc.get("metadata", "annotations", DISABLE_ANNOTATION, default="") or "")
        if rule in {r.strip() for r in off.split(",")}:
            return
        self.findings.append(doc.finding(rule, severity or RULES[rule].severity, path, message, fix))
