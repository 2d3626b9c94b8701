"""The batch target: an Indexed Job of `vllm run-batch` shards on Spot GPUs that resume after a reclaim.

Not a serving target (render's targets.NAMES): `vllmkube batch` (vllmkube/batch.py) builds the shared
parts and hands them here with the shard plan. The pod is the shared vLLM pod (plan/pod.py: GPUs,
flags, /dev/shm, placement, cache mounts) that runs the shard runner (vllmkube/batch_runner.py,
mounted from a ConfigMap) instead of `vllm serve`: no port, no probes, restartPolicy Never.

Job facts (shared reference beyond-one-deployment.md section 5; Kubernetes 1.31 Job schema):
backoffLimitPerIndex and FailIndex need completionMode Indexed and restartPolicy Never;
podFailurePolicy needs podReplacementPolicy Failed; the pod condition pattern needs `status`.
The kubelet (graceful node shutdown), the eviction API (drains) and the pod garbage collector
(pods of a deleted node) set the DisruptionTarget condition, so a reclaim spends no retry.
Notice per cloud: cloud-gpu-facts.md section 4.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources

from .. import extraargs, flags, naming
from ..batch_runner import EXIT_BAD_INPUT
from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError
from ..plan import Parts, Target
from ..plan.engine import check_extra_args, engine_flags
from ..plan.pod import PodTemplate, Volume
from ..sizing import SizingPlan

NAME = "batch"
# Shared documents a batch Job has no use for: nothing calls it, nothing scales it.
OMITS: frozenset[str] = frozenset({"service", "autoscaling", "triggerauth", "monitor", "rules", "dashboard", "pdb",
                                   "networkpolicy"})
DATA_MOUNT = "/data"
RUNNER_MOUNT = "/opt/vllmkube"
RUNNER_FILE = "batch_runner.py"
# `vllm serve` front-end flags that `vllm run-batch` does not take (its parser is the engine's
# arguments plus -i/-o and a metrics --url/--port: vllm entrypoints/openai/run_batch.py).
SERVE_ONLY = ("--host", "--port", "--shutdown-timeout", "--disable-log-requests")
# Seconds between the reclaim notice and the node going away, and the grace the pod asks for
# within it. GKE gives non-system pods 15 s of its 30 s by default (Autopilot honours at most 25 s),
# AKS up to 30 s best effort, AWS 2 minutes; an unknown cloud gets the shortest.
NOTICE_S = {"aws": 120, "karpenter": 120, "gcp": 30, "azure": 30, "generic": 30}
GRACE_S = {"aws": 60, "karpenter": 60, "gcp": 15, "azure": 25, "generic": 15}
STOP_MARGIN_S = 5  # the runner kills vllm run-batch this long before the kubelet kills the pod


@dataclass(frozen=True)
class Shards:
    """The Job's shape, from the shard plan (vllmkube/batch.py)."""

    shards: int  # completions: one index per shard
    parallelism: int  # pods at once
    backoff_limit_per_index: int  # retries of one index for failures other than a reclaim
    max_failed_indexes: int  # more failed indexes than this fail the whole Job
    input_path: str  # on the data volume
    output_dir: str  # on the data volume
    data_pvc_size: str
    data_storage_class: str | None


@dataclass(frozen=True)
class BatchTarget(Target):
    pod: PodTemplate
    shards: Shards
    bad_input_exit: int
    data_pvc: str
    data_access_mode: str
    runner_config_map: str
    runner_script: str
    notice_s: int


def check(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    if sizing.nodes_per_replica > 1:
        raise InputError("--gpu", f"{model.id} needs {sizing.nodes_per_replica} nodes per copy; a batch shard runs "
                         "on one node", "pick a larger GPU or --quantization")


def run_batch_args(parts: Parts) -> list[str]:
    """`vllm run-batch` with the same engine flags as `render` (plan/engine.py), minus the serve-only ones."""
    rendered = engine_flags(parts.spec, parts.model, parts.sizing, parts.version, parts.identity.served_model_name)
    kept = {k: v for k, v in rendered.items() if k not in SERVE_ONLY}
    extraargs.check(kept, parts.spec.extra_args)
    check_extra_args(parts.spec.extra_args, parts.version)
    return (["vllm", "run-batch", "--model", parts.cache.model_path] + flags.build_args(parts.version, kept)
            + list(parts.spec.extra_args))


def runner_script() -> str:
    return resources.files("vllmkube").joinpath(RUNNER_FILE).read_text(encoding="utf-8")


def build(parts: Parts, shape: Shards) -> BatchTarget:
    release = parts.identity.release
    names = {"job": naming.child(release, "batch"), "data": naming.child(release, "batch-data"),
             "runner": naming.child(release, "batch-runner")}
    grace = GRACE_S[parts.spec.cloud]
    runner = ["shard", "--input", f"{DATA_MOUNT}/{shape.input_path}", "--output", f"{DATA_MOUNT}/{shape.output_dir}",
              "--shards", str(shape.shards), "--stop-after", str(grace - STOP_MARGIN_S), "--"]
    labels = naming.labels(release, "batch", parts.identity.labels["app.kubernetes.io/version"])
    pod = replace(
        parts.pod, labels=labels, command=["python3", f"{RUNNER_MOUNT}/{RUNNER_FILE}"],
        args=runner + run_batch_args(parts), termination_grace_s=grace, restart_policy="Never", serves_http=False,
        volumes=(Volume("data", DATA_MOUNT, claim=names["data"]),
                 Volume("runner", RUNNER_MOUNT, config_map=names["runner"], read_only=True)),
    )
    return BatchTarget(
        api_version="batch/v1", kind="Job", name=names["job"], templates=("batch-runner", "batch-data", "batch-job"),
        pod=pod, shards=shape, bad_input_exit=EXIT_BAD_INPUT, data_pvc=names["data"], data_access_mode="ReadWriteMany",
        runner_config_map=names["runner"], runner_script=runner_script(), notice_s=NOTICE_S[parts.spec.cloud],
    )
