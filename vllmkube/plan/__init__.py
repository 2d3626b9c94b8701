"""The plan `render` lays out: shared parts, one module each, and the target that consumes them.

    identity.py    names, labels, selector, the served model, which shared documents to render
    engine.py      the `vllm serve` arguments from the sizing (and the --extra-arg checks)
    pod.py         the vLLM pod template: image, args, env, resources, probes, shm, placement
    cache.py       the model cache: PVC and downloader Job
    scaling.py     replicas, rollout, KEDA triggers and HPA behaviour
    canary.py      a second revision with a share of the traffic (--canary-revision)
    monitoring.py  ServiceMonitor/PodMonitor, rules.py (PrometheusRule), dashboard.py (Grafana)
    front.py       what sits in front of the pods: the Service, the KEDA HTTP add-on (keda_http.py), or an
                   InferencePool (pool.py); http.py has what they share

The parts never import a target (vllmkube/targets/); compose.py builds them and hands them to one
as ``Parts``; the target returns a ``Target``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # importing one part (e.g. lint's plan.pod constants) need not load them all
    from ..catalog import GpuEntry, ModelEntry
    from ..sizing import SizingPlan
    from ..spec import RenderSpec
    from ..versions import VllmVersion
    from .cache import ModelCache
    from .front import Front
    from .canary import Canary
    from .identity import Identity
    from .monitoring import Monitoring
    from .pod import PodTemplate
    from .scaling import Scaling


@dataclass(frozen=True)
class Parts:
    """What a target's build() gets: the shared parts and what they were built from."""

    spec: RenderSpec
    model: ModelEntry
    gpu: GpuEntry
    sizing: SizingPlan
    version: VllmVersion
    identity: Identity
    pod: PodTemplate
    cache: ModelCache
    scaling: Scaling
    canary: Canary | None = None  # --canary-revision: the second copy a target routes a share to


@dataclass(frozen=True)
class Target:
    """What a target module builds: the workload that runs the pods, which the autoscaler scales
    (its scaleTargetRef), and the templates that lay it out, in apply order."""

    api_version: str
    kind: str
    name: str
    templates: tuple[str, ...]  # templates/<name>.yaml.j2, rendered where render.ORDER puts the target

    # Shared templates whose object the target's controller makes itself (render leaves them out):
    # KServe makes the predictor's Service and ScaledObject.
    replaces: ClassVar[frozenset[str]] = frozenset()
    # The pods of one replica talk to each other (a multi-node group): the NetworkPolicy allows it.
    group_traffic: ClassVar[bool] = False

    def serving_selector(self, identity: Identity) -> dict[str, str]:
        """The pods that serve HTTP and /metrics: the Service's and the PodMonitor's selector."""
        return identity.selector

    def hpa_name(self, identity: Identity) -> str:
        """The HPA KEDA makes for this workload (the scaling alert reads its kube-state-metrics)."""
        return identity.names["hpa"]

    def replica_queries(self, identity: Identity) -> tuple[str, str]:
        """(desired, ready) replicas in PromQL, one series each, for the dashboard and the
        scale-to-zero alert. kube-state-metrics knows Deployments; a target whose workload is
        another kind overrides this."""
        from ..promql import matchers

        dep = matchers(namespace=identity.namespace, deployment=self.deployment_name())
        return f"max(kube_deployment_spec_replicas{{{dep}}})", f"max(kube_deployment_status_replicas_ready{{{dep}}})"

    def deployment_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class Plan:
    identity: Identity
    pod: PodTemplate
    cache: ModelCache
    scaling: Scaling
    monitoring: Monitoring
    target: Target
    sizing: SizingPlan
    header: list[str]  # comment lines on top of the stream
    warnings: list[str]
    front: Front | None = None  # issue 12: traffic in front of the pods (render.FRONT)
    notes: list[str] = field(default_factory=list)  # choices made for the user (stderr, "note: ")
    canary: Canary | None = None
