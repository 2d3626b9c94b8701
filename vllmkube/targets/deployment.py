"""The Deployment target: one single-node pod per replica, in a Deployment that KEDA scales.

templates/deployment.yaml.j2 lays it out around the shared pod template (templates/_pod.j2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import naming
from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError
from ..plan import Parts, Target
from ..plan.pod import PodTemplate
from ..sizing import SizingPlan
from ..spec import RenderSpec

if TYPE_CHECKING:  # plan.canary loads only for a canary (compose.build)
    from ..plan.canary import Canary

NAME = "deployment"
OMITS: frozenset[str] = frozenset()  # shared documents this target makes no use of
REPLACES: frozenset[str] = frozenset()  # shared templates whose object a controller makes instead


@dataclass(frozen=True)
class DeploymentTarget(Target):
    pod: PodTemplate
    replicas: int | None  # None: KEDA owns the count
    max_surge: int
    max_unavailable: int
    canary: Canary | None = None  # a second Deployment; an HTTPRoute splits the traffic by weight
    gateway: tuple[str, str | None] | None = None  # (name, namespace) the HTTPRoute attaches to
    # The route's Services and HTTPRoute: component "route", so the ServiceMonitor (component
    # "server") does not scrape the pods a second time through them.
    route_labels: dict[str, str] | None = None
    # (Service name, weight) of the stable and the canary pods, in that order: the HTTPRoute's backends
    backends: tuple[tuple[str, int], ...] = ()


def check(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    """Refuse a sizing this target cannot serve, before anything else is built."""
    if sizing.nodes_per_replica > 1:
        raise InputError("--target", f"{model.id} needs {sizing.nodes_per_replica} nodes per replica "
                         f"(TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}); a Deployment "
                         "pod runs on one node", "use --target lws (or auto), a larger GPU, or --quantization fp8")
    if spec.canary_revision and not spec.gateway:
        raise InputError("--gateway", "a canary Deployment needs a router that splits traffic by weight",
                         "pass --gateway NAME or NAMESPACE/NAME (Gateway API HTTPRoute), or use --target kserve")


def build(parts: Parts) -> DeploymentTarget:
    scaling, canary = parts.scaling, parts.canary
    gateway = None
    if canary is not None and parts.spec.gateway:
        ns, _, name = parts.spec.gateway.rpartition("/")
        gateway = (name, ns or None)
    # With a canary: the stable pods are labelled track: stable, and the route's own Services tell them apart.
    extra = ("deployment-canary", "service-stable", "service-canary", "httproute-canary") if canary else ()
    return DeploymentTarget(
        api_version="apps/v1", kind="Deployment", name=parts.identity.names["server"], templates=("deployment", *extra),
        pod=canary.stable_pod if canary else parts.pod, replicas=None if scaling.autoscaled else scaling.min_replicas,
        max_surge=scaling.max_surge, max_unavailable=scaling.max_unavailable, canary=canary, gateway=gateway,
        route_labels=dict(parts.identity.labels, **{"app.kubernetes.io/component": "route"}) if canary else None,
        backends=((naming.child(parts.identity.release, "stable"), 100 - canary.percent),
                  (naming.child(parts.identity.release, "canary"), canary.percent)) if canary else (),
    )
