"""Engine arguments: the `vllm serve` command line every target runs, from the sizing.

One place turns the sizing into flags for the chosen vLLM version (flags.build_args) and checks
the user's --extra-arg against them. A multi-node target adds its own launch flags on top
(e.g. --nnodes / --node-rank for a LeaderWorkerSet leader and workers).
"""
from __future__ import annotations

from .. import extraargs, flags, serveargs
from ..catalog import ModelEntry
from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from ..versions import VllmVersion

HTTP_PORT = 8000
COMMAND = ("vllm", "serve")


def engine_flags(spec: RenderSpec, model: ModelEntry, sizing: SizingPlan, v: VllmVersion, served: str) -> dict[str, object]:
    """Flag -> value (None or False leaves the flag out); flags.build_args spells them for ``v``."""
    return {
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


def serve_args(spec: RenderSpec, model: ModelEntry, sizing: SizingPlan, v: VllmVersion, served: str,
               model_dir: str) -> list[str]:
    """The arguments after `vllm serve`: the model folder, the sizing's flags, then --extra-arg verbatim."""
    rendered = engine_flags(spec, model, sizing, v, served)
    extraargs.check(rendered, spec.extra_args)
    check_extra_args(spec.extra_args, v)
    try:
        args = [model_dir] + flags.build_args(v, rendered) + list(spec.extra_args)
    except ValueError as e:  # e.g. --no-enable-chunked-prefill (--chunked-prefill off) before 0.8.5
        raise InputError("--vllm-version", f"{e}, which these settings need",
                         "use a newer --vllm-version, or keep the default of the setting that needs it") from None
    problems = serveargs.check(args, v)  # the whole line, as the release's own parser reads it
    if problems:
        raise InputError("--extra-arg", f"vLLM {v}'s vllm serve would reject this command line: {problems[0]}",
                         "fix the --extra-arg values or change --vllm-version")
    return args


def check_extra_args(extra_args: tuple[str, ...], v: VllmVersion) -> None:
    for extra in extra_args:
        if flags.accepts(extra, v) is False:
            raise InputError("--extra-arg", f"vLLM {v} rejects {extra.split('=')[0]}", "drop it or change --vllm-version")
        if extra.split("=")[0] == "--disable-log-stats":
            raise InputError("--extra-arg", "--disable-log-stats also turns off the Prometheus metrics autoscaling needs", "drop it")
