"""Rank serving layouts (GPU x tensor parallelism x weight precision) for one workload. Pure.

A layout is sized (sizing.size with the layout pinned), planned (serving.plan) and ranked:
layouts that meet the SLOs first, then by $/hour when --gpu-price is given (unpriced GPUs
last), then by GPUs needed for --rps (GPUs per request/s without --rps), then by capacity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import sizing as sizing_mod
from .catalog import GpuEntry, ModelEntry, find_gpu
from .errors import InputError, VllmkubeError
from .serving import ServingPlan, Workload, plan
from .sizing import PRECISION_LABEL, SizingOptions, SizingPlan


@dataclass(frozen=True)
class Row:
    gpu: str
    tp: int
    precision: str
    gpus_per_replica: int
    fits: bool
    serving: ServingPlan | None
    usd_per_hour: float | None  # all replicas (or one replica without --rps)
    why_not: str | None

    @property
    def gpus_needed(self) -> float:
        """GPUs for the traffic; without --rps, GPUs per request/s of capacity."""
        if self.serving is None:
            return math.inf
        if self.serving.gpus_total is not None:
            return float(self.serving.gpus_total)
        cap = self.serving.capacity_rps
        return self.gpus_per_replica / cap if cap > 0 else math.inf

    @property
    def label(self) -> str:
        return f"{self.gpu} TP{self.tp} {PRECISION_LABEL.get(self.precision, self.precision)}"

    def key(self, by_cost: bool = False) -> tuple:
        """Fitting, then meeting the SLOs, then $/hour (when priced) and GPUs needed, then capacity."""
        met = self.serving is not None and self.serving.slo_met
        cost = self.usd_per_hour if self.usd_per_hour is not None else math.inf
        if self.usd_per_hour is not None and self.serving is not None and self.serving.gpus_total is None:
            cost = self.usd_per_hour / self.serving.capacity_rps if self.serving.capacity_rps > 0 else math.inf
        cap = self.serving.capacity_rps if self.serving else 0.0
        gpus = round(self.gpus_needed, 6)
        first, second = (cost, gpus) if by_cost else (gpus, cost)
        return (not self.fits, not met, first, second, -cap, self.gpu, self.tp, self.precision)


def parse_prices(text: str | None) -> dict[str, float]:
    """'h100=4.5,a100-80gb=2' -> {catalog key: $ per GPU-hour}."""
    prices: dict[str, float] = {}
    if not text:
        return prices
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError("--gpu-price", f"{item.strip()!r} is not GPU=PRICE", "e.g. --gpu-price h100=4.5,l40s=1.2")
        try:
            price = float(value)
        except ValueError:
            raise InputError("--gpu-price", f"{value.strip()!r} is not a number", "dollars per GPU-hour, e.g. 4.5") from None
        if price < 0:
            raise InputError("--gpu-price", f"{price:g} is negative", "dollars per GPU-hour")
        prices[find_gpu(name.strip()).key] = price
    return prices


def _precisions(model: ModelEntry, gpu: GpuEntry) -> list[str]:
    ckpt = model.quantization or "16bit"
    out = [ckpt]
    if ckpt == "16bit" and gpu.fp8_support != "none":
        out.append("fp8")
    return out


def _tps(model: ModelEntry, gpu: GpuEntry, per_node: int | None) -> list[int]:
    limit = per_node or gpu.gpus_per_node
    return [t for t in sizing_mod.TP_CANDIDATES if t <= limit and model.num_attention_heads % t == 0]


def layouts(model: ModelEntry, gpu: GpuEntry, base: SizingOptions) -> list[tuple[int, str]]:
    return [(tp, p) for p in _precisions(model, gpu) for tp in _tps(model, gpu, base.gpus_per_node)]


def evaluate(model: ModelEntry, gpu: GpuEntry, base: SizingOptions, tp: int, precision: str, workload: Workload,
             prices: dict[str, float]) -> Row:
    quant = None if precision == (model.quantization or "16bit") else precision
    if precision == "16bit":
        quant = "none" if not model.quantization else None
    opts = base.model_copy(update={"tensor_parallel_size": tp, "pipeline_parallel_size": 1, "quantization": quant})
    try:
        sp = sizing_mod.size(model, gpu, opts)
    except InputError as exc:
        return Row(gpu.key, tp, precision, tp, False, None, None, exc.problem)
    if not sp.fits:
        return Row(gpu.key, tp, precision, sp.gpus_per_replica, False, None, None,
                   sp.rejected[-1].reason if sp.rejected else "does not fit")
    try:
        sv = plan(model, gpu, sp, workload)
    except VllmkubeError as exc:
        return Row(gpu.key, tp, precision, sp.gpus_per_replica, False, None, None, str(exc))
    price = prices.get(gpu.key)
    usd = None
    if price is not None:
        usd = price * (sv.gpus_total if sv.gpus_total is not None else sp.gpus_per_replica)
    return Row(gpu.key, tp, precision, sp.gpus_per_replica, True, sv, usd, None)


def rank(model: ModelEntry, gpus: list[GpuEntry], base: SizingOptions, workload: Workload,
         prices: dict[str, float] | None = None) -> list[Row]:
    """Every layout on every GPU, best first."""
    prices = prices or {}
    rows = [evaluate(model, g, base, tp, p, workload, prices) for g in gpus for tp, p in layouts(model, g, base)]
    return sorted(rows, key=lambda r: r.key(by_cost=bool(prices)))


def base_options(sizing: SizingPlan, options: SizingOptions | None = None) -> SizingOptions:
    """The user's sizing options with the layout left open."""
    o = options or SizingOptions(max_model_len=sizing.max_model_len, gpu_memory_utilization=sizing.gpu_memory_utilization,
                                 kv_cache_dtype=sizing.kv_cache_dtype, vllm_version=sizing.vllm_version)
    return o.model_copy(update={"tensor_parallel_size": None, "pipeline_parallel_size": None, "quantization": None,
                                "min_concurrency": min(o.min_concurrency or 1.0, 1.0)})


def nearest_option(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan, workload: Workload) -> str | None:
    """The smallest step from the current layout that meets the SLOs: more TP or FP8 on the same
    GPU first, then the catalog's other GPUs of the same vendor from the slowest up."""
    from . import catalog

    base = base_options(sizing)
    tried: list[Row] = []
    same = [evaluate(model, gpu, base, tp, p, workload, {}) for tp, p in layouts(model, gpu, base)]
    tried += [r for r in same if r.fits and r.serving and r.serving.slo_met]
    if tried:
        best = min(tried, key=lambda r: (r.gpus_per_replica, r.precision != (model.quantization or "16bit")))
        return _describe(best)
    others = sorted((g for g in catalog.gpus() if g.vendor == gpu.vendor and g.key != gpu.key
                     and g.bandwidth_tbps > gpu.bandwidth_tbps), key=lambda g: (g.bandwidth_tbps, g.key))
    for g in others:
        rows = [evaluate(model, g, base, tp, p, workload, {}) for tp, p in layouts(model, g, base)]
        ok = [r for r in rows if r.fits and r.serving and r.serving.slo_met]
        if ok:
            return _describe(min(ok, key=lambda r: (r.gpus_per_replica, r.tp)))
    return None


def plan_with_nearest(model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan, workload: Workload,
                      server: tuple[int | None, int | None] = (None, None)) -> ServingPlan:
    """serving.plan (at the ``server`` settings the user fixed, if any), and when it cannot meet
    the SLOs, the nearest layout that can."""
    sv = plan(model, gpu, sizing, workload, server=server)
    if sv.slo_met:
        return sv
    return sv.model_copy(update={"nearest_option": nearest_option(model, gpu, sizing, workload)})


def _describe(r: Row) -> str:
    s = r.serving
    assert s is not None
    return (f"{r.label} ({r.gpus_per_replica} GPU/replica): ITL p99 {s.itl_p99_ms:.0f} ms, "
            f"TTFT p99 {s.ttft_p99_ms:.0f} ms")


@dataclass(frozen=True)
class Comparison:
    """What `size --compare` prints."""

    model: str
    workload: Workload
    prices: dict[str, float]
    rows: list[Row]

    @property
    def any_met(self) -> bool:
        return any(r.fits and r.serving is not None and r.serving.slo_met for r in self.rows)


def for_spec(spec, gpus_text: str | None, prices_text: str | None) -> Comparison:
    """`size --compare`: the spec's GPU plus ``--gpus``, every layout, ranked."""
    from .spec import resolve_gpu, resolve_model

    model = resolve_model(spec)
    if model is None:
        raise InputError("--compare", "comparing layouts needs a model", "pass --model or --model-config")
    gpus: list[GpuEntry] = []
    if spec.gpu or spec.gpu_memory_gib:
        gpus.append(resolve_gpu(spec))
    for name in (gpus_text or "").split(","):
        if name.strip():
            g = find_gpu(name.strip())
            if g.key not in {x.key for x in gpus}:
                gpus.append(g)
    if not gpus:
        raise InputError("--gpus", "no GPU to compare", "pass --gpu or --gpus a100-80gb,h100,l40s")
    prices = parse_prices(prices_text)
    workload = spec.workload()
    if workload is None:
        from .serving import Workload as _W

        workload = _W()
    base = spec.sizing_options().model_copy(update={"tensor_parallel_size": None, "pipeline_parallel_size": None,
                                                    "quantization": None, "min_concurrency": min(spec.min_concurrency or 1.0, 1.0)})
    need = workload.input_len + workload.output_len
    if base.max_model_len is not None and base.max_model_len < need:
        raise InputError("--max-model-len", f"{base.max_model_len} is shorter than input + output ({need})",
                         f"pass --max-model-len {need} or more")
    if base.max_model_len is None and need > 8192:
        base = base.model_copy(update={"max_model_len": min(need, model.max_context)})
    return Comparison(model.id, workload, prices, rank(model, gpus, base, workload, prices))
