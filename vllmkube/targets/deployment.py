"""The Deployment target: one single-node pod per replica, in a Deployment that KEDA scales.

templates/deployment.yaml.j2 lays it out around the shared pod template (templates/_pod.j2).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError
from ..plan import Parts, Target
from ..plan.pod import PodTemplate
from ..sizing import SizingPlan
from ..spec import RenderSpec

NAME = "deployment"
OMITS: frozenset[str] = frozenset()  # shared documents this target makes no use of
REPLACES: frozenset[str] = frozenset()  # shared templates whose object a controller makes instead


@dataclass(frozen=True)
class DeploymentTarget(Target):
    pod: PodTemplate
    replicas: int | None  # None: KEDA owns the count
    max_surge: int
    max_unavailable: int


def check(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    """Refuse a sizing this target cannot serve, before anything else is built."""
    if sizing.nodes_per_replica > 1:
        raise InputError("--target", f"{model.id} needs {sizing.nodes_per_replica} nodes per replica "
                         f"(TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}); a Deployment "
                         "pod runs on one node", "use --target lws (or auto), a larger GPU, or --quantization fp8")


def build(parts: Parts) -> DeploymentTarget:
    scaling = parts.scaling
    return DeploymentTarget(
        api_version="apps/v1", kind="Deployment", name=parts.identity.names["server"], templates=("deployment",),
        pod=parts.pod, replicas=None if scaling.autoscaled else scaling.min_replicas,
        max_surge=scaling.max_surge, max_unavailable=scaling.max_unavailable,
    )
