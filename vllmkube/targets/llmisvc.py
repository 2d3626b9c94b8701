"""The LLMInferenceService target (serving.kserve.io/v1alpha2, KServe >= 0.17; llm-d's API):
KServe makes the workload (a Deployment, or a LeaderWorkerSet when ``worker`` is set), its
Service and, with ``router``, the HTTPRoute and scheduler.

templates/llminferenceservice.yaml.j2 lays it out. Facts (kserve v0.20.0; shared reference
beyond-one-deployment.md section 2, kubernetes-vllm-facts.md section 5.3):

* ``model {uri, name}``: the weights (here ``pvc://<cache PVC>/<folder>``, the downloader's copy)
  and the name clients send; ``parallelism {tensor, pipeline}`` from the sizing; ``worker`` (a pod
  spec) means multi-node; ``replicas`` xor ``scaling`` (scaling needs llm-d's Workload Variant
  Autoscaler, which vllmkube does not assume: it renders ``replicas``).
* KServe's preset builds the `vllm serve` command (model path, served name, port, TLS, parallel
  sizes); the other sizing-derived flags go in the main container's VLLM_ADDITIONAL_ARGS, which
  the preset appends.
* Canary: two LLMInferenceServices in one ``router.route.group`` split traffic by ``weight``.
"""
from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass

from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError
from ..plan import Parts, Target
from ..plan.cache import MODEL_MOUNT
from ..plan import storage
from ..plan.pod import PodTemplate
from ..sizing import SizingPlan
from ..spec import RenderSpec

NAME = "llmisvc"
# KServe makes the Service; replicas, not KEDA. The preset's port name and TLS are KServe's
# choice, so no PodMonitor (scrape the workload as llm-d's monitoring does) and no alerts that
# would read a scrape job that is not there; the dashboard reads vLLM's metrics by model name.
# No NetworkPolicy either: ours admits the port named http, which the preset's pods may not have
# (and the router and scheduler must reach them).
OMITS: frozenset[str] = frozenset({"service", "autoscaling", "monitor", "rules", "networkpolicy"})
REPLACES: frozenset[str] = frozenset({"service"})
API_VERSION = "serving.kserve.io/v1alpha2"
MAIN_CONTAINER = "main"  # the preset's container our template is merged into, by name
# Flags KServe's preset sets itself (from model, parallelism and its own TLS/port choices).
KEPT_ENV = {"HF_HUB_OFFLINE", "VLLM_NO_USAGE_STATS", "VLLM_DO_NOT_TRACK", "VLLM_ENGINE_READY_TIMEOUT_S"}
PRESET_FLAGS = {"--served-model-name", "--host", "--port", "--tensor-parallel-size", "--pipeline-parallel-size"}


@dataclass(frozen=True)
class Service:
    """One LLMInferenceService document: the stable one, or the canary."""

    name: str
    pod: PodTemplate
    model_uri: str
    route: tuple[str, int] | None  # (group, weight) when a canary splits traffic
    replicas: int


@dataclass(frozen=True)
class LLMInferenceServiceTarget(Target):
    stable: Service
    canary: Service | None
    multi_node: bool  # a `worker` pod spec: KServe runs each replica as a LeaderWorkerSet group
    served_model_name: str
    tensor: int
    pipeline: int
    additional_args: str  # VLLM_ADDITIONAL_ARGS
    gateway: tuple[str, str | None] | None  # (name, namespace) of the Gateway to attach to

    replaces = REPLACES

    def deployment_name(self) -> str:
        return f"{self.name}-kserve"  # the workload Deployment KServe makes for a single-node service


def check(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    # One node or several: KServe makes a Deployment or a LeaderWorkerSet. The weights are model.uri,
    # pvc://<cache>/<folder>: a claim every pod mounts, which a per-pod volume is not.
    if storage.choose(spec).strategy != storage.SHARED:
        raise InputError("--model-cache", "an LLMInferenceService reads the weights from one PVC (model.uri pvc://...) "
                         f"and --cloud {spec.cloud} defaults to a per-pod volume",
                         "pass --storage-class with a ReadWriteMany class (or --model-cache shared-pvc on --cloud azure)")


def additional_args(args: list[str]) -> str:
    """The sizing's flags without the model folder and the flags the preset sets, shell-quoted."""
    out: list[str] = []
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a.split("=")[0] in PRESET_FLAGS:
            skip = "=" not in a
            continue
        out.append(a)
    return shlex.join(out)


def model_uri(pvc: str, model_path: str) -> str:
    return f"pvc://{pvc}/{model_path.removeprefix(MODEL_MOUNT + '/')}"


def build(parts: Parts) -> LLMInferenceServiceTarget:
    spec, sizing, ident, canary = parts.spec, parts.sizing, parts.identity, parts.canary
    extra = additional_args(parts.pod.args)
    # The preset mounts its own cache folders: keep only the env that holds without our /cache volume.
    env = [e for e in parts.pod.env if e["name"] in KEPT_ENV]

    def main(pod: PodTemplate) -> PodTemplate:
        return dataclasses.replace(pod, container_name=MAIN_CONTAINER,
                                   env=[*env, {"name": "VLLM_ADDITIONAL_ARGS", "value": extra}])

    gateway = None
    if spec.gateway:
        ns, _, name = spec.gateway.rpartition("/")
        gateway = (name, ns or None)
    pvc = ident.names["pvc"]
    group = ident.release  # both services in one route group, split by weight
    stable = Service(ident.names["server"], main(parts.pod), model_uri(pvc, parts.cache.model_path),
                     (group, 100 - canary.percent) if canary else None, parts.scaling.min_replicas)
    second = None if canary is None else Service(canary.name, main(canary.pod), model_uri(pvc, canary.cache.model_path),
                                                 (group, canary.percent), 1)
    return LLMInferenceServiceTarget(
        api_version=API_VERSION, kind="LLMInferenceService", name=stable.name,
        templates=("llminferenceservice",) + (("llminferenceservice-canary",) if canary else ()),
        stable=stable, canary=second, multi_node=sizing.nodes_per_replica > 1,
        served_model_name=ident.served_model_name, tensor=sizing.tensor_parallel_size,
        pipeline=sizing.pipeline_parallel_size, additional_args=extra, gateway=gateway,
    )
