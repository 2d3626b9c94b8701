"""build(): the spec and the sizing -> the parts of the plan -> the target that consumes them.

Every number in the manifests traces back to the sizing (GPU limit = TP x PP, shm from TP,
probe budget and PVC size from the weights); templates do no arithmetic. The parts live in
vllmkube/plan/, the targets in vllmkube/targets/.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import versions
from .catalog import GpuEntry, ModelEntry
from .errors import InputError
from .plan import Parts, Plan, cache, engine, front, identity, monitoring, pod, scaling
from .sizing import SizingPlan
from .spec import RenderSpec
from . import targets

if TYPE_CHECKING:
    from .serving import ServingPlan

MIN_RENDER_VLLM = "0.8.0"  # V1 metrics and flags


def choose_target(spec: RenderSpec, sizing: SizingPlan) -> tuple[str, str | None]:
    """The target's name, and a note when `auto` chose it: a replica spanning nodes needs a LeaderWorkerSet."""
    if spec.target != "auto":
        return spec.target, None
    if sizing.nodes_per_replica > 1:
        return "lws", (f"--target auto: a replica needs {sizing.nodes_per_replica} nodes (TP {sizing.tensor_parallel_size}"
                       f" x PP {sizing.pipeline_parallel_size}), rendering a LeaderWorkerSet (needs the LWS controller)")
    return "deployment", None


def build(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan,
          serving: "ServingPlan | None" = None) -> Plan:
    """``serving`` (from --rps / SLO flags) sets maxReplicaCount, the queue threshold and a
    request-rate trigger; its batch limits are already in ``sizing`` (workflow.plan_render)."""
    target, note = choose_target(spec, sizing)
    chosen = targets.load(target)
    if "service" in chosen.REPLACES and spec.monitor == "servicemonitor":
        spec = spec.model_copy(update={"monitor": "podmonitor"})  # no Service of ours to monitor
    v = versions.VllmVersion.parse(spec.vllm_version)
    if not v.at_least(MIN_RENDER_VLLM):
        raise InputError("--vllm-version", f"manifests need vLLM {MIN_RENDER_VLLM} or newer (V1 metrics)", f"use {versions.NEWEST_VLLM}")
    versions.require_release(v, allow_unknown=spec.allow_unknown_vllm_version)
    chosen.check(spec, model, gpu, sizing)
    if not sizing.fits:
        raise InputError("--max-model-len", f"{model.id} does not fit on {gpu.key}: {sizing.warnings[-1]}",
                         "see `vllmkube size` for the options tried")
    ident = identity.build(spec, model, sizing, v, omit=chosen.OMITS)
    image = pod.image(spec, v)
    model_cache = cache.build(spec, ident, sizing, model)
    args = engine.serve_args(spec, model, sizing, v, ident.served_model_name, model_cache.model_path)
    pod_template = pod.build(spec, gpu, sizing, ident, model_cache, image, args)
    traffic = front.build(spec, ident, sizing, pod_template.startup_budget_s)  # issue 12: what sits in front
    scale = scaling.build(spec, v, ident, pod_template.startup_budget_s, serving, push=traffic.push)
    second = None
    if spec.canary_revision is not None:  # loaded only for a canary: every module render imports is start-up time
        from .plan import canary

        second = canary.build(spec, ident, model_cache, pod_template)
    workload = chosen.build(Parts(spec, model, gpu, sizing, v, ident, pod_template, model_cache, scale, second))
    gpus = sizing.tensor_parallel_size * sizing.pipeline_parallel_size
    header = [
        f"model {model.id} on {gpu.key}: TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}"
        f" = {gpus} GPU(s) per replica{f' on {sizing.nodes_per_replica} nodes' if sizing.nodes_per_replica > 1 else ''}, "
        f"{sizing.quantization or '16-bit'} weights",
        f"max_model_len {sizing.max_model_len}, KV cache {sizing.kv_cache_gib_per_gpu} GiB/GPU = "
        f"{sizing.kv_cache_tokens} tokens, max concurrency {sizing.max_concurrency}x",
        f"vLLM {v}, replicas {scale.min_replicas}..{scale.max_replicas}, startup budget {pod_template.startup_budget_s}s",
    ]
    warnings = [*sizing.warnings, *pod.image_warnings(spec, gpu), *pod_template.placement.warnings, *scale.warnings,
                *traffic.warnings, *model_cache.warnings, *_network_warnings(spec, ident)]
    return Plan(identity=ident, pod=pod_template, cache=model_cache, scaling=scale,
                monitoring=monitoring.build(spec, v, ident, pod_template, scale, workload), target=workload,
                sizing=sizing, header=header, warnings=warnings, notes=[note] if note else [], canary=second,
                front=traffic)


def _network_warnings(spec: RenderSpec, ident) -> list[str]:
    """The NetworkPolicy admits this namespace and Prometheus' only: say so when no client namespace is
    allowed, since ingress controllers and gateways usually run in namespaces of their own."""
    if "networkpolicy" not in ident.components or ident.allow_from_namespaces:
        return []
    return [f"the NetworkPolicy lets only namespace {ident.namespace} and {spec.prometheus_namespace} (Prometheus) call "
            "the API: add --allow-from-namespace for your ingress controller or gateway (e.g. ingress-nginx), "
            "or --without networkpolicy"]
