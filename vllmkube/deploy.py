"""DeploymentPlan: every name, label, flag and number the templates lay out.

Built from the RenderSpec and the SizingPlan in one pass, so every number in the
manifests traces back to the sizing (GPU limit = TP x PP, shm from TP, probe budget
and PVC size from the weights). Templates do no arithmetic.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import flags, metrics, naming, serveargs, versions
from .catalog import GpuEntry, ModelEntry
from .errors import InputError
from .placement import Placement, placement
from .sizing import GIB, SizingPlan
from .spec import RenderSpec

if TYPE_CHECKING:
    from .serving import ServingPlan

HTTP_PORT = 8000
MODEL_MOUNT = "/models"
DOWNLOAD_MARKER = ".vllmkube-complete"  # download_model.py writes it last (it runs standalone, so it spells it too)
PRESTOP_SLEEP_S = 10  # time for endpoints to drop the pod before SIGTERM
ENGINE_INIT_S = 120  # engine start, profiling, CUDA-graph capture / torch.compile on top of weight loading
PROBE_SAFETY = 1.5
MIN_RENDER_VLLM = "0.8.0"  # V1 metrics and flags
# The generated HPA's behaviour; vllmkube simulate replays exactly these.
POLLING_S = 15
SCALE_UP_POLICIES = (("Pods", 2, 60), ("Percent", 100, 60))  # whichever adds more, every minute
SCALE_DOWN_POLICY = ("Pods", 1, 120)  # one replica every two minutes, after the stabilization window


@dataclass(frozen=True)
class Probe:
    path: str
    period_s: int
    timeout_s: int
    failure_threshold: int
    initial_delay_s: int = 0


@dataclass(frozen=True)
class Trigger:
    name: str
    query: str
    threshold: str
    metric_type: str  # AverageValue | Value
    activation_threshold: str | None = None
    ignore_null_values: bool = True  # KEDA's default: an empty result reads as 0


@dataclass(frozen=True)
class Rule:
    kind: str  # record | alert
    name: str
    expr: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: list[Rule]
    interval: str | None = None


@dataclass
class DeploymentPlan:
    # identity
    release: str
    namespace: str
    labels: dict[str, str]
    downloader_labels: dict[str, str]
    selector: dict[str, str]
    components: set[str]
    names: dict[str, str]
    # what serves and what the autoscaler scales (a LeaderWorkerSet or KServe target branches here)
    target_api_version: str
    target_kind: str
    # serving
    served_model_name: str
    model_repo: str
    revision: str | None
    model_path: str
    download_marker: str  # written last by the downloader; the serving pods wait for it
    dashboard_key: str  # the ConfigMap key holding the dashboard JSON
    image: str
    command: list[str]
    args: list[str]
    env: list[dict[str, Any]]
    gpu_resource: str
    gpus_per_pod: int
    cpu_request: str
    memory_request: str
    memory_limit: str
    shm_size: str | None
    startup_probe: Probe
    readiness_probe: Probe
    liveness_probe: Probe
    termination_grace_s: int
    prestop_sleep_s: int
    max_surge: int  # rolling update: (maxSurge, maxUnavailable) = (0, 1) replace or (1, 0) surge
    max_unavailable: int
    placement: Placement
    hf_token: tuple[str, str] | None  # (secret, key)
    # cache
    pvc_size: str
    pvc_access_mode: str
    storage_class: str | None
    downloader_env: list[dict[str, Any]]
    # autoscaling
    min_replicas: int
    max_replicas: int
    idle_replicas: int | None
    cooldown_s: int | None
    initial_cooldown_s: int | None
    polling_s: int
    scale_down_window_s: int
    scale_down_policy: tuple[str, int, int]  # type, value, period
    scale_up_policies: list[tuple[str, int, int]]
    triggers: list[Trigger]
    fallback: tuple[int, int, str] | None  # (failureThreshold, replicas, behavior)
    prometheus_url: str
    trigger_auth: tuple[str, str] | None  # (secret, key) bearer token
    # monitoring
    monitor_kind: str
    monitor_labels: dict[str, str]
    scrape_interval: str
    rule_groups: list[RuleGroup]
    dashboard_json: str
    prometheus_namespace: str
    allow_from_namespaces: list[str]
    # for the header and tests
    sizing: SizingPlan
    header: list[str]
    warnings: list[str]


def _gi(gib: float) -> str:
    return f"{max(1, math.ceil(gib))}Gi"


def _secret_ref(value: str, default_key: str) -> tuple[str, str]:
    name, _, key = value.partition(":")
    return name, key or default_key


def _probe_budget_s(weights_gib: float, load_rate: float) -> int:
    """Worst-case start: read the weights from the PVC, then engine init; with a safety factor."""
    return int(math.ceil((weights_gib / load_rate + ENGINE_INIT_S) * PROBE_SAFETY))


def build(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan,
          serving: "ServingPlan | None" = None) -> DeploymentPlan:
    """``serving`` (from --rps / SLO flags) sets maxReplicaCount, the queue threshold and a
    request-rate trigger; its batch limits are already in ``sizing`` (workflow.plan_render)."""
    from .observability import dashboard, rules, triggers

    v = versions.VllmVersion.parse(spec.vllm_version)
    if not v.at_least(MIN_RENDER_VLLM):
        raise InputError("--vllm-version", f"manifests need vLLM {MIN_RENDER_VLLM} or newer (V1 metrics)", f"use {versions.NEWEST_VLLM}")
    versions.require_release(v)
    if sizing.nodes_per_replica > 1:
        raise InputError("--gpu", f"{model.id} needs {sizing.nodes_per_replica} nodes per replica "
                         f"(TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}); multi-node "
                         "serving (LeaderWorkerSet) is not rendered yet", "pick a larger GPU or --quantization")
    if not sizing.fits:
        raise InputError("--max-model-len", f"{model.id} does not fit on {gpu.key}: {sizing.warnings[-1]}",
                         "see `vllmkube size` for the options tried")
    release = naming.check_name(spec.name, "--name") if spec.name else naming.release_name(model.id)
    ns = naming.check_namespace(spec.namespace)
    for other in spec.allow_from_namespaces:
        naming.check_namespace(other, "--allow-from-namespace")
    naming.check_namespace(spec.prometheus_namespace, "--prometheus-namespace")
    if sizing.needs_prequantized_checkpoint and not spec.model_repo:
        raise InputError("--model-repo", f"{sizing.quantization} needs a pre-quantized checkpoint of {model.id}",
                         "pass --model-repo ORG/NAME-AWQ (or --quantization fp8/none)")
    if spec.model_config_path and not spec.model_repo and "/" not in model.id and spec.wants("downloader"):
        raise InputError("--model-repo", f"the model read from {spec.model_config_path} names no Hugging Face repository "
                         "to download", "pass --model-repo ORG/NAME, or --without downloader if the PVC holds it already")
    repo = spec.model_repo or model.id
    # clients ask for the model by its id; a local config.json has none, so its repository stands in
    served = spec.served_model_name or (spec.model_repo if "/" not in model.id and spec.model_repo else model.id)
    version_label = naming.label_value(f"v{v}")
    selector = naming.selector(release)
    labels = naming.labels(release, "server", version_label)
    components = {c for c in ("serviceaccount", "pvc", "downloader", "service", "autoscaling", "monitor", "rules",
                              "dashboard", "pdb", "networkpolicy") if spec.wants(c)}
    if spec.create_namespace and spec.wants("namespace"):
        components.add("namespace")
    if spec.prometheus_auth_secret and "autoscaling" in components:
        components.add("triggerauth")
    names = {
        "server": release, "service": release, "serviceaccount": release,
        "pvc": naming.child(release, "models"),
        "downloader": naming.child(release, "download-" + naming.short_hash(repo, spec.revision or "")),
        "scaledobject": release, "triggerauth": naming.child(release, "prometheus"),
        "hpa": f"keda-hpa-{release}", "monitor": release, "rules": release, "dashboard": naming.child(release, "dashboard"),
        "pdb": release, "networkpolicy": release,
    }
    warnings = list(sizing.warnings)
    image = spec.image or f"vllm/vllm-openai:v{v}"
    if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
        raise InputError("--image", f"{image!r} is not pinned", "use a version tag or digest, e.g. vllm/vllm-openai:v" + str(v))
    if gpu.vendor == "amd" and not spec.image:
        warnings.append("AMD GPU: vllm/vllm-openai is a CUDA image; pass --image with a ROCm build of vLLM")

    model_dir = f"{MODEL_MOUNT}/{naming.slug(repo, 120)}"
    gpus = sizing.tensor_parallel_size * sizing.pipeline_parallel_size
    engine = {
        "--served-model-name": served,
        "--host": "0.0.0.0",
        "--port": HTTP_PORT,
        "--tensor-parallel-size": sizing.tensor_parallel_size,
        "--pipeline-parallel-size": sizing.pipeline_parallel_size if sizing.pipeline_parallel_size > 1 else None,
        "--max-model-len": sizing.max_model_len,
        "--gpu-memory-utilization": sizing.gpu_memory_utilization,
        "--quantization": sizing.quantization_flag,
        "--kv-cache-dtype": sizing.kv_cache_dtype if sizing.kv_cache_dtype != "auto" else None,
        "--dtype": sizing.dtype if spec.dtype != "auto" or sizing.dtype != model.dtype else None,
        "--max-num-seqs": sizing.max_num_seqs,
        "--max-num-batched-tokens": sizing.max_num_batched_tokens,
        "--enforce-eager": spec.enforce_eager,
        # V1 turns both on by default; spell them out only to turn them off.
        "--no-enable-prefix-caching": not spec.enable_prefix_caching,
        "--no-enable-chunked-prefill": not spec.enable_chunked_prefill,
        # Releases without --enable-log-requests log every request unless told not to.
        "--disable-log-requests": True if not flags.accepts("--enable-log-requests", v) else None,
        "--shutdown-timeout": spec.drain_seconds if flags.accepts("--shutdown-timeout", v) else None,
        "--trust-remote-code": spec.trust_remote_code,
    }
    try:
        args = [model_dir] + flags.build_args(v, engine) + list(spec.extra_args)
    except ValueError as e:  # e.g. --no-enable-chunked-prefill (--chunked-prefill off) before 0.8.5
        raise InputError("--vllm-version", f"{e}, which these settings need",
                         "use a newer --vllm-version, or keep the default of the setting that needs it") from None
    for extra in spec.extra_args:
        if flags.accepts(extra, v) is False:
            raise InputError("--extra-arg", f"vLLM {v} rejects {extra.split('=')[0]}", "drop it or change --vllm-version")
        if extra.split("=")[0] == "--disable-log-stats":
            raise InputError("--extra-arg", "--disable-log-stats also turns off the Prometheus metrics autoscaling needs", "drop it")
    problems = serveargs.check(args, v)  # the whole line, as the release's own parser reads it
    if problems:
        raise InputError("--extra-arg", f"vLLM {v}'s vllm serve would reject this command line: {problems[0]}",
                         "fix the --extra-arg values or change --vllm-version")

    budget_s = _probe_budget_s(sizing.checkpoint_gib, spec.load_rate_gib_s)  # what is read from the PVC
    startup = Probe("/health", 10, 5, math.ceil(budget_s / 10))
    env: list[dict[str, Any]] = [
        {"name": "HF_HUB_OFFLINE", "value": "1"},  # weights come from the PVC, never from the Hub at start-up
        {"name": "HF_HOME", "value": "/cache/huggingface"},
        {"name": "HOME", "value": "/cache"},
        {"name": "XDG_CACHE_HOME", "value": "/cache"},
        {"name": "VLLM_CACHE_ROOT", "value": "/cache/vllm"},
        # uid 1000 may have no passwd entry in the image: getpass.getuser() (torch inductor) reads USER first
        {"name": "USER", "value": "vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": "/cache/torchinductor"},
        {"name": "TRITON_CACHE_DIR", "value": "/cache/triton"},
        {"name": "NUMBA_CACHE_DIR", "value": "/cache/numba"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "VLLM_DO_NOT_TRACK", "value": "1"},
        # vLLM gives up waiting for its engine after this long (default 600 s); big models load longer.
        {"name": "VLLM_ENGINE_READY_TIMEOUT_S", "value": str(max(600, budget_s))},
    ]
    shm_gib = 2 * gpus if gpus > 1 else 0  # NCCL needs /dev/shm beyond the container's 64 MiB for TP > 1
    shm_gib = min(shm_gib, 16)
    memory_gib = 8 + 0.1 * sizing.checkpoint_gib + 2 * gpus  # API server, tokenizer, workers, loading buffers
    cpu = 2 + 2 * gpus
    grace = PRESTOP_SLEEP_S + spec.drain_seconds + 15
    place = placement(gpu, spec.cloud, spec.capacity)
    warnings += place.warnings
    pvc_gib = spec.pvc_size or _gi(sizing.checkpoint_gib * 1.2 + 5)  # the download, plus headroom
    hf_token = _secret_ref(spec.hf_token_secret, "HF_TOKEN") if spec.hf_token_secret else None
    downloader_env = [
        {"name": "REPO_ID", "value": repo},
        {"name": "REVISION", "value": spec.revision or ""},
        {"name": "TARGET_DIR", "value": model_dir},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
        {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
    ]
    if hf_token:
        ref = {"secretKeyRef": {"name": hf_token[0], "key": hf_token[1]}}
        downloader_env.append({"name": "HF_TOKEN", "valueFrom": ref})

    # autoscaling
    scale_to_zero = spec.scale_to_zero
    if scale_to_zero:
        warnings.append(f"scale to zero: the first request after idle waits for a cold start (up to {budget_s}s); "
                        "the gateway must hold or retry it that long")
    if spec.rollout == "replace" and spec.min_replicas == 1:
        warnings.append("with one replica a rollout takes the service down until the new pod has loaded; "
                        "--rollout surge starts it first if a spare GPU set exists, or raise --min-replicas")
    trig = triggers(spec, v, ns, served, sizing, serving)
    max_replicas = spec.max_replicas
    if serving is not None and serving.replicas is not None:
        if "max_replicas" not in spec.model_fields_set:
            max_replicas = max(spec.min_replicas, serving.replicas)  # the peak traffic decides
        elif serving.replicas > spec.max_replicas:
            warnings.append(f"--rps {serving.rps:g} needs {serving.replicas} replicas, --max-replicas caps at "
                            f"{spec.max_replicas}: expect queueing at peak")
    # While Prometheus cannot be read, never scale down (fallback_replicas 0 leaves fallback out).
    fallback = None if spec.fallback_replicas == 0 else (
        3, spec.fallback_replicas or spec.min_replicas, "currentReplicasIfHigher")
    trigger_auth = _secret_ref(spec.prometheus_auth_secret, "token") if spec.prometheus_auth_secret else None

    monitor_labels = dict(labels, release=spec.prometheus_release)
    plan = DeploymentPlan(
        release=release, namespace=ns, labels=labels, selector=selector,
        downloader_labels=naming.labels(release, "downloader", version_label), components=components, names=names,
        target_api_version="apps/v1", target_kind="Deployment",
        served_model_name=served, model_repo=repo, revision=spec.revision, model_path=model_dir,
        download_marker=f"{model_dir}/{DOWNLOAD_MARKER}", dashboard_key=f"{release}.json", image=image,
        command=["vllm", "serve"], args=args, env=env, gpu_resource=gpu.resource_name, gpus_per_pod=gpus,
        cpu_request=str(cpu), memory_request=_gi(memory_gib), memory_limit=_gi(memory_gib + shm_gib),
        shm_size=f"{shm_gib}Gi" if shm_gib else None, startup_probe=startup,
        readiness_probe=Probe("/health", 5, 3, 3), liveness_probe=Probe("/health", 15, 5, 4),
        termination_grace_s=grace, prestop_sleep_s=PRESTOP_SLEEP_S,
        max_surge=1 if spec.rollout == "surge" else 0, max_unavailable=0 if spec.rollout == "surge" else 1, placement=place, hf_token=hf_token,
        pvc_size=pvc_gib, pvc_access_mode=spec.pvc_access_mode, storage_class=spec.storage_class,
        downloader_env=downloader_env,
        min_replicas=spec.min_replicas, max_replicas=max_replicas,
        idle_replicas=0 if scale_to_zero else None, cooldown_s=max(300, spec.scale_down_window_s) if scale_to_zero else None,
        initial_cooldown_s=budget_s if scale_to_zero else None,
        polling_s=POLLING_S, scale_down_window_s=spec.scale_down_window_s, scale_down_policy=SCALE_DOWN_POLICY,
        scale_up_policies=list(SCALE_UP_POLICIES), triggers=trig, fallback=fallback,
        prometheus_url=spec.prometheus_url, trigger_auth=trigger_auth,
        monitor_kind=spec.monitor, monitor_labels=monitor_labels, scrape_interval="15s",
        rule_groups=[], dashboard_json="", prometheus_namespace=spec.prometheus_namespace,
        allow_from_namespaces=sorted(set(spec.allow_from_namespaces) - {ns}),
        sizing=sizing, header=[], warnings=warnings,
    )
    plan.rule_groups = rules(spec, v, plan)
    plan.dashboard_json = json.dumps(dashboard(spec, v, plan), indent=1, sort_keys=False, ensure_ascii=True)
    plan.header = [
        f"model {model.id} on {gpu.key}: TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size}"
        f" = {gpus} GPU(s) per replica, {sizing.quantization or '16-bit'} weights",
        f"max_model_len {sizing.max_model_len}, KV cache {sizing.kv_cache_gib_per_gpu} GiB/GPU = "
        f"{sizing.kv_cache_tokens} tokens, max concurrency {sizing.max_concurrency}x",
        f"vLLM {v}, replicas {spec.min_replicas}..{max_replicas}, startup budget {budget_s}s",
    ]
    return plan
