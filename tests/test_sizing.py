"""The sizing engine: memory arithmetic, vLLM's budget, the layout search and its reasons."""
import pytest

from vllmkube import catalog, sizing
from vllmkube.errors import InputError
from vllmkube.sizing import SizingOptions


def plan(model, gpu, **opts):
    return sizing.size(catalog.find_model(model), catalog.find_gpu(gpu), SizingOptions(**opts))


def test_llama_8b_on_h100_matches_the_h100_startup_log():
    # vllm PR #10511: H100 (79.22 GiB), utilization 0.90 -> 53.29 GiB for the KV cache
    p = plan("meta-llama/Llama-3.1-8B-Instruct", "h100", gpu_memory_utilization=0.9)
    assert p.kv_bytes_per_token == 131072
    assert p.max_model_len == 8192 and p.tensor_parallel_size == 1 and p.fits
    assert p.kv_cache_gib_per_gpu == pytest.approx(53.29, rel=0.05)
    assert p.weights_gib_per_gpu == pytest.approx(14.96, rel=0.01)
    # tokens follow from GiB, bytes per token and 16-token blocks
    assert p.kv_cache_tokens % 16 == 0
    assert p.kv_cache_tokens == pytest.approx(p.kv_cache_gib_per_gpu * 2**30 / 131072, rel=0.001)
    assert p.max_concurrency == pytest.approx(p.kv_cache_tokens / 8192, rel=0.01)


def test_70b_on_a100_80gb_picks_tp4_because_tp2_leaves_no_kv():
    p = plan("llama-3.1-70b", "a100-80gb")
    assert (p.tensor_parallel_size, p.pipeline_parallel_size, p.quantization) == (4, 1, None)
    tried = {r.option: r.reason for r in p.rejected}
    assert "exceed" in tried["16-bit TP1 PP1 (1 node)"]
    assert "under 25% of the weights" in tried["16-bit TP2 PP1 (1 node)"]


def test_deepseek_v3_on_h100_is_refused_at_16bit_and_fp8_with_reasons():
    p = plan("deepseek-v3", "h100")
    reasons = {r.option: r.reason for r in p.rejected}
    assert any(o.startswith("16-bit") and "exceed" in r for o, r in reasons.items())
    assert all("exceed" in reasons[f"FP8 TP{t} PP1 (1 node)"] for t in (1, 2, 4, 8))
    landed_on_4bit = p.quantization in ("awq", "gptq") and p.nodes_per_replica == 1
    landed_on_two_nodes = p.nodes_per_replica == 2
    assert p.fits and (landed_on_4bit or landed_on_two_nodes)
    if landed_on_4bit:
        assert p.needs_prequantized_checkpoint and any("pre-quantized" in w for w in p.warnings)


def test_fp8_tried_before_4bit_and_only_where_the_gpu_can():
    # two L40S per node: 16-bit and FP8 cannot hold 70B on two GPUs, so the ladder ends at 4-bit;
    # native FP8 (Ada) is tried at each size before more GPUs, 4-bit (another checkpoint) last
    p = plan("llama-3.1-70b", "l40s", gpus_per_node=2)
    assert [r.option.split(" (")[0] for r in p.rejected] == [
        "16-bit TP1 PP1", "FP8 TP1 PP1", "16-bit TP2 PP1", "FP8 TP2 PP1", "AWQ 4-bit TP1 PP1"]
    assert (p.quantization, p.tensor_parallel_size) == ("awq", 2) and p.needs_prequantized_checkpoint
    # a T4 runs no FP8 in vLLM: the ladder goes from 16-bit straight to 4-bit
    t4 = plan("llama-3.1-8b", "t4", gpus_per_node=1)
    assert not any(r.option.startswith("FP8") for r in t4.rejected)
    assert t4.rejected[0].option.startswith("16-bit") and t4.quantization == "awq"
    # with the context pinned the answer stays 16-bit: two nodes in a pipeline; pinned to one GPU,
    # it does not fit and names 4-bit as the fix
    pinned = plan("llama-3.1-8b", "t4", max_model_len=4096, gpus_per_node=1)
    assert pinned.quantization is None and pinned.fits and pinned.nodes_per_replica == 2
    one = plan("llama-3.1-8b", "t4", max_model_len=4096, tensor_parallel_size=1, gpus_per_node=1)
    assert one.quantization is None and not one.fits
    assert any("pre-quantized AWQ checkpoint would" in w for w in one.warnings)


def test_pipeline_parallel_halves_layers_and_kv_per_gpu():
    one = plan("llama-3.1-70b", "h100", tensor_parallel_size=4, pipeline_parallel_size=1)
    two = plan("llama-3.1-70b", "h100", tensor_parallel_size=4, pipeline_parallel_size=2)
    assert two.kv_bytes_per_token_per_gpu == one.kv_bytes_per_token_per_gpu // 2
    assert two.weights_gib_per_gpu < 0.6 * one.weights_gib_per_gpu
    assert two.gpus_per_replica == 8


def test_tensor_parallel_beyond_kv_heads_keeps_one_head_per_gpu():
    # Qwen2.5-7B has 4 KV heads: at TP 4 one head per GPU; per-GPU KV bytes cannot drop below that
    m = catalog.find_model("qwen2.5-7b")
    assert m.num_kv_heads == 4
    tp2 = plan("qwen2.5-7b", "h100", tensor_parallel_size=2)
    tp4 = plan("qwen2.5-7b", "h100", tensor_parallel_size=4)
    assert tp4.kv_bytes_per_token_per_gpu == m.num_layers * 2 * 1 * m.head_dim * 2
    assert tp2.kv_bytes_per_token_per_gpu == 2 * tp4.kv_bytes_per_token_per_gpu


def test_fp8_kv_cache_halves_bytes_per_token():
    auto = plan("llama-3.1-8b", "h100")
    fp8 = plan("llama-3.1-8b", "h100", kv_cache_dtype="fp8")
    assert fp8.kv_bytes_per_token * 2 == auto.kv_bytes_per_token
    assert fp8.kv_cache_tokens == pytest.approx(2 * auto.kv_cache_tokens, rel=0.01)


def test_sliding_window_layers_keep_only_their_window():
    # gemma-3: 5 of 6 layers use a 1024-token window; the hybrid manager (vLLM >= 0.10) keeps only
    # window + batched tokens for them, older versions keep the whole context in every layer
    m = catalog.find_model("gemma-3-27b")
    assert m.attention == "sliding-window" and m.sliding_window == 1024
    new = plan("gemma-3-27b", "h200", max_model_len=32768, vllm_version="0.33.0")
    old = plan("gemma-3-27b", "h200", max_model_len=32768, vllm_version="0.9.0")
    assert new.max_concurrency > 2 * old.max_concurrency
    assert new.kv_bytes_per_token == old.kv_bytes_per_token  # the whole-model figure is unchanged


def test_chunked_local_attention_llama4():
    m = catalog.find_model("llama-4-scout")
    assert m.attention == "chunked-local"
    p = plan("llama-4-scout", "h100", max_model_len=65536)
    full = plan("llama-4-scout", "h100", max_model_len=65536, vllm_version="0.9.0")
    assert p.max_concurrency > 2 * full.max_concurrency  # 3 of 4 layers keep only the 8192-token chunk


def test_mla_kv_is_replicated_across_tp():
    p = plan("deepseek-v3", "h200", quantization="fp8", tensor_parallel_size=8)
    assert p.kv_bytes_per_token_per_gpu == 61 * 576 * 2


def test_moe_keeps_all_experts_resident():
    m = catalog.find_model("mixtral-8x7b")
    p = plan("mixtral-8x7b", "h100", tensor_parallel_size=2)
    assert p.params_b == pytest.approx(46.7, rel=0.02) and p.active_params_b < 14
    assert p.weights_gib_per_gpu == pytest.approx(p.params_b * 1e9 * 2 / 2**30 / 2, rel=0.02)
    assert m.is_moe


def test_awq_weights_are_about_a_quarter_plus_16bit_embeddings():
    p16 = plan("qwen2.5-7b", "rtx-4090", quantization="none", tensor_parallel_size=1, max_model_len=4096)
    awq = plan("qwen2.5-7b-awq", "rtx-4090", max_model_len=4096)
    assert awq.quantization == "awq" and not awq.needs_prequantized_checkpoint
    assert 0.3 < awq.weights_gib_per_gpu / p16.weights_gib_per_gpu < 0.4  # embeddings stay 16-bit


def test_cuda_graph_estimate_depends_on_the_version():
    new = plan("llama-3.1-8b", "h100", vllm_version="0.33.0")
    old = plan("llama-3.1-8b", "h100", vllm_version="0.20.0")
    eager = plan("llama-3.1-8b", "h100", vllm_version="0.33.0", enforce_eager=True)
    assert new.cuda_graph_gib_per_gpu > 0 and old.cuda_graph_gib_per_gpu == 0 and eager.cuda_graph_gib_per_gpu == 0


def test_does_not_fit_names_the_largest_max_model_len():
    # the weights fit a 4090, but one 65,536-token request does not: vLLM refuses to start and
    # names the largest max_model_len that would fit (for full attention: the KV tokens it has)
    p = plan("llama-3.1-8b", "rtx-4090", tensor_parallel_size=1, quantization="none", max_model_len=65536)
    assert not p.fits and p.kv_cache_tokens > 0
    assert p.max_model_len_that_fits == p.kv_cache_tokens < 65536
    assert any(f"largest max_model_len that fits: {p.max_model_len_that_fits}" in w for w in p.warnings)
    # weights alone over the budget: nothing fits at all
    t4 = plan("llama-3.1-8b", "t4", tensor_parallel_size=1, quantization="none", dtype="float16")
    assert not t4.fits and t4.kv_cache_tokens == 0 and t4.max_model_len_that_fits == 0
    assert any("exceed" in w for w in t4.warnings)


def test_min_concurrency_pushes_to_more_gpus():
    one = plan("llama-3.1-8b", "l40s")
    many = plan("llama-3.1-8b", "l40s", min_concurrency=one.max_concurrency * 1.5)
    assert many.tensor_parallel_size > one.tensor_parallel_size
    assert any("full-length requests" in r.reason for r in many.rejected)


def test_rule_of_thumb_is_params_times_bytes_plus_25_percent():
    r = sizing.rule_of_thumb(70, "16bit")
    assert (r.weights_gb, r.rule_of_thumb_gb) == (140.0, 175.0)
    assert plan("llama-3.1-8b", "h100").rule_of_thumb_gb == pytest.approx(8.03 * 2 * 1.25, abs=0.1)


@pytest.mark.parametrize("opts,field", [
    ({"max_model_len": 200000}, "--max-model-len"),
    ({"tensor_parallel_size": 3}, "--tensor-parallel-size"),
    ({"quantization": "fp8"}, "--quantization"),  # T4 has no FP8 in vLLM
    ({"dtype": "bfloat16"}, "--dtype"),  # nor bfloat16
])
def test_impossible_requests_are_input_errors(opts, field):
    with pytest.raises(InputError) as err:
        plan("llama-3.1-8b", "t4", **opts)
    assert str(err.value).startswith(field)


def test_same_input_same_plan():
    assert plan("qwen3-32b", "h100").model_dump_json() == plan("qwen3-32b", "h100").model_dump_json()


# ---------------------------------------------------------------- the layout an expert would run
def test_layout_rule_default_is_eight_requests_or_a_quarter_of_the_weights():
    assert sizing.DEFAULT_MIN_CONCURRENCY == 8 and sizing.KV_SHARE_OF_WEIGHTS == 0.25
    assert SizingOptions().min_concurrency is None  # documented default, not a hidden 1


def test_llama_8b_on_one_l4_is_fp8_not_two_gpus():
    # 16-bit fits one L4 but leaves ~3 requests of 8k: an expert quantizes to FP8 on load (Ada runs
    # it natively) before buying a second GPU
    p = plan("llama-3.1-8b", "l4")
    assert (p.tensor_parallel_size, p.quantization, p.quantization_flag) == (1, "fp8", "fp8")
    assert p.max_concurrency >= sizing.DEFAULT_MIN_CONCURRENCY
    sixteen = {r.option: r.reason for r in p.rejected}["16-bit TP1 PP1 (1 node)"]
    assert "fewer than 8" in sixteen and "under 25% of the weights" in sixteen
    assert p.rule_of_thumb_gb == pytest.approx(8.03 * 1 * 1.25, abs=0.1)  # the rule of thumb stays visible


def test_gpt_oss_120b_runs_on_one_h100_with_vllms_modest_batch():
    # built for one 80 GB GPU, but vLLM refused at its H100 defaults (vllm #23278): 1024 sequences
    # and 8192 tokens make a 5.4 GiB profiling peak. At 256 / 2048 (vLLM's defaults elsewhere)
    # it starts with room for more than 8 requests of 8k
    p = plan("gpt-oss-120b", "h100")
    assert (p.tensor_parallel_size, p.quantization, p.fits) == (1, "mxfp4", True)
    assert (p.max_num_seqs, p.max_num_batched_tokens) == sizing.MODEST_BATCHING[::-1]
    assert p.max_concurrency >= sizing.DEFAULT_MIN_CONCURRENCY
    assert any(w.startswith("--max-num-seqs 256 --max-num-batched-tokens 2048") and "exceed" in w for w in p.warnings)
    # the user's own batch is respected: at 1024 sequences one H100 is not enough
    pinned = plan("gpt-oss-120b", "h100", max_num_seqs=1024)
    assert pinned.tensor_parallel_size == 2


def test_70b_on_a100_80gb_tp2_leaves_about_three_8k_requests():
    p = plan("llama-3.1-70b", "a100-80gb")
    assert (p.tensor_parallel_size, p.quantization) == (4, None)
    tp2 = plan("llama-3.1-70b", "a100-80gb", tensor_parallel_size=2)
    assert tp2.fits and 2 <= tp2.max_concurrency < 4
    # weight-only FP8 on Ampere is a memory fallback after the 16-bit ladder, not before TP 4
    assert not any(r.option.startswith("FP8") for r in p.rejected)


def test_pinned_tensor_parallel_is_answered_at_16_bit_and_names_fp8_as_the_fix():
    p = plan("llama-3.1-70b", "h100", tensor_parallel_size=2)
    assert p.quantization is None and p.tensor_parallel_size == 2 and not p.fits
    assert p.max_model_len_that_fits < 8192  # vLLM's numbers for the pinned layout
    fix = next(w for w in p.warnings if w.startswith("as pinned"))
    assert "--quantization fp8 would" in fix
    fp8 = plan("llama-3.1-70b", "h100", tensor_parallel_size=2, quantization="fp8")
    assert fp8.fits and f"{fp8.kv_cache_gib_per_gpu:.1f} GiB" in fix


def test_pinned_max_model_len_keeps_the_precision_and_walks_tensor_parallelism():
    p = plan("llama-3.1-8b", "l4", max_model_len=8192)
    assert p.quantization is None  # no silent switch to FP8
    assert p.tensor_parallel_size == 2 and not any(r.option.startswith("FP8") for r in p.rejected)


# ---------------------------------------------------------------- what the profiler runs, by version
@pytest.mark.parametrize("version,gpu,expected", [
    ("0.8.5", "h100", (8192, 1024)),  # V1, device-name rule: "h100" in the name
    ("0.9.2", "h200", (8192, 1024)),
    ("0.9.2", "gh200", (8192, 1024)),  # "NVIDIA GH200 ..." contains "h200"
    ("0.9.2", "a100-80gb", (2048, 256)),
    ("0.9.2", "b200", (2048, 256)),  # not named H100/H200: the small default, whatever the memory
    ("0.12.0", "b200", (8192, 1024)),  # later: by device memory (16384 for >= 160 GiB only from 0.28: the wheels' data)
    ("0.28.0", "b200", (16384, 1024)),
    ("0.12.0", "h100", (8192, 1024)),
    ("0.12.0", "a100-80gb", (2048, 256)),  # >= 70 GiB but an A100
    ("0.7.3", "h100", (8192, 256)),  # V0 without chunked prefill profiles the whole 8192 context
])
def test_profiled_batch_follows_the_version_table(version, gpu, expected):
    p = plan("llama-3.1-8b", gpu, vllm_version=version, tensor_parallel_size=1, quantization="none")
    assert (p.max_num_batched_tokens, p.max_num_seqs) == expected


def test_v0_profiles_at_least_2048_tokens_and_whole_contexts_without_chunked_prefill():
    short = plan("llama-3.1-8b", "h100", vllm_version="0.7.3", max_model_len=1024, tensor_parallel_size=1)
    assert short.activation_profile_tokens == 2048
    long = plan("llama-3.1-8b", "h100", vllm_version="0.7.3", max_model_len=65536, tensor_parallel_size=1)
    assert long.activation_profile_tokens == 2048  # chunked prefill on above 32K
    # the V0 engine still runs on 0.8-0.10 (VLLM_USE_V1=0), with V0's profile
    v0 = plan("llama-3.1-8b", "h100", vllm_version="0.9.2", vllm_engine="v0", max_model_len=16384, tensor_parallel_size=1)
    v1 = plan("llama-3.1-8b", "h100", vllm_version="0.9.2", max_model_len=16384, tensor_parallel_size=1)
    assert v0.activation_profile_tokens == 16384 and v1.activation_profile_tokens == 8192
    assert (v0.max_num_seqs, v1.max_num_seqs) == (256, 1024)


@pytest.mark.parametrize("opts,field", [
    ({"vllm_version": "0.5.4"}, "--vllm-version"),  # older than the profiler we model
    ({"vllm_version": "0.11.0", "vllm_engine": "v0"}, "--vllm-engine"),  # V0 was removed in 0.11
    ({"vllm_version": "0.7.3", "vllm_engine": "v1"}, "--vllm-engine"),
])
def test_versions_and_engines_we_do_not_model_are_refused(opts, field):
    with pytest.raises(InputError) as err:
        plan("llama-3.1-8b", "h100", **opts)
    assert str(err.value).startswith(field)


def test_multimodal_models_profile_at_least_5120_tokens_and_the_encoder():
    p = plan("gemma-3-4b", "l40s", vllm_version="0.12.0")
    assert p.max_num_batched_tokens == 5120  # raised from 2048 for the image tokens
    text = sizing.size(catalog.find_model("gemma-3-4b").model_copy(update={"multimodal": False}),
                       catalog.find_gpu("l40s"), SizingOptions(vllm_version="0.12.0"))
    assert text.max_num_batched_tokens == 2048
    assert p.activation_gib_per_gpu > text.activation_gib_per_gpu + 1  # 20 images through SigLIP
    assert not any("not modelled" in w for w in p.warnings)


def test_modest_batch_keeps_room_for_image_tokens():
    # gemma-3-27b on one H100: 1024 sequences x a 262k vocabulary leave too little KV cache; the
    # smaller batch keeps the multimodal floor of 5120 tokens
    p = plan("gemma-3-27b", "h100")
    assert p.tensor_parallel_size == 1 and (p.max_num_batched_tokens, p.max_num_seqs) == (5120, 256)


def test_metas_fp8_405b_loads_attention_at_16_bit():
    p = plan("meta-llama/Llama-3.1-405B-Instruct-FP8", "h100", tensor_parallel_size=8)
    # MLPs 330B x 1 B + attention 72B x 2 B + embeddings 4.2B x 2 B: about 449 GiB, not 382
    assert p.weights_gib_total == pytest.approx(449, rel=0.02)
    assert p.fits and p.quantization == "fp8"
