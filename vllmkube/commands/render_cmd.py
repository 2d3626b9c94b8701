"""`vllmkube render`: the production manifest set, from the same sizing as `size`."""
from typing import List, Optional

import typer

from ..cli import app
from . import options as opt


@app.command()
def render(
    config: Optional[str] = typer.Option(None, "--config", "-f", help="vllmkube.yaml with any of these options; flags win."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="yaml (default) or json (a v1 List, for kubectl apply -f -)."),
    out_dir: Optional[str] = typer.Option(None, "--output-dir", "-d", help="Write one file per resource + kustomization.yaml here; "
                                          "other files in the folder are left alone."),
    force: bool = typer.Option(False, "--force", help="With --output-dir: overwrite files there that vllmkube did not write."),
    model: opt.Model = None,
    model_config_path: opt.ModelConfig = None,
    gpu: opt.Gpu = None,
    gpu_memory_gib: opt.GpuMemoryGib = None,
    gpu_bandwidth_tbps: opt.GpuBandwidthTbps = None,
    gpu_bf16_tflops: opt.GpuBf16Tflops = None,
    gpus_per_node: opt.GpusPerNode = None,
    max_model_len: opt.MaxModelLen = None,
    gpu_memory_utilization: opt.GpuMemUtil = None,
    tensor_parallel_size: opt.TP = None,
    pipeline_parallel_size: opt.PP = None,
    quantization: opt.Quantization = None,
    kv_cache_dtype: opt.KvCacheDtype = None,
    dtype: opt.Dtype = None,
    min_concurrency: opt.MinConcurrency = None,
    vllm_version: opt.VllmVersion = None,
    allow_unknown_vllm_version: opt.AllowUnknownVllm = None,
    vllm_engine: opt.VllmEngine = None,
    max_num_batched_tokens: opt.MaxBatchedTokens = None,
    max_num_seqs: opt.MaxNumSeqs = None,
    enforce_eager: opt.EnforceEager = None,
    input_len: opt.InputLen = None,
    output_len: opt.OutputLen = None,
    rps: opt.Rps = None,
    name: Optional[str] = typer.Option(None, "--name", help="Release name (default: from the model)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", help="Namespace (default: default)."),
    create_namespace: Optional[bool] = typer.Option(None, "--create-namespace", help="Also emit the Namespace."),
    served_model_name: Optional[str] = typer.Option(None, "--served-model-name", help="Model name clients use."),
    model_repo: Optional[str] = typer.Option(None, "--model-repo", help="Hugging Face repo to download (default: the model id)."),
    revision: Optional[str] = typer.Option(None, "--revision", help="Pinned commit or tag of the repo."),
    image: Optional[str] = typer.Option(None, "--image", help="vLLM image, pinned (default vllm/vllm-openai:v<version>)."),
    hf_token_secret: Optional[str] = typer.Option(None, "--hf-token-secret", help="Secret with HF_TOKEN, NAME or NAME:KEY."),
    storage_class: Optional[str] = typer.Option(None, "--storage-class", help="Storage class of the model cache."),
    pvc_size: Optional[str] = typer.Option(None, "--pvc-size", help="Model cache size, e.g. 200Gi (default: from the weights)."),
    pvc_access_mode: Optional[str] = typer.Option(None, "--pvc-access-mode", help="ReadWriteMany (default), ReadWriteOnce, ReadOnlyMany."),
    load_rate_gib_s: Optional[float] = typer.Option(None, "--load-rate-gib-s", help="Weight load rate for the startup probe (default: from the storage)."),
    model_cache: Optional[str] = typer.Option(None, "--model-cache", help="auto (per --cloud), shared-pvc (RWX PVC) or pod-volume (per-pod volume)."),
    keda_version: Optional[str] = typer.Option(None, "--keda-version", help="KEDA release of the cluster (default 2.20; before 2.17 no fallback.behavior)."),
    capacity: Optional[str] = typer.Option(None, "--capacity", help="on-demand (default) or spot."),
    cloud: Optional[str] = typer.Option(None, "--cloud", help="aws, gcp, azure, karpenter or generic."),
    min_replicas: Optional[int] = typer.Option(None, "--min-replicas", help="Fewest replicas (default 1)."),
    max_replicas: Optional[int] = typer.Option(None, "--max-replicas", help="Most replicas (default 4)."),
    scale_to_zero: Optional[bool] = typer.Option(None, "--scale-to-zero", help="Let KEDA scale to zero: the KEDA HTTP add-on holds requests while it wakes (needs --host), or --activation-query."),
    activation_query: Optional[str] = typer.Option(None, "--activation-query", help="PromQL request rate from your gateway that wakes a scaled-to-zero service."),
    queue_threshold: Optional[float] = typer.Option(None, "--queue-threshold", help="Waiting requests per replica that add one."),
    kv_cache_threshold: Optional[float] = typer.Option(None, "--kv-cache-threshold", help="Average KV usage that adds replicas (0.8)."),
    scale_down_window_s: Optional[int] = typer.Option(None, "--scale-down-window", help="Scale-down stabilization, seconds (300)."),
    fallback_replicas: Optional[int] = typer.Option(None, "--fallback-replicas", help="Replicas while Prometheus is unreachable (default: min; 0: no fallback)."),
    prometheus_url: Optional[str] = typer.Option(None, "--prometheus-url", help="Prometheus KEDA queries."),
    prometheus_release: Optional[str] = typer.Option(None, "--prometheus-release", help="kube-prometheus-stack release label."),
    prometheus_namespace: Optional[str] = typer.Option(None, "--prometheus-namespace", help="Namespace Prometheus runs in."),
    prometheus_auth_secret: Optional[str] = typer.Option(None, "--prometheus-auth-secret", help="Bearer token Secret for KEDA, NAME or NAME:KEY."),
    monitor: Optional[str] = typer.Option(None, "--monitor", help="servicemonitor (default) or podmonitor."),
    allow_from_namespaces: Optional[List[str]] = typer.Option(None, "--allow-from-namespace", help="Namespace allowed to call the API (repeat)."),
    slo_ttft_p99: opt.SloTtft = None,
    slo_itl_p99: opt.SloItl = None,
    runbook_url: Optional[str] = typer.Option(None, "--runbook-url", help="Runbook the alerts link to."),
    rollout: Optional[str] = typer.Option(None, "--rollout", help="replace (default: no spare GPUs needed) or surge (new pod first)."),
    drain_seconds: Optional[int] = typer.Option(None, "--drain-seconds", help="--shutdown-timeout for in-flight requests (30)."),
    enable_prefix_caching: Optional[bool] = typer.Option(None, "--prefix-caching/--no-prefix-caching", help="Prefix caching (on)."),
    enable_chunked_prefill: Optional[bool] = typer.Option(None, "--chunked-prefill/--no-chunked-prefill", help="Chunked prefill (on)."),
    trust_remote_code: Optional[bool] = typer.Option(None, "--trust-remote-code", help="Allow the model's own code."),
    extra_args: Optional[List[str]] = typer.Option(None, "--extra-arg", help="Extra vllm serve argument, verbatim (repeat)."),
    without: Optional[List[str]] = typer.Option(None, "--without", help="Leave a component out (repeat): pvc, downloader, autoscaling, ..."),
    # issue 12: traffic in front of the pods (plan/front.py)
    host: Optional[str] = typer.Option(None, "--host", help="Host name clients call (scale to zero: the KEDA HTTP add-on routes on it)."),
    keda_http_api: Optional[str] = typer.Option(None, "--keda-http-api", help="v1beta1 InterceptorRoute (add-on 0.14+, default) or v1alpha1 HTTPScaledObject."),
    keda_namespace: Optional[str] = typer.Option(None, "--keda-namespace", help="Namespace of the KEDA HTTP add-on (default keda)."),
    router: Optional[str] = typer.Option(None, "--router", help="service (default) or inference-pool (Gateway API Inference Extension)."),
    gateway: Optional[str] = typer.Option(None, "--gateway", help="Gateway for the HTTPRoute, NAME or NAMESPACE/NAME (--router inference-pool, or a deployment canary)."),
    inference_objective_priority: Optional[int] = typer.Option(None, "--inference-objective-priority", help="Also render an InferenceObjective with this priority."),
    inference_objective_api: Optional[str] = typer.Option(None, "--inference-objective-api", help="llm-d.ai/v1alpha2 (default) or inference.networking.x-k8s.io/v1alpha2."),
    epp_image: Optional[str] = typer.Option(None, "--epp-image", help="Endpoint picker image, pinned (default: the llm-d-router release vllmkube knows)."),
    # serving targets and canary rollouts (issue 10)
    target: Optional[str] = typer.Option(None, "--target", help="auto (default: lws when a replica spans nodes), deployment, lws, kserve or llmisvc."),
    canary_revision: Optional[str] = typer.Option(None, "--canary-revision", help="Model revision the canary serves (with --canary-percent)."),
    canary_percent: Optional[int] = typer.Option(None, "--canary-percent", help="Percent of traffic for the canary, 1-99."),
) -> None:
    """Render the Kubernetes manifests for serving MODEL on GPU with vLLM."""
    from ..output import output_choice, write_render
    from ..render import environment
    from ..spec import RenderSpec
    from ..templatecache import enable
    from ..workflow import load_config, plan_render

    flags = opt.spec_values(RenderSpec, locals())  # parameters are named like RenderSpec's fields
    fmt, out_dir = output_choice(output, out_dir)
    enable(environment())  # compiled templates kept between runs: compiling is render's largest own step
    values = load_config(config) if config else {}
    values.update(flags)
    plan, docs = plan_render(opt.build_spec(RenderSpec, values))
    write_render(plan, docs, out_dir, fmt, force)
