"""Read a Hugging Face config.json (or a model folder) into a ModelEntry.

Handles the llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, gemma2/3, phi3,
deepseek_v3, gpt_oss and llama4 families, including ``text_config`` nesting of
multimodal checkpoints. The reading is pure (``entry_from_config``); only
``load_model_config`` touches the file system.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .catalog import ModelEntry
from .errors import InputError

FIELD = "--model-config"
_QUANT_METHODS = {"fp8": "fp8", "fbgemm_fp8": "fp8", "awq": "awq", "gptq": "gptq", "mxfp4": "mxfp4",
                  "modelopt_fp4": "nvfp4", "awq_marlin": "awq", "gptq_marlin": "gptq"}


def _get(cfg: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def _sliding(cfg: dict[str, Any], layers: int, context: int) -> tuple[str, int | None, int]:
    """(attention kind, window, layers using the window)."""
    if cfg.get("attention_chunk_size"):  # llama4: chunked local attention on 3 of every 4 layers
        no_rope = cfg.get("no_rope_layers")
        local = sum(1 for x in no_rope if x) if isinstance(no_rope, list) and no_rope else layers - layers // 4
        return "chunked-local", int(cfg["attention_chunk_size"]), local
    window = cfg.get("sliding_window")
    if not window or cfg.get("use_sliding_window") is False or window >= context:
        return "full", None, 0
    types = cfg.get("layer_types")
    if isinstance(types, list) and types:
        count = sum(1 for t in types if "sliding" in str(t))
        return ("sliding-window", int(window), count) if count else ("full", None, 0)
    mt = cfg.get("model_type", "")
    if mt == "gemma2":
        return "sliding-window", int(window), layers // 2
    if mt.startswith("gemma3"):
        pattern = int(cfg.get("sliding_window_pattern") or 6)
        return "sliding-window", int(window), layers - layers // pattern
    return "sliding-window", int(window), layers  # mistral v0.1 style: every layer windowed


# Layer kinds the sizing engine cannot represent: state/linear-attention layers keep no KV cache
# (or a fixed-size state), so counting them as attention layers sizes the model wrongly.
_STATE_LAYER_WORDS = ("linear", "mamba", "conv", "ssm", "recurrent", "deltanet", "rwkv")
# vLLM derives the context from these rope scalings (factor x the original length); llama3,
# longrope and su keep max_position_embeddings (vllm config: _get_and_verify_max_len).
_ROPE_KEEPS_CONTEXT = {"llama3", "longrope", "su", "default", "mrope"}


def _unsupported(cfg: dict[str, Any]) -> str | None:
    """Why this config's architecture cannot be sized, or None."""
    types = cfg.get("layer_types") or cfg.get("layers_block_type") or []
    if isinstance(types, list):
        odd = sorted({str(t) for t in types if any(w in str(t).lower() for w in _STATE_LAYER_WORDS)})
        if odd:
            return f"it mixes attention with {', '.join(odd)} layers (a fixed-size state, not a KV cache per token)"
    for key in ("hybrid_override_pattern", "full_attention_interval", "attn_layer_period", "linear_attn_config"):
        if cfg.get(key) is not None:
            return f"its {key} interleaves linear-attention or state-space layers with attention"
    if cfg.get("num_kv_shared_layers"):
        return "some layers reuse other layers' KV cache (num_kv_shared_layers)"
    for key in ("global_head_dim", "head_dim_per_layer", "num_key_value_heads_per_layer"):
        if cfg.get(key) is not None:
            return f"its attention geometry differs by layer ({key})"
    if cfg.get("attention_k_eq_v") or cfg.get("k_eq_v"):
        return "its attention stores K and V as one tensor (K = V)"
    return None


def _context(cfg: dict[str, Any]) -> int:
    context = int(_get(cfg, "max_position_embeddings", "max_sequence_length", "seq_length", default=4096))
    rope = cfg.get("rope_scaling")
    if isinstance(rope, dict) and rope.get("factor"):
        kind = str(rope.get("rope_type") or rope.get("type") or "default")
        if kind not in _ROPE_KEEPS_CONTEXT:
            base = rope.get("original_max_position_embeddings") if kind == "yarn" else None
            context = max(context, int((base or context) * float(rope["factor"])))
    return context


def _vision(outer: dict[str, Any]) -> dict[str, Any]:
    """The vision encoder's profile inputs (profiling.py), where the config states them."""
    v = outer.get("vision_config")
    if not isinstance(v, dict) or not v.get("hidden_size"):
        return {}
    hidden, inter = int(v["hidden_size"]), int(v.get("intermediate_size") or 4 * v["hidden_size"])
    image, patch = v.get("image_size"), v.get("patch_size")
    if not (image and patch):
        return {}
    patches = (int(image) // int(patch)) ** 2
    tiles = int(v.get("max_num_tiles") or 1)
    per_item = tiles * (patches + (1 if tiles > 1 else 0))
    layers = int(v.get("num_hidden_layers") or 0) + int(v.get("num_global_layers") or 0)
    out = {
        "vision_hidden_size": hidden, "vision_intermediate_size": inter, "vision_tokens_per_item": per_item,
        "mm_tokens_per_item": int(outer.get("mm_tokens_per_image") or per_item),
        "vision_output_size": int(v["vision_output_dim"]) if v.get("vision_output_dim") else None,
    }
    if layers:
        out["vision_params_b"] = round(layers * (4 * hidden * hidden + 2 * hidden * inter) / 1e9, 3)
    return out


def entry_from_config(cfg: dict[str, Any], model_id: str, weight_bytes: int | None = None) -> ModelEntry:
    outer = cfg
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg["text_config"], "quantization_config": outer.get("quantization_config")}
        cfg.setdefault("torch_dtype", outer.get("torch_dtype") or outer.get("dtype"))
    missing = [k for k in ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size") if cfg.get(k) is None]
    if missing:
        raise InputError(FIELD, f"config.json lacks {', '.join(missing)}", "pass the model's own config.json (or --params-b for a rule of thumb)")
    why = _unsupported(cfg) or (_unsupported(outer) if outer is not cfg else None)
    if why:
        mt = outer.get("model_type") or cfg.get("model_type") or "this model"
        raise InputError(FIELD, f"{mt} cannot be sized yet: {why}",
                         "use --params-b for a rule of thumb, or size from a measured vLLM start-up log")
    layers, hidden, heads = int(cfg["num_hidden_layers"]), int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    context = _context(cfg)
    attention, window, window_layers = _sliding(cfg, layers, context)
    experts = _get(cfg, "num_local_experts", "n_routed_experts", "num_experts")
    per_tok = _get(cfg, "num_experts_per_tok", "moe_topk", "top_k") if experts else None
    quant = cfg.get("quantization_config") or {}
    method = str(quant.get("quant_method", "")).lower()
    if method == "compressed-tensors":
        method = "fp8" if "float" in json.dumps(quant).lower() else "gptq"
    kind = {"mla": cfg.get("kv_lora_rank")}
    dtype = str(_get(cfg, "torch_dtype", "dtype", default="bfloat16")).replace("torch.", "")
    data = {
        "id": model_id,
        "model_type": str(outer.get("model_type") or cfg.get("model_type") or "unknown"),
        "num_layers": layers,
        "hidden_size": hidden,
        "intermediate_size": _get(cfg, "intermediate_size_mlp", "intermediate_size"),
        "num_attention_heads": heads,
        "num_kv_heads": int(_get(cfg, "num_key_value_heads", default=heads)),
        "head_dim": int(_get(cfg, "head_dim", default=hidden // heads)),
        "vocab_size": int(cfg["vocab_size"]),
        "max_context": context,
        "dtype": dtype if dtype in ("bfloat16", "float16", "float32") else "bfloat16",
        "tie_word_embeddings": bool(_get(cfg, "tie_word_embeddings", default=outer.get("tie_word_embeddings", False))),
        "num_experts": experts,
        "experts_per_token": per_tok,
        "num_shared_experts": int(_get(cfg, "n_shared_experts", "num_shared_experts", default=0)) if experts else 0,
        "moe_intermediate_size": _get(cfg, "moe_intermediate_size", "intermediate_size") if experts else None,
        "first_dense_layers": int(_get(cfg, "first_k_dense_replace", default=0)) if experts else 0,
        "moe_every": int(_get(cfg, "interleave_moe_layer_step", "decoder_sparse_step", default=1)) if experts else 1,
        "attention": "mla" if kind["mla"] else attention,
        "sliding_window": window,
        "sliding_layers": window_layers,
        "kv_lora_rank": cfg.get("kv_lora_rank"),
        "qk_rope_head_dim": cfg.get("qk_rope_head_dim"),
        "q_lora_rank": cfg.get("q_lora_rank"),
        "qk_nope_head_dim": cfg.get("qk_nope_head_dim"),
        "v_head_dim": cfg.get("v_head_dim"),
        "quantization": _QUANT_METHODS.get(method),
        "weight_bytes": weight_bytes,
        # modules left unquantized: attention in 16-bit (fbgemm_fp8's modules_to_not_convert, compressed-tensors' ignore)
        "bf16_attention": bool(_QUANT_METHODS.get(method)) and method != "mxfp4" and any(
            "attn" in str(x) for x in (quant.get("modules_to_not_convert") or quant.get("ignore") or [])),
        "multimodal": outer is not cfg or "vision_config" in outer,
        **_vision(outer),
        "sources": (f"config.json of {model_id}",),
    }
    if llama4_dense := cfg.get("intermediate_size_mlp"):
        data["intermediate_size"] = llama4_dense
        data["moe_intermediate_size"] = cfg.get("intermediate_size")
    try:
        return ModelEntry.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise InputError(FIELD, f"config.json is not usable ({where}: {err['msg']})", "check the file is a decoder model's config.json") from None


def load_model_config(path: str) -> ModelEntry:
    """Read config.json, or a folder holding it (plus model.safetensors.index.json for exact weight bytes)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    cfg_path = p / "config.json" if p.is_dir() else p
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(FIELD, f"{cfg_path} does not exist", "point it at a config.json or a model folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(FIELD, f"cannot read {cfg_path}: {exc.__class__.__name__}", "pass a valid JSON config.json") from None
    if not isinstance(cfg, dict):
        raise InputError(FIELD, f"{cfg_path} is not a JSON object", "pass a Hugging Face config.json")
    weight_bytes = None
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            total = json.loads(index.read_text(encoding="utf-8")).get("metadata", {}).get("total_size")
            weight_bytes = int(total) if total else None
        except (OSError, ValueError, AttributeError):
            weight_bytes = None
    name = cfg.get("_name_or_path") or folder.resolve().name or "local-model"
    return entry_from_config(cfg, str(name), weight_bytes)
