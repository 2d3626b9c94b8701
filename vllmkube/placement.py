"""Node placement per --cloud: labels the cluster's autoscaler knows before the node exists, so a
GPU node gets provisioned (Karpenter, Cluster Autoscaler from zero, GKE node auto-provisioning).

Sources: shared reference cloud-gpu-facts.md sections 1, 2 and 7.3.
- Karpenter launches only for labels it knows in advance; GPU Feature Discovery's
  nvidia.com/gpu.product is written after boot, so a pod selecting it stays Pending [KARP-SCHED]
  [KARP-1219]. Karpenter's own labels: karpenter.k8s.aws/instance-gpu-name, the well-known
  node.kubernetes.io/instance-type, karpenter.sh/capacity-type (spot | on-demand | reserved)
  [KARP-LABELS][KARP-IT].
- EKS managed node groups: eks.amazonaws.com/capacityType ON_DEMAND | SPOT, only on managed
  node groups [EKS-MNG]: on-demand is "not SPOT" so Karpenter and self-managed nodes qualify,
  and a node template without the label satisfies it too. Cluster Autoscaler scales a group from
  zero only on labels its node template carries; other labels need node-template tags [CA-FAQ].
  That the AWS provider's template carries the well-known instance-type label is INFERENCE (the
  reference does not state it).
- GKE: cloud.google.com/gke-accelerator (long-form accelerator names) [GCE-GPUS][GKE-AP-ERR];
  Spot nodes carry cloud.google.com/gke-spot=true [GKE-SPOT-AP].
- AKS: node.kubernetes.io/instance-type is the VM size; GPU pools are created with the
  recommended taint sku=gpu:NoSchedule and AKS adds no toleration itself [AKS-GPU][AKS-1449];
  Spot pools carry and are tainted with kubernetes.azure.com/scalesetpriority=spot [AKS-SPOT].
- GFD's nvidia.com/gpu.product only for --cloud generic, where nothing better is known [GFD].
The GPU catalog lists which machine types carry each GPU (data/gpus.yaml `instances`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import GpuEntry
from .errors import InputError

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
CLOUD_NAMES = {"aws": "AWS", "karpenter": "AWS", "gcp": "GCP", "azure": "Azure"}


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


def machine_types(gpu: GpuEntry, cloud: str, gpus: int) -> list[str]:
    """Machine types of ``cloud`` with at least ``gpus`` of this GPU; InputError when there are none."""
    provider = "aws" if cloud == "karpenter" else cloud
    offered = gpu.instances.get(provider, {})
    name = CLOUD_NAMES[cloud]
    if not offered:
        clouds = sorted(CLOUD_NAMES[c] for c in gpu.instances) or ["none of AWS, GCP, Azure"]
        raise InputError("--gpu", f"{gpu.name} is not offered on {name} (offered on: {', '.join(clouds)})",
                         f"pick a GPU {name} offers (`vllmkube gpus`), or --cloud generic for your own nodes")
    fitting = sorted(t for t, n in offered.items() if n >= gpus)
    if not fitting:
        raise InputError("--gpu", f"no {name} machine has {gpus} x {gpu.name} (at most {max(offered.values())})",
                         "lower --tensor-parallel-size, or pick a larger GPU")
    return fitting


def placement(gpu: GpuEntry, cloud: str, capacity: str, gpus: int = 1) -> Placement:
    """``gpus``: GPUs one pod needs on its node (machine types with fewer cannot run it)."""
    selector: dict[str, str] = {}
    affinity: list[tuple[str, str, list[str]]] = []
    warnings: list[str] = []
    # The GPU taint convention is the resource name with NoSchedule; tolerating it is harmless where
    # nodes are not tainted and needed where they are.
    tolerations = [_toleration(gpu.resource_name)]
    spot = capacity == "spot"
    custom = gpu.key == "custom"
    if cloud != "generic" and custom:
        warnings.append(f"--gpu-memory-gib: no {cloud} node label is known for an unlisted GPU; add a nodeSelector "
                        "for your GPU pool")
    elif cloud == "gcp":
        machine_types(gpu, cloud, gpus)  # offered, and with enough GPUs per machine
        if not gpu.gke_accelerator:
            raise InputError("--gpu", f"no GKE accelerator name is known for {gpu.name}", "use --cloud generic")
        selector["cloud.google.com/gke-accelerator"] = gpu.gke_accelerator
    elif cloud == "karpenter":
        types = machine_types(gpu, cloud, gpus)
        if gpu.karpenter_gpu_name:
            affinity.append(("karpenter.k8s.aws/instance-gpu-name", "In", [gpu.karpenter_gpu_name]))
        # the instance types also tell A100 40 GB (p4d) from 80 GB (p4de), which share the gpu name
        affinity.append((INSTANCE_TYPE, "In", types))
    elif cloud in ("aws", "azure"):
        affinity.append((INSTANCE_TYPE, "In", machine_types(gpu, cloud, gpus)))
    elif gpu.product_label and gpu.vendor == "nvidia":
        selector["nvidia.com/gpu.product"] = gpu.product_label
    elif not custom:
        warnings.append(f"no node label selects {gpu.key} nodes; add a nodeSelector for your GPU pool")
    if cloud == "aws":
        if spot:
            selector["eks.amazonaws.com/capacityType"] = "SPOT"
        else:
            affinity.append(("eks.amazonaws.com/capacityType", "NotIn", ["SPOT"]))
    elif cloud == "karpenter":
        if spot:
            selector["karpenter.sh/capacity-type"] = "spot"
        else:  # on-demand or reserved (capacity reservations) capacity
            affinity.append(("karpenter.sh/capacity-type", "NotIn", ["spot"]))
    elif cloud == "gcp":
        if spot:
            selector["cloud.google.com/gke-spot"] = "true"
            tolerations.append(_toleration("cloud.google.com/gke-spot", "true"))
        else:
            affinity.append(("cloud.google.com/gke-spot", "DoesNotExist", []))
    elif cloud == "azure":
        tolerations.append(_toleration("sku", "gpu"))  # the AKS GPU guide's pool taint [AKS-GPU]
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
