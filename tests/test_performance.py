"""The performance model: physics of one step, and the shared benchmark runs within 25%."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from vllmkube import catalog, performance, scheduler, sizing

REPO = Path(__file__).resolve().parent.parent
GOAL = 0.25


def _calibration():
    spec = importlib.util.spec_from_file_location("perf_calibration", REPO / "benchmarks" / "calibration.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


def _engine(model="llama-3.1-8b", gpu="h100", **opts):
    m, g = catalog.find_model(model), catalog.find_gpu(gpu)
    plan = sizing.size(m, g, sizing.SizingOptions(**opts))
    return performance.engine_for(m, g, plan)


def test_every_shared_run_within_25_percent_on_tokens_per_s_and_median_itl(shared_dir):
    cal = _calibration()
    records = json.loads((shared_dir / "reference" / "vllm-benchmark-calibration.json").read_text())
    frontend = cal.frontend_bound(records)
    results = cal.results(records)
    report = cal.table(results)
    checked = 0
    for r in results:
        if r.id in frontend:
            _assert_frontend_bound(r, next(x for x in records if x["id"] == r.id))
            continue
        if r.tok_s_error is not None:
            assert abs(r.tok_s_error) <= GOAL, f"{r.id} {r.what}: output tok/s {r.tok_s_error:+.0%}\n{report}"
            checked += 1
        if r.itl_error is not None and r.id not in frontend:
            assert abs(r.itl_error) <= GOAL, f"{r.id} {r.what}: median ITL {r.itl_error:+.0%}\n{report}"
            checked += 1
    assert checked >= 20, report
    # the one run left out is the API-server-bound micro benchmark
    assert frontend == {"gpustack-qwen3-32b-h100-L345"}


def _assert_frontend_bound(r, rec):
    """1000 requests of 4 output tokens at once: the API server's per-request cost sets the rate.
    It is 5-33 ms in the shared runs (tokenizer, chat template); we model the cheapest, so the
    prediction is an upper bound that the front-end cap decides."""
    measured_s = rec["duration_s"] / rec["num_completed"] if rec.get("duration_s") else 1 / rec["req_per_s"]
    assert measured_s >= 0.9 * performance.FRONTEND_S_PER_REQUEST, r.id
    per_request = rec["total_output_tokens"] / rec["num_completed"]
    assert r.predicted_tok_s <= per_request / performance.FRONTEND_S_PER_REQUEST * 1.01, r.id
    assert r.predicted_tok_s >= 0.7 * r.measured_tok_s, r.id


def test_replay_is_deterministic_and_counts_every_token():
    e = _engine()
    a = scheduler.replay(e, 1000, 200, 50, 8)
    b = scheduler.replay(e, 1000, 200, 50, 8)
    assert a == b
    assert a.output_tokens_per_s * a.duration_s == pytest.approx(50 * 200)
    assert a.peak_running == 8


def test_burst_beyond_the_kv_cache_preempts_and_still_finishes():
    e = _engine(max_model_len=8192)
    e = performance.Engine(e.costs, e.hw, e.max_num_batched_tokens, e.max_num_seqs, kv_tokens=20000)
    r = scheduler.replay(e, 1500, 1500, 40)
    assert r.output_tokens_per_s * r.duration_s == pytest.approx(40 * 1500)
    assert r.peak_running <= 20000 // 1500 + 1
    assert r.preemptions > 0


def test_decode_is_memory_bound_and_grows_with_batch_and_context():
    e = _engine()
    one = e.step_s(1, 1000)
    assert e.step_s(32, 32 * 1000) > one
    assert e.step_s(1, 100_000) > e.step_s(1, 1000)
    # one token of an 8B model reads ~15 GB: the step is ~ bytes / effective bandwidth
    read_s = e.costs.dense_bytes / e.hw.bandwidth_bps
    assert read_s < one < read_s * 1.2


def test_prefill_is_compute_bound_and_linear_in_tokens():
    e = _engine()
    t4k = e.step_s(0, 0, prefill=4096, prefill_ctx=4096, prefill_attn=4096 * 2048, sampled=1, seqs=1)
    t8k = e.step_s(0, 0, prefill=8192, prefill_ctx=8192, prefill_attn=8192 * 4096, sampled=1, seqs=1)
    assert 1.9 < t8k / t4k < 2.3
    flops = 2 * 7.5e9 * 8192
    assert t8k > flops / e.hw.matmul_flops


def test_fp8_weights_speed_up_decode_and_prefill_on_hopper():
    bf16 = _engine(quantization="none", tensor_parallel_size=1)
    fp8 = _engine(quantization="fp8", tensor_parallel_size=1)
    assert fp8.step_s(1, 1000) < 0.65 * bf16.step_s(1, 1000)
    assert fp8.hw.matmul_flops > 1.5 * bf16.hw.matmul_flops


def test_weight_only_fp8_saves_memory_time_but_not_compute():
    bf16 = _engine(gpu="a100-80gb", quantization="none", tensor_parallel_size=1)
    fp8 = _engine(gpu="a100-80gb", quantization="fp8", tensor_parallel_size=1)
    assert fp8.step_s(1, 1000) < 0.65 * bf16.step_s(1, 1000)
    assert fp8.hw.matmul_flops == bf16.hw.matmul_flops


def test_tensor_parallel_splits_weights_and_pays_all_reduces():
    tp1 = _engine("llama-3.1-70b", "h100", tensor_parallel_size=4, quantization="fp8")
    tp2 = _engine("llama-3.1-70b", "h100", tensor_parallel_size=8, quantization="fp8")
    assert tp2.costs.dense_bytes == pytest.approx(tp1.costs.dense_bytes / 2, rel=0.02)
    # twice the GPUs, less than twice as fast: the all-reduces do not shrink
    assert tp1.step_s(1, 1000) / 2 < tp2.step_s(1, 1000) < tp1.step_s(1, 1000)


def test_moe_reads_only_touched_experts_and_computes_active_parameters():
    e = _engine("qwen3-30b-a3b", "h100", tensor_parallel_size=1)
    c = e.costs
    assert c.expert_bytes > 5 * c.dense_bytes  # 128 experts dominate the weights
    assert e.step_s(1, 1000) < 0.3 * e.step_s(256, 256 * 1000)
    active = catalog.find_model("qwen3-30b-a3b")
    assert c.gemm_flops_per_token < 2 * 4e9  # ~3.3B active parameters, not 30B
    assert active.num_experts == 128


def test_uncalibrated_family_says_so():
    hw = performance.hardware(catalog.find_gpu("l40s"), None)
    assert any("borrowed from Hopper" in n for n in hw.notes)
    assert not performance.hardware(catalog.find_gpu("h100"), None).notes


def test_steady_state_p99_itl_is_a_chunk_step_once_prompts_mix_in():
    e = _engine()
    quiet = performance.steady_state(e, 1, 2000, 1000)
    busy = performance.steady_state(e, 64, 2000, 1000)
    assert quiet.itl_p99_ms == quiet.itl_ms
    assert busy.itl_p99_ms > 2 * busy.itl_ms
    assert busy.output_tokens_per_s > 10 * quiet.output_tokens_per_s


def test_front_end_caps_the_request_rate():
    e = _engine("qwen3-0.6b", "h100")
    p = performance.steady_state(e, 512, 64, 8)
    assert p.requests_per_s == pytest.approx(1 / performance.FRONTEND_S_PER_REQUEST)


# ---------------------------------------------------------------- A100 / H200 runs (mostly burst)
BURST_GOAL = 0.50
# Runs outside BURST_GOAL on output tok/s or median ITL, each with the reason it is not modelled.
# Asserted to be outside: a run that comes within the goal must leave this list.
A100_H200_EXCEPTIONS = {
    "gpustack-deepseek-v3.2-h200-L902": "DeepSeek-V3.2 sparse attention (DSA indexer, top-2048) is not modelled",
    "gpustack-deepseek-v3.2-h200-L928": "DeepSeek-V3.2 sparse attention (DSA indexer, top-2048) is not modelled",
    "gpustack-deepseek-r1-h200-L304": "32k-token prompts in a burst on TP8 MLA: prefill attention is slower than modelled",
    "gpustack-gpt-oss-120b-a100-L326": "gpt-oss burst of 32k-token prompts: sliding-window (128) prefill is cheaper than modelled",
    "gpustack-gpt-oss-120b-a100-L460": "gpt-oss burst of 32k-token prompts: sliding-window (128) prefill is cheaper than modelled",
    "gpustack-gpt-oss-20b-a100-L272": "gpt-oss burst of 32k-token prompts: sliding-window (128) prefill is cheaper than modelled",
    "gpustack-gpt-oss-20b-a100-L380": "gpt-oss burst of 32k-token prompts: sliding-window (128) prefill is cheaper than modelled",
    "gpustack-gpt-oss-120b-a100-L351": "gpt-oss-120b burst on one A100 (KV-limited): the median ITL is a preemption-mixed step",
    "gpustack-gpt-oss-120b-a100-L376": "gpt-oss-120b burst on one A100 (KV-limited): the median ITL is a preemption-mixed step",
    "gpustack-gpt-oss-120b-a100-L485": "gpt-oss-120b burst on one A100 (KV-limited): the median ITL is a preemption-mixed step",
    "gpustack-gpt-oss-120b-a100-L510": "gpt-oss-120b burst on one A100 (KV-limited): the median ITL is a preemption-mixed step",
    "gpustack-glm-4.x-a100-L78": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled",
    "gpustack-glm-4.x-a100-L125": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled",
    "gpustack-glm-4.x-a100-L160": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled",
    "gpustack-glm-4.x-a100-L185": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled",
    "gpustack-glm-4.x-a100-L210": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled",
    "gpustack-qwen3-235b-a22b-a100-L470": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled at long prompts",
    "gpustack-qwen3-235b-a22b-a100-L495": "FP8 MoE on Ampere runs as Marlin W8A16 grouped GEMMs, slower than modelled at long prompts",
}


def test_every_a100_h200_run_within_50_percent_or_a_named_exception(shared_dir):
    cal = _calibration()
    records = json.loads((shared_dir / "reference" / "vllm-benchmark-calibration-a100-h200.json").read_text())
    frontend = cal.frontend_bound(records)
    by_id = {r["id"]: r for r in records}
    results = cal.results(records)
    report = cal.table(results)
    assert {r.id for r in results} == set(by_id), "every record is replayed"
    for r in results:
        errors = [abs(r.tok_s_error)] + ([] if r.id in frontend else [abs(r.itl_error)])
        worst = max(errors)
        if r.id in frontend:
            _assert_frontend_bound(r, by_id[r.id])
        elif r.id in A100_H200_EXCEPTIONS:
            assert worst > BURST_GOAL, f"{r.id} is within {BURST_GOAL:.0%} now: drop it from the exceptions\n{report}"
        else:
            assert worst <= BURST_GOAL, f"{r.id}: {worst:+.0%}\n{report}"
    assert len(A100_H200_EXCEPTIONS) <= len(results) // 4


def test_closed_loop_moe_runs_pay_a_tensor_parallel_decode_floor():
    # DeepSeek-R1 on 8 H200 at 4 requests decodes at ~19 ms (GPUStack), not at the ~6 ms its
    # weight reads alone would take: 61 layers x 2 all-reduces over 8 GPUs
    e = _engine("deepseek-r1", "h200", tensor_parallel_size=8)
    touched = 1 - (1 - 8 / 256) ** 4  # experts four tokens route to
    reads = (e.costs.dense_bytes + e.costs.expert_bytes * touched) / e.hw.bandwidth_bps
    assert e.step_s(4, 4 * 500) > 2 * reads
    one = _engine("llama-3.1-8b", "h100", tensor_parallel_size=1)
    assert one.step_s(4, 4 * 500) < 1.3 * (one.costs.dense_bytes / one.hw.bandwidth_bps)


def test_request_rate_replay_queues_when_the_rate_exceeds_capacity():
    e = _engine()
    slow = scheduler.replay(e, 1000, 200, 200, request_rate=2.0)
    assert slow.requests_per_s == pytest.approx(2.0, rel=0.15)  # keeps up: finishes as they arrive
    assert slow.median_ttft_ms < 150  # no queue
    burst = scheduler.replay(e, 1000, 200, 200)
    fast = scheduler.replay(e, 1000, 200, 200, request_rate=1000.0)
    assert fast.median_ttft_ms > 5 * slow.median_ttft_ms  # TTFT includes the queueing
    assert fast.output_tokens_per_s == pytest.approx(burst.output_tokens_per_s, rel=0.05)
    assert scheduler.replay(e, 1000, 200, 200, request_rate=2.0) == slow  # seeded: deterministic


def test_size_replays_a_benchmark_shape_at_the_servers_settings(capsys):
    from clirun import run

    out = run(capsys, "size", "--model", "qwen3-8b", "--gpu", "h100", "--num-prompts", "100", "--request-rate", "inf",
              "--concurrency", "8", "--input-len", "233", "--output-len", "221", "-o", "json")
    assert out.code == 0, out.err
    b = json.loads(out.out)["benchmark"]
    assert (b["max_num_seqs"], b["max_num_batched_tokens"]) == (1024, 8192)  # vLLM's H100 defaults
    # GPUStack's Qwen3-8B H100 run of this shape (shared calibration L695): 917 tok/s, ITL 7.6 ms
    assert b["output_tokens_per_s"] == pytest.approx(917, rel=0.25)
    assert b["median_itl_ms"] == pytest.approx(7.63, rel=0.25)
    bad = run(capsys, "size", "--model", "qwen3-8b", "--gpu", "h100", "--num-prompts", "10", "--request-rate", "-3")
    assert bad.code == 2 and bad.err.startswith("error: --request-rate")


def test_unlisted_gpu_needs_bandwidth_and_tflops_for_latency(capsys):
    from clirun import run

    base = ["size", "--model", "llama-3.1-8b", "--gpu-memory-gib", "60", "--input-len", "1000", "--output-len", "100"]
    refused = run(capsys, *base)
    assert refused.code == 2 and "--gpu-bandwidth-tbps" in refused.err and "\n" not in refused.err.strip()
    ok = run(capsys, *base, "--gpu-bandwidth-tbps", "2", "--gpu-bf16-tflops", "400", "-o", "json")
    assert ok.code == 0, ok.err
    faster = run(capsys, *base, "--gpu-bandwidth-tbps", "4", "--gpu-bf16-tflops", "800", "-o", "json")
    capacity = lambda r: json.loads(r.out)["performance"]["capacity_rps"]  # noqa: E731
    assert capacity(faster) > 1.5 * capacity(ok)  # the rates given are the rates used
    # memory-only sizing of an unlisted card still works
    assert run(capsys, "size", "--model", "llama-3.1-8b", "--gpu-memory-gib", "60").code == 0
