"""Typer option declarations shared by several commands (size, render, simulate).

Every option defaults to None so that a command can tell "given on the command
line" from "left to the config file or the spec's default".
"""
from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Model id (catalog or Hugging Face id).")]
ModelConfig = Annotated[Optional[str], typer.Option("--model-config", help="config.json or model folder, for any model.")]
ParamsB = Annotated[Optional[float], typer.Option("--params-b", help="Parameters in billions (rule of thumb only).")]
Gpu = Annotated[Optional[str], typer.Option("--gpu", "-g", help="GPU key (see `vllmkube gpus`).")]
GpuMemoryGib = Annotated[Optional[float], typer.Option("--gpu-memory-gib", help="Memory per GPU in GiB, for an unlisted card.")]
GpuBandwidthTbps = Annotated[Optional[float], typer.Option("--gpu-bandwidth-tbps", help="Memory bandwidth of an unlisted card, TB/s (for latency figures).")]
GpuBf16Tflops = Annotated[Optional[float], typer.Option("--gpu-bf16-tflops", help="Dense BF16 TFLOPS of an unlisted card (for latency figures).")]
GpusPerNode = Annotated[Optional[int], typer.Option("--gpus-per-node", help="GPUs per node (default: the catalog's).")]
MaxModelLen = Annotated[Optional[int], typer.Option("--max-model-len", help="Context per request (default min(model, 8192)).")]
GpuMemUtil = Annotated[Optional[float], typer.Option("--gpu-memory-utilization", help="Fraction of GPU memory vLLM may use (default 0.90).")]
TP = Annotated[Optional[int], typer.Option("--tensor-parallel-size", "--tp", help="Tensor parallel size (default: chosen).")]
PP = Annotated[Optional[int], typer.Option("--pipeline-parallel-size", "--pp", help="Pipeline parallel size (default: chosen).")]
Quantization = Annotated[Optional[str], typer.Option("--quantization", "-q", help="none, fp8, int8, awq or gptq (default: chosen).")]
KvCacheDtype = Annotated[Optional[str], typer.Option("--kv-cache-dtype", help="auto, fp8, fp8_e4m3 or fp8_e5m2.")]
Dtype = Annotated[Optional[str], typer.Option("--dtype", help="auto, bfloat16 or float16.")]
MinConcurrency = Annotated[Optional[float], typer.Option("--min-concurrency", help="Full-length requests the KV cache must hold at once (default: 8, or a KV cache of 25% of the weights, whichever needs less).")]
VllmVersion = Annotated[Optional[str], typer.Option("--vllm-version", help="vLLM release the pods run: one with extracted data, docs/vllm-versions.md (default: the newest).")]
AllowUnknownVllm = Annotated[Optional[bool], typer.Option("--allow-unknown-vllm-version", help="Accept a --vllm-version newer than the newest with extracted data, with a warning.")]
VllmEngine = Annotated[Optional[str], typer.Option("--vllm-engine", help="auto, v0 or v1: the engine to size for (v0 runs on 0.8-0.10 with VLLM_USE_V1=0).")]
MaxBatchedTokens = Annotated[Optional[int], typer.Option("--max-num-batched-tokens", help="Scheduler token budget per step.")]
MaxNumSeqs = Annotated[Optional[int], typer.Option("--max-num-seqs", help="Most requests run at once.")]
EnforceEager = Annotated[Optional[bool], typer.Option("--enforce-eager/--no-enforce-eager", help="No CUDA graphs.")]
# workload and objectives (serving.py)
InputLen = Annotated[Optional[int], typer.Option("--input-len", help="Prompt tokens per request (default 1024).")]
OutputLen = Annotated[Optional[int], typer.Option("--output-len", help="Generated tokens per request (default 256).")]
Concurrency = Annotated[Optional[int], typer.Option("--concurrency", help="Requests in flight to report latency at.")]
Rps = Annotated[Optional[float], typer.Option("--rps", help="Peak requests/s: replicas needed, with 20% headroom.")]
SloTtft = Annotated[Optional[str], typer.Option("--slo-ttft-p99", help="TTFT p99 objective, e.g. 500ms or 2s.")]
SloItl = Annotated[Optional[str], typer.Option("--slo-itl-p99", help="Inter-token latency p99 objective, e.g. 50ms.")]


def given(**values: Any) -> dict[str, Any]:
    """The options the user actually typed (None, or an empty repeatable option, means not given)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != ()}


def spec_values(spec_cls: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The given parameters of a command that are fields of ``spec_cls``: a command names its
    parameters like the spec's fields, so no option can be forgotten on the way to the spec."""
    return given(**{k: v for k, v in params.items() if k in spec_cls.model_fields})


def build_spec(spec_cls: Any, values: dict[str, Any]) -> Any:
    """Validate into ``spec_cls`` (one-line InputError), and warn on stderr about an unknown vLLM release."""
    import sys

    from ..spec import build

    spec = build(spec_cls, values)
    warning = spec.version_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return spec
