"""vLLM engine flags by version: which flags a release accepts, and the argument list.

Sources (shared reference kubernetes-vllm-facts.md section 3.2, vLLM 0.33.0 wheel
engine/arg_utils.py): --disable-log-requests deprecated in 0.10 (PR #21739) and
removed for 0.12 (PR #29402); --shutdown-timeout added by PR #34730/#36666 for
0.18.0; --enable-prefix-caching and --enable-chunked-prefill default on in the V1
engine (0.8+), spelled out only to turn them off; --disable-log-stats turns off the
Prometheus metrics, so it is never emitted.
"""
from __future__ import annotations

from dataclasses import dataclass

from .versions import VllmVersion

_INF = "999.0.0"


@dataclass(frozen=True)
class Flag:
    name: str
    since: str = "0.1.0"
    until: str = _INF  # first release that rejects it
    note: str = ""


FLAGS: tuple[Flag, ...] = (
    Flag("--served-model-name"), Flag("--host"), Flag("--port"), Flag("--tensor-parallel-size"),
    Flag("--pipeline-parallel-size"), Flag("--data-parallel-size", "0.8.0"), Flag("--enable-expert-parallel", "0.8.0"),
    Flag("--max-model-len"), Flag("--gpu-memory-utilization"), Flag("--quantization"), Flag("--kv-cache-dtype"),
    Flag("--dtype"), Flag("--max-num-seqs"), Flag("--max-num-batched-tokens"), Flag("--enforce-eager"),
    Flag("--enable-prefix-caching"), Flag("--no-enable-prefix-caching", "0.8.0"),
    Flag("--enable-chunked-prefill"), Flag("--no-enable-chunked-prefill", "0.8.0"),
    Flag("--disable-log-requests", until="0.12.0", note="removed in 0.12; requests are not logged by default since 0.10"),
    Flag("--enable-log-requests", "0.10.0"),
    Flag("--shutdown-timeout", "0.18.0", note="drains in-flight requests on SIGTERM"),
    Flag("--disable-log-stats", note="also disables the Prometheus metrics: breaks autoscaling and alerts"),
    # mp multi-node without Ray: vllm PR #23691 (merged 2025-08-26), so 0.10.2 at the earliest.
    Flag("--distributed-executor-backend"), Flag("--nnodes", "0.10.2"), Flag("--node-rank", "0.10.2"),
    Flag("--master-addr", "0.10.2"), Flag("--master-port", "0.10.2"), Flag("--headless"),
    Flag("--trust-remote-code"), Flag("--generation-config"), Flag("--api-key"),
    # vllm PR #21489 (July 2025) added it as --kv-cache-memory; 0.33.0 spells it --kv-cache-memory-bytes.
    Flag("--kv-cache-memory-bytes", "0.10.1"), Flag("--show-hidden-metrics-for-version", "0.8.0"),
)
# Lower bounds we could not pin exactly are the earliest plausible release, so that lint never
# calls a flag rejected by a version that accepts it (a miss is better than a false alarm).
_BY_NAME = {f.name: f for f in FLAGS}


def accepts(flag: str, v: VllmVersion) -> bool | None:
    """True/False when we know the flag; None for flags we do not track."""
    f = _BY_NAME.get(flag.split("=", 1)[0])
    if f is None:
        return None
    return v.at_least(f.since) and not v.at_least(f.until)


def describe(flag: str) -> Flag | None:
    return _BY_NAME.get(flag.split("=", 1)[0])


def build_args(v: VllmVersion, values: dict[str, object]) -> list[str]:
    """``--flag value`` pairs for every non-empty value the version accepts; True -> bare flag.

    Refusing (rather than silently dropping) a flag the version rejects is the caller's job:
    a plan that needs one is a bug, so we raise.
    """
    args: list[str] = []
    for flag, value in values.items():
        if value is None or value is False:
            continue
        if accepts(flag, v) is False:
            raise ValueError(f"vLLM {v} does not accept {flag}")
        if value is True:
            args.append(flag)
        else:
            args += [flag, str(value)]
    return args
