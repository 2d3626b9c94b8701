"""The sizing engine: model + GPU + options -> a SizingPlan with reasons. Pure, no I/O.

It reproduces vLLM's start-up budget per GPU (see docs/sizing.md):

    available_kv = memory_gib x utilization - weights - activation_peak - non_torch [- cuda_graphs]

then rounds to 16-token blocks, applies the start-up fit test (one max_model_len
request must fit) and, when no layout is given, walks TP 1/2/4/8, then FP8, then
4-bit, then pipeline parallel across nodes, recording why each option was rejected.
"""
import math
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from . import arch, loading, profiling, versions
from .catalog import GpuEntry, ModelEntry
from .errors import InputError

GIB = 1024**3
BLOCK_SIZE = 16
SCHEMA_VERSION = 1

Precision = Literal["16bit", "fp8", "int8", "awq", "gptq", "mxfp4", "nvfp4"]
QuantizationChoice = Literal["none", "fp8", "int8", "awq", "gptq"]
KvCacheDtype = Literal["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]

# --- the overhead model (calibrated in docs/sizing.md; global constants, not per case) ---
# The activation peak of the profiling pass (forward, sampler, vision encoder) depends on the
# version and engine: vllmkube/profiling.py.
# Non-torch memory: CUDA context leftovers, cuBLAS workspace, NCCL / custom all-reduce.
NON_TORCH_GIB = 0.10
NON_TORCH_MULTI_GPU_GIB = 0.25  # observed 0.21-0.43 GiB at TP 2-4
# CUDA-graph estimate charged from ~0.21: a fixed pool plus buffers that grow with depth x width.
CUDA_GRAPH_BASE_GIB = 0.30
CUDA_GRAPH_PER_LAYER_HIDDEN = 1.7e-6  # GiB per (layer x hidden unit)

FOUR_BIT_BYTES = 0.5 + 2.5 / 128  # int4 + fp16 scale and 4-bit zero per 128-group (AWQ/GPTQ)
BYTES_PER_PARAM: dict[str, float] = {
    "16bit": 2.0, "fp8": 1.0, "int8": 1.0, "awq": FOUR_BIT_BYTES, "gptq": FOUR_BIT_BYTES,
    "mxfp4": 4.25 / 8,  # 4-bit values + an 8-bit scale per 32
    "nvfp4": 4.5 / 8,  # 4-bit values + an fp8 scale per 16
}
PRECISION_LABEL = {"16bit": "16-bit", "fp8": "FP8", "int8": "INT8", "awq": "AWQ 4-bit", "gptq": "GPTQ 4-bit",
                   "mxfp4": "MXFP4", "nvfp4": "NVFP4"}
TP_CANDIDATES = (1, 2, 4, 8)
# A layout serves "real concurrency" when its KV cache holds this many full-length requests (or is
# at least KV_SHARE_OF_WEIGHTS of the weights, the seed's rule of thumb), whichever needs less.
DEFAULT_MIN_CONCURRENCY = 8
KV_SHARE_OF_WEIGHTS = 0.25
# vLLM's scheduler defaults off H100/H200 (and before 0.8): an expert's first knob when the
# profile of 1024 sequences leaves no room (gpt-oss-120b on one H100: the sampler pass alone
# takes 5.4 GiB) or a large token budget inflates the sliding-window layers' share of the KV cache
MODEST_BATCHING = (2048, 256)
MAX_NODES = 8


class SizingOptions(BaseModel):
    """What the user asked for. None means "choose for me"."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_model_len: int | None = Field(default=None, gt=0)
    gpu_memory_utilization: float = Field(default=0.90, gt=0, le=1)
    tensor_parallel_size: int | None = Field(default=None, gt=0)
    pipeline_parallel_size: int | None = Field(default=None, gt=0)
    data_parallel_size: int = Field(default=1, gt=0)
    expert_parallel: bool = False
    quantization: QuantizationChoice | None = None
    kv_cache_dtype: KvCacheDtype = "auto"
    dtype: Literal["auto", "bfloat16", "float16"] = "auto"
    min_concurrency: float | None = Field(default=None, gt=0)  # None: DEFAULT_MIN_CONCURRENCY or the 25% rule
    vllm_version: str = versions.NEWEST_VLLM
    gpus_per_node: int | None = Field(default=None, gt=0)
    max_num_batched_tokens: int | None = Field(default=None, gt=0)
    max_num_seqs: int | None = Field(default=None, gt=0)
    enforce_eager: bool = False
    vllm_engine: profiling.EngineChoice = "auto"  # V0 still runs on 0.8-0.10 with VLLM_USE_V1=0


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    option: str
    reason: str


class SizingPlan(BaseModel):
    """The memory plan. Field names are the JSON contract of `size --output json`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    schema_version: int = SCHEMA_VERSION
    model: str
    gpu: str
    gpu_memory_gib: float
    vllm_version: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    data_parallel_size: int
    gpus_per_replica: int
    nodes_per_replica: int
    gpus_per_node: int
    quantization: str | None  # weight format: fp8, awq, ... (None = 16-bit)
    quantization_flag: str | None  # what --quantization must say (None: vLLM reads the checkpoint)
    needs_prequantized_checkpoint: bool
    dtype: str
    kv_cache_dtype: str
    max_model_len: int
    gpu_memory_utilization: float
    params_b: float
    active_params_b: float
    rule_of_thumb_gb: float
    weights_gib_total: float
    checkpoint_gib: float  # what is downloaded: FP8-on-load still downloads the 16-bit checkpoint
    weights_gib_per_gpu: float
    activation_gib_per_gpu: float
    non_torch_gib_per_gpu: float
    cuda_graph_gib_per_gpu: float
    overhead_gib_per_gpu: float
    kv_cache_gib_per_gpu: float
    kv_bytes_per_token: int
    kv_bytes_per_token_per_gpu: int
    kv_cache_tokens: int
    max_concurrency: float
    max_model_len_that_fits: int
    max_num_batched_tokens: int
    max_num_seqs: int
    activation_profile_tokens: int
    fits: bool
    rejected: list[Rejection]
    warnings: list[str]


class Layout(NamedTuple):
    tp: int
    pp: int
    precision: Precision

    def label(self, gpus_per_node: int) -> str:
        nodes = math.ceil(self.tp * self.pp / gpus_per_node)
        where = f"{nodes} nodes" if nodes > 1 else "1 node"
        return f"{PRECISION_LABEL[self.precision]} TP{self.tp} PP{self.pp} ({where})"


class _Budget(NamedTuple):
    weights_total: float  # bytes
    weights_gpu: float
    activation: float
    non_torch: float
    cuda_graph: float
    profile_tokens: int
    available: float
    kv_layer_bytes: int  # per layer per token on one GPU
    full_layers: int
    window_layers: int
    window_tokens: int
    kv_tokens: int
    concurrency: float
    len_that_fits: int


# ----------------------------------------------------------------------------- inputs
def _checkpoint_precision(m: ModelEntry) -> Precision:
    return m.quantization or "16bit"


def _check(m: ModelEntry, gpu: GpuEntry, o: SizingOptions, max_len: int) -> None:
    if max_len > m.max_context:
        raise InputError("--max-model-len", f"{max_len} is beyond {m.id}'s context of {m.max_context}",
                         f"use {m.max_context} or less")
    for field, value in (("--tensor-parallel-size", o.tensor_parallel_size),):
        if value is not None and m.num_attention_heads % value:
            raise InputError(field, f"{value} does not divide {m.id}'s {m.num_attention_heads} attention heads",
                             f"use one of {', '.join(str(t) for t in _divisors(m.num_attention_heads))}")
    if o.pipeline_parallel_size and o.pipeline_parallel_size > m.num_layers:
        raise InputError("--pipeline-parallel-size", f"{o.pipeline_parallel_size} exceeds {m.num_layers} layers",
                         "use fewer stages")
    ckpt = _checkpoint_precision(m)
    if o.quantization not in (None, "none") and ckpt != "16bit" and o.quantization != ckpt:
        raise InputError("--quantization", f"{m.id} is a {ckpt} checkpoint, it cannot be served as {o.quantization}",
                         f"drop --quantization or pick the 16-bit model")
    if o.quantization == "none" and ckpt != "16bit":
        raise InputError("--quantization", f"{m.id} is a {ckpt} checkpoint", "drop --quantization none or pick the 16-bit model")
    if o.quantization == "fp8" and gpu.fp8_support == "none":
        raise InputError("--quantization", f"{gpu.key} cannot run FP8 weights in vLLM", "use awq or gptq (4-bit)")
    if o.dtype == "bfloat16" and not gpu.bf16_support:
        raise InputError("--dtype", f"{gpu.key} has no bfloat16 support", "use --dtype float16")


def _divisors(n: int) -> list[int]:
    return [t for t in TP_CANDIDATES if n % t == 0]


# ----------------------------------------------------------------------------- memory model
def _weights_bytes(m: ModelEntry, layout: Layout, dp_ep: int, gpu: GpuEntry | None = None) -> tuple[float, float]:
    """(total bytes, bytes on the most loaded GPU) as loaded; without ``gpu``, the checkpoint's bytes."""
    split = arch.param_split(m)
    p = layout.precision
    body_b = BYTES_PER_PARAM[p]
    dense_b = 2.0 if p == "mxfp4" else body_b  # gpt-oss keeps attention in bf16, only experts are MXFP4
    # checkpoints that leave attention unquantized (Meta's FP8 405B: modules_to_not_convert)
    attn_b = 2.0 if (m.bf16_attention and p == _checkpoint_precision(m)) else dense_b
    edge_b = 2.0  # embeddings and lm_head stay 16-bit in quantized checkpoints
    attn_mlp = split.attention * attn_b + split.dense_mlp * dense_b
    experts = split.experts * body_b
    vision = split.vision * 2.0  # vision towers stay 16-bit
    total = attn_mlp + experts + (split.embedding + split.lm_head) * edge_b + vision
    frac = math.ceil(m.num_layers / layout.pp) / m.num_layers
    if layout.pp == 1:
        edges = (split.embedding + split.lm_head) * edge_b + vision
    else:  # first stage holds the embedding (and the encoder), last stage the lm_head (a copy when tied)
        edges = max(split.embedding * edge_b + vision, (split.lm_head or split.embedding) * edge_b)
    pad = loading.expert_factor(m, gpu, p, layout.tp)
    per_gpu = (attn_mlp * frac + edges) / layout.tp + experts * pad * frac / (layout.tp * dp_ep)
    # the exact checkpoint size, when known, replaces our estimate
    scale = m.weight_bytes / total if (m.weight_bytes and p == _checkpoint_precision(m)) else 1.0
    return (total + experts * (pad - 1)) * scale, per_gpu * scale


def _budget(m: ModelEntry, gpu: GpuEntry, gpu_mem: float, o: SizingOptions, pb: profiling.ProfileBatch, layout: Layout,
            max_len: int, kv_b: int, v: versions.VllmVersion) -> _Budget:
    dp_ep = o.data_parallel_size if o.expert_parallel else 1
    w_total, w_gpu = _weights_bytes(m, layout, dp_ep, gpu)
    tokens = pb.max_num_batched_tokens
    act = profiling.activation_bytes(m, layout.tp, pb)
    non_torch = (NON_TORCH_GIB + (NON_TORCH_MULTI_GPU_GIB if layout.tp * layout.pp * o.data_parallel_size > 1 else 0)) * GIB
    layers = math.ceil(m.num_layers / layout.pp)
    graphs = 0.0
    if versions.estimates_cuda_graphs(v) and not o.enforce_eager:
        graphs = (CUDA_GRAPH_BASE_GIB + CUDA_GRAPH_PER_LAYER_HIDDEN * layers * m.hidden_size) * GIB
    available = gpu_mem * GIB * o.gpu_memory_utilization - w_gpu - act - non_torch - graphs

    layer_bytes = arch.kv_layer_bytes_per_token(m, layout.tp, kv_b)
    window_layers = 0
    window_tokens = max_len
    if m.attention in ("sliding-window", "chunked-local") and versions.has_hybrid_kv_manager(v):
        window_layers = round(m.sliding_layers * layers / m.num_layers)
        window_tokens = min(max_len, m.sliding_window + tokens)
    full_layers = layers - window_layers

    def request_bytes(length: int) -> int:
        blocks_full = math.ceil(length / BLOCK_SIZE)
        blocks_win = math.ceil(min(length, window_tokens) / BLOCK_SIZE)
        return BLOCK_SIZE * layer_bytes * (full_layers * blocks_full + window_layers * blocks_win)

    per_request = request_bytes(max_len)
    if available <= 0:
        kv_tokens, concurrency, fits_len = 0, 0.0, 0
    else:
        if window_layers == 0:
            blocks = int(available // (BLOCK_SIZE * layers * layer_bytes))
            kv_tokens = blocks * BLOCK_SIZE
        else:  # hybrid: report the effective tokens (concurrency x max_model_len), as vLLM does
            kv_tokens = int(available / per_request * max_len) // BLOCK_SIZE * BLOCK_SIZE
        concurrency = available / per_request
        fits_len = _largest_len(request_bytes, available, max_len)
    return _Budget(w_total, w_gpu, act, non_torch, graphs, pb.profile_tokens, available, layer_bytes, full_layers, window_layers,
                   window_tokens, kv_tokens, concurrency, fits_len)


def _largest_len(request_bytes, available: float, max_len: int) -> int:
    if request_bytes(max_len) <= available:
        return max_len
    lo, hi = 0, max_len
    while lo < hi:  # largest multiple of the block size whose request fits
        mid = (lo + hi + 1) // 2
        if request_bytes(mid) <= available:
            lo = mid
        else:
            hi = mid - 1
    return lo // BLOCK_SIZE * BLOCK_SIZE


# ----------------------------------------------------------------------------- the search
def _why_not(b: _Budget, layout: Layout, gpu_mem: float, o: SizingOptions, max_len: int) -> str | None:
    gib = lambda x: f"{x / GIB:.1f} GiB"  # noqa: E731
    budget = gpu_mem * o.gpu_memory_utilization
    if b.available <= 0:
        return (f"weights {gib(b.weights_gpu)}/GPU + overhead {gib(b.activation + b.non_torch + b.cuda_graph)} "
                f"exceed the {budget:.1f} GiB budget ({o.gpu_memory_utilization:.2f} x {gpu_mem:.2f} GiB)")
    if b.len_that_fits < max_len:
        return (f"KV cache {gib(b.available)}/GPU holds {b.kv_tokens} tokens, less than one "
                f"{max_len}-token request (largest max_model_len that fits: {b.len_that_fits})")
    if o.min_concurrency is not None:  # asked for explicitly: a hard requirement
        if b.concurrency < o.min_concurrency:
            return f"only {b.concurrency:.2f} full-length requests fit at once, --min-concurrency is {o.min_concurrency:g}"
        return None
    if b.concurrency < DEFAULT_MIN_CONCURRENCY and b.available < KV_SHARE_OF_WEIGHTS * b.weights_gpu:
        return (f"KV cache {gib(b.available)}/GPU holds {b.concurrency:.1f} full-length requests (fewer than "
                f"{DEFAULT_MIN_CONCURRENCY}) and is under 25% of the weights ({gib(b.weights_gpu)}/GPU)")
    return None


def _pinned(o: SizingOptions) -> bool:
    """The user fixed the layout's shape: answer at the checkpoint's precision, name the fix."""
    return o.quantization is None and (o.tensor_parallel_size is not None or o.max_model_len is not None)


def _candidates(m: ModelEntry, gpu: GpuEntry, o: SizingOptions, per_node: int, pinned: bool) -> list[Layout]:
    """Fewest GPUs first, then the least lossy precision: native FP8 (same checkpoint, quantized on
    load, full speed) is tried at each TP before more GPUs; weight-only FP8 (Ampere) after the
    16-bit ladder; 4-bit (another checkpoint) last; pipeline parallelism across nodes after that."""
    ckpt = _checkpoint_precision(m)
    fp8: str | None = None
    four_bit = False
    if o.quantization is None:
        base: Precision = ckpt
        if not pinned:
            if ckpt == "16bit" and gpu.fp8_support != "none":
                fp8 = "interleave" if gpu.fp8_support == "native" else "after"
            four_bit = ckpt in ("16bit", "fp8", "int8")
    elif o.quantization == "none":
        base = "16bit"
    else:
        base = o.quantization if ckpt == "16bit" else ckpt
    tps = [o.tensor_parallel_size] if o.tensor_parallel_size else [t for t in TP_CANDIDATES
                                                                    if t <= per_node and m.num_attention_heads % t == 0]
    pps = [o.pipeline_parallel_size] if o.pipeline_parallel_size else [1]
    layouts: list[Layout] = []
    for pp in pps:
        for tp in tps:
            layouts.append(Layout(tp, pp, base))
            if fp8 == "interleave":
                layouts.append(Layout(tp, pp, "fp8"))
        if fp8 == "after":
            layouts += [Layout(tp, pp, "fp8") for tp in tps]
        if four_bit:
            layouts += [Layout(tp, pp, "awq") for tp in tps]
    if not o.tensor_parallel_size and not o.pipeline_parallel_size:
        # last resort: whole nodes chained by pipeline parallelism, at the checkpoint's precision
        full_tp = max(tps) if tps else 1
        layouts += [Layout(full_tp, n, ckpt) for n in range(2, MAX_NODES + 1) if n <= m.num_layers]
    return layouts


def size(model: ModelEntry, gpu: GpuEntry, options: SizingOptions | None = None,
         gpu_memory_gib: float | None = None) -> SizingPlan:
    """Size ``model`` on ``gpu``. Raises InputError for impossible requests."""
    o = options or SizingOptions()
    v = versions.VllmVersion.parse(o.vllm_version)
    max_len = o.max_model_len or min(model.max_context, 8192)
    _check(model, gpu, o, max_len)
    gpu_mem = gpu_memory_gib or gpu.memory_gib
    per_node = o.gpus_per_node or gpu.gpus_per_node
    pb = profiling.batch(model, gpu, gpu_mem, v, profiling.engine_for(v, o.vllm_engine), max_len,
                         o.max_num_batched_tokens, o.max_num_seqs)
    tokens, seqs = pb.max_num_batched_tokens, pb.max_num_seqs
    kv_b = 1 if o.kv_cache_dtype != "auto" else arch.DTYPE_BYTES[_dtype(model, gpu, o)]

    rejected: list[Rejection] = []
    ckpt = _checkpoint_precision(model)
    if ckpt in ("fp8", "int8") and o.quantization is None and not o.tensor_parallel_size:
        # people size such models "at 16-bit" first: say why a dequantized copy is not the answer
        tp16 = max([t for t in TP_CANDIDATES if t <= per_node and model.num_attention_heads % t == 0] or [1])
        b16 = _budget(model, gpu, gpu_mem, o, pb, Layout(tp16, 1, "16bit"), max_len, kv_b, v)
        why = _why_not(b16, Layout(tp16, 1, "16bit"), gpu_mem, o, max_len) or "it would fit, but serve the published checkpoint"
        rejected.append(Rejection(option=Layout(tp16, 1, "16bit").label(per_node),
                                  reason=f"the checkpoint is {PRECISION_LABEL[ckpt]}; a 16-bit copy: {why}"))
    chosen: tuple[Layout, _Budget, profiling.ProfileBatch] | None = None
    last: tuple[Layout, _Budget, profiling.ProfileBatch] | None = None
    notes: list[str] = []
    pinned = _pinned(o)
    # an expert's first knob when the default profile of many sequences leaves no room
    modest = None
    if o.max_num_seqs is None and o.max_num_batched_tokens is None and pb.max_num_seqs > MODEST_BATCHING[1]:
        tokens_floor = profiling.MULTIMODAL_MIN_BATCHED_TOKENS if model.multimodal else 0  # room for image tokens
        modest = profiling.batch(model, gpu, gpu_mem, v, pb.engine, max_len, max(MODEST_BATCHING[0], tokens_floor),
                                 MODEST_BATCHING[1])
    for layout in _candidates(model, gpu, o, per_node, pinned):
        budget = _budget(model, gpu, gpu_mem, o, pb, layout, max_len, kv_b, v)
        last = (layout, budget, pb)
        reason = _why_not(budget, layout, gpu_mem, o, max_len)
        if reason is None:
            chosen = (layout, budget, pb)
            break
        if modest is not None:
            smaller = _budget(model, gpu, gpu_mem, o, modest, layout, max_len, kv_b, v)
            if _why_not(smaller, layout, gpu_mem, o, max_len) is None:
                chosen = (layout, smaller, modest)
                notes.append(f"--max-num-seqs {modest.max_num_seqs} --max-num-batched-tokens {modest.max_num_batched_tokens} "
                             f"set (vLLM's defaults on smaller GPUs): at this GPU's defaults ({pb.max_num_seqs} / "
                             f"{pb.max_num_batched_tokens}) {reason}")
                break
        rejected.append(Rejection(option=layout.label(per_node), reason=reason))
    layout, budget, used = chosen or last  # nothing fits: report the largest option tried
    if chosen is None and pinned and not _fits(budget, max_len):
        notes += _fix_for_pinned(model, gpu, gpu_mem, o, used, per_node, max_len, kv_b, v, layout)
    plan = _plan(model, gpu, o, v, gpu_mem, per_node, max_len, used.max_num_batched_tokens, used.max_num_seqs, kv_b,
                 layout, budget, fits=chosen is not None or _fits(budget, max_len), rejected=rejected)
    return plan.model_copy(update={"warnings": notes + plan.warnings}) if notes else plan


def _fix_for_pinned(model: ModelEntry, gpu: GpuEntry, gpu_mem: float, o: SizingOptions, pb: profiling.ProfileBatch,
                    per_node: int, max_len: int, kv_b: int, v: versions.VllmVersion, layout: Layout) -> list[str]:
    """The pinned layout does not fit at the checkpoint's precision: does FP8 (or 4-bit) at the same shape?"""
    ckpt = _checkpoint_precision(model)
    options = (["fp8"] if ckpt == "16bit" and gpu.fp8_support != "none" else []) + (["awq"] if ckpt in ("16bit", "fp8") else [])
    for precision in options:
        trial = Layout(layout.tp, layout.pp, precision)
        b = _budget(model, gpu, gpu_mem, o, pb, trial, max_len, kv_b, v)
        if _fits(b, max_len):
            flag = "--quantization fp8" if precision == "fp8" else "a pre-quantized AWQ checkpoint"
            return [f"as pinned, {PRECISION_LABEL[ckpt]} does not fit; {flag} would (TP {layout.tp}: KV cache "
                    f"{b.available / GIB:.1f} GiB/GPU, {b.concurrency:.1f} full-length requests)"]
    return []


def _fits(b: _Budget, max_len: int) -> bool:
    return b.available > 0 and b.len_that_fits >= max_len


def _dtype(m: ModelEntry, gpu: GpuEntry, o: SizingOptions) -> str:
    if o.dtype != "auto":
        return o.dtype
    if not gpu.bf16_support and m.dtype == "bfloat16":
        return "float16"
    return "bfloat16" if m.dtype == "float32" else m.dtype


def _plan(m: ModelEntry, gpu: GpuEntry, o: SizingOptions, v: versions.VllmVersion, gpu_mem: float, per_node: int,
          max_len: int, tokens: int, seqs: int, kv_b: int, layout: Layout, b: _Budget, fits: bool,
          rejected: list[Rejection]) -> SizingPlan:
    split = arch.param_split(m)
    ckpt = _checkpoint_precision(m)
    precision = layout.precision
    warnings: list[str] = []
    needs_ckpt = precision in ("awq", "gptq", "int8") and ckpt != precision
    if needs_ckpt:
        warnings.append(f"{PRECISION_LABEL[precision]} needs a pre-quantized checkpoint of {m.id} "
                        f"(download and serve that repository instead of {m.id})")
    if precision == "fp8" and gpu.fp8_support == "weight-only":
        warnings.append(f"{gpu.key} runs FP8 as weight-only (Marlin W8A16): memory halves, compute stays 16-bit")
    if not profiling.multimodal_modelled(m):
        warnings.append("multimodal model: the vision encoder's profiling peak is not modelled; "
                        "leave headroom or size with the text-only checkpoint")
    if not fits:
        warnings.append(f"does not fit: {rejected[-1].reason if rejected else 'no layout fits'}")
    if o.gpu_memory_utilization > 0.95:
        warnings.append("--gpu-memory-utilization above 0.95 leaves no room for fragmentation; 0.85-0.90 is safer")
    gpus = layout.tp * layout.pp
    quant_flag = precision if (precision == "fp8" and ckpt == "16bit") else None
    bpp = BYTES_PER_PARAM[precision]
    params = split.total
    return SizingPlan(
        model=m.id, gpu=gpu.key, gpu_memory_gib=round(gpu_mem, 2), vllm_version=str(v),
        tensor_parallel_size=layout.tp, pipeline_parallel_size=layout.pp, data_parallel_size=o.data_parallel_size,
        gpus_per_replica=gpus * o.data_parallel_size, nodes_per_replica=math.ceil(gpus / per_node),
        gpus_per_node=per_node, quantization=None if precision == "16bit" else precision,
        quantization_flag=quant_flag, needs_prequantized_checkpoint=needs_ckpt, dtype=_dtype(m, gpu, o),
        kv_cache_dtype=o.kv_cache_dtype, max_model_len=max_len, gpu_memory_utilization=o.gpu_memory_utilization,
        params_b=round(params / 1e9, 2), active_params_b=round(arch.active_params(m) / 1e9, 2),
        rule_of_thumb_gb=round(params / 1e9 * bpp * 1.25, 1),
        weights_gib_total=round(b.weights_total / GIB, 2), weights_gib_per_gpu=round(b.weights_gpu / GIB, 2),
        checkpoint_gib=round(_weights_bytes(m, Layout(1, 1, precision if needs_ckpt or quant_flag is None else ckpt), 1)[0] / GIB, 2),
        activation_gib_per_gpu=round(b.activation / GIB, 2), non_torch_gib_per_gpu=round(b.non_torch / GIB, 2),
        cuda_graph_gib_per_gpu=round(b.cuda_graph / GIB, 2),
        overhead_gib_per_gpu=round((b.activation + b.non_torch + b.cuda_graph) / GIB, 2),
        kv_cache_gib_per_gpu=round(max(b.available, 0) / GIB, 2),
        kv_bytes_per_token=arch.kv_bytes_per_token(m, kv_b),
        kv_bytes_per_token_per_gpu=b.kv_layer_bytes * (b.full_layers + b.window_layers),
        kv_cache_tokens=b.kv_tokens, max_concurrency=round(b.concurrency, 2), max_model_len_that_fits=b.len_that_fits,
        max_num_batched_tokens=tokens, max_num_seqs=seqs, activation_profile_tokens=b.profile_tokens, fits=fits, rejected=rejected, warnings=warnings,
    )


class RuleOfThumb(BaseModel):
    """`--params-b` alone: the rule of thumb, labelled as such."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    schema_version: int = SCHEMA_VERSION
    method: Literal["rule-of-thumb"] = "rule-of-thumb"
    params_b: float
    bytes_per_param: float
    weights_gb: float
    kv_cache_gb: float
    rule_of_thumb_gb: float
    gpu: str | None
    gpus_needed: int | None
    fits: bool | None
    warnings: list[str]


def rule_of_thumb(params_b: float, precision: Precision = "16bit", gpu: GpuEntry | None = None,
                  gpu_memory_gib: float | None = None, utilization: float = 0.90) -> RuleOfThumb:
    """params_B x bytes/param for the weights, +25% for the KV cache (decimal GB)."""
    bpp = BYTES_PER_PARAM[precision]
    weights = params_b * bpp
    total = weights * 1.25
    needed = None
    if gpu is not None:
        usable_gb = (gpu_memory_gib or gpu.memory_gib) * GIB / 1e9 * utilization
        needed = math.ceil(total / usable_gb)
    return RuleOfThumb(params_b=params_b, bytes_per_param=round(bpp, 3), weights_gb=round(weights, 1),
                       kv_cache_gb=round(total - weights, 1), rule_of_thumb_gb=round(total, 1),
                       gpu=gpu.key if gpu else None, gpus_needed=needed, fits=None if needed is None else needed == 1,
                       warnings=["rule of thumb only: give --model or --model-config for vLLM's real budget"])
