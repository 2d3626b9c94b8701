"""Node placement: GPU product label, capacity type (on-demand / spot) per cloud, tolerations.

Sources (shared reference kubernetes-vllm-facts.md section 7): GPU feature discovery's
nvidia.com/gpu.product; GKE cloud.google.com/gke-accelerator and gke-spot; EKS managed node
groups eks.amazonaws.com/capacityType; Karpenter karpenter.sh/capacity-type; AKS
kubernetes.azure.com/scalesetpriority (spot pools are tainted with it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import GpuEntry


@dataclass(frozen=True)
class Placement:
    node_selector: dict[str, str]
    # nodeAffinity required terms: (key, operator, values)
    affinity: list[tuple[str, str, list[str]]] = field(default_factory=list)
    tolerations: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _toleration(key: str, value: str | None = None) -> dict[str, str]:
    if value is None:
        return {"key": key, "operator": "Exists", "effect": "NoSchedule"}
    return {"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}


def placement(gpu: GpuEntry, cloud: str, capacity: str) -> Placement:
    selector: dict[str, str] = {}
    affinity: list[tuple[str, str, list[str]]] = []
    warnings: list[str] = []
    # The GPU taint convention is the resource name with NoSchedule; tolerating it is harmless where
    # nodes are not tainted and needed where they are.
    tolerations = [_toleration(gpu.resource_name)]
    if cloud == "gcp" and gpu.gke_accelerator:
        selector["cloud.google.com/gke-accelerator"] = gpu.gke_accelerator
    elif gpu.product_label and gpu.vendor == "nvidia":
        selector["nvidia.com/gpu.product"] = gpu.product_label
    elif gpu.key != "custom":
        warnings.append(f"no node label selects {gpu.key} nodes; add a nodeSelector for your GPU pool")
    spot = capacity == "spot"
    if cloud == "aws":
        selector["eks.amazonaws.com/capacityType"] = "SPOT" if spot else "ON_DEMAND"
    elif cloud == "karpenter":
        selector["karpenter.sh/capacity-type"] = "spot" if spot else "on-demand"
    elif cloud == "gcp":
        if spot:
            selector["cloud.google.com/gke-spot"] = "true"
            tolerations.append(_toleration("cloud.google.com/gke-spot", "true"))
        else:
            affinity.append(("cloud.google.com/gke-spot", "DoesNotExist", []))
    elif cloud == "azure":
        if spot:
            selector["kubernetes.azure.com/scalesetpriority"] = "spot"
            tolerations.append(_toleration("kubernetes.azure.com/scalesetpriority", "spot"))
        else:
            affinity.append(("kubernetes.azure.com/scalesetpriority", "NotIn", ["spot"]))
    elif spot:
        warnings.append("--capacity spot with --cloud generic: no capacity label is known; pick --cloud")
    if spot:
        warnings.append("serving on Spot: a reclaim kills in-flight requests and the replacement pays a cold start")
    return Placement(selector, affinity, tolerations, warnings)
