"""vLLM V1's scheduler replayed one engine step at a time: what `vllm bench serve` would report for
a run against an engine of the performance model (performance.Engine). Used by `size --num-prompts`
(benchmark.py) and the calibration against measured runs; render never loads it.
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

from .performance import BLOCK_SIZE, FRONTEND_LATENCY_S, FRONTEND_S_PER_REQUEST, Engine


@dataclass
class Replay:
    """What `vllm bench serve` would report for a run, replayed step by step."""

    duration_s: float
    output_tokens_per_s: float
    requests_per_s: float
    median_itl_ms: float
    median_ttft_ms: float
    mean_itl_ms: float
    steps: int
    preemptions: int = 0
    peak_running: int = 0


@dataclass(order=True)
class _Req:
    finish_step: int
    rid: int
    arrival_s: float = field(compare=False)
    prompt: int = field(compare=False)  # tokens to (re)compute before the next new token
    output: int = field(compare=False)  # tokens still to generate
    resumed: bool = field(compare=False, default=False)  # preempted after its first token
    done_prompt: int = field(compare=False, default=0)
    first_step: int = field(compare=False, default=-1)  # step that produced its first (next) token
    alive: bool = field(compare=False, default=True)
    engine_at: float = field(compare=False, default=0.0)  # when the front-end hands it to the engine


def replay(e: Engine, input_len: int, output_len: int, num_prompts: int, max_concurrency: int | None = None,
           frontend_s: float | None = None, lengths: list[tuple[int, int]] | None = None,
           request_rate: float | None = None, seed: int = 0) -> Replay:
    """Replay a fixed-length benchmark through vLLM V1's scheduler, one engine step at a time.

    All prompts are sent at t=0 (``--request-rate inf``), or at ``request_rate`` per second with
    exponential gaps (vllm bench serve's Poisson arrivals, burstiness 1; a fixed ``seed``); with
    ``max_concurrency`` the client keeps at most that many in flight. TTFT counts from the
    request's send time, so it includes queueing, as vllm bench serve measures it. The front-end hands requests to the engine one at a time
    (``FRONTEND_S_PER_REQUEST`` each). Decoding requests run first, then prompt chunks fill
    the token budget; a request is admitted only when its chunk's KV fits; when running
    requests outgrow the cache the newest is preempted and recomputed later (vLLM V1).
    KV is counted in tokens plus half a block of waste per request. ``lengths`` gives each
    request's (input, output) instead of the fixed lengths.
    """
    if lengths is None:
        lengths = [(input_len, output_len)] * num_prompts
    num_prompts = len(lengths)
    fe = FRONTEND_S_PER_REQUEST if frontend_s is None else frontend_s
    tail = max(0.0, FRONTEND_LATENCY_S - fe)  # the way back: detokenize and stream the first token
    budget, max_seqs = e.max_num_batched_tokens, e.max_num_seqs
    capacity = max(e.kv_tokens, max(i + o for i, o in lengths) + BLOCK_SIZE)  # a run that started fits one request
    limit = min(max_concurrency or num_prompts, num_prompts)
    fe_free = 0.0
    arrivals: deque[_Req] = deque()  # in the front-end, by time they reach the engine

    def send(t: float, rid: int) -> None:
        nonlocal fe_free
        fe_free = max(fe_free, t) + fe
        arrivals.append(_Req(0, rid, t, lengths[rid][0], lengths[rid][1], engine_at=fe_free))

    if request_rate is not None and math.isfinite(request_rate) and request_rate > 0:
        import random

        rng = random.Random(seed)
        t, due = 0.0, []
        for _ in range(num_prompts):
            due.append(t)
            t += rng.expovariate(request_rate)
    else:
        due = [0.0] * num_prompts
    pending: deque[int] = deque(range(num_prompts))  # not sent yet, in order
    inflight = 0

    def release(now_s: float) -> None:
        """Send every prompt that is due and has a free client slot."""
        nonlocal inflight
        while pending and due[pending[0]] <= now_s and inflight < limit:
            rid = pending.popleft()
            inflight += 1
            send(due[rid], rid)

    release(0.0)
    waiting: deque[_Req] = deque()
    now, step = 0.0, 0
    running: list[_Req] = []  # admission order: the last is preempted first
    prefilling: list[_Req] = []
    heap: list[_Req] = []  # decoding requests by finish step
    n_dec, dec_ctx, kv_used = 0, 0, 0.0
    itl_hist: dict[float, int] = {}
    ttfts: list[float] = []
    outputs = preemptions = peak = 0
    waste = BLOCK_SIZE / 2

    def ctx_of(r: _Req) -> int:
        return r.prompt + 1 + (step - r.first_step) if r.first_step >= 0 else r.done_prompt

    def finished(r: _Req) -> None:
        nonlocal inflight
        r.alive = False
        running.remove(r)
        inflight -= 1
        if pending and due[pending[0]] <= now and inflight < limit:
            rid = pending.popleft()  # a closed-loop client sends its next prompt right away
            inflight += 1
            send(now, rid)

    while arrivals or waiting or running or pending:
        release(now)
        if not arrivals and not waiting and not running:
            now = due[pending[0]]  # idle: wait for the next prompt to be sent
            continue
        if not waiting and not running and arrivals[0].engine_at > now:
            now = arrivals[0].engine_at  # idle engine: wait for the front-end
        while arrivals and arrivals[0].engine_at <= now:
            waiting.append(arrivals.popleft())
        while kv_used + n_dec > capacity and len(running) > 1:  # decodes grow by one token each
            victim = running.pop()
            victim.alive = False
            preemptions += 1
            ctx = ctx_of(victim)
            kv_used -= ctx + waste
            if victim.first_step >= 0:
                n_dec -= 1
                dec_ctx -= ctx
                made = 1 + step - victim.first_step
                again = _Req(0, victim.rid, victim.arrival_s, victim.prompt + made, victim.output - made, True)
            else:
                prefilling.remove(victim)
                again = _Req(0, victim.rid, victim.arrival_s, victim.prompt, victim.output, victim.resumed)
            waiting.appendleft(again)
        left = budget - n_dec
        chunks: list[tuple[_Req, int]] = []
        for r in prefilling:  # chunked prefills in progress go first
            if left <= 0:
                break
            c = min(r.prompt - r.done_prompt, left)
            chunks.append((r, c))
            left -= c
        grow = kv_used + n_dec + sum(c for _, c in chunks)
        while waiting and left > 0 and len(running) < max_seqs:
            r = waiting[0]
            c = min(r.prompt, left)
            # admit only when the whole prompt fits: vLLM admits on the first chunk, but a prompt
            # that cannot finish is preempted again and its cached chunks make the retry free
            if grow + r.prompt + waste > capacity and running:
                break
            waiting.popleft()
            running.append(r)
            prefilling.append(r)
            chunks.append((r, c))
            kv_used += waste
            grow += r.prompt + waste
            left -= c
        if not chunks and not n_dec:
            continue
        peak = max(peak, len(running))
        done = [r for r, c in chunks if r.done_prompt + c >= r.prompt]
        dt = e.step_s(n_dec, dec_ctx, prefill=sum(c for _, c in chunks),
                      prefill_ctx=sum(r.done_prompt + c for r, c in chunks),
                      prefill_attn=sum(c * (r.done_prompt + c / 2) for r, c in chunks),
                      sampled=n_dec + len(done), seqs=n_dec + len(chunks))
        now += dt
        step += 1
        if n_dec:
            key = round(dt * 1e3, 3)
            itl_hist[key] = itl_hist.get(key, 0) + n_dec
            outputs += n_dec
        dec_ctx += n_dec
        kv_used += n_dec
        for r, c in chunks:
            kv_used += c
            r.done_prompt += c
        for r in done:
            prefilling.remove(r)
            if not r.resumed:
                ttfts.append(now - r.arrival_s + tail)
            outputs += 1
            r.first_step = step
            r.finish_step = step + r.output - 1
            if r.output > 1:
                heapq.heappush(heap, r)
                n_dec += 1
                dec_ctx += r.prompt + 1
                kv_used += 1
            else:
                kv_used -= r.prompt + waste
                finished(r)
        while heap and (heap[0].finish_step <= step or not heap[0].alive):
            r = heapq.heappop(heap)
            if not r.alive:
                continue
            ctx = ctx_of(r)
            n_dec -= 1
            dec_ctx -= ctx
            kv_used -= ctx + waste
            finished(r)
    return Replay(now, outputs / now if now else 0.0, num_prompts / now if now else 0.0, _median(itl_hist),
                  _median_list(ttfts) * 1e3, _mean(itl_hist), step, preemptions, peak)


def _median(hist: dict[float, int]) -> float:
    total = sum(hist.values())
    if not total:
        return 0.0
    seen = 0
    for k in sorted(hist):
        seen += hist[k]
        if seen * 2 >= total:
            return k
    return 0.0


def _mean(hist: dict[float, int]) -> float:
    total = sum(hist.values())
    return sum(k * n for k, n in hist.items()) / total if total else 0.0


def _median_list(xs: list[float]) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[len(s) // 2]
