"""Where the model cache lives, per cloud: storage that binds on the cluster as it comes, or a
refusal that names what to pass.

Two strategies (--model-cache):

    shared-pvc   one ReadWriteMany PVC that a downloader Job fills once; every replica mounts it.
                 Needs an RWX class: the user's --storage-class, or one the cloud pre-creates.
    pod-volume   every pod gets its own generic ephemeral volume (ReadWriteOnce, the cloud's block
                 storage) that an init container fills; works wherever a block class exists, at the
                 cost of one download per pod start.

Facts (shared reference cloud-gpu-facts.md section 3, source keys in brackets):
- EKS 1.30+ has no default StorageClass; `gp2` still exists but is no longer the default
  [EKS-130]; no RWX (EFS) class is pre-created, the EFS CSI chart can create one [EFS-CHART].
- GKE's default is `standard-rwo` (RWO) [GKE-SC-OBS]; `standard-rwx` (Filestore Basic HDD) exists
  only once the Filestore CSI driver add-on is enabled [GKE-FS-CLASSES]; the GKE CSI driver
  provisions Basic HDD from 100 GiB (GKE 1.33+) [FS-TIERS].
- AKS' default is `managed-csi` (RWO); `azurefile-csi-premium` is pre-created [AKS-STOR], Premium
  shares are at least 100 GiB [AKS-FILES].
- Read rates: Filestore Basic HDD 100 MiB/s [FS-PERF], EFS Bursting 100 MiB/s burst [EFS-BURST],
  EBS gp3 baseline 125 MiB/s [EBS-GP3]; Azure Files and GKE/AKS disk rates are UNVERIFIED in the
  reference, so they get the same conservative 0.1 GiB/s.
"""
from __future__ import annotations

from typing import NamedTuple

from ..errors import InputError
from ..spec import RenderSpec

SHARED, POD = "shared-pvc", "pod-volume"


class CloudStorage(NamedTuple):
    default: str  # the strategy `--model-cache auto` picks
    rwx_class: str | None  # a ReadWriteMany class the cloud pre-creates (or one its add-on does)
    rwx_min_gib: int  # smallest share that class provisions
    block_class: str | None  # class for pod volumes (None: the cluster's default class)
    shared_rate: float  # GiB/s a pod reads the weights at from the RWX class
    pod_rate: float  # GiB/s from its own block volume
    note: str  # how to get the shared cache, for the refusal


_AWS = CloudStorage(POD, None, 1, "gp2", 0.1, 0.12,
                    "create an EFS StorageClass (EFS CSI driver) and pass --storage-class NAME")
CLOUDS: dict[str, CloudStorage] = {
    "aws": _AWS,
    "karpenter": _AWS,
    # standard-rwx needs the Filestore CSI add-on, which a new cluster lacks: not the default.
    "gcp": CloudStorage(POD, "standard-rwx", 100, None, 0.1, 0.1,
                        "enable the Filestore CSI driver add-on and pass --model-cache shared-pvc"),
    "azure": CloudStorage(SHARED, "azurefile-csi-premium", 100, None, 0.1, 0.1, "pass --model-cache shared-pvc"),
    "generic": CloudStorage(POD, None, 1, None, 0.1, 0.1, "pass --storage-class with a ReadWriteMany class"),
}


class Storage(NamedTuple):
    strategy: str  # shared-pvc | pod-volume
    storage_class: str | None  # None: the cluster's default class
    access_mode: str
    min_gib: int
    load_rate_gib_s: float  # what the startup budget assumes
    warnings: tuple[str, ...] = ()


def choose(spec: RenderSpec) -> Storage:
    """The model cache for this spec; InputError when it would not bind."""
    cloud = CLOUDS[spec.cloud]
    strategy = spec.model_cache
    if strategy == "auto":
        # A named class or a pre-filled volume means a shared PVC, as before --model-cache existed.
        strategy = SHARED if spec.storage_class or not spec.wants("downloader") else cloud.default
    downloads = spec.wants("downloader")
    if strategy == POD:
        if not downloads:
            raise InputError("--model-cache", "pod-volume is filled by its own downloader, which --without downloader "
                             "removes", "use --model-cache shared-pvc for a pre-filled volume")
        if spec.pvc_access_mode != "ReadWriteMany" and "pvc_access_mode" in spec.model_fields_set:
            raise InputError("--pvc-access-mode", "a pod volume is always ReadWriteOnce", "drop --pvc-access-mode")
        cls = spec.storage_class or cloud.block_class
        return Storage(POD, cls, "ReadWriteOnce", 1, spec.load_rate_gib_s or cloud.pod_rate, _node_disk(spec))
    if spec.pvc_access_mode == "ReadOnlyMany" and downloads:
        raise InputError("--pvc-access-mode", "the downloader cannot write a ReadOnlyMany volume",
                         "use ReadWriteMany, or --without downloader for a volume you fill yourself")
    cls = spec.storage_class or cloud.rwx_class
    warnings: list[str] = []
    if cls is None and spec.wants("pvc"):
        if spec.cloud in ("aws", "karpenter"):
            # No default class at all on EKS 1.30+ [EKS-130]: the claim would stay Pending whatever its mode.
            raise InputError("--storage-class", f"--cloud {spec.cloud} has no default StorageClass (EKS 1.30+) and no "
                             "ReadWriteMany one", f"{cloud.note}, or use --model-cache pod-volume")
        if spec.pvc_access_mode == "ReadWriteMany":
            raise InputError("--storage-class", f"--cloud {spec.cloud}: the cluster's default class is usually "
                             "ReadWriteOnce, so a ReadWriteMany claim stays Pending",
                             f"{cloud.note}, or use --model-cache pod-volume")
    if spec.cloud == "gcp" and cls == "standard-rwx" and not spec.storage_class:
        warnings.append("model cache on standard-rwx: enable the Filestore CSI driver add-on first")
    if spec.pvc_access_mode == "ReadWriteOnce" and (spec.max_replicas > 1):
        warnings.append("a ReadWriteOnce model cache mounts on one node only: replicas on other nodes stay Pending")
    warnings += _node_disk(spec)
    min_gib = cloud.rwx_min_gib if cls == cloud.rwx_class else 1
    return Storage(SHARED, cls, spec.pvc_access_mode, min_gib, spec.load_rate_gib_s or cloud.shared_rate,
                   tuple(warnings))


def _node_disk(spec: RenderSpec) -> tuple[str, ...]:
    """Karpenter's GPU nodes boot with a 20 GiB root volume (AL2023 default [KARP-NODECLASS]): the vLLM
    image alone fills much of it, whatever the model cache."""
    if spec.cloud != "karpenter":
        return ()
    return ("Karpenter GPU nodes default to a 20 GiB root volume: give the EC2NodeClass blockDeviceMappings "
            "with room for the vLLM image (tens of GiB)",)
