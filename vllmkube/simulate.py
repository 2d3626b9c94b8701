"""Autoscaling simulator: replay a traffic shape through the HPA/KEDA algorithm. Pure, deterministic.

One-second fluid model of a vLLM service: requests arrive, wait in the queue, run in a
replica's batch (at most max_num_seqs), and finish at the rate the performance model gives
for that batch size. Every sync period the HPA reads the metrics Prometheus scraped one
period earlier and computes a desired replica count per trigger (kubernetes-vllm-facts.md
section 1.5: AverageValue -> ceil(M / T), Value -> ceil(ready x M / T), tolerance 0.1),
takes the largest, applies the stabilization windows and the scale-up/down policies, and new
pods become ready after the cold start (the startup-probe budget render writes,
plan.pod.probe_budget_s). Policies compared:

* vllmkube: queue depth over the SLO-derived threshold, the finished-request rate (1-minute
  rate) over (1 - headroom) x a replica's capacity, and KV-cache usage over 0.8;
* queue-10: queue depth only, threshold 10 per replica (the blog recipe, section 1.6(c));
* cpu: a CPU-based HPA, which never sees a GPU server busy and never scales.

A second is "in violation" when the TTFT p99 estimate (no-queue p99 + queue / service rate)
or the ITL p99 of the batch exceeds the SLO.

Scale to zero (``--scale-to-zero``, issue 12): KEDA, not the HPA, moves 0 <-> 1. At zero the KEDA
HTTP add-on's interceptor holds arriving requests; its scaler pushes "active" within a second
(``KEDA_HTTP_SCALER_STREAM_INTERVAL_MS`` 200), KEDA sets one replica, which serves after the cold
start: that wait is what the first request sees. Once nothing waits or runs for the cooldown
(plan.scaling.zero_cooldown_s, as rendered) KEDA drops the last replica. A CPU HPA cannot scale to
zero and stays at one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import performance
from .plan.scaling import POLLING_S, SCALE_DOWN_POLICY, SCALE_UP_POLICIES, zero_cooldown_s
from .plan.storage import CLOUDS as _STORAGE
from .errors import InputError
from .serving import DEFAULT_SLO_ITL_S, DEFAULT_SLO_TTFT_S, ServingPlan

DEFAULT_STORAGE = _STORAGE["generic"]  # what render assumes without --cloud or --load-rate-gib-s

KV_THRESHOLD = 0.8
BLOG_QUEUE_THRESHOLD = 10
TOLERANCE = 0.1
SCRAPE_S = 15
RATE_WINDOW_S = 60  # rate(...[1m])
PUSH_DETECT_S = 1  # the add-on's scaler streams IsActive every 200 ms; KEDA acts on it at once
IDLE_EPS = 0.01  # requests: the fluid model drains a batch geometrically, never to exactly 0


@dataclass(frozen=True)
class ZeroScaling:
    """KEDA's 0 <-> 1 for a ScaledObject with minReplicaCount 0 (what render writes with --scale-to-zero)."""

    cooldown_s: int  # cooldownPeriod: idle seconds before the last replica goes
    detect_s: int = PUSH_DETECT_S  # from the first held request to KEDA asking for a replica


@dataclass(frozen=True)
class Behavior:
    """The HPA behaviour render writes (plan.scaling.POLLING_S, SCALE_UP_POLICIES, SCALE_DOWN_POLICY)."""

    sync_s: int = POLLING_S
    up_window_s: int = 0
    up_policies: tuple[tuple[str, int, int], ...] = SCALE_UP_POLICIES
    down_window_s: int = 300
    down_policies: tuple[tuple[str, int, int], ...] = (SCALE_DOWN_POLICY,)


@dataclass(frozen=True)
class Trigger:
    metric: str  # waiting | rate | kv
    threshold: float
    metric_type: str  # AverageValue | Value


@dataclass(frozen=True)
class Policy:
    name: str
    triggers: tuple[Trigger, ...]  # empty: never scales


@dataclass(frozen=True)
class Traffic:
    """Requests per second for each second, and each second's request cost relative to the plan's."""

    label: str
    rate: tuple[float, ...]
    weight: tuple[float, ...] | None = None

    @property
    def peak(self) -> float:
        return max(self.rate) if self.rate else 0.0


def constant(rps: float, duration_s: int) -> Traffic:
    return Traffic(f"constant {rps:g} req/s", tuple([rps] * duration_s))


def step(low: float, high: float, at_s: int, duration_s: int) -> Traffic:
    return Traffic(f"step {low:g} -> {high:g} req/s at {at_s}s", tuple(low if t < at_s else high for t in range(duration_s)))


def pulse(rps: float, at_s: int, length_s: int, duration_s: int) -> Traffic:
    """Nothing, then ``rps`` for ``length_s`` seconds from ``at_s``, then nothing: a service that idles."""
    return Traffic(f"pulse {rps:g} req/s at {at_s}s for {length_s}s",
                   tuple(rps if at_s <= t < at_s + length_s else 0.0 for t in range(duration_s)))


def diurnal(low: float, high: float, period_s: int, duration_s: int) -> Traffic:
    """Cosine between low (at t=0) and high (at half the period)."""
    mid, amp = (high + low) / 2, (high - low) / 2
    return Traffic(f"diurnal {low:g}..{high:g} req/s, period {period_s}s",
                   tuple(mid - amp * math.cos(2 * math.pi * t / period_s) for t in range(duration_s)))


def from_csv(text: str, cost) -> Traffic:
    """Rows of ``timestamp_s[,input_len,output_len]`` (a header line is skipped). ``cost(i, o)``
    gives a request's cost relative to the planned one (None lengths = the planned ones)."""
    counts: dict[int, float] = {}
    weights: dict[int, float] = {}
    t0 = None
    for n, line in enumerate(text.splitlines(), 1):
        parts = [p.strip() for p in line.split(",")]
        if not parts or not parts[0] or parts[0].startswith("#"):
            continue
        try:
            ts = float(parts[0])
            i = int(float(parts[1])) if len(parts) > 1 and parts[1] else None
            o = int(float(parts[2])) if len(parts) > 2 and parts[2] else None
        except ValueError:
            if n == 1:
                continue  # header
            raise InputError("--traffic", f"CSV line {n} is not timestamp_s,input_len,output_len", "numbers only") from None
        t0 = ts if t0 is None else min(t0, ts)
        sec = int(ts)
        counts[sec] = counts.get(sec, 0) + 1
        weights[sec] = weights.get(sec, 0.0) + cost(i, o)
    if not counts:
        raise InputError("--traffic", "the CSV has no request rows", "one line per request: timestamp_s,input_len,output_len")
    start, end = min(counts), max(counts)
    rate = tuple(counts.get(s, 0.0) for s in range(start, end + 1))
    weight = tuple((weights[s] / counts[s]) if s in counts else 1.0 for s in range(start, end + 1))
    return Traffic(f"CSV, {int(sum(rate))} requests over {len(rate)}s", rate, weight)


def parse_traffic(text: str, duration_s: int, read_file=None, cost=None) -> Traffic:
    """constant:RPS | step:FROM:TO[:AT_S] | pulse:RPS:AT_S[:LEN_S] | diurnal:MIN:MAX[:PERIOD_S] | csv:PATH"""
    kind, _, rest = text.partition(":")
    args = rest.split(":") if rest else []
    try:
        if kind == "constant" and len(args) == 1:
            return constant(float(args[0]), duration_s)
        if kind == "step" and len(args) in (2, 3):
            at = int(float(args[2])) if len(args) == 3 else duration_s // 4
            return step(float(args[0]), float(args[1]), at, duration_s)
        if kind == "pulse" and len(args) in (2, 3):
            at = int(float(args[1]))
            return pulse(float(args[0]), at, int(float(args[2])) if len(args) == 3 else duration_s // 4, duration_s)
        if kind == "diurnal" and len(args) in (2, 3):
            period = int(float(args[2])) if len(args) == 3 else duration_s
            return diurnal(float(args[0]), float(args[1]), period, duration_s)
    except ValueError:
        pass
    else:
        if kind == "csv" and rest and read_file is not None:
            return from_csv(read_file(rest), cost or (lambda i, o: 1.0))
    raise InputError("--traffic", f"cannot read {text!r}",
                     "use constant:RPS, step:FROM:TO[:AT_S], pulse:RPS:AT_S[:LEN_S], diurnal:MIN:MAX[:PERIOD_S] or csv:PATH")


@dataclass
class Result:
    policy: str
    violation_s: int
    violating_requests: float
    requests: float
    gpu_hours: float
    peak_replicas: int
    first_scale_up_s: int | None  # first time the HPA asked for more replicas
    first_ready_s: int | None  # first time an added replica became ready
    max_queue: float
    wakes: list[tuple[int, int]] = field(default_factory=list)  # scale to zero: (first held request, first ready) per wake
    sleeps: list[int] = field(default_factory=list)  # scale to zero: when the last replica went
    replicas: list[int] = field(default_factory=list)  # spec replicas each second
    ready: list[int] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    violating: list[bool] = field(default_factory=list)

    @property
    def violation_minutes(self) -> float:
        return self.violation_s / 60

    @property
    def first_wake_s(self) -> int | None:
        """How long the first request after idle waited for a replica: detection plus cold start."""
        return self.wakes[0][1] - self.wakes[0][0] if self.wakes else None

    @property
    def violating_share(self) -> float:
        return self.violating_requests / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class ReplicaModel:
    """One replica's behaviour per batch size, from the performance model."""

    slots: int
    rps: tuple[float, ...]  # requests/s finished with n running (index n, n=0 -> 0)
    ttft_p99_s: tuple[float, ...]
    itl_p99_s: tuple[float, ...]
    kv_per_request: float  # KV-cache share one running request holds
    gpus: int
    cold_start_s: int


def replica_model(engine: performance.Engine, plan: ServingPlan, gpus_per_replica: int, cold_start_s: int) -> ReplicaModel:
    slots = plan.max_num_seqs
    rps, ttft, itl = [0.0], [0.0], [0.0]
    for n in range(1, slots + 1):
        p = performance.steady_state(engine, n, plan.input_len, plan.output_len)
        rps.append(p.requests_per_s)
        ttft.append(p.ttft_p99_ms / 1e3)
        itl.append(p.itl_p99_ms / 1e3)
    kv = (plan.input_len + plan.output_len / 2) / max(1, engine.kv_tokens)
    return ReplicaModel(slots, tuple(rps), tuple(ttft), tuple(itl), kv, gpus_per_replica, cold_start_s)


def policies(plan: ServingPlan) -> list[Policy]:
    ours = Policy("vllmkube", (Trigger("waiting", plan.queue_threshold, "AverageValue"),
                               Trigger("rate", plan.target_rps_per_replica, "AverageValue"),
                               Trigger("kv", KV_THRESHOLD, "Value")))
    blog = Policy(f"queue-{BLOG_QUEUE_THRESHOLD}", (Trigger("waiting", BLOG_QUEUE_THRESHOLD, "AverageValue"),))
    return [ours, blog, Policy("cpu", ())]


def _desired(t: Trigger, value: float, current: int, ready: int) -> int:
    if t.metric_type == "AverageValue":
        ratio = value / (t.threshold * max(1, current))
        return current if abs(1 - ratio) <= TOLERANCE else math.ceil(value / t.threshold - 1e-9)
    ratio = value / t.threshold
    return current if abs(1 - ratio) <= TOLERANCE else math.ceil(ratio * max(1, ready) - 1e-9)


class _Hpa:
    def __init__(self, b: Behavior, lo: int, hi: int) -> None:
        self.b, self.lo, self.hi = b, lo, hi
        self.recs: list[tuple[int, int]] = []
        self.events: list[tuple[int, int]] = []  # (time, replica change)

    def decide(self, now: int, current: int, desired: int) -> int:
        desired = min(self.hi, max(self.lo, desired))
        self.recs.append((now, desired))
        up = down = desired
        for t, r in self.recs:
            if t > now - self.b.up_window_s:
                up = min(up, r)
            if t > now - self.b.down_window_s:
                down = max(down, r)
        self.recs = [(t, r) for t, r in self.recs if t > now - max(self.b.up_window_s, self.b.down_window_s)]
        rec = current
        if rec < up:
            rec = up
        if rec > down:
            rec = down
        if rec > current:
            limits = []
            for kind, value, period in self.b.up_policies:
                start = current - sum(d for t, d in self.events if t > now - period and d > 0)
                limits.append(start + value if kind == "Pods" else math.ceil(start * (1 + value / 100)))
            rec = min(rec, max(limits), self.hi)
        elif rec < current:
            limits = []
            for kind, value, period in self.b.down_policies:
                start = current - sum(d for t, d in self.events if t > now - period and d < 0)
                limits.append(start - value if kind == "Pods" else math.floor(start * (1 - value / 100)))
            rec = max(rec, min(limits), self.lo)
        if rec != current:
            self.events.append((now, rec - current))
        return rec


def run(model: ReplicaModel, traffic: Traffic, policy: Policy, slo_ttft_s: float | None, slo_itl_s: float | None,
        min_replicas: int = 1, max_replicas: int = 4, behavior: Behavior | None = None,
        zero: ZeroScaling | None = None) -> Result:
    """``zero``: KEDA may scale to zero (idle at start); policies without triggers (cpu) cannot."""
    b = behavior or Behavior()
    slo_ttft = slo_ttft_s if slo_ttft_s is not None else DEFAULT_SLO_TTFT_S
    slo_itl = slo_itl_s if slo_itl_s is not None else DEFAULT_SLO_ITL_S
    zero = zero if policy.triggers else None
    hpa = _Hpa(b, min_replicas, max_replicas)
    pods: list[int] = [] if zero else [0] * min_replicas  # ready-at times; the initial replicas are warm
    held_since: int | None = None  # scale to zero: first request the interceptor holds at zero replicas
    waking: int | None = None  # ... and its arrival, until the first replica is ready
    last_active = 0
    waiting = running = 0.0
    scraped: dict[str, float] = {"waiting": 0.0, "rate": 0.0, "kv": 0.0}
    finished: list[float] = []
    pending: dict[str, float] = dict(scraped)
    res = Result(policy.name, 0, 0.0, 0.0, 0.0, min_replicas, None, None, 0.0)
    for now, rate in enumerate(traffic.rate):
        weight = traffic.weight[now] if traffic.weight else 1.0
        arrivals = rate * weight
        ready = sum(1 for r in pods if r <= now)
        if res.first_ready_s is None and res.first_scale_up_s is not None and ready > (0 if zero else min_replicas):
            res.first_ready_s = now
        if waking is not None and ready:
            res.wakes.append((waking, now))
            waking = None
        waiting += arrivals
        slots = ready * model.slots
        admit = min(waiting, max(0.0, slots - running))
        waiting -= admit
        running += admit
        per = running / ready if ready else 0.0
        n = min(model.slots, per)
        lo = int(n)
        frac = n - lo
        hi = min(model.slots, lo + 1)
        thr = model.rps[lo] * (1 - frac) + model.rps[hi] * frac
        done = min(running, thr * ready)
        running -= done
        finished.append(done)
        service = max(thr * ready, 1e-9) if ready else 1e-9
        ttft = (model.ttft_p99_s[max(1, round(n))] if ready else math.inf) + waiting / service
        itl = model.itl_p99_s[max(1, min(model.slots, round(n)))]
        bad = ttft > slo_ttft or itl > slo_itl
        if not ready and waiting <= IDLE_EPS:
            bad = False  # scaled to zero with nobody waiting: no request to be late
        res.violation_s += bad
        res.violating_requests += rate if bad else 0.0
        res.requests += rate
        res.max_queue = max(res.max_queue, waiting)
        res.gpu_hours += len(pods) * model.gpus / 3600
        # Prometheus scrapes every 15 s; the HPA reads the previous scrape at its sync
        if now % SCRAPE_S == 0:
            window = finished[-RATE_WINDOW_S:]
            scraped, pending = pending, {"waiting": waiting, "rate": sum(window) / len(window),
                                         "kv": (per * model.kv_per_request) if ready else 0.0}
        if zero:  # KEDA's own 0 <-> 1, before the HPA (which only runs at one replica or more)
            if waiting + running > IDLE_EPS:  # the interceptor's concurrency, the queue, the batch
                last_active = now
            if not pods and waiting > IDLE_EPS:
                held_since = now if held_since is None else held_since
                if now - held_since >= zero.detect_s:
                    pods = [now + model.cold_start_s] * max(1, min_replicas)
                    hpa = _Hpa(b, min_replicas, max_replicas)  # KEDA recreates the HPA's view from here
                    waking, held_since = held_since, None
                    if res.first_scale_up_s is None:
                        res.first_scale_up_s = now
            elif pods and ready and now - last_active >= zero.cooldown_s:
                pods = []
                res.sleeps.append(now)
        if pods and policy.triggers and now % b.sync_s == 0 and now > 0:
            current = len(pods)
            want = max(_desired(t, scraped[t.metric], current, ready) for t in policy.triggers)
            new = hpa.decide(now, current, want)
            if new > current:
                pods += [now + model.cold_start_s] * (new - current)
                if res.first_scale_up_s is None:
                    res.first_scale_up_s = now
            elif new < current:
                pods.sort()
                del pods[new:]  # starting pods go first, then the newest
        res.peak_replicas = max(res.peak_replicas, len(pods))
        res.replicas.append(len(pods))
        res.ready.append(sum(1 for r in pods if r <= now))
        res.load.append(rate)
        res.violating.append(bool(bad))
    return res


def simulate(model: ReplicaModel, traffic: Traffic, plan: ServingPlan, min_replicas: int, max_replicas: int,
             only: list[str] | None = None, behavior: Behavior | None = None,
             zero: ZeroScaling | None = None) -> list[Result]:
    slo_ttft = None if plan.slo_ttft_p99_ms is None else plan.slo_ttft_p99_ms / 1e3
    slo_itl = None if plan.slo_itl_p99_ms is None else plan.slo_itl_p99_ms / 1e3
    return [run(model, traffic, p, slo_ttft, slo_itl, min_replicas, max_replicas, behavior, zero)
            for p in policies(plan) if only is None or p.name in only]


def cost_fn(engine: performance.Engine, plan: ServingPlan):
    """A request's GPU time relative to the planned request's: prompt tokens at the chunked-prefill
    rate, output tokens at the full-batch decode rate."""
    b = plan.max_num_seqs
    budget = plan.max_num_batched_tokens
    chunk = max(1, budget - b)
    t_in = (engine.step_s(b, b * plan.input_len, prefill=chunk, prefill_ctx=chunk, prefill_attn=chunk * chunk / 2)
            - engine.step_s(b, b * plan.input_len)) / chunk
    t_out = engine.step_s(b, b * plan.input_len) / b
    base = plan.input_len * t_in + plan.output_len * t_out

    def cost(i: int | None, o: int | None) -> float:
        i = plan.input_len if i is None else i
        o = plan.output_len if o is None else o
        return (i * t_in + o * t_out) / base if base > 0 else 1.0

    return cost


# ----------------------------------------------------------------------------- pictures
BARS = " ▁▂▃▄▅▆▇█"


def _columns(values: list[float], width: int, how=max) -> list[float]:
    n = len(values)
    return [how(values[i * n // width:max(i * n // width + 1, (i + 1) * n // width)]) for i in range(width)]


def _spark(values: list[float], top: float) -> str:
    """One character per column; any non-zero value shows at least the lowest bar."""
    return "".join(BARS[min(8, max(1 if v > 0 else 0, round(v / top * 8)))] if top > 0 else BARS[0] for v in values)


def chart(results: list[Result], width: int = 64) -> list[str]:
    """Sparklines: the load, then per policy its replicas (# starting/ready) and violated seconds."""
    if not results:
        return []
    load = results[0].load
    top_rps = max(load) or 1.0
    top_rep = max(max(r.replicas) for r in results) or 1
    secs = len(load)
    lines = [f"{'':12}0s{'':{max(1, width - 2 - len(str(secs)) - 1)}}{secs}s",
             f"{'load':12}{_spark(_columns(load, width), top_rps)}  0..{top_rps:g} req/s"]
    for r in results:
        lines.append(f"{r.policy:12}{_spark(_columns([float(x) for x in r.replicas], width), top_rep)}  replicas 0..{top_rep}")
        ready = _columns([float(x) for x in r.ready], width, min)
        lines.append(f"{'  ready':12}{_spark(ready, top_rep)}")
        bad = _columns([1.0 if v else 0.0 for v in r.violating], width)
        lines.append(f"{'  SLO':12}" + "".join("x" if b else "·" for b in bad) + f"  {r.violation_minutes:.1f} min violated")
    return lines


def svg(results: list[Result], title: str, width: int = 900, height: int = 360) -> str:
    """The load and each policy's replica curve as a standalone SVG (no plotting library)."""
    pad_l, pad_r, pad_t, pad_b = 60, 60, 40, 40
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    load = results[0].load if results else []
    secs = max(1, len(load))
    top_rps = max(load) if load and max(load) > 0 else 1.0
    top_rep = max([max(r.replicas) for r in results] + [1])
    colors = ["#1f77b4", "#d62728", "#7f7f7f", "#2ca02c", "#9467bd"]

    def x(t: float) -> float:
        return pad_l + w * t / secs

    def y(v: float, top: float) -> float:
        return pad_t + h - h * v / top

    def path(values: list[float], top: float, step_line: bool) -> str:
        """Polyline points where the value changes (a step line holds the level until then)."""
        pts = [(0, values[0])]
        stride = 1 if step_line else max(1, secs // 600)  # a smooth load needs no more than ~600 points
        for t in range(stride, secs, stride):
            if values[t] != values[t - stride]:
                if step_line:
                    pts.append((t, values[t - 1]))
                elif pts[-1][0] != t - stride:
                    pts.append((t - stride, values[t - stride]))
                pts.append((t, values[t]))
        pts.append((secs, values[-1]))
        return " ".join(f"{x(t):.1f},{y(v, top):.1f}" for t, v in pts)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{pad_l}" y="20" font-size="14">{_xml(title)}</text>',
           f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>',
           f'<polyline fill="none" stroke="#bbb" stroke-width="2" points="{path(load, top_rps, False)}"/>',
           f'<text x="{pad_l - 8}" y="{pad_t + 4}" text-anchor="end">{top_rps:g}</text>',
           f'<text x="{pad_l - 8}" y="{pad_t + h}" text-anchor="end">0</text>',
           f'<text x="{pad_l - 40}" y="{pad_t + h / 2}" transform="rotate(-90 {pad_l - 40} {pad_t + h / 2})">req/s (grey)</text>',
           f'<text x="{pad_l + w + 8}" y="{pad_t + 4}">{top_rep}</text>',
           f'<text x="{pad_l + w + 8}" y="{pad_t + h}">0</text>',
           f'<text x="{pad_l + w + 45}" y="{pad_t + h / 2}" transform="rotate(90 {pad_l + w + 45} {pad_t + h / 2})">replicas</text>',
           f'<text x="{pad_l}" y="{height - 12}">0 s</text>',
           f'<text x="{pad_l + w}" y="{height - 12}" text-anchor="end">{secs} s</text>']
    for i, r in enumerate(results):
        c = colors[i % len(colors)]
        band_y = pad_t + h + 6 + 5 * i
        for t in range(secs):
            if r.violating[t] and (t == 0 or not r.violating[t - 1]):
                end = t
                while end < secs and r.violating[end]:
                    end += 1
                out.append(f'<rect x="{x(t):.1f}" y="{band_y}" width="{max(1.0, x(end) - x(t)):.1f}" height="4" fill="{c}"/>')
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{path([float(v) for v in r.replicas], top_rep, True)}"/>')
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1" stroke-dasharray="4 3" '
                   f'points="{path([float(v) for v in r.ready], top_rep, True)}"/>')
        out.append(f'<text x="{pad_l + 10 + 230 * i}" y="{pad_t - 8}" fill="{c}">{_xml(r.policy)}: '
                   f'{r.violation_minutes:.1f} min over SLO, {r.gpu_hours:.1f} GPU-h</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ----------------------------------------------------------------------------- from a spec
@dataclass
class Run:
    """Everything `vllmkube simulate` prints."""

    model: str
    gpu: str
    gpus_per_replica: int
    plan: ServingPlan
    traffic: Traffic
    cold_start_s: int
    min_replicas: int
    max_replicas: int
    results: list[Result]
    zero: ZeroScaling | None = None

    @property
    def title(self) -> str:
        return f"{self.model} on {self.gpu}: {self.traffic.label}, cold start {self.cold_start_s}s"


POLICY_NAMES = ("vllmkube", f"queue-{BLOG_QUEUE_THRESHOLD}", "cpu")


def prepare(spec, traffic_text: str, duration_s: int, read_file, min_replicas: int = 1, max_replicas: int | None = None,
            queue_threshold: float | None = None, cold_start_s: int | None = None, load_rate_gib_s: float | None = None,
            only: list[str] | None = None, scale_to_zero: bool = False, cooldown_s: int | None = None) -> Run:
    """Size, plan and simulate a SizeSpec under a traffic shape (the `simulate` command's core)."""
    from .plan.pod import probe_budget_s
    from .serving import Workload, plan as serving_plan, replicas_for
    from .sizing import size
    from .spec import resolve_gpu, resolve_model

    for name in only or ():
        if name not in POLICY_NAMES:
            raise InputError("--policy", f"unknown policy {name!r}", f"one of {', '.join(POLICY_NAMES)}")
    model = resolve_model(spec)
    if model is None:
        raise InputError("--model", "simulate needs a model", "pass --model or --model-config")
    gpu = resolve_gpu(spec)
    sizing = size(model, gpu, spec.sizing_options(), spec.gpu_memory_gib)
    if not sizing.fits:
        raise InputError("--gpu", f"{model.id} does not fit on {gpu.key}", "see `vllmkube size` for the options tried")
    workload = spec.workload() or Workload()
    # seconds are judged against objectives: without flags, render's default alert objectives
    workload = workload.model_copy(update={
        "slo_ttft_p99": workload.slo_ttft_p99 if workload.slo_ttft_p99 is not None else DEFAULT_SLO_TTFT_S,
        "slo_itl_p99": workload.slo_itl_p99 if workload.slo_itl_p99 is not None else DEFAULT_SLO_ITL_S})
    # plan once for the lengths (the traffic's peak is known only after the cost function exists)
    base = serving_plan(model, gpu, sizing, workload)
    engine = performance.engine_for(model, gpu, sizing, max_num_seqs=base.max_num_seqs,
                                    max_num_batched_tokens=base.max_num_batched_tokens)
    traffic = parse_traffic(traffic_text, duration_s, read_file, cost_fn(engine, base))
    peak = max(1e-6, max(r * (traffic.weight[i] if traffic.weight else 1.0) for i, r in enumerate(traffic.rate)))
    plan = base.model_copy(update={"rps": round(peak, 3)})
    slack = (plan.slo_ttft_p99_ms if plan.slo_ttft_p99_ms is not None else 2000.0) / 1e3 - plan.ttft_p99_ms / 1e3
    needed = replicas_for(peak, plan.capacity_rps, plan.max_num_seqs, slack, plan.headroom)
    plan = plan.model_copy(update={"replicas": needed, "gpus_total": needed * sizing.gpus_per_replica})
    if queue_threshold is not None:
        plan = plan.model_copy(update={"queue_threshold": queue_threshold})
    hi = max(min_replicas, max_replicas if max_replicas is not None else needed)
    # the rate render assumes on a cluster's default storage (plan/storage.py), unless given
    rate = load_rate_gib_s or DEFAULT_STORAGE.pod_rate
    cold = cold_start_s if cold_start_s is not None else probe_budget_s(sizing.checkpoint_gib, rate)
    rm = replica_model(engine, plan, sizing.gpus_per_replica, cold)
    zero = None
    if scale_to_zero:  # the cooldown render writes: from the startup budget (the cold start here)
        zero = ZeroScaling(cooldown_s if cooldown_s is not None else zero_cooldown_s(Behavior().down_window_s, cold))
    elif cooldown_s is not None:
        raise InputError("--cooldown", "only applies to --scale-to-zero", "add --scale-to-zero or drop it")
    results = simulate(rm, traffic, plan, min_replicas, hi, only, zero=zero)
    return Run(model.id, gpu.key, sizing.gpus_per_replica, plan, traffic, cold, min_replicas, hi, results, zero)
