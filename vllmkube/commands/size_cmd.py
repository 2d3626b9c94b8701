"""`vllmkube size`: what a model needs on a GPU, what vLLM will allocate, and (with a workload)
how fast it serves; `--compare` ranks layouts across GPUs."""
from typing import Optional

import typer

from ..cli import app
from . import options as opt


@app.command()
def size(
    model: opt.Model = None,
    model_config_path: opt.ModelConfig = None,
    params_b: opt.ParamsB = None,
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
    concurrency: opt.Concurrency = None,
    rps: opt.Rps = None,
    slo_ttft_p99: opt.SloTtft = None,
    slo_itl_p99: opt.SloItl = None,
    compare: bool = typer.Option(False, "--compare", help="Rank TP 1/2/4/8, FP8 and the --gpus by GPUs needed and $/hour."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Other GPUs to compare, e.g. a100-80gb,h100,l40s (implies --compare)."),
    gpu_price: Optional[str] = typer.Option(None, "--gpu-price", help="$ per GPU-hour, e.g. h100=4.5,l40s=1.2."),
    num_prompts: Optional[int] = typer.Option(None, "--num-prompts", min=1, max=100000,
                                              help="Replay a `vllm bench serve` run of this many prompts (with --request-rate)."),
    request_rate: Optional[str] = typer.Option(None, "--request-rate", help="Requests/s of the replayed run, or inf (all at once)."),
    output: str = typer.Option("table", "--output", "-o", help="table, json or yaml."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when the model does not fit or an SLO cannot be met."),
) -> int:
    """Size MODEL on GPU: weights, KV cache, tensor parallelism, quantization; with a workload, latency and replicas."""
    from ..errors import InputError
    from ..report import emit_compare, emit_size
    from ..spec import SizeSpec

    values = opt.spec_values(SizeSpec, locals())  # parameters are named like SizeSpec's fields

    if output not in ("table", "json", "yaml"):
        raise InputError("--output", f"unknown format {output!r}", "use table, json or yaml")
    spec = opt.build_spec(SizeSpec, values)
    if compare or gpus:
        from ..compare import for_spec

        table = for_spec(spec, gpus, gpu_price)
        emit_compare(table, output)
        return 1 if strict and not table.any_met else 0
    from ..workflow import plan_size, serving_for

    result = plan_size(spec)
    performance = None
    if spec.workload() is not None:  # the performance model is imported only when asked for
        performance = serving_for(spec, result)
    bench = None
    if num_prompts is not None or request_rate is not None:
        bench = _benchmark(spec, result, num_prompts, request_rate)
    emit_size(result, output, performance, bench)
    failed = not result.fits or (performance is not None and not performance.slo_met)
    return 1 if strict and failed else 0


def _benchmark(spec, result, num_prompts, request_rate):
    """--num-prompts / --request-rate: the replayed `vllm bench serve` run at the server's settings."""
    from ..benchmark import parse_rate, replay
    from ..errors import InputError
    from ..serving import DEFAULT_INPUT_LEN, DEFAULT_OUTPUT_LEN
    from ..sizing import SizingPlan
    from ..spec import resolve_gpu, resolve_model

    if num_prompts is None:
        raise InputError("--num-prompts", "--request-rate needs the number of prompts", "e.g. --num-prompts 1000")
    if not isinstance(result, SizingPlan) or not result.fits:
        raise InputError("--num-prompts", "nothing to benchmark: the model does not fit (or only a rule of thumb)",
                         "pass --model and a layout that fits")
    return replay(resolve_model(spec), resolve_gpu(spec), result, num_prompts, parse_rate(request_rate),
                  spec.input_len or DEFAULT_INPUT_LEN, spec.output_len or DEFAULT_OUTPUT_LEN, spec.concurrency)
