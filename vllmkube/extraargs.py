"""``--extra-arg`` against the plan: an extra ``vllm serve`` argument may add a flag, never change one
the plan decides (TP, PP, context length, port, served name, quantization, ...). Two values for one
flag would make the manifests disagree with themselves: vLLM takes the last one, while the GPU limit,
/dev/shm, probes, alerts and lint follow the plan's.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from .errors import InputError

# vLLM's short spellings (vllm engine/arg_utils.py: -tp, -pp, -dp, -q).
_SHORT = {"-tp": "--tensor-parallel-size", "-pp": "--pipeline-parallel-size", "-dp": "--data-parallel-size",
          "-q": "--quantization"}
# Flags that override one the plan sets although they are spelled differently.
_OVERRIDES = {
    "--kv-cache-memory-bytes": "--gpu-memory-utilization",  # replaces the utilization fraction in KV sizing
    "--data-parallel-size": "--tensor-parallel-size",  # more GPUs per pod than the GPU limit (TP x PP)
    "--model": "--model",  # the plan passes the model folder as the positional argument
}
# The vllmkube option that sets a flag, where it is not spelled like the flag.
_OPTIONS = {
    "--enable-prefix-caching": "--prefix-caching/--no-prefix-caching",
    "--enable-chunked-prefill": "--chunked-prefill/--no-chunked-prefill",
    "--shutdown-timeout": "--drain-seconds",
    "--model": "--model or --model-repo",
}
_FIXED = {"--host": "pods listen on all interfaces", "--port": "the Service, probes and monitors use port 8000"}


def flag_name(arg: str) -> str:
    """``--tensor_parallel_size=2`` -> ``--tensor-parallel-size``; ``-tp`` -> its long name; ``--no-X`` -> ``--X``."""
    name = arg.split("=", 1)[0]
    if name.startswith("--"):
        name = "--" + name[2:].replace("_", "-")  # vLLM's parser accepts underscores
    name = _SHORT.get(name, name)
    return "--" + name[5:] if name.startswith("--no-") else name


def check(engine: Mapping[str, object], extra_args: Iterable[str]) -> None:
    """Raise InputError for the first extra argument that sets a flag in ``engine`` (the flags the plan
    renders, each with its value, or None where the plan leaves vLLM's default on purpose)."""
    owned = {flag_name(f): v for f, v in engine.items()}
    owned["--model"] = None
    for arg in extra_args:
        if not arg.startswith("-"):
            continue  # a value, or a bare word vLLM will judge
        name = flag_name(arg)
        target = _OVERRIDES.get(name, name)
        if target not in owned:
            continue
        value = owned[target]
        shown = "" if value is None or isinstance(value, bool) else f" {value}"
        if target in _FIXED:
            fix = f"drop it: {_FIXED[target]}"
        else:
            fix = f"use vllmkube's {_OPTIONS.get(target, target)} instead, so the GPU limit, probes and alerts follow it"
        what = f"the plan sets {target}{shown}" if name == target else f"it overrides {target}{shown}, which the plan sets"
        raise InputError("--extra-arg", f"{arg.split('=', 1)[0]} contradicts the rendered flags: {what}", fix)
