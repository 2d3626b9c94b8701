"""ServingPlan: from a SizingPlan, a workload and latency SLOs to batch limits, replicas and thresholds.

Pure; the numbers come from the performance model (performance.py, docs/performance-model.md).

    plan(model, gpu, sizing, workload) -> ServingPlan

* max_num_seqs / max_num_batched_tokens: the batch and the per-step token budget that give
  the most requests/s per replica while the inter-token latency p99 (a decode step, or a step
  that also carries a prompt chunk) and the TTFT p99 without queueing stay within the SLOs.
* queue_threshold: waiting requests per replica a newcomer can sit behind and still get its
  first token within the TTFT SLO (waiting time = queue / requests per second of a replica).
  KEDA adds a replica above it.
* replicas: for ``rps`` with ``headroom`` spare capacity, and enough that the p99 queueing
  delay (Erlang C over all batch slots) fits in the TTFT SLO.
* slo_met / unmet: when no batch size meets an SLO on this layout, and why; nearest_option (the
  nearest layout that would: more tensor parallelism, FP8, another GPU) is compare.plan_with_nearest's.
"""
import math

from pydantic import BaseModel, ConfigDict, Field

from . import performance
from .catalog import GpuEntry, ModelEntry
from .errors import InputError
from .sizing import SizingPlan

DEFAULT_INPUT_LEN = 1024
DEFAULT_OUTPUT_LEN = 256
DEFAULT_HEADROOM = 0.20  # spare capacity at the given --rps (bursts, autoscaler lag)
# When no TTFT SLO is given, thresholds use render's default objectives (RenderSpec).
DEFAULT_SLO_TTFT_S = 2.0
DEFAULT_SLO_ITL_S = 0.1
BUDGETS = (16384, 8192, 4096, 2048, 1024, 512, 256, 128, 64)  # max_num_batched_tokens candidates
TTFT_QUANTILE = 0.99
NEAR_BEST = 0.98  # budgets within 2% of the best throughput compete on TTFT
MAX_REPLICAS = 10000


class Workload(BaseModel):
    """Traffic and objectives. Durations in seconds; None = no objective."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_len: int = Field(default=DEFAULT_INPUT_LEN, gt=0)
    output_len: int = Field(default=DEFAULT_OUTPUT_LEN, gt=0)
    concurrency: int | None = Field(default=None, gt=0)
    rps: float | None = Field(default=None, gt=0)
    slo_ttft_p99: float | None = Field(default=None, gt=0)
    slo_itl_p99: float | None = Field(default=None, gt=0)
    headroom: float = Field(default=DEFAULT_HEADROOM, ge=0, lt=1)


class ServingPlan(BaseModel):
    """Per-replica performance and the serving settings. The JSON key `performance` of `size`.

    Latencies in ms, rates per replica unless named otherwise:
      input_len, output_len, rps, slo_ttft_p99_ms, slo_itl_p99_ms: the workload as planned
      concurrency: requests in flight the figures below describe (--concurrency, else max_num_seqs)
      ttft_ms / ttft_p99_ms: time to first token, median / p99, without queueing
      itl_ms / itl_p99_ms: inter-token latency, median / p99 (a chunk step when prompts are mixed in)
      output_tokens_per_s, requests_per_s: one replica at that concurrency
      max_num_seqs, max_num_batched_tokens: vLLM flags that keep ITL and TTFT within the SLOs
      capacity_rps: requests/s one replica sustains at max_num_seqs
      limited_by: what caps max_num_seqs (itl-slo, ttft-slo, token-budget, kv-cache, scheduler,
        frontend, slo-unreachable, user-settings: --max-num-seqs / --max-num-batched-tokens given)
      queue_threshold: waiting requests per replica before TTFT p99 breaks (KEDA threshold)
      target_rps_per_replica: (1 - headroom) x capacity_rps, the KEDA threshold (AverageValue) on
        the summed 1-minute rate of finished requests (metrics signal "request_success"): it holds
        replicas while the queue is empty (queue-only scaling drops them and oscillates)
      replicas, gpus_total: for --rps with `headroom` (None without --rps)
      slo_met, unmet, nearest_option: whether this layout can meet the SLOs, why not, and what would
      notes: assumptions worth reading (default SLOs used, uncalibrated GPU family, ...)
    """

    model_config = ConfigDict(frozen=True)

    input_len: int
    output_len: int
    rps: float | None
    slo_ttft_p99_ms: float | None
    slo_itl_p99_ms: float | None
    concurrency: int
    ttft_ms: float
    ttft_p99_ms: float
    itl_ms: float
    itl_p99_ms: float
    output_tokens_per_s: float
    requests_per_s: float
    max_num_seqs: int
    max_num_batched_tokens: int
    capacity_rps: float
    limited_by: str
    queue_threshold: float
    target_rps_per_replica: float
    headroom: float
    replicas: int | None
    gpus_per_replica: int
    gpus_total: int | None
    slo_met: bool
    unmet: list[str]
    nearest_option: str | None
    notes: list[str]


def _ok(p: performance.Point, w: Workload) -> bool:
    if w.slo_itl_p99 is not None and p.itl_p99_ms > w.slo_itl_p99 * 1e3:
        return False
    if w.slo_ttft_p99 is not None and p.ttft_p99_ms > w.slo_ttft_p99 * 1e3:
        return False
    return True


def _largest_ok(e: performance.Engine, hi: int, w: Workload) -> tuple[int, performance.Point] | None:
    """Largest batch in [1, hi] meeting the SLOs (latency grows with the batch)."""
    p1 = performance.steady_state(e, 1, w.input_len, w.output_len)
    if not _ok(p1, w):
        return None
    lo, best = 1, p1
    top = performance.steady_state(e, hi, w.input_len, w.output_len)
    if _ok(top, w):
        return hi, top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = performance.steady_state(e, mid, w.input_len, w.output_len)
        if _ok(p, w):
            lo, best = mid, p
        else:
            hi = mid
    return lo, best


def _engine(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan, seqs: int, budget: int) -> performance.Engine:
    return performance.engine_for(model, gpu, sizing, max_num_seqs=seqs, max_num_batched_tokens=budget)


def _erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits (M/M/c), by the Erlang B recursion."""
    if load >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1 - b))


def replicas_for(rps: float, capacity_rps: float, slots: int, slack_s: float, headroom: float) -> int:
    """Replicas so that utilisation stays under 1 - headroom and the p99 queueing delay fits ``slack_s``."""
    r = max(1, math.ceil(rps / (capacity_rps * (1 - headroom))))
    if slack_s <= 0:
        return r
    per_slot = capacity_rps / slots  # requests/s one batch slot completes
    while r < MAX_REPLICAS:
        servers = r * slots
        load = rps / per_slot
        if load < servers:
            c = _erlang_c(servers, load) if servers <= 20000 else 0.0
            tail = c * math.exp(-(servers * per_slot - rps) * slack_s)
            if tail <= 1 - TTFT_QUANTILE:
                return r
        r += 1
    return r


def _limit(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan, w: Workload, seqs: int, budget: int,
           point: performance.Point, seq_cap: int, kv_cap: int) -> str:
    """What stops max_num_seqs from growing."""
    nxt = performance.steady_state(_engine(model, gpu, sizing, seqs + 1, budget), seqs + 1, w.input_len, w.output_len)
    if w.slo_itl_p99 is not None and (nxt.itl_p99_ms > w.slo_itl_p99 * 1e3 or budget < sizing.max_num_batched_tokens):
        if seqs < seq_cap or budget < sizing.max_num_batched_tokens:
            return "itl-slo"
    if w.slo_ttft_p99 is not None and seqs < seq_cap and nxt.ttft_p99_ms > w.slo_ttft_p99 * 1e3:
        return "ttft-slo"
    if point.concurrency < seqs:
        return "token-budget"
    return "kv-cache" if kv_cap < sizing.max_num_seqs else "scheduler"


def plan(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan, workload: Workload | None = None,
         server: tuple[int | None, int | None] = (None, None)) -> ServingPlan:
    """The serving settings for ``workload`` on the layout ``sizing`` chose. Raises InputError
    when a request cannot fit the context.

    ``server`` is the (max_num_batched_tokens, max_num_seqs) the user fixed: the figures are then
    what the server does at those settings ("what will this deployment do"), not at the planner's."""
    w = workload or Workload()
    need = w.input_len + w.output_len
    if need > sizing.max_model_len:
        raise InputError("--input-len", f"input + output = {need} tokens exceeds max_model_len {sizing.max_model_len}",
                         f"pass --max-model-len {need} or shorter lengths")
    notes: list[str] = []
    hw = performance.hardware(gpu, sizing.quantization)
    notes += list(hw.notes)
    kv_cap = max(1, int(sizing.kv_cache_tokens // need))
    seq_cap = min(sizing.max_num_seqs, kv_cap)
    # the best (batch, token budget) pair: most requests/s while meeting the SLOs; among pairs
    # within NEAR_BEST of it, the lowest TTFT (fewer, larger prompt chunks)
    found_all: list[tuple[int, int, performance.Point]] = []
    for budget in sorted({sizing.max_num_batched_tokens, *BUDGETS}, reverse=True):
        hi = min(seq_cap, budget)
        found = _largest_ok(_engine(model, gpu, sizing, hi, budget), hi, w)
        if found is not None:
            found_all.append((found[0], budget, found[1]))
    best: tuple[int, int, performance.Point] | None = None
    if found_all:
        top = max(p.requests_per_s for _, _, p in found_all)
        near = [f for f in found_all if f[2].requests_per_s >= NEAR_BEST * top]
        best = min(near, key=lambda f: (round(f[2].ttft_p99_ms, 3), -f[1]))
    unmet: list[str] = []
    if best is None:
        # the floors of one request, each at the token budget that gives it (the budget then chosen):
        # small chunks for the ITL, whole prompts for the TTFT
        budgets = sorted({sizing.max_num_batched_tokens, *BUDGETS}, reverse=True)
        floors = {b: performance.steady_state(_engine(model, gpu, sizing, 1, b), 1, w.input_len, w.output_len) for b in budgets}
        itl_budget = min(budgets, key=lambda b: (round(floors[b].itl_p99_ms, 3), b))
        ttft_budget = min(budgets, key=lambda b: (round(floors[b].ttft_p99_ms, 3), -b))
        itl_unmet = w.slo_itl_p99 is not None and floors[itl_budget].itl_p99_ms > w.slo_itl_p99 * 1e3
        ttft_unmet = w.slo_ttft_p99 is not None and floors[ttft_budget].ttft_p99_ms > w.slo_ttft_p99 * 1e3
        budget = ttft_budget if ttft_unmet else itl_budget if itl_unmet else sizing.max_num_batched_tokens
        if itl_unmet:
            unmet.append(f"ITL p99 is at least {floors[itl_budget].itl_p99_ms:.1f} ms on {gpu.key} "
                         f"(TP {sizing.tensor_parallel_size}, one request), above the {w.slo_itl_p99 * 1e3:g} ms SLO")
        if ttft_unmet:
            unmet.append(f"TTFT p99 is at least {floors[budget].ttft_p99_ms:.0f} ms for a {w.input_len}-token prompt "
                         f"on {gpu.key} (--max-num-batched-tokens {budget}), above the {w.slo_ttft_p99 * 1e3:g} ms SLO")
        if not unmet:  # each SLO alone is reachable, not both together
            unmet.append("the ITL and TTFT objectives pull the token budget in opposite directions: no budget meets both")
        seqs = seq_cap
        point = performance.steady_state(_engine(model, gpu, sizing, seqs, budget), seqs, w.input_len, w.output_len)
        limited_by = "slo-unreachable"
    else:
        seqs, budget, point = best
        limited_by = _limit(model, gpu, sizing, w, seqs, budget, point, seq_cap, kv_cap)
    # a token budget that cannot feed more decoding requests than this makes a larger cap moot
    seqs = max(1, min(seqs, math.floor(point.concurrency + 1e-9)))
    budget = max(budget, seqs)  # vLLM requires max_num_batched_tokens >= max_num_seqs
    fixed_budget, fixed_seqs = server
    if fixed_budget is not None or fixed_seqs is not None:  # the server runs the user's settings, not ours
        budget = fixed_budget if fixed_budget is not None else budget
        seqs = min(fixed_seqs, seq_cap) if fixed_seqs is not None else min(seqs, budget)
        limited_by = "user-settings"
    engine = _engine(model, gpu, sizing, seqs, budget)
    point = performance.steady_state(engine, seqs, w.input_len, w.output_len)
    if limited_by == "user-settings":
        unmet = []
        if w.slo_itl_p99 is not None and point.itl_p99_ms > w.slo_itl_p99 * 1e3:
            unmet.append(f"at --max-num-seqs {seqs} --max-num-batched-tokens {budget} the ITL p99 is "
                         f"{point.itl_p99_ms:.1f} ms, above the {w.slo_itl_p99 * 1e3:g} ms SLO")
        if w.slo_ttft_p99 is not None and point.ttft_p99_ms > w.slo_ttft_p99 * 1e3:
            unmet.append(f"at --max-num-seqs {seqs} --max-num-batched-tokens {budget} the TTFT p99 is "
                         f"{point.ttft_p99_ms:.0f} ms, above the {w.slo_ttft_p99 * 1e3:g} ms SLO")
    capacity = point.requests_per_s
    if capacity >= 1 / performance.FRONTEND_S_PER_REQUEST * 0.999:
        limited_by = "frontend"
        notes.append(f"one API-server process handles about {1 / performance.FRONTEND_S_PER_REQUEST:.0f} requests/s; "
                     "vLLM's --api-server-count raises it")
    shown = point
    if w.concurrency is not None:
        shown = performance.steady_state(engine, w.concurrency, w.input_len, w.output_len)
        if w.concurrency > seqs:
            notes.append(f"concurrency {w.concurrency} exceeds max_num_seqs {seqs}: the rest wait in the queue")
    # queue threshold: a newcomer behind q waiting requests waits about q / capacity seconds
    slo_ttft = w.slo_ttft_p99 if w.slo_ttft_p99 is not None else DEFAULT_SLO_TTFT_S
    if w.slo_ttft_p99 is None:
        notes.append(f"queue threshold planned against the default TTFT objective of {DEFAULT_SLO_TTFT_S:g}s")
    slack = slo_ttft - point.ttft_p99_ms / 1e3
    queue = math.floor(max(0.0, slack) * capacity)
    if queue < 1:
        notes.append("the TTFT SLO leaves no room for queueing: keep spare replicas (--min-replicas), "
                     "the queue trigger fires at the first waiting request")
    replicas = gpus_total = None
    if w.rps is not None:
        replicas = replicas_for(w.rps, capacity, seqs, slack, w.headroom)
        gpus_total = replicas * sizing.gpus_per_replica
    return ServingPlan(
        input_len=w.input_len, output_len=w.output_len, rps=w.rps,
        slo_ttft_p99_ms=None if w.slo_ttft_p99 is None else round(w.slo_ttft_p99 * 1e3, 3),
        slo_itl_p99_ms=None if w.slo_itl_p99 is None else round(w.slo_itl_p99 * 1e3, 3),
        concurrency=round(shown.concurrency), ttft_ms=round(shown.ttft_ms, 1), ttft_p99_ms=round(shown.ttft_p99_ms, 1),
        itl_ms=round(shown.itl_ms, 2), itl_p99_ms=round(shown.itl_p99_ms, 2),
        output_tokens_per_s=round(shown.output_tokens_per_s, 1), requests_per_s=round(shown.requests_per_s, 3),
        max_num_seqs=seqs, max_num_batched_tokens=budget, capacity_rps=round(capacity, 3), limited_by=limited_by,
        queue_threshold=max(1, queue), target_rps_per_replica=round(capacity * (1 - w.headroom), 3),
        headroom=w.headroom, replicas=replicas, gpus_per_replica=sizing.gpus_per_replica, gpus_total=gpus_total, slo_met=not unmet, unmet=unmet, nearest_option=None, notes=notes,
    )
