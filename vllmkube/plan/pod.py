"""The vLLM pod template: image, command and args, env, resources, probes, /dev/shm, placement
and the cache mounts. templates/_pod.j2 lays it out for every target; a target that runs
different pods (a LeaderWorkerSet's leader and workers) derives variants with dataclasses.replace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..catalog import GpuEntry
from ..errors import InputError
from ..placement import Placement, placement
from ..sizing import SizingPlan
from ..spec import RenderSpec
from ..versions import VllmVersion
from .cache import COMPILE_MOUNT, REVISION_ANNOTATION, ModelCache
from .engine import COMMAND
from .identity import Identity
from .values import gi

PRESTOP_SLEEP_S = 10  # time for endpoints to drop the pod before SIGTERM
ENGINE_INIT_S = 120  # engine start, profiling, CUDA-graph capture / torch.compile on top of weight loading
PROBE_SAFETY = 1.5


class Probe(NamedTuple):
    path: str
    period_s: int
    timeout_s: int
    failure_threshold: int
    initial_delay_s: int = 0


class Volume(NamedTuple):
    """A volume a target adds to the pod (issue 13, batch: the data PVC and the runner's ConfigMap)."""

    name: str
    mount_path: str
    claim: str | None = None  # a PersistentVolumeClaim, or
    config_map: str | None = None  # a ConfigMap
    read_only: bool = False


@dataclass(frozen=True)
class PodTemplate:
    labels: dict[str, str]
    service_account: str
    image: str
    command: list[str]
    args: list[str]
    env: list[dict[str, Any]]
    gpu_resource: str
    gpus: int  # GPU limit of this pod: TP x PP / nodes per replica
    cpu_request: str
    memory_request: str
    memory_limit: str
    shm_size: str | None
    startup_probe: Probe | None  # None: no HTTP server to probe (a LeaderWorkerSet's headless workers)
    readiness_probe: Probe | None
    liveness_probe: Probe | None
    startup_budget_s: int  # the worst-case start the startup probe allows
    termination_grace_s: int
    prestop_sleep_s: int
    placement: Placement
    claim_name: str  # the model cache PVC, mounted read-only
    wait_for: str | None  # the download marker an init container waits for (None: no downloader)
    # issue 13 (batch Job): a pod that runs to completion, mounts more volumes
    restart_policy: str | None = None  # None: the workload's default; Never for an Indexed Job
    # False: no port, probes or preStop (vllm run-batch; a LeaderWorkerSet's headless workers)
    serves_http: bool = True
    volumes: tuple[Volume, ...] = ()
    container_name: str = "vllm"  # a KServe predictor's main container is kserve-container
    # issue 11: the model cache as a whole (per-pod volume, marker content, compile cache) and the
    # revision annotation that rolls the pods when the weights change
    model_cache: ModelCache | None = None
    annotations: dict[str, str] = field(default_factory=dict)


def probe_budget_s(weights_gib: float, load_rate: float) -> int:
    """Worst-case start: read the weights from the PVC, then engine init; with a safety factor."""
    return int(math.ceil((weights_gib / load_rate + ENGINE_INIT_S) * PROBE_SAFETY))


def image(spec: RenderSpec, v: VllmVersion) -> str:
    ref = spec.image or f"vllm/vllm-openai:v{v}"
    if ref.endswith(":latest") or ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
        raise InputError("--image", f"{ref!r} is not pinned", "use a version tag or digest, e.g. vllm/vllm-openai:v" + str(v))
    return ref


def image_warnings(spec: RenderSpec, gpu: GpuEntry) -> list[str]:
    if gpu.vendor == "amd" and not spec.image:
        return ["AMD GPU: vllm/vllm-openai is a CUDA image; pass --image with a ROCm build of vLLM"]
    return []


def env(budget_s: int) -> list[dict[str, Any]]:
    return [
        {"name": "HF_HUB_OFFLINE", "value": "1"},  # weights come from the PVC, never from the Hub at start-up
        {"name": "HF_HOME", "value": "/cache/huggingface"},
        {"name": "HOME", "value": "/cache"},
        {"name": "XDG_CACHE_HOME", "value": "/cache"},
        # compile caches on the model volume where it is writable (plan/cache.py), else in /cache
        {"name": "VLLM_CACHE_ROOT", "value": f"{COMPILE_MOUNT}/vllm"},
        # uid 1000 may have no passwd entry in the image: getpass.getuser() (torch inductor) reads USER first
        {"name": "USER", "value": "vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": f"{COMPILE_MOUNT}/torchinductor"},
        {"name": "TRITON_CACHE_DIR", "value": f"{COMPILE_MOUNT}/triton"},
        {"name": "NUMBA_CACHE_DIR", "value": "/cache/numba"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "VLLM_DO_NOT_TRACK", "value": "1"},
        # vLLM gives up waiting for its engine after this long (default 600 s); big models load longer.
        {"name": "VLLM_ENGINE_READY_TIMEOUT_S", "value": str(max(600, budget_s))},
    ]


def build(spec: RenderSpec, gpu: GpuEntry, sizing: SizingPlan, identity: Identity, cache: ModelCache,
          image_ref: str, args: list[str]) -> PodTemplate:
    budget_s = probe_budget_s(sizing.checkpoint_gib, cache.load_rate_gib_s)  # read from the model cache's storage
    # GPUs of one pod: a replica spanning nodes (LeaderWorkerSet) runs one pod per node with an equal share.
    gpus = sizing.tensor_parallel_size * sizing.pipeline_parallel_size // sizing.nodes_per_replica
    shm_gib = 2 * gpus if gpus > 1 else 0  # NCCL needs /dev/shm beyond the container's 64 MiB for TP > 1
    shm_gib = min(shm_gib, 16)
    memory_gib = 8 + 0.1 * sizing.checkpoint_gib + 2 * gpus  # API server, tokenizer, workers, loading buffers
    return PodTemplate(
        labels=identity.labels, service_account=identity.names["serviceaccount"], image=image_ref,
        command=list(COMMAND), args=args, env=env(budget_s), gpu_resource=gpu.resource_name, gpus=gpus,
        cpu_request=str(2 + 2 * gpus), memory_request=gi(memory_gib), memory_limit=gi(memory_gib + shm_gib),
        shm_size=f"{shm_gib}Gi" if shm_gib else None,
        startup_probe=Probe("/health", 10, 5, math.ceil(budget_s / 10)),
        # A busy engine answers /health late: a pod leaves the endpoints after a minute of failures,
        # and is restarted only after two, so peak load neither drops nor kills it.
        readiness_probe=Probe("/health", 10, 5, 6), liveness_probe=Probe("/health", 20, 10, 6),
        startup_budget_s=budget_s, termination_grace_s=PRESTOP_SLEEP_S + spec.drain_seconds + 15,
        prestop_sleep_s=PRESTOP_SLEEP_S, placement=placement(gpu, spec.cloud, spec.capacity, gpus),
        claim_name=identity.names["pvc"],
        wait_for=cache.download_marker if "downloader" in identity.components else None,
        model_cache=cache, annotations={REVISION_ANNOTATION: cache.marker_content},
    )
