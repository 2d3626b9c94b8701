"""What vLLM's start-up memory profiler runs, by version and engine. Pure.

The KV cache gets what the profiling pass leaves (docs/sizing.md). What that pass runs
depends on the release and the engine:

* the batch it profiles: V0 (before 0.8, and on 0.8-0.10 with VLLM_USE_V1=0) profiles a whole
  ``max(max_model_len, 2048)`` tokens unless chunked prefill is on (contexts over 32K; never for
  encoder-decoder models); V1 profiles ``max_num_batched_tokens``, whose server default came from
  the device name on 0.8-0.9 (vllm tests/engine/test_arg_utils.py ``test_defaults_with_usage_context``:
  H100/H200 8192 tokens / 1024 seqs, else 2048 / 256) and from the device memory later
  (releases.default_batching); multimodal models raise it to at least 5120 tokens
  (vllm/config.py ``_MULTIMODAL_MODEL_MAX_NUM_BATCHED_TOKENS``);
* what is alive at the peak: V0 runs the sampler inside the profiled forward pass (fp32 logits and
  a sampler copy on top of the forward's activations); V1 runs the forward, frees it, then a dummy
  sampler pass with top-k/top-p over ``max_num_seqs`` rows (a sort: fp32 values and int64 indices,
  softmax, a scattered copy) that for large vocabularies is the larger of the two;
* multimodal models: the vision encoder also runs on dummy images (V0: one per profiled sequence;
  V1: as many as the encoder budget ``max(max_num_batched_tokens, tokens per image)`` holds, at
  most ``max_num_seqs``), and its activations add to the peak.

Versions before 0.6 are refused by ``versions.VllmVersion.parse`` (their profiler counted memory
differently; see the shared ``vllm-kv-cache-sizing.md`` timeline).
"""
from __future__ import annotations

from typing import Literal, NamedTuple

from . import releases, versions
from .catalog import GpuEntry, ModelEntry
from .errors import InputError

Engine = Literal["v0", "v1"]
EngineChoice = Literal["auto", "v0", "v1"]

V0_CHUNKED_PREFILL_ABOVE = 32768  # V0 turned chunked prefill on by default above this context
V0_MIN_PROFILE_TOKENS = 2048
MULTIMODAL_MIN_BATCHED_TOKENS = 5120
# Activation peak of the forward pass: live tensors per token (residual and normed hidden states,
# q/k/v, the gated MLP's gate/up/act outputs; MoE: the fused-MoE cache over top-k experts) times
# the profiled tokens; ACT_SCALE is the share alive at the peak (fitted once, docs/sizing.md).
ACT_HIDDEN_COPIES = 4
ACT_SCALE = 0.80
# V0: fp32 logits plus one sampler copy, inside the forward pass (bytes per row x vocab entry).
V0_LOGIT_BYTES = 8
# V1 dummy sampler pass: bf16 logits (2) + fp32 copy (4) + sorted values (4) + int64 indices (8)
# + softmax (4) + masks (2) + scattered result (4) alive together (v1/sample/ops/topk_topp_sampler.py).
V1_SAMPLER_BYTES = 28


class ProfileBatch(NamedTuple):
    engine: Engine
    max_num_batched_tokens: int  # the scheduler's token budget
    max_num_seqs: int
    profile_tokens: int  # tokens in the profiled forward pass
    images: int  # dummy multimodal items the encoder profiles


def engine_for(v: versions.VllmVersion, choice: EngineChoice = "auto") -> Engine:
    """The engine a release runs: V1 by default from 0.8, V0 only before 0.11 (removed there)."""
    if choice == "v1" and not versions.uses_v1_engine(v):
        raise InputError("--vllm-engine", f"vLLM {v} has no V1 engine", "use v0, or vLLM 0.8 or newer")
    if choice == "v0" and v.at_least("0.11.0"):
        raise InputError("--vllm-engine", f"vLLM {v} has no V0 engine (removed in 0.11)", "use v1, or vLLM 0.10 or older")
    if choice != "auto":
        return choice
    return "v1" if versions.uses_v1_engine(v) else "v0"


def default_batching(v: versions.VllmVersion, engine: Engine, gpu: GpuEntry, gpu_memory_gib: float) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) the OpenAI server picks when the user sets neither."""
    if engine == "v0":
        return 2048, 256
    if not v.at_least("0.10.0"):  # 0.8-0.9: by device name ("h100"/"h200" in it; GH200's name has it too)
        name = f"{gpu.name} {gpu.key}".lower()
        return (8192, 1024) if ("h100" in name or "h200" in name) else (2048, 256)
    return releases.default_batching(v, gpu_memory_gib, gpu.architecture)


def chunked_prefill(m: ModelEntry, engine: Engine, max_len: int) -> bool:
    if engine == "v1":
        return True
    return max_len > V0_CHUNKED_PREFILL_ABOVE and not is_encoder_decoder(m)


def is_encoder_decoder(m: ModelEntry) -> bool:
    return m.model_type == "mllama"  # cross-attention to image states (Llama-3.2-Vision)


def batch(m: ModelEntry, gpu: GpuEntry, gpu_memory_gib: float, v: versions.VllmVersion, engine: Engine, max_len: int,
          user_tokens: int | None, user_seqs: int | None) -> ProfileBatch:
    tokens_default, seqs_default = default_batching(v, engine, gpu, gpu_memory_gib)
    chunked = chunked_prefill(m, engine, max_len)
    tokens = user_tokens or tokens_default
    if user_tokens is None:
        if not chunked:
            tokens = max(max_len, V0_MIN_PROFILE_TOKENS)
        elif m.multimodal:
            tokens = max(tokens, MULTIMODAL_MIN_BATCHED_TOKENS)
    seqs = min(user_seqs or seqs_default, tokens)
    images = 0
    if m.multimodal and m.mm_tokens_per_item:
        if engine == "v0":
            images = seqs
        else:
            images = min(seqs, max(tokens, m.mm_tokens_per_item) // m.mm_tokens_per_item)
    return ProfileBatch(engine, tokens, seqs, tokens, images)


def forward_bytes(m: ModelEntry, tp: int, tokens: int) -> float:
    """Activation peak of the decoder's profiled forward pass on one GPU."""
    mlp = 3 * (m.intermediate_size or 4 * m.hidden_size) / tp
    if m.is_moe:
        from .arch import moe_layer_count

        mlp = max(mlp if moe_layer_count(m) < m.num_layers else 0,
                  m.experts_per_token * 3 * (m.moe_intermediate_size or m.intermediate_size) / tp)
    qkv = (m.num_attention_heads + 2 * m.num_kv_heads) * m.head_dim / tp
    per_token = ACT_HIDDEN_COPIES * m.hidden_size + mlp + qkv
    return ACT_SCALE * tokens * per_token * 2


def encoder_bytes(m: ModelEntry, images: int) -> float:
    """The vision encoder's activations on ``images`` dummy items plus the embeddings it hands over."""
    if not images or not m.vision_hidden_size:
        return 0.0
    # as in the decoder, plus the output features kept until the projector (mllama: five layers' worth)
    per_patch = (ACT_HIDDEN_COPIES * m.vision_hidden_size + (m.vision_intermediate_size or 4 * m.vision_hidden_size)
                 + (m.vision_output_size or m.vision_hidden_size))
    encoder = ACT_SCALE * images * (m.vision_tokens_per_item or 0) * per_patch * 2
    return encoder + images * (m.mm_tokens_per_item or 0) * m.hidden_size * 2


def activation_bytes(m: ModelEntry, tp: int, b: ProfileBatch) -> float:
    """The torch activation peak vLLM logs for the profiling pass, on one GPU."""
    forward = forward_bytes(m, tp, b.profile_tokens)
    logits = b.max_num_seqs * m.vocab_size
    if b.engine == "v0":
        text = forward + logits * V0_LOGIT_BYTES
    else:  # the sampler pass runs after the forward's activations are freed; the hidden states stay
        text = max(forward, b.profile_tokens * m.hidden_size * 2 + logits * V1_SAMPLER_BYTES)
    return text + encoder_bytes(m, b.images)


def multimodal_modelled(m: ModelEntry) -> bool:
    return not m.multimodal or bool(m.vision_hidden_size and m.vision_tokens_per_item and m.mm_tokens_per_item)
