"""`vllmkube batch`: an Indexed Job that answers a JSONL batch with `vllm run-batch` on Spot GPUs,
resuming after reclaims, sized to finish by a deadline. YAML on stdout, the estimate on stderr."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..cli import app
from . import options as opt


@app.command()
def batch(
    config: Optional[str] = typer.Option(None, "--config", "-f", help="YAML file with any of these options; flags win."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="yaml (default) or json (a v1 List)."),
    out_dir: Optional[str] = typer.Option(None, "--output-dir", "-d", help="Write one file per resource + kustomization.yaml here."),
    force: bool = typer.Option(False, "--force", help="With --output-dir: overwrite files there that vllmkube did not write."),
    model: opt.Model = None,
    model_config_path: opt.ModelConfig = None,
    gpu: opt.Gpu = None,
    gpu_memory_gib: opt.GpuMemoryGib = None,
    max_model_len: opt.MaxModelLen = None,
    tensor_parallel_size: opt.TP = None,
    quantization: opt.Quantization = None,
    kv_cache_dtype: opt.KvCacheDtype = None,
    vllm_version: opt.VllmVersion = None,
    allow_unknown_vllm_version: opt.AllowUnknownVllm = None,
    input_len: opt.InputLen = None,
    output_len: opt.OutputLen = None,
    input: Optional[str] = typer.Option(None, "--input", "-i", help="Input JSONL (OpenAI batch format): a path on the data volume."),
    requests: Optional[int] = typer.Option(None, "--requests", help="Requests in the input (its non-blank lines)."),
    deadline: Optional[str] = typer.Option(None, "--deadline", help="Finish within this long, e.g. 6h, 90m, 1d (default 24h)."),
    capacity: Optional[str] = typer.Option(None, "--capacity", help="spot (default) or on-demand."),
    cloud: Optional[str] = typer.Option(None, "--cloud", help="aws, gcp, azure, karpenter or generic: Spot labels, taints, grace."),
    gpu_price: Optional[str] = typer.Option(None, "--gpu-price", help="$ per GPU-hour: 4.5 (on-demand) or on-demand=4.5,spot=1.6."),
    max_parallelism: Optional[int] = typer.Option(None, "--max-parallelism", help="Most pods at once (your GPU quota)."),
    backoff_limit_per_index: Optional[int] = typer.Option(None, "--backoff-limit-per-index", help="Retries of a shard for crashes (3)."),
    max_failed_indexes: Optional[int] = typer.Option(None, "--max-failed-indexes", help="Failed shards that stop the Job (a tenth)."),
    data_pvc_size: Optional[str] = typer.Option(None, "--data-pvc-size", help="Data volume size, e.g. 50Gi (default: from the lengths)."),
    data_storage_class: Optional[str] = typer.Option(None, "--data-storage-class", help="Storage class of the data volume (ReadWriteMany)."),
    name: Optional[str] = typer.Option(None, "--name", help="Release name (default: from the model)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", help="Namespace (default: default)."),
    served_model_name: Optional[str] = typer.Option(None, "--served-model-name", help="The `model` the input's requests name."),
    model_repo: Optional[str] = typer.Option(None, "--model-repo", help="Hugging Face repo to download (default: the model id)."),
    revision: Optional[str] = typer.Option(None, "--revision", help="Pinned commit or tag of the repo."),
    image: Optional[str] = typer.Option(None, "--image", help="vLLM image, pinned (default vllm/vllm-openai:v<version>)."),
    hf_token_secret: Optional[str] = typer.Option(None, "--hf-token-secret", help="Secret with HF_TOKEN, NAME or NAME:KEY."),
    storage_class: Optional[str] = typer.Option(None, "--storage-class", help="Storage class of the model cache."),
    trust_remote_code: Optional[bool] = typer.Option(None, "--trust-remote-code", help="Allow the model's own code."),
    extra_args: Optional[List[str]] = typer.Option(None, "--extra-arg", help="Extra vllm run-batch argument, verbatim (repeat)."),
    without: Optional[List[str]] = typer.Option(None, "--without", help="Leave out serviceaccount, pvc or downloader (repeat)."),
) -> None:
    """Render an Indexed Job that answers a JSONL batch with vLLM on Spot GPUs by a deadline, resuming after reclaims."""
    import sys

    from ..batch import BatchSpec, plan_batch
    from ..output import output_choice, write_render
    from ..workflow import load_config

    flags = opt.spec_values(BatchSpec, locals())  # parameters are named like BatchSpec's fields
    fmt, out_dir = output_choice(output, out_dir)
    values = load_config(config) if config else {}
    values.update(flags)
    plan, docs, estimate = plan_batch(opt.build_spec(BatchSpec, values))
    write_render(plan, docs, out_dir, fmt, force)
    print("\n".join(estimate), file=sys.stderr)
