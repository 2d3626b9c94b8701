"""--model-config: Hugging Face config.json files of every family we parse, and model folders."""
import json

import pytest

from vllmkube import arch, catalog
from vllmkube.errors import InputError
from vllmkube.hfconfig import entry_from_config, load_model_config

LLAMA = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
         "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
         "max_position_embeddings": 131072, "torch_dtype": "bfloat16", "tie_word_embeddings": False}


def test_llama_config():
    m = entry_from_config(LLAMA, "x/llama")
    assert (m.attention, m.head_dim, m.num_kv_heads) == ("full", 128, 8)
    assert arch.kv_bytes_per_token(m, 2) == 131072
    assert arch.param_split(m).total / 1e9 == pytest.approx(8.03, rel=0.01)


def test_qwen3_moe_config():
    cfg = {"model_type": "qwen3_moe", "num_hidden_layers": 48, "hidden_size": 2048, "intermediate_size": 6144,
           "moe_intermediate_size": 768, "num_experts": 128, "num_experts_per_tok": 8, "num_attention_heads": 32,
           "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "max_position_embeddings": 40960,
           "torch_dtype": "bfloat16"}
    m = entry_from_config(cfg, "Qwen/Qwen3-30B-A3B")
    assert m.is_moe and m.num_experts == 128 and m.moe_intermediate_size == 768
    assert arch.param_split(m).total / 1e9 == pytest.approx(30.5, rel=0.03)
    assert arch.active_params(m) / 1e9 == pytest.approx(3.3, rel=0.1)


def test_deepseek_v3_mla_and_fp8_checkpoint():
    cfg = {"model_type": "deepseek_v3", "num_hidden_layers": 61, "hidden_size": 7168, "intermediate_size": 18432,
           "moe_intermediate_size": 2048, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
           "first_k_dense_replace": 3, "num_attention_heads": 128, "num_key_value_heads": 128, "kv_lora_rank": 512,
           "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128,
           "vocab_size": 129280, "max_position_embeddings": 163840, "torch_dtype": "bfloat16",
           "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}
    m = entry_from_config(cfg, "deepseek-ai/DeepSeek-V3")
    assert m.attention == "mla" and m.quantization == "fp8"
    assert arch.kv_bytes_per_token(m, 2) == 61 * 576 * 2
    assert arch.param_split(m).total / 1e9 == pytest.approx(671, rel=0.02)


def test_gemma3_text_config_nesting_and_sliding_pattern():
    cfg = {"model_type": "gemma3", "torch_dtype": "bfloat16", "vision_config": {"hidden_size": 1152},
           "text_config": {"model_type": "gemma3_text", "num_hidden_layers": 62, "hidden_size": 5376,
                           "intermediate_size": 21504, "num_attention_heads": 32, "num_key_value_heads": 16,
                           "head_dim": 128, "vocab_size": 262208, "max_position_embeddings": 131072,
                           "sliding_window": 1024, "sliding_window_pattern": 6}}
    m = entry_from_config(cfg, "google/gemma-3-27b-it")
    assert m.multimodal and m.attention == "sliding-window"
    assert (m.sliding_window, m.sliding_layers) == (1024, 62 - 62 // 6)


def test_gpt_oss_layer_types_and_mxfp4():
    types = ["sliding_attention", "full_attention"] * 12
    cfg = {"model_type": "gpt_oss", "num_hidden_layers": 24, "hidden_size": 2880, "intermediate_size": 2880,
           "num_local_experts": 32, "num_experts_per_tok": 4, "num_attention_heads": 64, "num_key_value_heads": 8,
           "head_dim": 64, "vocab_size": 201088, "max_position_embeddings": 131072, "sliding_window": 128,
           "layer_types": types, "quantization_config": {"quant_method": "mxfp4"}}
    m = entry_from_config(cfg, "openai/gpt-oss-20b")
    assert (m.attention, m.sliding_layers, m.quantization) == ("sliding-window", 12, "mxfp4")


def test_window_wider_than_context_or_disabled_is_full_attention():
    phi = dict(LLAMA, model_type="phi3", sliding_window=262144, max_position_embeddings=131072)
    qwen = dict(LLAMA, model_type="qwen2", sliding_window=4096, use_sliding_window=False)
    mistral01 = dict(LLAMA, model_type="mistral", sliding_window=4096, max_position_embeddings=32768)
    assert entry_from_config(phi, "p").attention == "full"
    assert entry_from_config(qwen, "q").attention == "full"
    assert entry_from_config(mistral01, "m").attention == "sliding-window"


def test_llama4_chunked_local_attention():
    cfg = dict(LLAMA, model_type="llama4_text", num_hidden_layers=48, hidden_size=5120, num_attention_heads=40,
               intermediate_size=8192, intermediate_size_mlp=16384, num_local_experts=16, num_experts_per_tok=1,
               interleave_moe_layer_step=1, attention_chunk_size=8192, vocab_size=202048)
    m = entry_from_config({"model_type": "llama4", "text_config": cfg}, "meta-llama/Llama-4-Scout-17B-16E")
    assert (m.attention, m.sliding_window, m.sliding_layers) == ("chunked-local", 8192, 36)
    assert m.moe_intermediate_size == 8192 and m.intermediate_size == 16384


def test_model_folder_reads_exact_weight_bytes(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 16060522496}}))
    m = load_model_config(str(tmp_path))
    assert m.weight_bytes == 16060522496
    assert load_model_config(str(tmp_path / "config.json")).weight_bytes == 16060522496


@pytest.mark.parametrize("content,needle", [(None, "does not exist"), ("{not json", "cannot read"),
                                             ("[1, 2]", "not a JSON object"), ('{"model_type": "llama"}', "lacks")])
def test_bad_config_files_are_input_errors(tmp_path, content, needle):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as err:
        load_model_config(str(path))
    assert str(err.value).startswith("--model-config") and needle in str(err.value)


def test_reference_configs_parse_like_the_catalog(shared_dir):
    """Real config.json values of the reference set give the same KV bytes/token as our catalog."""
    data = json.loads((shared_dir / "reference" / "model-configs.json").read_text())
    checked = 0
    for rec in data:
        if rec.get("status") != "complete":
            continue
        cfg = {k: v for k, v in rec.items() if v is not None and not isinstance(v, dict) or k == "quantization_config"}
        try:
            ours = catalog.find_model(rec["model_id"])
        except InputError:
            continue
        parsed = entry_from_config(cfg, rec["model_id"])
        assert arch.kv_bytes_per_token(parsed, 2) == arch.kv_bytes_per_token(ours, 2), rec["model_id"]
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("extra,words", [
    ({"layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention"] * 8}, "linear_attention"),
    ({"full_attention_interval": 4}, "full_attention_interval"),
    ({"hybrid_override_pattern": "M-M-M*-"}, "hybrid_override_pattern"),
    ({"layers_block_type": ["mamba", "attention"] * 16}, "mamba"),
    ({"num_kv_shared_layers": 10}, "reuse other layers' KV cache"),
    ({"global_head_dim": 512}, "differs by layer"),
    ({"attention_k_eq_v": True}, "K = V"),
])
def test_architectures_we_cannot_represent_are_refused_in_one_line(extra, words):
    with pytest.raises(InputError) as err:
        entry_from_config({**LLAMA, "model_type": "hybrid", **extra}, "x/hybrid")
    text = str(err.value)
    assert text.startswith("--model-config: hybrid cannot be sized yet") and words in text and "\n" not in text


def test_rope_scaled_context_is_the_one_vllm_derives():
    yarn = {**LLAMA, "max_position_embeddings": 32768,
            "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}
    assert entry_from_config(yarn, "x/qwen-yarn").max_context == 131072
    llama3 = {**LLAMA, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192}}
    assert entry_from_config(llama3, "x/llama").max_context == 131072  # llama3 keeps max_position_embeddings


def test_multimodal_config_carries_the_vision_encoder_profile():
    cfg = {"model_type": "gemma3", "torch_dtype": "bfloat16", "mm_tokens_per_image": 256,
           "vision_config": {"hidden_size": 1152, "intermediate_size": 4304, "image_size": 896, "patch_size": 14,
                             "num_hidden_layers": 27},
           "text_config": {"model_type": "gemma3_text", "num_hidden_layers": 34, "hidden_size": 2560,
                           "intermediate_size": 10240, "num_attention_heads": 8, "num_key_value_heads": 4,
                           "head_dim": 256, "vocab_size": 262208, "max_position_embeddings": 131072}}
    m = entry_from_config(cfg, "google/gemma-3-4b-it")
    catalogued = catalog.find_model("gemma-3-4b")
    assert (m.vision_tokens_per_item, m.mm_tokens_per_item) == (4096, 256)
    assert m.vision_params_b == pytest.approx(catalogued.vision_params_b, rel=0.05)
    from vllmkube import profiling

    assert profiling.multimodal_modelled(m)


def test_fp8_checkpoint_that_keeps_attention_in_bf16():
    # Meta's FP8 405B (fbgemm_fp8) lists the attention projections in modules_to_not_convert
    quant = {"quant_method": "fbgemm_fp8", "activation_scale_ub": 1200.0,
             "modules_to_not_convert": ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.o_proj", "lm_head"]}
    m = entry_from_config({**LLAMA, "quantization_config": quant}, "x/llama-fp8")
    assert m.quantization == "fp8" and m.bf16_attention
    plain = entry_from_config({**LLAMA, "quantization_config": {"quant_method": "fp8"}}, "x/llama-fp8b")
    assert not plain.bf16_attention
    from vllmkube import sizing

    gpu = catalog.find_gpu("h100")
    opts = sizing.SizingOptions(tensor_parallel_size=1)
    extra = sizing.size(m, gpu, opts).weights_gib_total - sizing.size(plain, gpu, opts).weights_gib_total
    assert extra * 2**30 == pytest.approx(arch.param_split(m).attention, rel=0.01)  # one more byte per attention weight
