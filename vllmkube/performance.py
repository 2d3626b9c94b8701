"""The performance model: how long one vLLM engine step takes, and what that means for a workload.

Pure and deterministic; documented with its calibration in docs/performance-model.md.

One engine step (vLLM V1 continuous batching with chunked prefill) runs every decoding
request for one token plus prefill chunks of waiting requests, up to
``max_num_batched_tokens``. The weight GEMMs and attention are separate kernels, each on its
own (softened) roofline, plus fixed costs:

    t_step = pp x ( roof(weights_read / bw_weights, gemm_flops / matmul_flops)
                    + roof(kv_read / bw_kv, attention_flops / attention_flops_rate)
                    + tensor-parallel all-reduces + step overhead + per-request overhead )

* weights_read: the weights on one GPU (MoE: the experts the step's tokens touch, all of them
  at any real batch); kv_read: the KV cache every request in the step attends over.
* gemm_flops: 2 x active parameters per token (MoE: routed experts' share only) for every
  token in the step, plus the lm_head for sampled tokens; attention grows with context.
* matmul rate: the measured max achievable matmul (MAMF) where the catalog knows it, else the
  datasheet x the family's MAMF ratio (shared reference gpu-specs.md).
* all-reduce: two per layer, latency + ring transfer over the GPU link.

The efficiency factors are per GPU family (never per case) and fitted on the shared
measurements (``shared/reference/vllm-benchmark-calibration.json``, benchmarks/fit.py);
families without measurements reuse Hopper's factors with their own datasheet numbers. The
factors live in vllmkube/data/efficiency.json.
"""
from __future__ import annotations

from typing import NamedTuple
import math

from . import arch
from .catalog import GpuEntry, ModelEntry
from .sizing import BYTES_PER_PARAM, SizingPlan

BLOCK_SIZE = 16


class Efficiency(NamedTuple):
    """Share of the datasheet a vLLM engine reaches on one GPU family, and its fixed costs."""

    memory: float  # of peak memory bandwidth, for weight reads (GEMV/GEMM kernels)
    kv_memory: float  # of peak memory bandwidth, for KV-cache reads (attention kernels)
    compute: float  # of the max achievable matmul FLOPS (MAMF), for GEMMs and attention
    step_overhead_s: float  # per engine step: scheduling, input preparation, sampling, launch
    seq_overhead_s: float  # per request in the step (CPU bookkeeping, sampler rows, detokenizing)
    allreduce_latency_s: float  # per all-reduce over NVLink (PCIe pays 3x)
    calibrated: bool  # False: borrowed from Hopper, no measurement of this family yet


def _load_efficiency() -> dict:
    """vllmkube/data/efficiency.json: the fitted factors are data, not code (benchmarks/fit.py writes them)."""
    import json
    from importlib import resources

    return json.loads(resources.files("vllmkube.data").joinpath("efficiency.json").read_text(encoding="utf-8"))


_DATA = _load_efficiency()
ALLREDUCE_LATENCY_S = float(_DATA["allreduce_latency_s"])  # per all-reduce over NVLink (PCIe pays 3x)
MOE_LAYER_OVERHEAD_S = float(_DATA["moe_layer_overhead_s"])  # per MoE layer and step at TP 8
FAMILY_EFFICIENCY: dict[str, Efficiency] = {
    name: Efficiency(f["memory"], f["kv_memory"], f["compute"], f["step_overhead_s"], f["seq_overhead_s"],
                     ALLREDUCE_LATENCY_S, True)
    for name, f in _DATA["families"].items()
}
HOPPER = FAMILY_EFFICIENCY["hopper"]
# Routed-expert GEMMs (fused MoE: many small grouped GEMMs, a router, a permutation) reach this
# share of what the dense GEMMs reach, for weight reads and for compute alike.
MOE_EFFICIENCY = float(_DATA["moe_efficiency"])

# MAMF / datasheet BF16 by family, where a measurement exists (gpu-specs.md: A100 SXM 86.9%,
# H100 SXM 80.3%, B200 77.6%, MI300X 51.4%, MI325X 60.4%); used when a GPU has no MAMF entry.
MAMF_RATIO = {"ampere": 0.869, "hopper": 0.803, "blackwell": 0.776, "cdna3": 0.514, "cdna4": 0.60}
MAMF_RATIO_DEFAULT = 0.80
# FP8 MAMF / FP8 datasheet (gpu-specs.md: H100 70.9%, H200 73.4%, B200 76.3%).
FP8_MAMF_RATIO = {"hopper": 0.709, "blackwell": 0.763}
FP8_MAMF_RATIO_DEFAULT = 0.70
PCIE_ALLREDUCE_FACTOR = 3.0
# vLLM's front-end (one API-server process) and the client, per request: HTTP, chat template,
# tokenization, detokenization, streaming. FRONTEND_S_PER_REQUEST is the serial CPU time (it
# caps one replica at 1 / this requests/s; the burst runs of 1000 4-token requests measure it);
# FRONTEND_LATENCY_S is what a request sees on an idle server (the shared 8B runs measure a
# 60 ms TTFT for a ~10 ms prefill).
FRONTEND_S_PER_REQUEST = float(_DATA["frontend_s_per_request"])
FRONTEND_LATENCY_S = float(_DATA["frontend_latency_s"])
NVLINK_MIN_GBPS = 100  # links at or above this are NVLink / Infinity Fabric class


def efficiency(gpu: GpuEntry) -> Efficiency:
    eff = FAMILY_EFFICIENCY.get(gpu.architecture)
    if eff is not None:
        return eff
    return HOPPER._replace(calibrated=False)


class Hardware(NamedTuple):
    bandwidth_bps: float  # effective bytes/s for weights
    kv_bandwidth_bps: float  # effective bytes/s for KV reads
    matmul_flops: float  # effective FLOP/s for the weight GEMMs
    attention_flops: float  # effective FLOP/s for attention (16-bit)
    link_bps: float | None  # GPU-GPU bytes/s per direction
    allreduce_latency_s: float
    eff: Efficiency
    notes: tuple[str, ...]


def _bf16_peak(gpu: GpuEntry) -> tuple[float, str | None]:
    if gpu.bf16_tflops:
        return gpu.bf16_tflops * 1e12, None
    # no verified tensor rate: borrow the FLOP-per-byte ratio of the catalog's same-family GPUs
    from . import catalog

    peers = [g.bf16_tflops / g.bandwidth_tbps for g in catalog.gpus()
             if g.architecture == gpu.architecture and g.bf16_tflops]
    ratio = sorted(peers)[len(peers) // 2] if peers else 150.0
    return ratio * gpu.bandwidth_tbps * 1e12, f"{gpu.key} has no verified tensor TFLOPS; estimated from its family"


def hardware(gpu: GpuEntry, precision: str | None) -> Hardware:
    """Effective rates of one GPU for weights stored as ``precision`` (None = 16-bit)."""
    if gpu.key == "custom" and (gpu.bf16_tflops is None or "--gpu-bandwidth-tbps" not in gpu.sources):
        from .errors import InputError

        raise InputError("--gpu-memory-gib", "an unlisted GPU has no memory bandwidth or TFLOPS for latency figures",
                         "also pass --gpu-bandwidth-tbps and --gpu-bf16-tflops (datasheet, dense BF16)")
    eff = efficiency(gpu)
    notes: list[str] = []
    peak, note = _bf16_peak(gpu)
    if note:
        notes.append(note)
    if gpu.matmul_bf16_tflops:
        bf16 = gpu.matmul_bf16_tflops * 1e12
    else:
        bf16 = peak * MAMF_RATIO.get(gpu.architecture, MAMF_RATIO_DEFAULT)
    gemm = bf16
    if precision in ("fp8", "int8") and gpu.fp8_support == "native" and gpu.fp8_tflops:
        gemm = gpu.fp8_tflops * 1e12 * FP8_MAMF_RATIO.get(gpu.architecture, FP8_MAMF_RATIO_DEFAULT)
    link = gpu.interconnect_gbps * 1e9 if gpu.interconnect_gbps else None
    lat = eff.allreduce_latency_s * (1 if (gpu.interconnect_gbps or 0) >= NVLINK_MIN_GBPS else PCIE_ALLREDUCE_FACTOR)
    if not eff.calibrated:
        notes.append(f"no {gpu.architecture} measurements yet: efficiency factors borrowed from Hopper")
    bw = gpu.bandwidth_tbps * 1e12
    return Hardware(bw * eff.memory, bw * eff.kv_memory, gemm * eff.compute, bf16 * eff.compute, link, lat, eff,
                    tuple(notes))


class ModelCosts(NamedTuple):
    """What one pipeline stage on one GPU reads and computes, from the model and the sizing."""

    dense_bytes: float  # weights read every step (attention, dense MLP, shared experts, lm_head)
    expert_bytes: float  # routed experts on this GPU (read as far as tokens touch them)
    num_experts: int
    experts_per_token: int
    kv_layer_bytes: int  # per token per layer on this GPU
    full_layers: int  # layers on this stage attending over the whole context
    window_layers: int
    window: int
    gemm_flops_per_token: float  # 2 x active body parameters on this GPU (dense part and routed experts)
    expert_flops_per_token: float  # the routed experts' share of gemm_flops_per_token
    lm_head_flops: float  # per sampled token on this GPU
    attn_flops_per_ctx: float  # per (query token x context token), all layers on this GPU
    layers: int  # on this stage
    moe_layers: int  # MoE layers on this stage
    hidden: int
    tp: int
    pp: int


def model_costs(m: ModelEntry, plan: SizingPlan) -> ModelCosts:
    split = arch.param_split(m)
    tp, pp = plan.tensor_parallel_size, plan.pipeline_parallel_size
    layers = math.ceil(m.num_layers / pp)
    frac = layers / m.num_layers
    precision = plan.quantization or "16bit"
    body_b = BYTES_PER_PARAM[precision]
    dense_b = 2.0 if precision == "mxfp4" else body_b
    head = (split.lm_head or split.embedding) * 2.0 / tp  # the lm_head (or the tied embedding): read every step
    embed = split.embedding * 2.0 / tp if split.lm_head else 0.0  # the input embedding only gathers rows
    dense = (split.attention + split.dense_mlp) * dense_b * frac / tp + head
    experts = split.experts * body_b * frac / tp  # expert parallelism is not planned per replica (yet)
    # scale to the sizing's per-GPU weights (exact checkpoint sizes) so both modules agree
    estimate = dense + experts + embed + split.vision * 2.0 / tp  # the encoder is resident, not read per step
    k = plan.weights_gib_per_gpu * 1024**3 / estimate if estimate > 0 else 1.0
    active_body = split.attention + split.dense_mlp
    if m.is_moe:
        active_body += split.experts * m.experts_per_token / m.num_experts
    kv_b = 1 if plan.kv_cache_dtype != "auto" else arch.DTYPE_BYTES.get(plan.dtype, 2)
    window_layers = 0
    window = 0
    if m.attention in ("sliding-window", "chunked-local"):
        window_layers = round(m.sliding_layers * layers / m.num_layers)
        window = m.sliding_window or 0
    if m.attention == "mla":
        heads = m.num_attention_heads / tp
        per_ctx = 2 * heads * ((m.kv_lora_rank or 0) + (m.qk_rope_head_dim or 0) + (m.kv_lora_rank or 0))
    else:
        per_ctx = 2 * (m.num_attention_heads / tp) * 2 * m.head_dim
    return ModelCosts(
        dense_bytes=dense * k, expert_bytes=experts * k, num_experts=m.num_experts or 0,
        experts_per_token=m.experts_per_token or 0,
        kv_layer_bytes=arch.kv_layer_bytes_per_token(m, tp, kv_b), full_layers=layers - window_layers,
        window_layers=window_layers, window=window,
        gemm_flops_per_token=2 * active_body * frac / tp,
        expert_flops_per_token=2 * (split.experts * m.experts_per_token / m.num_experts if m.is_moe else 0) * frac / tp,
        lm_head_flops=2 * m.vocab_size * m.hidden_size / tp,
        attn_flops_per_ctx=per_ctx * layers, layers=layers,
        moe_layers=math.ceil(arch.moe_layer_count(m) * frac), hidden=m.hidden_size, tp=tp, pp=pp,
    )


class Engine(NamedTuple):
    """One replica: model costs on hardware, with its scheduler limits and KV capacity."""

    costs: ModelCosts
    hw: Hardware
    max_num_batched_tokens: int
    max_num_seqs: int
    kv_tokens: int

    def kv_read(self, ctx_sum: float, ctx_count: int = 0, ctx_each: float = 0.0) -> float:
        """KV bytes read attending over ``ctx_sum`` context tokens (sliding layers cap at the window)."""
        c = self.costs
        full = c.full_layers * ctx_sum
        if c.window_layers:
            win_sum = min(ctx_sum, ctx_count * c.window) if ctx_count else min(ctx_sum, c.window)
            full += c.window_layers * win_sum
        return c.kv_layer_bytes * full

    def step_s(self, decode: int, decode_ctx: float, prefill: int = 0, prefill_ctx: float = 0.0,
               prefill_attn: float = 0.0, sampled: int | None = None, seqs: int | None = None) -> float:
        """One engine step.

        decode: requests generating one token; decode_ctx: their summed context lengths.
        prefill: prompt tokens in the step; prefill_ctx: the context their KV reads cover
        (prefix + chunk, summed per request); prefill_attn: sum of chunk x (prefix + chunk/2).
        """
        c, hw = self.costs, self.hw
        tokens = decode + prefill
        experts = c.expert_bytes
        if c.num_experts and tokens:
            touched = 1 - (1 - c.experts_per_token / c.num_experts) ** tokens
            experts *= touched
        n_seqs = decode + (1 if prefill else 0) if seqs is None else seqs
        sampled = decode if sampled is None else sampled
        gemm = (c.gemm_flops_per_token - c.expert_flops_per_token) * tokens + c.lm_head_flops * sampled
        gemm += c.expert_flops_per_token * tokens / MOE_EFFICIENCY
        attn = c.attn_flops_per_ctx * (decode_ctx + prefill_attn)
        # weight GEMMs and attention are separate kernels, each on its own roofline
        t = _roof((c.dense_bytes + experts / MOE_EFFICIENCY) / hw.bandwidth_bps, gemm / hw.matmul_flops)
        t += _roof(self.kv_read(decode_ctx + prefill_ctx, n_seqs) / hw.kv_bandwidth_bps, attn / hw.attention_flops)
        if c.tp > 1:
            msg = tokens * c.hidden * 2
            ring = 2 * (c.tp - 1) / c.tp * msg / hw.link_bps if hw.link_bps else 0.0
            t += 2 * c.layers * (hw.allreduce_latency_s + ring)
            # the MoE decode floor: every MoE layer's expert dispatch (router, top-k, token
            # alignment, grouped-GEMM launches) synchronises the ranks; fitted on TP8 runs
            t += c.moe_layers * MOE_LAYER_OVERHEAD_S * (c.tp - 1) / 7
        t += hw.eff.step_overhead_s + hw.eff.seq_overhead_s * n_seqs
        return t * c.pp


ROOF_P = 2.0  # p-norm joining a kernel's memory and compute times (fitted; a large p is the plain roofline)


def _roof(t_mem: float, t_compute: float) -> float:
    """A kernel's time from its memory and compute times: the roofline, softened near the ridge."""
    if ROOF_P >= 1e6:
        return max(t_mem, t_compute)
    return (t_mem**ROOF_P + t_compute**ROOF_P) ** (1 / ROOF_P)


def engine_for(m: ModelEntry, gpu: GpuEntry, plan: SizingPlan, max_num_seqs: int | None = None,
               max_num_batched_tokens: int | None = None, kv_tokens: int | None = None) -> Engine:
    """The engine of one replica of ``plan``; the scheduler limits default to the plan's."""
    return Engine(model_costs(m, plan), hardware(gpu, plan.quantization),
                  max_num_batched_tokens or plan.max_num_batched_tokens, max_num_seqs or plan.max_num_seqs,
                  kv_tokens if kv_tokens is not None else plan.kv_cache_tokens)


# ----------------------------------------------------------------------------- steady state (planning)
class Point(NamedTuple):
    """Steady state of one replica holding ``concurrency`` requests of (input_len, output_len)."""

    concurrency: float  # requests decoding at once
    ttft_ms: float  # median, without queueing
    ttft_p99_ms: float  # without queueing
    itl_ms: float  # median
    itl_p99_ms: float
    itl_mean_ms: float
    output_tokens_per_s: float
    requests_per_s: float
    prefill_steps_share: float  # share of steps that carry a prompt chunk
    kv_limited: bool  # the KV cache, not the request, limits concurrency


def steady_state(e: Engine, concurrency: float, input_len: int, output_len: int) -> Point:
    """Closed-loop steady state: each finished request is replaced by a new one (analytic).

    Each request costs ceil(I / chunk) steps that carry a prompt chunk, the rest of its O
    tokens ride in decode-only steps shared by the batch; the share of chunk steps decides
    whether the median inter-token latency is a decode step or a chunk step.
    """
    cap = max(1.0, e.kv_tokens / max(1, input_len + output_len))
    kv_limited = concurrency > cap
    b = max(1.0, min(float(concurrency), float(e.max_num_seqs), cap))
    budget = e.max_num_batched_tokens
    # prefill-bound: prompts must arrive as fast as requests finish (B x I / O tokens per step)
    room = max(1.0, budget - b)
    if b * input_len / max(1, output_len) > room:
        b = max(1.0, budget * output_len / (input_len + output_len))
        room = max(1.0, budget - b)
    ctx_avg = input_len + output_len / 2
    dec_ctx = b * ctx_avg
    t_dec = e.step_s(round(b), dec_ctx)
    arrivals = b / max(1, output_len)  # new requests per step
    per_step = max(1.0, arrivals)  # prompts that share a chunk step when short
    chunk = min(float(input_len) * per_step, room)
    n_chunks = max(1, math.ceil(input_len * per_step / room))
    prefix = max(0.0, (input_len - chunk / per_step) / 2)
    t_mix = e.step_s(round(b), dec_ctx, prefill=int(chunk), prefill_ctx=per_step * (prefix + chunk / per_step),
                     prefill_attn=chunk * (prefix + chunk / per_step / 2), sampled=round(b + per_step),
                     seqs=round(b + per_step))
    share = min(1.0, arrivals * n_chunks / per_step)
    t_mean = share * t_mix + (1 - share) * t_dec
    fe = FRONTEND_S_PER_REQUEST
    ttft = FRONTEND_LATENCY_S + t_mean / 2 + n_chunks * t_mix
    ttft_p99 = FRONTEND_LATENCY_S + t_mix + n_chunks * t_mix
    itl_med = t_mix if share >= 0.5 else t_dec
    itl_p99 = t_mix if share >= 0.01 else t_dec
    cycle = ttft + max(0, output_len - 1) * t_mean
    rps = min(b / cycle, 1 / fe)  # the front-end is one process: it caps the request rate
    return Point(b, ttft * 1e3, ttft_p99 * 1e3, itl_med * 1e3, itl_p99 * 1e3, t_mean * 1e3, rps * output_len, rps,
                 share, kv_limited)
