"""Every start-up log in shared/reference/vllm-startup-calibration*.json is a test: named cases are
predicted within 10% on KV tokens (or KV GiB where tokens are not given; 15% for multimodal models,
whose vision-encoder peak is an estimate), and the cases that are not comparable that way are
checked on what they do report, each with its reason."""
import json

import pytest

from calibration_cases import gpu_for, to_case
from vllmkube import catalog, sizing

TOLERANCE = 0.10
MULTIMODAL_TOLERANCE = 0.15


def _records(shared_dir, name="vllm-startup-calibration.json"):
    return json.loads((shared_dir / "reference" / name).read_text())


def _size(rec):
    case = to_case(rec)
    return case, sizing.size(case.model, gpu_for(rec["gpu_model"], case.gpu_memory_gib), case.options, case.gpu_memory_gib)


def test_every_named_case_within_10_percent(shared_dir):
    checked, report = 0, []
    for rec in _records(shared_dir):
        case = to_case(rec)
        if case is None:
            continue
        _, p = _size(rec)
        if case.kv_tokens:
            err = p.kv_cache_tokens / case.kv_tokens - 1
        else:
            err = p.kv_cache_gib_per_gpu / case.kv_gib - 1
        report.append(f"{case.id}: {err:+.1%}")
        checked += 1
        limit = MULTIMODAL_TOLERANCE if case.model.multimodal else TOLERANCE
        assert abs(err) <= limit, f"{case.id}: predicted {err:+.1%} off ({report})"
        assert not any("not modelled" in w for w in p.warnings), case.id  # the encoder is modelled now
    assert checked >= 6, report


def test_h100_log_without_a_gpu_name_is_within_5_percent(shared_dir):
    rec = next(r for r in _records(shared_dir) if r["id"] == "vllm-pr10511-h100-llama3-8b-tp1")
    case, p = _size({**rec, "gpu_model": "H100 80GB"})
    assert p.kv_cache_gib_per_gpu == pytest.approx(rec["available_kv_cache_gib"], rel=0.05)
    assert p.weights_gib_per_gpu == pytest.approx(rec["weights_reported"], rel=0.01)


def test_tp2_log_without_a_kv_figure_matches_its_weights(shared_dir):
    # the PR #10511 TP 2 log was cut off before the KV figure: weights and activation are what it shows
    rec = next(r for r in _records(shared_dir) if r["id"] == "vllm-pr10511-h100-llama3-8b-tp2")
    assert to_case({**rec, "gpu_model": "H100 80GB"}) is None  # nothing to compare the KV cache with
    case, p = _size({**rec, "gpu_model": "H100 80GB", "available_kv_cache_gib": 1.0})
    assert p.weights_gib_per_gpu == pytest.approx(rec["weights_reported"], rel=0.01)
    # its 3.58 GiB of non-torch memory is the V0 H100 outlier docs/sizing.md names; ours stays small
    assert p.non_torch_gib_per_gpu < rec["non_torch_memory_gib"]


def test_gpt_oss_120b_on_one_h100_does_not_fit(shared_dir):
    # vllm issue #23278: Marlin pads the MXFP4 experts, the model loads 65.97 GiB and the KV cache is
    # -2.14 GiB at vLLM's defaults (131,072-token context): vLLM refused to start
    rec = next(r for r in _records(shared_dir, "vllm-startup-calibration-more.json") if r["model_id"] == "openai/gpt-oss-120b")
    assert rec["available_kv_cache_gib"] < 0 and rec["gpu_memory_total_gib"] is None
    h100 = catalog.find_gpu_in_text(rec["gpu_model"])
    case, p = _size({**rec, "gpu_memory_total_gib": h100.memory_gib, "vllm_version": "0.10.1"})
    assert p.weights_gib_per_gpu == pytest.approx(rec["weights_reported"], rel=0.02)
    assert p.weights_gib_per_gpu > 1.05 * p.checkpoint_gib  # padded, not the checkpoint's bytes
    assert not p.fits and p.max_model_len_that_fits < case.options.max_model_len
    assert any("does not fit" in w for w in p.warnings)


def test_gemma3_4b_multimodal_profile_matches_the_log(shared_dir):
    # vllm PR #21489: a 178 GiB GPU (B200) under `vllm bench latency`, i.e. the LLM class, whose V1
    # defaults on such a GPU are 16384 tokens / 1024 seqs (the API server's are 8192 / 1024: the
    # extracted release data); the profile runs the SigLIP encoder on 64 dummy images and the
    # sampler on 1024 rows of a 262k vocabulary
    rec = next(r for r in _records(shared_dir, "vllm-startup-calibration-more.json") if r["model_id"] == "google/gemma-3-4b-it")
    gpu = catalog.find_gpu_in_text("b200")
    assert gpu.memory_gib == pytest.approx(rec["gpu_memory_total_gib"], abs=0.05)
    case, p = _size({**rec, "gpu_model": "b200", "available_kv_cache_gib": 1.0, "vllm_version": "0.10.0",
                     "max_num_batched_tokens": 16384, "max_num_seqs": 1024})
    assert p.max_num_batched_tokens == 16384 and p.max_num_seqs == 1024
    assert p.activation_gib_per_gpu == pytest.approx(rec["activation_peak_gib"], rel=MULTIMODAL_TOLERANCE)
    assert p.weights_gib_per_gpu == pytest.approx(rec["weights_reported"], rel=TOLERANCE)
    text_only = sizing.size(case.model.model_copy(update={"multimodal": False}), gpu, case.options)
    assert p.activation_gib_per_gpu > text_only.activation_gib_per_gpu + 3  # the encoder is counted
