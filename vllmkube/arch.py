"""Architecture arithmetic: parameter counts and KV bytes per token. Pure functions.

Parameter counts follow the usual decoder layout (q/k/v/o projections, gated MLP
with three matrices, experts for MoE layers, MLA's low-rank projections); norms and
biases are ignored (< 0.1 %). When the catalog gives a sourced total, the computed
parts are scaled to it so their split (embeddings / attention / experts) is kept.
"""
from __future__ import annotations

from typing import NamedTuple

from .catalog import ModelEntry

DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}


class ParamSplit(NamedTuple):
    """Parameters by role; totals are whole-model counts (not per GPU)."""

    embedding: float  # input embedding
    lm_head: float  # 0 when tied to the embedding
    attention: float  # all layers
    dense_mlp: float  # MLPs of dense layers, shared experts, routers
    experts: float  # routed experts of all MoE layers
    vision: float = 0.0  # vision encoder and projector (multimodal checkpoints)

    @property
    def total(self) -> float:
        return self.embedding + self.lm_head + self.attention + self.dense_mlp + self.experts + self.vision

    @property
    def body(self) -> float:
        return self.attention + self.dense_mlp + self.experts

    def scaled_to(self, total: float) -> "ParamSplit":
        """Scale the layer parts so the total matches a sourced count."""
        fixed = self.embedding + self.lm_head + self.vision
        if self.body <= 0 or total <= fixed:
            return self
        k = (total - fixed) / self.body
        return ParamSplit(self.embedding, self.lm_head, self.attention * k, self.dense_mlp * k, self.experts * k,
                          self.vision)


def moe_layer_count(m: ModelEntry) -> int:
    if not m.is_moe:
        return 0
    return sum(1 for i in range(m.first_dense_layers, m.num_layers) if (i - m.first_dense_layers + 1) % m.moe_every == 0)


def attention_params_per_layer(m: ModelEntry) -> float:
    h, heads = m.hidden_size, m.num_attention_heads
    if m.attention == "mla":
        rope, nope = m.qk_rope_head_dim or 0, m.qk_nope_head_dim or m.head_dim
        v_dim = m.v_head_dim or m.head_dim
        q = h * m.q_lora_rank + m.q_lora_rank * heads * (nope + rope) if m.q_lora_rank else h * heads * (nope + rope)
        kv = h * (m.kv_lora_rank + rope) + m.kv_lora_rank * heads * (nope + v_dim)
        return q + kv + heads * v_dim * h
    q_dim = heads * m.head_dim
    kv_dim = m.num_kv_heads * m.head_dim
    return h * q_dim + 2 * h * kv_dim + q_dim * h


def param_split(m: ModelEntry) -> ParamSplit:
    h = m.hidden_size
    embedding = m.vocab_size * h
    lm_head = 0 if m.tie_word_embeddings else m.vocab_size * h
    attention = attention_params_per_layer(m) * m.num_layers
    moe_layers = moe_layer_count(m)
    dense_layers = m.num_layers - moe_layers
    dense_mlp = 3 * h * (m.intermediate_size or 4 * h) * dense_layers
    experts = 0.0
    if moe_layers:
        expert_size = 3 * h * (m.moe_intermediate_size or m.intermediate_size or 4 * h)
        experts = m.num_experts * expert_size * moe_layers
        dense_mlp += (m.num_shared_experts * expert_size + h * m.num_experts) * moe_layers
    split = ParamSplit(embedding, lm_head, attention, dense_mlp, experts, (m.vision_params_b or 0) * 1e9)
    if m.params_b:
        split = split.scaled_to(m.params_b * 1e9)
    return split


def active_params(m: ModelEntry) -> float:
    """Parameters touched per token (MoE: only the routed experts' share)."""
    s = param_split(m)
    body = s.total - s.vision  # the encoder runs once per image, not per token
    if not m.is_moe:
        return body
    return body - s.experts + s.experts * m.experts_per_token / m.num_experts


def kv_layer_bytes_per_token(m: ModelEntry, tp: int, kv_dtype_bytes: int) -> int:
    """KV bytes one layer stores per token on one GPU."""
    if m.attention == "mla":
        # one latent "head" of kv_lora_rank + rope dims, no K/V pair, replicated on every TP rank
        return (m.kv_lora_rank + m.qk_rope_head_dim) * kv_dtype_bytes
    kv_heads_per_gpu = max(1, m.num_kv_heads // tp)
    return 2 * kv_heads_per_gpu * m.head_dim * kv_dtype_bytes


def kv_bytes_per_token(m: ModelEntry, kv_dtype_bytes: int) -> int:
    """Whole-model KV bytes per token (all layers, all KV heads, one copy)."""
    return kv_layer_bytes_per_token(m, 1, kv_dtype_bytes) * m.num_layers
