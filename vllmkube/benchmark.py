"""`size --num-prompts N --request-rate R|inf`: what `vllm bench serve` would report against this
deployment, replayed step by step through the performance model (scheduler.replay). Pure.

The server runs its real settings: the user's --max-num-seqs / --max-num-batched-tokens, else
vLLM's defaults for the version and GPU (the sizing plan's). TTFT counts from the moment the
client sends a request, so it includes queueing, as `vllm bench serve` measures it.
"""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from . import performance, scheduler
from .errors import InputError

FIELD = "--request-rate"


class BenchmarkReplay(BaseModel):
    """The figures of `vllm bench serve` for one run (JSON key `benchmark` of `size`)."""

    model_config = ConfigDict(frozen=True)

    num_prompts: int
    request_rate: float | None  # requests/s; None = all at once (inf)
    max_concurrency: int | None
    input_len: int
    output_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    duration_s: float
    requests_per_s: float
    output_tokens_per_s: float
    median_ttft_ms: float  # including queueing
    median_itl_ms: float
    mean_itl_ms: float
    peak_running: int
    preemptions: int
    notes: list[str]


def parse_rate(text: str | None) -> float | None:
    """'inf' (or nothing) -> None; a positive number of requests per second otherwise."""
    if text is None or text.strip().lower() in ("inf", "infinity"):
        return None
    try:
        rate = float(text)
    except ValueError:
        raise InputError(FIELD, f"{text!r} is not a rate", "requests per second, e.g. 4, or inf") from None
    if not math.isfinite(rate) or rate <= 0:
        raise InputError(FIELD, f"{text} is not a positive rate", "requests per second, e.g. 4, or inf")
    return rate


def replay(model, gpu, sizing, num_prompts: int, rate: float | None, input_len: int, output_len: int,
           max_concurrency: int | None = None) -> BenchmarkReplay:
    if input_len + output_len > sizing.max_model_len:
        raise InputError("--input-len", f"input + output = {input_len + output_len} tokens exceeds max_model_len "
                         f"{sizing.max_model_len}", f"pass --max-model-len {input_len + output_len} or shorter lengths")
    engine = performance.engine_for(model, gpu, sizing)
    r = scheduler.replay(engine, input_len, output_len, num_prompts, max_concurrency, request_rate=rate)
    notes = list(performance.hardware(gpu, sizing.quantization).notes)
    notes.append(f"API server modelled at {performance.FRONTEND_S_PER_REQUEST * 1e3:g} ms per request "
                 "(the cheapest measured; slow tokenizers and chat templates cost up to ~30 ms)")
    return BenchmarkReplay(
        num_prompts=num_prompts, request_rate=rate, max_concurrency=max_concurrency, input_len=input_len,
        output_len=output_len, max_num_seqs=sizing.max_num_seqs, max_num_batched_tokens=sizing.max_num_batched_tokens,
        duration_s=round(r.duration_s, 2), requests_per_s=round(r.requests_per_s, 3),
        output_tokens_per_s=round(r.output_tokens_per_s, 1), median_ttft_ms=round(r.median_ttft_ms, 1),
        median_itl_ms=round(r.median_itl_ms, 2), mean_itl_ms=round(r.mean_itl_ms, 2), peak_running=r.peak_running,
        preemptions=r.preemptions, notes=notes)
