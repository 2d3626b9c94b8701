"""`vllmkube batch`: offline inference as an Indexed Job, sized by the performance model to finish
by a deadline, priced for Spot and on-demand. No printing: the command writes what this returns.

    spec -> sizing (the same as render) -> throughput of one replica (performance.steady_state at
    the engine's batch limit) -> shards and parallelism for the deadline -> the shared parts ->
    the batch target (targets/batch.py) -> documents, and the estimate lines for stderr.

The shard plan: a reclaim costs a cold start (weights from the PVC + engine start), so Spot
keeps SPOT_HEADROOM of the deadline in reserve. Every shard pays one cold start; shards are at
least COLD_STARTS_PER_SHARD cold starts long, and a pod runs up to MAX_WAVES of them one after
another (smaller shards move to pods that still have capacity when Spot capacity shrinks).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from . import performance, versions
from .catalog import GpuEntry, ModelEntry
from .errors import InputError
from .plan import Parts, Plan, cache, identity, pod
from .sizing import SizingPlan, size
from .spec import RenderSpec, resolve_gpu, resolve_model
from .targets import batch as target

DEFAULT_INPUT_LEN = 1024
DEFAULT_OUTPUT_LEN = 256
SPOT_HEADROOM = 0.25  # of the deadline, kept for reclaims (a cold start and a wait for capacity each)
ON_DEMAND_HEADROOM = 0.10
COLD_STARTS_PER_SHARD = 10  # a cold start is at most a tenth of a shard
MAX_WAVES = 4
BYTES_PER_TOKEN = 4  # JSONL text per token, about
INPUT_LINE_BYTES = 300  # custom_id, url, body keys
OUTPUT_LINE_BYTES = 800  # ids, usage, choices wrapper of a chat completion
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.\-/]*$")


def parse_deadline_s(value: Any) -> float:
    """'6h', '90m', '1d12h', '3600s' (or a number of seconds) -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if not text or _DURATION.sub("", text):
            raise ValueError(f"{value!r} is not a duration (use e.g. 6h, 90m or 1d12h)")
        seconds = sum(float(n) * _UNIT_S[u] for n, u in _DURATION.findall(text))
    if not 60 <= seconds <= 30 * 86400:
        raise ValueError(f"{value!r} is out of range (1 minute to 30 days)")
    return seconds


def parse_prices(text: str | None) -> dict[str, float]:
    """'4.5' (on-demand) or 'on-demand=4.5,spot=1.6' -> {'on-demand': 4.5, 'spot': 1.6}, $ per GPU-hour."""
    prices: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, _, value = item.rpartition("=")
        key = key.strip() or "on-demand"
        if key not in ("on-demand", "spot"):
            raise InputError("--gpu-price", f"unknown capacity {key!r}", "e.g. --gpu-price on-demand=4.5,spot=1.6")
        try:
            price = float(value)
        except ValueError:
            raise InputError("--gpu-price", f"{value.strip()!r} is not a number", "dollars per GPU-hour, e.g. 4.5") from None
        if price < 0 or not math.isfinite(price):
            raise InputError("--gpu-price", f"{value.strip()!r} is not a price", "dollars per GPU-hour, e.g. 4.5")
        prices[key] = price
    return prices


def _fmt_s(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class BatchSpec(RenderSpec):
    """What `batch` takes: render's model, GPU and pod choices, plus the batch (flags: batch_cmd.py)."""

    input: str = Field(description="input JSONL (OpenAI batch format), a path on the data volume")
    requests: int = Field(gt=0, le=1_000_000_000, description="requests in the input (its non-blank lines)")
    deadline: float = Field(default=86400.0, description="finish within this long, e.g. 6h (default 24h)")
    output: str = Field(default="output", description="folder on the data volume for part files, markers, results")
    capacity: Literal["on-demand", "spot"] = Field(default="spot", description="node capacity type to run on")
    gpu_price: str | None = Field(default=None, description="$ per GPU-hour: 4.5 (on-demand) or on-demand=4.5,spot=1.6")
    max_parallelism: int | None = Field(default=None, ge=1, le=10000, description="most pods at once (your GPU quota)")
    backoff_limit_per_index: int = Field(default=3, ge=0, le=100, description="retries of a shard for crashes")
    max_failed_indexes: int | None = Field(default=None, ge=0, description="failed shards that stop the Job "
                                           "(default: a tenth of them, at least 1)")
    data_pvc_size: str | None = Field(default=None, pattern=r"^[1-9][0-9]*(Gi|Ti)$", description="data volume size")
    data_storage_class: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                                           description="storage class of the data volume (ReadWriteMany)")

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, v: Any) -> float:
        return parse_deadline_s(v)

    @field_validator("input", "output")
    @classmethod
    def _relative(cls, v: str) -> str:
        if not _PATH.match(v) or ".." in v.split("/") or len(v) > 255:
            raise ValueError(f"{v!r} is not a relative path on the data volume (letters, digits, '._-/', no '..')")
        return v.rstrip("/")


@dataclass(frozen=True)
class ShardPlan:
    requests: int
    input_len: int
    output_len: int
    replica_rps: float  # requests/s one replica (one pod) answers
    replica_output_tps: float
    kv_limited: bool
    cold_start_s: float
    deadline_s: float
    usable_s: float  # the deadline minus the reclaim headroom
    work_s: float  # one replica, no cold starts
    shards: int
    parallelism: int
    waves: int  # shards one pod runs one after another, at most
    wall_s: float
    gpus_per_pod: int
    gpu_hours: float
    why: list[str]


def plan_shards(spec: BatchSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan,
                load_rate_gib_s: float) -> ShardPlan:
    """Shards and parallelism so that the batch finishes within the deadline (see the module doc).
    ``load_rate_gib_s``: how fast the model cache's storage reads the weights (plan/storage.py)."""
    in_len, out_len = spec.input_len or DEFAULT_INPUT_LEN, spec.output_len or DEFAULT_OUTPUT_LEN
    if in_len + out_len > sizing.max_model_len:
        raise InputError("--input-len", f"input + output = {in_len + out_len} tokens exceeds max_model_len "
                         f"{sizing.max_model_len}", f"pass --max-model-len {in_len + out_len} or shorter lengths")
    engine = performance.engine_for(model, gpu, sizing)
    point = performance.steady_state(engine, sizing.max_num_seqs, in_len, out_len)
    cold = sizing.checkpoint_gib / load_rate_gib_s + pod.ENGINE_INIT_S
    headroom = SPOT_HEADROOM if spec.capacity == "spot" else ON_DEMAND_HEADROOM
    usable = spec.deadline * (1 - headroom)
    work = spec.requests / point.requests_per_s
    if usable < 2 * cold:
        raise InputError("--deadline", f"{_fmt_s(spec.deadline)} leaves {_fmt_s(usable)} after the reclaim headroom, "
                         f"under two cold starts of {model.id} ({_fmt_s(cold)} each)", "give a longer --deadline")
    waves = max(1, min(MAX_WAVES, math.floor(usable / (COLD_STARTS_PER_SHARD * cold))))
    per_shard = usable / waves - cold  # work one shard may hold
    shards = min(spec.requests, max(1, math.ceil(work / per_shard)))
    parallelism = math.ceil(shards / waves)
    shards = min(spec.requests, parallelism * math.ceil(shards / parallelism))  # no pod idles in the last round
    if spec.max_parallelism and parallelism > spec.max_parallelism:
        raise InputError("--max-parallelism", f"finishing {spec.requests} requests within {_fmt_s(spec.deadline)} "
                         f"needs {parallelism} pods at once", "raise --max-parallelism or give a longer --deadline")
    rounds = math.ceil(shards / parallelism)
    wall = rounds * (cold + work / shards)
    gpus = sizing.tensor_parallel_size * sizing.pipeline_parallel_size
    gpu_hours = (work + shards * cold) * gpus / 3600
    why = [
        f"one pod ({gpus} x {gpu.key}, TP {sizing.tensor_parallel_size}) answers {point.requests_per_s:.2f} requests/s "
        f"({point.output_tokens_per_s:.0f} output tokens/s at {point.concurrency:.0f} in flight"
        f"{', KV-cache bound' if point.kv_limited else ''}) for {in_len} in / {out_len} out tokens: "
        f"{_fmt_s(work)} of work for {spec.requests} requests",
        f"deadline {_fmt_s(spec.deadline)}, {headroom:.0%} kept for {'reclaims' if spec.capacity == 'spot' else 'retries'}"
        f": {_fmt_s(usable)} usable; a cold start takes about {_fmt_s(cold)} "
        f"({sizing.checkpoint_gib:.1f} GiB at {load_rate_gib_s:g} GiB/s + {pod.ENGINE_INIT_S} s engine start)",
        f"shards of at most {_fmt_s(per_shard)} of work ({COLD_STARTS_PER_SHARD}+ cold starts long, up to {waves} per pod"
        f" in turn): {shards} shard(s), {parallelism} pod(s) at once",
    ]
    return ShardPlan(spec.requests, in_len, out_len, point.requests_per_s, point.output_tokens_per_s, point.kv_limited,
                     cold, spec.deadline, usable, work, shards, parallelism, waves, wall, gpus, gpu_hours, why)


def data_size(spec: BatchSpec, plan: ShardPlan) -> str:
    """The input, the answers twice (shard files and results.jsonl) and the parts of shards in progress."""
    if spec.data_pvc_size:
        return spec.data_pvc_size
    in_b = plan.requests * (plan.input_len * BYTES_PER_TOKEN + INPUT_LINE_BYTES)
    out_b = plan.requests * (plan.output_len * BYTES_PER_TOKEN + OUTPUT_LINE_BYTES)
    return f"{max(1, math.ceil((in_b + 3 * out_b) * 1.5 / 1024**3))}Gi"


def estimate_lines(spec: BatchSpec, plan: ShardPlan, batch_target: target.BatchTarget) -> list[str]:
    lines = [f"batch estimate: {plan.requests} requests, {plan.shards} shard(s), {plan.parallelism} pod(s) at once "
             f"({plan.parallelism * plan.gpus_per_pod} GPUs), about {_fmt_s(plan.wall_s)} wall time "
             f"(deadline {_fmt_s(plan.deadline_s)}), {plan.gpu_hours:.1f} GPU-hours"]
    lines += [f"  why: {w}" for w in plan.why]
    prices = parse_prices(spec.gpu_price)
    reclaim_gpu_h = plan.cold_start_s * plan.gpus_per_pod / 3600
    if "on-demand" in prices:
        lines.append(f"  cost on-demand: ${plan.gpu_hours * prices['on-demand']:.2f} at ${prices['on-demand']:g}/GPU-hour")
    if "spot" in prices:
        lines.append(f"  cost on Spot: ${plan.gpu_hours * prices['spot']:.2f} at ${prices['spot']:g}/GPU-hour, plus "
                     f"about ${reclaim_gpu_h * prices['spot']:.2f} per reclaim")
    if not prices:
        lines.append("  cost: pass --gpu-price on-demand=PRICE,spot=PRICE ($ per GPU-hour) to compare")
    elif "spot" not in prices and spec.capacity == "spot":
        lines.append("  cost on Spot: typically 60-90% below on-demand; pass --gpu-price ...,spot=PRICE")
    grace = batch_target.pod.termination_grace_s
    lines.append(
        f"  on a reclaim ({spec.cloud}: {batch_target.notice_s} s notice, the pod asks for {grace} s): the runner stops "
        f"vllm run-batch with SIGINT so it flushes the answers it has; the Job ignores the failure (DisruptionTarget) "
        f"and starts the shard again when capacity returns; the new pod skips the answered lines and loses the "
        f"requests in flight plus a cold start (~{_fmt_s(plan.cold_start_s)}, {reclaim_gpu_h:.2f} GPU-hours)")
    lines.append(f"  results: {target.DATA_MOUNT}/{spec.output}/results.jsonl on PVC {batch_target.data_pvc} once every "
                 f"shard has finished (docs/batch.md)")
    return lines


def plan_batch(spec: BatchSpec):
    """Spec -> (Plan, documents, estimate lines). Raises InputError before anything is written."""
    from .render import render_documents

    model = resolve_model(spec)
    gpu = resolve_gpu(spec)
    sizing = size(model, gpu, spec.sizing_options(), spec.gpu_memory_gib)
    v = versions.VllmVersion.parse(spec.vllm_version)
    target.check(model, gpu, sizing)
    if not sizing.fits:
        raise InputError("--max-model-len", f"{model.id} does not fit on {gpu.key}: {sizing.warnings[-1]}",
                         "see `vllmkube size` for the options tried")
    ident = identity.build(spec, model, sizing, v, omit=target.OMITS)
    model_cache = cache.build(spec, ident, sizing, model)  # refuses a gated repository without a token
    shard_plan = plan_shards(spec, model, gpu, sizing, model_cache.load_rate_gib_s)
    image = pod.image(spec, v)
    shared_pod = pod.build(spec, gpu, sizing, ident, model_cache, image, [])
    parts = Parts(spec, model, gpu, sizing, v, ident, shared_pod, model_cache, None)
    max_failed = spec.max_failed_indexes
    if max_failed is None:
        max_failed = max(1, shard_plan.shards // 10)
    shape = target.Shards(
        shards=shard_plan.shards, parallelism=shard_plan.parallelism,
        backoff_limit_per_index=spec.backoff_limit_per_index, max_failed_indexes=min(max_failed, shard_plan.shards),
        input_path=spec.input, output_dir=spec.output, data_pvc_size=data_size(spec, shard_plan),
        data_storage_class=spec.data_storage_class or spec.storage_class,
    )
    job = target.build(parts, shape)
    header = [
        f"model {model.id} on {gpu.key}: TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}"
        f" = {shard_plan.gpus_per_pod} GPU(s) per pod, {sizing.quantization or '16-bit'} weights, vLLM {v}",
        f"batch: {spec.requests} requests of {shard_plan.input_len} in / {shard_plan.output_len} out tokens in "
        f"{shard_plan.shards} shard(s), {shard_plan.parallelism} at a time on {spec.capacity} capacity, "
        f"deadline {_fmt_s(spec.deadline)}",
    ]
    # Placement's Spot warning is about serving (in-flight requests lost); the batch runner resumes.
    warnings = [*sizing.warnings, *pod.image_warnings(spec, gpu),
                *(w for w in shared_pod.placement.warnings if not w.startswith("serving on Spot"))]
    # A batch Job has no autoscaler or monitors: their components are omitted, so render never reads them.
    plan = Plan(identity=ident, pod=shared_pod, cache=model_cache, scaling=None, monitoring=None, target=job,
                sizing=sizing, header=header, warnings=warnings)
    return plan, render_documents(plan), estimate_lines(spec, shard_plan, job)
