"""Every start-up log in shared/reference/vllm-startup-calibration.json that names its model and
GPU is predicted within 10% on KV tokens (or KV GiB where tokens are not given)."""
import json

import pytest

from calibration_cases import gpu_for, to_case
from vllmkube import sizing

TOLERANCE = 0.10


def _records(shared_dir):
    return json.loads((shared_dir / "reference" / "vllm-startup-calibration.json").read_text())


def test_every_named_case_within_10_percent(shared_dir):
    checked, report = 0, []
    for rec in _records(shared_dir):
        case = to_case(rec)
        if case is None:
            continue
        p = sizing.size(case.model, gpu_for(rec["gpu_model"], case.gpu_memory_gib), case.options, case.gpu_memory_gib)
        if case.model.multimodal:
            # the vision encoder's profiling peak is not modelled: the plan must say so
            assert any("multimodal" in w for w in p.warnings), case.id
            continue
        if case.kv_tokens:
            err = p.kv_cache_tokens / case.kv_tokens - 1
        else:
            err = p.kv_cache_gib_per_gpu / case.kv_gib - 1
        report.append(f"{case.id}: {err:+.1%}")
        checked += 1
        assert abs(err) <= TOLERANCE, f"{case.id}: predicted {err:+.1%} off ({report})"
    assert checked >= 5, report


def test_h100_log_without_a_gpu_name_is_within_5_percent(shared_dir):
    rec = next(r for r in _records(shared_dir) if r["id"] == "vllm-pr10511-h100-llama3-8b-tp1")
    case = to_case({**rec, "gpu_model": "H100 80GB"})
    p = sizing.size(case.model, gpu_for("h100", case.gpu_memory_gib), case.options, case.gpu_memory_gib)
    assert p.kv_cache_gib_per_gpu == pytest.approx(rec["available_kv_cache_gib"], rel=0.05)
    assert p.weights_gib_per_gpu == pytest.approx(rec["weights_reported"], rel=0.01)
