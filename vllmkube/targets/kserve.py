"""The KServe target: an InferenceService (serving.kserve.io/v1beta1) in Standard mode, whose
controller makes the predictor's Deployment, Service and (with KEDA) ScaledObject itself.

templates/inferenceservice.yaml.j2 lays it out around the shared pod spec (templates/_pod.j2).
Facts (kserve v0.20.0; shared reference beyond-one-deployment.md section 2, kubernetes-vllm-facts.md
section 5):

* ``serving.kserve.io/deploymentMode: Standard`` is set explicitly: the Helm chart's default is Knative.
* ``serving.kserve.io/autoscalerClass: keda`` + ``predictor.autoScaling.metrics[]`` of type External
  (backend prometheus) become the triggers of a ScaledObject KServe names ``<isvc>-predictor``
  (pkg/controller/v1beta1/inferenceservice/reconcilers/keda/). vllmkube renders no ScaledObject of
  its own: a second one on the generated Deployment fights the controller (kserve#5527).
* The runtime: a custom predictor container running the same `vllm serve` command line as every
  other target (the vllm/vllm-openai image), not a ServingRuntime. The kserve-vllmserver and
  huggingface runtimes add their own --model/--port/--served-model-name arguments and read the
  model from a storage initializer's copy; a custom container keeps the sizing's flags verbatim,
  vLLM's own metric names (the triggers and alerts read them), and the shared model cache PVC
  mounted read-only, filled once by the downloader Job (rather than storageUri: pvc://, which
  KServe also accepts, but copies nothing better).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError, RenderError
from ..plan import Parts, Target
from ..plan.identity import Identity
from ..plan.pod import PodTemplate
from ..plan.scaling import Scaling
from ..sizing import SizingPlan
from ..spec import RenderSpec

NAME = "kserve"
OMITS: frozenset[str] = frozenset()
REPLACES: frozenset[str] = frozenset({"service", "scaledobject"})  # KServe makes <isvc>-predictor's own
API_VERSION = "serving.kserve.io/v1beta1"
MAIN_CONTAINER = "kserve-container"
CANARY_NAME = "canary"  # KServe names its Deployment and Service <isvc>-canary-predictor  # the name KServe gives a predictor's serving container


@dataclass(frozen=True)
class ExternalMetric:
    name: str  # the vllmkube trigger it stands for
    query: str  # a total over the replicas
    threshold: str


@dataclass(frozen=True)
class InferenceServiceTarget(Target):
    pod: PodTemplate
    metrics: tuple[ExternalMetric, ...]
    min_replicas: int
    max_replicas: int
    autoscaler_class: str  # keda | none
    canary: tuple[str, int, PodTemplate] | None  # (name, trafficPercent, the canary's pod)

    replaces = REPLACES

    def hpa_name(self, identity: Identity) -> str:
        return f"keda-hpa-{self.deployment_name()}"  # KEDA's default name for the HPA of a ScaledObject

    def deployment_name(self) -> str:
        return f"{self.name}-predictor"


def check(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    if sizing.nodes_per_replica > 1:
        raise InputError("--target", f"{model.id} needs {sizing.nodes_per_replica} nodes per replica; an InferenceService "
                         "predictor runs on one node here", "use --target llmisvc or lws, or --quantization fp8")
    if spec.scale_to_zero:
        raise InputError("--scale-to-zero", "KServe's Standard mode does not scale to zero",
                         "drop --scale-to-zero, or use --target deployment")


def external_metrics(scaling: Scaling) -> tuple[ExternalMetric, ...]:
    """KServe turns an External metric into a KEDA prometheus trigger with threshold =
    ``target.value`` and no metricType, i.e. KEDA's default AverageValue: desired =
    ceil(query / value) (kserve v0.20.0, pkg/controller/v1beta1/inferenceservice/reconcilers/keda/;
    it reads neither target.type nor averageValue). So every query must be a total: a per-replica
    average trigger (metricType Value: desired = ceil(ready pods x avg / threshold)) becomes the
    sum over the pods, the same number with one series per pod."""
    out = []
    for t in scaling.triggers:
        query = t.query
        if t.metric_type == "Value":
            if not query.startswith("avg("):
                raise RenderError(f"trigger {t.name}: a Value trigger must be avg(...) to become a total for KServe")
            query = "sum(" + query[len("avg("):]
        out.append(ExternalMetric(t.name, query, t.threshold))
    return tuple(out)


def build(parts: Parts) -> InferenceServiceTarget:
    scaling, canary = parts.scaling, parts.canary
    pod = dataclasses.replace(parts.pod, container_name=MAIN_CONTAINER)
    # KServe's Standard-mode canaries take no autoscaling: the stable runs fixed replicas too (kserve#5672).
    keda = scaling.autoscaled and canary is None
    return InferenceServiceTarget(
        api_version=API_VERSION, kind="InferenceService", name=parts.identity.names["server"],
        templates=("inferenceservice",), pod=pod, metrics=external_metrics(scaling), min_replicas=scaling.min_replicas,
        max_replicas=scaling.max_replicas if keda else scaling.min_replicas, autoscaler_class="keda" if keda else "none",
        canary=None if canary is None else (CANARY_NAME, canary.percent,
                                            dataclasses.replace(canary.pod, container_name=MAIN_CONTAINER)),
    )
