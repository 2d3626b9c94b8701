"""What the user asks for (flags or vllmkube.yaml), and turning it into catalog entries.

One pydantic model per command family, extra keys forbidden. Field names are the
config-file keys; the flag for ``max_model_len`` is ``--max-model-len``.
"""
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator, model_validator

from . import versions
from .catalog import GpuEntry, ModelEntry, find_gpu, find_model
from .errors import InputError
from .sizing import KvCacheDtype, QuantizationChoice, SizingOptions


# config-file key / field name -> flag, where they differ
_FLAG_NAMES = {"model_config_path": "--model-config", "scale_down_window_s": "--scale-down-window",
               "allow_from_namespaces": "--allow-from-namespace", "extra_args": "--extra-arg",
               "enable_prefix_caching": "--prefix-caching", "enable_chunked_prefill": "--chunked-prefill"}


# What a pattern-checked field accepts, in words (the regex itself is no help to a user).
_K8S_NAME = "a Kubernetes name: lowercase letters, digits, '-' and '.'"
_FORMATS = {
    "storage_class": _K8S_NAME, "hf_token_secret": f"NAME or NAME:KEY, NAME being {_K8S_NAME}",
    "prometheus_auth_secret": f"NAME or NAME:KEY, NAME being {_K8S_NAME}",
    "prometheus_release": "a label value: letters, digits, '-', '_' and '.'",
    "model_repo": "a Hugging Face repository id, ORG/NAME", "image": "an image reference without spaces",
    "pvc_size": "a size in Gi or Ti, e.g. 200Gi", "keda_version": "a KEDA release from 2.12, e.g. 2.16 or 2.17.1", "dtype": "auto, bfloat16 or float16",
    "prometheus_url": "an http:// or https:// URL", "runbook_url": "an http:// or https:// URL",
    "host": "a host name, e.g. llm.example.com or *.example.com", "gateway": f"NAME or NAMESPACE/NAME of a Gateway, each {_K8S_NAME}",
    "epp_image": "an image reference without spaces",
    "canary_revision": "a commit or tag: letters, digits, '_', '-' and '.'",
}


def flag(field: str) -> str:
    return _FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


def spellings(field: str) -> tuple[str, ...]:
    """The keys a config file may use for ``field``: the field name, or the same with dashes
    (max-model-len); model_config_path also as model_config / model-config, like its flag.
    The JSON Schema lists exactly these (starter.json_schema)."""
    names = [field, field.replace("_", "-")]
    if field == "model_config_path":
        names += ["model_config", "model-config"]
    return tuple(dict.fromkeys(names))


def config_key(key: str) -> str:
    """The field a config-file key names; an unknown key is returned as is (and refused later)."""
    return _SPELLINGS.get(key, key)


_DURATION_RE = r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*"
# Seconds as a number, or a string with a unit: what parse_duration_s accepts, for the JSON Schema.
Duration = Annotated[float, WithJsonSchema({"anyOf": [
    {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
    {"type": "string", "pattern": f"^{_DURATION_RE}$", "examples": ["500ms", "2s"]}]})]


class SizeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    model: str | None = Field(default=None, description="catalog id or Hugging Face id (see `vllmkube models`)")
    model_config_path: str | None = Field(default=None, description="config.json or model folder, for any model")
    params_b: float | None = Field(default=None, gt=0, description="parameters in billions: rule of thumb only")
    gpu: str | None = Field(default=None, description="catalog key (see `vllmkube gpus`)")
    gpu_memory_gib: float | None = Field(default=None, gt=0, le=1024, description="override memory for an unlisted card")
    gpu_bandwidth_tbps: float | None = Field(default=None, gt=0, le=100, description="memory bandwidth of an unlisted card, TB/s")
    gpu_bf16_tflops: float | None = Field(default=None, gt=0, le=100000, description="dense BF16 TFLOPS of an unlisted card")
    gpus_per_node: int | None = Field(default=None, ge=1, le=16, description="GPUs per node (default: the catalog's)")
    max_model_len: int | None = Field(default=None, gt=0, description="context per request (default min(model, 8192))")
    gpu_memory_utilization: float = Field(default=0.90, gt=0, le=1, description="fraction of GPU memory vLLM may use")
    tensor_parallel_size: int | None = Field(default=None, ge=1, le=64, description="tensor parallel size (default: chosen)")
    pipeline_parallel_size: int | None = Field(default=None, ge=1, le=64, description="pipeline parallel size (default: chosen)")
    quantization: QuantizationChoice | None = Field(default=None, description="none, fp8, int8, awq or gptq (default: chosen)")
    kv_cache_dtype: KvCacheDtype = Field(default="auto", description="auto (the model dtype) or fp8")
    dtype: str = Field(default="auto", pattern="^(auto|bfloat16|float16)$", description="auto, bfloat16 or float16")
    min_concurrency: float | None = Field(default=None, gt=0, description="full-length requests that must fit at once "
                                          "(default: 8, or a KV cache of 25% of the weights, whichever needs less)")
    vllm_version: str = Field(default=versions.NEWEST_VLLM, description="vLLM release the pods run",
                              json_schema_extra={"pattern": f"^\\s*{versions.VERSION_RE}\\s*$"})
    allow_unknown_vllm_version: bool = Field(default=False, description="accept a vLLM release newer than "
                                             "the newest this vllmkube knows (with a warning)")
    vllm_engine: Literal["auto", "v0", "v1"] = Field(
        default="auto", description="engine to size for: auto (V1 from 0.8), or v0 on 0.8-0.10 with VLLM_USE_V1=0")
    max_num_batched_tokens: int | None = Field(default=None, gt=0, description="scheduler token budget per step")
    max_num_seqs: int | None = Field(default=None, gt=0, description="most requests run at once")
    enforce_eager: bool = Field(default=False, description="no CUDA graphs (slower, less memory)")
    # workload and objectives: `size` reports the serving plan for them (serving.py)
    input_len: int | None = Field(default=None, gt=0, le=10_000_000, description="prompt tokens per request (default 1024)")
    output_len: int | None = Field(default=None, gt=0, le=1_000_000, description="generated tokens per request (default 256)")
    concurrency: int | None = Field(default=None, gt=0, le=100_000, description="requests in flight to report latency at")
    rps: float | None = Field(default=None, gt=0, le=1_000_000, description="peak requests per second to plan replicas for")
    slo_ttft_p99: Duration | None = Field(default=None, description="TTFT p99 objective, seconds (accepts 500ms / 2s)")
    slo_itl_p99: Duration | None = Field(default=None, description="inter-token latency p99 objective, seconds")

    @field_validator("slo_ttft_p99", "slo_itl_p99", mode="before")
    @classmethod
    def _slo_duration(cls, v: Any, info) -> float | None:
        return None if v is None else parse_duration_s(v, info.field_name)

    def workload(self):
        """The serving workload (serving.Workload), or None when no workload or SLO key was given."""
        keys = ("input_len", "output_len", "concurrency", "rps", "slo_ttft_p99", "slo_itl_p99")
        if not self.model_fields_set.intersection(keys):
            return None
        from .serving import Workload

        return Workload(**{k: getattr(self, k) for k in keys if getattr(self, k) is not None})

    @model_validator(mode="after")
    def _one_model(self) -> "SizeSpec":
        given = [n for n in ("model", "model_config_path", "params_b") if getattr(self, n) is not None]
        if not given:
            raise ValueError("give --model, --model-config or --params-b")
        if self.model and self.model_config_path:
            raise ValueError("--model and --model-config exclude each other")
        versions.check_known(self.vllm_version, self.allow_unknown_vllm_version)  # raises InputError
        return self

    def version_warning(self) -> str | None:
        return versions.check_known(self.vllm_version, self.allow_unknown_vllm_version)

    def sizing_options(self) -> SizingOptions:
        values = {k: getattr(self, k) for k in SizingOptions.model_fields if hasattr(self, k)}
        if self.max_model_len is None and (self.input_len or self.output_len):
            from .serving import DEFAULT_INPUT_LEN, DEFAULT_OUTPUT_LEN

            need = (self.input_len or DEFAULT_INPUT_LEN) + (self.output_len or DEFAULT_OUTPUT_LEN)
            if need > 8192:
                values["max_model_len"] = need  # room for the stated request (the default stops at 8192)
        return SizingOptions(**values)


def build(cls: type[BaseModel], values: dict[str, Any]) -> Any:
    """Validate user values into ``cls``; a ValidationError becomes one InputError line."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field = flag(loc[0]) if loc else "input"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            import difflib

            close = difflib.get_close_matches(loc[-1], list(cls.model_fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(".".join(loc), "unknown key", f"{hint}see `vllmkube schema` for the keys") from None
        if not loc:
            raise InputError("input", msg) from None
        if err["type"] == "string_pattern_mismatch":
            raise InputError(field, f"{err['input']!r} is not a valid value", _FORMATS.get(loc[0], _hint(cls, loc[0]))) from None
        raise InputError(field, msg, _hint(cls, loc[0])) from None


def _hint(cls: type[BaseModel], name: str) -> str | None:
    f = cls.model_fields.get(name)
    if f is None:
        return None
    ann = str(f.annotation)
    if "Literal" in ann:
        import typing

        args = [a for a in typing.get_args(f.annotation) for a in (typing.get_args(a) or (a,)) if a is not type(None)]
        return "one of " + ", ".join(str(a) for a in args)
    return f.description


def resolve_model(spec: SizeSpec) -> ModelEntry | None:
    if spec.model_config_path:
        from .hfconfig import load_model_config

        return load_model_config(spec.model_config_path)
    if spec.model:
        return find_model(spec.model)
    return None


def resolve_gpu(spec: SizeSpec) -> GpuEntry:
    rates = {k: v for k, v in (("bandwidth_tbps", spec.gpu_bandwidth_tbps), ("bf16_tflops", spec.gpu_bf16_tflops))
             if v is not None}
    if spec.gpu:
        gpu = find_gpu(spec.gpu)
        if spec.gpu_memory_gib:
            gpu = gpu.model_copy(update={"memory_gib": spec.gpu_memory_gib})
        if rates:  # a variant of a listed card: its own rates, measured MAMF no longer applies
            gpu = gpu.model_copy(update={**rates, "matmul_bf16_tflops": None})
        return gpu
    if spec.gpu_memory_gib:
        # without rates this card sizes memory only: performance.hardware refuses figures for it
        return GpuEntry(
            key="custom", name=f"unlisted GPU ({spec.gpu_memory_gib:g} GiB)", vendor="nvidia", architecture="unknown",
            memory_gib=spec.gpu_memory_gib, memory_marketed_gb=spec.gpu_memory_gib,
            bandwidth_tbps=spec.gpu_bandwidth_tbps or 1.0, bf16_tflops=spec.gpu_bf16_tflops,
            fp8_support="none", interconnect="unknown", resource_name="nvidia.com/gpu",
            gpus_per_node=spec.gpus_per_node or 8,
            sources=("--gpu-memory-gib",) + (("--gpu-bandwidth-tbps",) if spec.gpu_bandwidth_tbps else ()),
        )
    raise InputError("--gpu", "no GPU given", "pass --gpu KEY (see `vllmkube gpus`) or --gpu-memory-gib")


# Kubernetes object names (DNS-1123 subdomain) and a Secret reference NAME[:KEY]
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_SECRET_REF = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[-._a-zA-Z0-9]+)?$"
# issue 12: a host name (a leading "*." wildcard allowed) and a Gateway reference [NAMESPACE/]NAME
_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_GATEWAY_REF = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

COMPONENTS = ("namespace", "serviceaccount", "pvc", "downloader", "service", "autoscaling", "monitor", "rules",
              "dashboard", "pdb", "networkpolicy")
Cloud = Literal["aws", "gcp", "azure", "karpenter", "generic"]


def parse_duration_s(value: Any, field: str) -> float:
    """'500ms', '2s', '1.5' (seconds) -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = re.fullmatch(_DURATION_RE, str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 500ms or 2s)")
        seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    if seconds <= 0 or seconds > 3600:
        raise ValueError(f"{value!r} is out of range (0 < duration <= 3600s)")
    return seconds


class RenderSpec(SizeSpec):
    """Everything `render` takes: the sizing inputs plus the deployment choices."""

    name: str | None = Field(default=None, description="release name; prefixes every object (default: from the model)")
    namespace: str = Field(default="default", description="namespace of every object")
    create_namespace: bool = Field(default=False, description="also emit the Namespace object")
    served_model_name: str | None = Field(default=None, description="name clients send as `model` (default: the model id)")
    model_repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$", max_length=200,
                                  description="Hugging Face repository to download (default: the model id)")
    revision: str | None = Field(default=None, description="pinned commit or tag of the repository")
    image: str | None = Field(default=None, pattern=r"^[^\s]+$", max_length=400,
                             description="vLLM image (default vllm/vllm-openai:v<vllm_version>)")
    hf_token_secret: str | None = Field(default=None, pattern=_SECRET_REF, description="Secret holding HF_TOKEN, as NAME or NAME:KEY")
    storage_class: str | None = Field(default=None, pattern=_DNS_SUBDOMAIN, max_length=253,
                                      description="storage class of the model cache PVC")
    pvc_size: str | None = Field(default=None, pattern=r"^[1-9][0-9]*(Gi|Ti)$", description="model cache size, e.g. 200Gi")
    pvc_access_mode: Literal["ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany"] = Field(
        default="ReadWriteMany", description="ReadWriteMany lets one download serve every replica")
    load_rate_gib_s: float | None = Field(default=None, gt=0, le=50, description="weight load rate from the model "
                                          "cache, GiB/s (startup budget; default from the storage, docs/manifests.md)")
    # issue 11: first apply on EKS/GKE/AKS/Karpenter (plan/storage.py)
    model_cache: Literal["auto", "shared-pvc", "pod-volume"] = Field(
        default="auto", description="shared-pvc: one ReadWriteMany PVC filled once; pod-volume: a per-pod volume "
        "on the cloud's block storage, filled by an init container; auto: per --cloud")
    keda_version: str = Field(default="2.20", pattern=r"^\s*v?2\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?\s*$",
                              description="KEDA release the cluster runs (2.12 or newer): before 2.17 the "
                              "ScaledObject's fallback has no behavior field")
    capacity: Literal["on-demand", "spot"] = Field(default="on-demand", description="node capacity type to run on")
    cloud: Cloud = Field(default="generic", description="aws, gcp, azure, karpenter or generic: picks node labels")
    min_replicas: int = Field(default=1, ge=1, le=1000, description="fewest replicas (KEDA minReplicaCount)")
    max_replicas: int = Field(default=4, ge=1, le=1000, description="most replicas (default: from --rps, else 4)")
    scale_to_zero: bool = Field(default=False, description="let KEDA scale to 0 when idle (cold starts!): the KEDA "
                                  "HTTP add-on holds requests while it wakes (needs host), or your activation_query")
    activation_query: str | None = Field(default=None, min_length=1, description="PromQL that wakes a service scaled to "
                                         "zero: your gateway's or ingress' request rate for it (> 0 means traffic)")
    queue_threshold: float | None = Field(default=None, gt=0, description="waiting requests per replica that add a replica")
    kv_cache_threshold: float = Field(default=0.8, gt=0, le=1, description="average KV-cache usage that adds replicas")
    scale_down_window_s: int = Field(default=300, ge=0, le=3600, description="HPA scale-down stabilization window")
    fallback_replicas: int | None = Field(default=None, ge=0, description="replicas while Prometheus is unreachable "
                                          "(default min_replicas; 0 leaves fallback out)")
    prometheus_url: str = Field(default="http://prometheus-operated.monitoring.svc:9090", pattern=r"^https?://\S+$",
                                description="Prometheus that KEDA queries")
    prometheus_release: str = Field(default="kube-prometheus-stack", pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
                                    max_length=63, description="`release` label kube-prometheus-stack selects")
    prometheus_namespace: str = Field(default="monitoring", description="namespace Prometheus scrapes from")
    prometheus_auth_secret: str | None = Field(default=None, pattern=_SECRET_REF,
                                               description="Secret with a bearer token for KEDA, NAME or NAME:KEY")
    monitor: Literal["servicemonitor", "podmonitor"] = Field(default="servicemonitor", description="how Prometheus finds the pods")
    allow_from_namespaces: tuple[str, ...] = Field(default=(), description="namespaces allowed to call the API")
    slo_ttft_p99: Duration = Field(default=2.0, description="TTFT p99 objective, seconds (accepts 500ms / 2s)")
    slo_itl_p99: Duration = Field(default=0.1, description="inter-token latency p99 objective, seconds")
    runbook_url: str = Field(default="https://github.com/vllmkube/vllmkube/blob/main/docs/runbook.md",
                             pattern=r"^https?://\S+$", description="runbook the alerts link to")
    rollout: Literal["replace", "surge"] = Field(
        default="replace", description="replace: one pod at a time, no spare GPUs needed; surge: start the new "
        "pod first (needs free GPUs for one more replica, no capacity dip)")
    drain_seconds: int = Field(default=30, ge=0, le=3600, description="--shutdown-timeout: drain in-flight requests")
    enable_prefix_caching: bool = Field(default=True, description="reuse KV blocks of shared prompt prefixes")
    enable_chunked_prefill: bool = Field(default=True, description="split long prompts so decoding keeps going")
    trust_remote_code: bool = Field(default=False, description="allow the model repository's own Python code")
    extra_args: tuple[str, ...] = Field(default=(), description="extra vllm serve arguments, passed verbatim")
    without: tuple[str, ...] = Field(default=(), description=f"components to leave out: {', '.join(COMPONENTS)}",
                                     json_schema_extra={"items": {"enum": list(COMPONENTS)}})
    # Traffic in front of the pods (issue 12, vllmkube/plan/front.py): the KEDA HTTP add-on that holds
    # requests while a service scaled to zero wakes up, or an InferencePool with its endpoint picker.
    host: str | None = Field(default=None, pattern=_HOSTNAME, max_length=253, description="host name clients call: "
                             "the KEDA HTTP add-on routes on it (scale to zero), the HTTPRoute matches it")
    keda_http_api: Literal["v1beta1", "v1alpha1"] = Field(
        default="v1beta1", description="KEDA HTTP add-on API: v1beta1 InterceptorRoute (add-on 0.14+) or v1alpha1 "
        "HTTPScaledObject (older add-ons)")
    keda_namespace: str = Field(default="keda", description="namespace of the KEDA HTTP add-on (interceptor, scaler)")
    router: Literal["service", "inference-pool"] = Field(
        default="service", description="service: the Service spreads requests; inference-pool: a Gateway API "
        "InferencePool whose endpoint picker routes by queue, KV cache and prefix")
    gateway: str | None = Field(default=None, pattern=_GATEWAY_REF, max_length=317,
                                description="Gateway the HTTPRoute attaches to, NAME or NAMESPACE/NAME (--router "
                                "inference-pool, or the deployment target's canary split)")
    inference_objective_priority: int | None = Field(default=None, ge=-1000, le=1000, description="also render an "
                                                     "InferenceObjective with this priority (--router inference-pool)")
    inference_objective_api: Literal["llm-d.ai/v1alpha2", "inference.networking.x-k8s.io/v1alpha2"] = Field(
        default="llm-d.ai/v1alpha2", description="InferenceObjective API: llm-d.ai (llm-d-router) or the older "
        "inference.networking.x-k8s.io (extension <= 1.5)")
    epp_image: str | None = Field(default=None, pattern=r"^[^\s]+$", max_length=400,
                                  description="endpoint picker image (default: the pinned llm-d-router release)")
    # Serving targets and canary rollouts (issue 10): vllmkube/targets/, docs/serving-targets.md
    target: Literal["auto", "deployment", "lws", "kserve", "llmisvc"] = Field(
        default="auto", description="workload kind: auto (lws when a replica needs more than one node, else "
        "deployment), deployment, lws (LeaderWorkerSet), kserve (InferenceService), llmisvc (LLMInferenceService)")
    canary_revision: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[\w.-]+$",
                                        description="model revision (commit or tag) the canary serves")
    canary_percent: int | None = Field(default=None, ge=1, le=99, description="share of traffic for the canary, percent")

    @field_validator("slo_ttft_p99", "slo_itl_p99", mode="before")
    @classmethod
    def _duration(cls, v: Any, info) -> float:
        return parse_duration_s(v, info.field_name)

    @field_validator("without")
    @classmethod
    def _components(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for c in v:
            if c not in COMPONENTS:
                raise ValueError(f"unknown component {c!r}; one of {', '.join(COMPONENTS)}")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _replicas(self) -> "RenderSpec":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} exceeds max_replicas {self.max_replicas}")
        if not (self.model or self.model_config_path):
            raise ValueError("render needs --model or --model-config (--params-b alone is only a rule of thumb)")
        if self.vllm_engine == "v0":
            raise ValueError("render writes manifests for vLLM's V1 engine; --vllm-engine v0 is for `size` only")
        if (self.canary_revision is None) != (self.canary_percent is None):
            raise ValueError("--canary-revision and --canary-percent go together")
        if self.canary_revision is not None and self.router == "inference-pool":
            raise ValueError("--canary-revision with --router inference-pool: the pool would mix both revisions; "
                             "roll the canary out on a Deployment without the pool, or use --target kserve")
        return self

    def wants(self, component: str) -> bool:
        return component not in self.without


_SPELLINGS = {key: name for name in RenderSpec.model_fields for key in spellings(name)}
