"""`vllmkube size`: what a model needs on a GPU, and what vLLM will allocate."""
from __future__ import annotations

import typer

from ..cli import app
from . import options as opt


@app.command()
def size(
    model: opt.Model = None,
    model_config: opt.ModelConfig = None,
    params_b: opt.ParamsB = None,
    gpu: opt.Gpu = None,
    gpu_memory_gib: opt.GpuMemoryGib = None,
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
    max_num_batched_tokens: opt.MaxBatchedTokens = None,
    max_num_seqs: opt.MaxNumSeqs = None,
    enforce_eager: opt.EnforceEager = None,
    output: str = typer.Option("table", "--output", "-o", help="table, json or yaml."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when the model does not fit."),
) -> int:
    """Size MODEL on GPU: weights, KV cache, tensor parallelism, quantization."""
    from ..errors import InputError
    from ..report import emit_size
    from ..spec import SizeSpec, build
    from ..workflow import plan_size

    if output not in ("table", "json", "yaml"):
        raise InputError("--output", f"unknown format {output!r}", "use table, json or yaml")
    values = opt.given(
        model=model, model_config_path=model_config, params_b=params_b, gpu=gpu, gpu_memory_gib=gpu_memory_gib,
        gpus_per_node=gpus_per_node, max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization,
        tensor_parallel_size=tensor_parallel_size, pipeline_parallel_size=pipeline_parallel_size,
        quantization=quantization, kv_cache_dtype=kv_cache_dtype, dtype=dtype, min_concurrency=min_concurrency,
        vllm_version=vllm_version, max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs,
        enforce_eager=enforce_eager,
    )
    result = plan_size(build(SizeSpec, values))
    emit_size(result, output)
    return 1 if strict and not result.fits else 0
