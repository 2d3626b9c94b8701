"""ServingPlan, `size` with workload flags, and `size --compare`."""
import json

import pytest

from clirun import run
from vllmkube import catalog, compare, serving, sizing
from vllmkube.errors import InputError


def _plan(model="llama-3.1-8b", gpu="h100", opts=None, **workload):
    m, g = catalog.find_model(model), catalog.find_gpu(gpu)
    sp = sizing.size(m, g, sizing.SizingOptions(**(opts or {})))
    return compare.plan_with_nearest(m, g, sp, serving.Workload(**workload))


def test_a_tighter_itl_slo_lowers_the_batch_limits():
    loose = _plan(input_len=1024, output_len=256, slo_itl_p99=0.1)
    tight = _plan(input_len=1024, output_len=256, slo_itl_p99=0.03)
    assert loose.slo_met and tight.slo_met
    assert tight.itl_p99_ms <= 30 < loose.itl_p99_ms
    assert (tight.max_num_seqs, tight.max_num_batched_tokens) < (loose.max_num_seqs, loose.max_num_batched_tokens)
    assert tight.limited_by == "itl-slo"
    assert tight.capacity_rps < loose.capacity_rps


def test_a_tighter_ttft_slo_lowers_the_queue_threshold_and_raises_replicas():
    relaxed = _plan(rps=40, slo_ttft_p99=3.0)
    strict = _plan(rps=40, slo_ttft_p99=0.4)
    assert strict.queue_threshold < relaxed.queue_threshold
    assert strict.replicas >= relaxed.replicas
    assert relaxed.queue_threshold == pytest.approx(
        int((3.0 - relaxed.ttft_p99_ms / 1e3) * relaxed.capacity_rps), abs=1)


def test_replicas_follow_the_traffic_with_headroom():
    plans = [_plan(rps=r, slo_itl_p99=0.05) for r in (1, 10, 50, 200)]
    reps = [p.replicas for p in plans]
    assert reps == sorted(reps) and reps[0] == 1 and reps[-1] > reps[1]
    p = plans[-1]
    assert p.replicas * p.capacity_rps * (1 - p.headroom) >= 200
    assert p.gpus_total == p.replicas * p.gpus_per_replica


def test_unreachable_itl_names_the_floor_and_the_nearest_option():
    p = _plan(opts={"quantization": "none", "tensor_parallel_size": 1}, slo_itl_p99=0.006)
    assert not p.slo_met and p.limited_by == "slo-unreachable"
    assert "ITL p99 is at least" in p.unmet[0] and "6 ms SLO" in p.unmet[0]
    assert p.nearest_option and "FP8" in p.nearest_option


def test_unreachable_ttft_for_a_long_prompt_on_a_small_gpu():
    p = _plan("llama-3.1-8b", "l4", opts={"max_model_len": 40000}, input_len=32000, output_len=100, slo_ttft_p99=1.0)
    assert not p.slo_met
    assert any("TTFT p99 is at least" in u for u in p.unmet)
    assert p.nearest_option is not None and "l4" not in p.nearest_option


def test_request_longer_than_the_context_is_an_input_error():
    with pytest.raises(InputError, match="exceeds max_model_len"):
        _plan(opts={"max_model_len": 4096}, input_len=4000, output_len=500)


def test_plan_is_deterministic():
    assert _plan(rps=12, slo_itl_p99=0.04) == _plan(rps=12, slo_itl_p99=0.04)


def test_erlang_c_and_replicas_for():
    assert serving._erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert serving.replicas_for(10, 5, 8, 1.0, 0.2) == 3
    assert serving.replicas_for(10, 5, 8, 0.0, 0.2) == 3  # no slack: headroom only


# ----------------------------------------------------------------------------- CLI
def test_size_json_has_performance_only_with_workload_flags(capsys):
    plain = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "-o", "json")
    assert "performance" not in json.loads(plain.out)
    r = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "--input-len", "2000", "--output-len", "200",
            "--rps", "30", "--slo-ttft-p99", "800ms", "--slo-itl-p99", "0.04", "-o", "json")
    assert r.code == 0, r.err
    perf = json.loads(r.out)["performance"]
    for key in ("ttft_ms", "itl_ms", "output_tokens_per_s", "requests_per_s", "max_num_seqs",
                "max_num_batched_tokens", "replicas", "queue_threshold", "slo_met", "nearest_option"):
        assert key in perf
    assert perf["slo_ttft_p99_ms"] == 800 and perf["slo_itl_p99_ms"] == 40 and perf["itl_p99_ms"] <= 40


def test_size_outputs_change_with_slo_flags(capsys):
    base = ["size", "-m", "qwen3-8b", "-g", "h100", "--input-len", "1500", "--output-len", "300", "--rps", "25", "-o", "json"]
    a = json.loads(run(capsys, *base).out)["performance"]
    b = json.loads(run(capsys, *base, "--slo-itl-p99", "25ms", "--slo-ttft-p99", "300ms").out)["performance"]
    assert (a["max_num_seqs"], a["queue_threshold"]) != (b["max_num_seqs"], b["queue_threshold"])
    assert b["max_num_seqs"] < a["max_num_seqs"] and b["queue_threshold"] < a["queue_threshold"]
    assert b["replicas"] >= a["replicas"]


def test_size_table_and_strict_exit_codes(capsys):
    ok = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "--slo-itl-p99", "50ms", "--rps", "5", "--strict")
    assert ok.code == 0 and "Serving plan" in ok.out and "--max-num-seqs" in ok.out and "SLO: met" in ok.out
    no = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "-q", "none", "--tp", "1", "--slo-itl-p99", "5ms", "--strict")
    assert no.code == 1
    assert "SLO not met" in no.out and "nearest option" in no.out
    lenient = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "-q", "none", "--tp", "1", "--slo-itl-p99", "5ms")
    assert lenient.code == 0


@pytest.mark.parametrize("args, field", [
    (["--slo-itl-p99", "fast"], "--slo-itl-p99"),
    (["--input-len", "0"], "--input-len"),
    (["--rps", "-3"], "--rps"),
    (["--compare", "--gpu-price", "h100:4"], "--gpu-price"),
    (["--gpus", "h1000"], "--gpu"),
])
def test_size_bad_workload_input_is_one_line_exit_2(capsys, args, field):
    r = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", *args)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"error: {field}") and r.err.count("\n") == 1


def test_workload_needs_a_model(capsys):
    r = run(capsys, "size", "--params-b", "8", "--rps", "3")
    assert r.code == 2 and "workload flags need a model" in r.err


def test_compare_ranks_layouts_that_meet_the_slo_by_cost(capsys):
    r = run(capsys, "size", "-m", "llama-3.1-8b", "-g", "h100", "--gpus", "a100-80gb,l40s", "--rps", "20",
            "--slo-itl-p99", "50ms", "--slo-ttft-p99", "1s", "--gpu-price", "h100=4.5,a100-80gb=2.5,l40s=1.2", "-o", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    rows = [x for x in data["layouts"] if x["fits"]]
    assert {x["gpu"] for x in rows} == {"h100-80gb", "a100-80gb", "l40s"}
    assert {x["tensor_parallel_size"] for x in rows} >= {1, 2, 4}
    assert any(x["precision"] == "fp8" for x in rows if x["gpu"] == "h100-80gb")
    met = [x for x in rows if x["performance"]["slo_met"]]
    costs = [x["usd_per_hour"] for x in met]
    assert costs == sorted(costs), "layouts meeting the SLO are ranked by $/hour when prices are given"
    assert all(x["usd_per_hour"] == pytest.approx(x["performance"]["gpus_total"] * {"h100-80gb": 4.5, "a100-80gb": 2.5,
                                                                                    "l40s": 1.2}[x["gpu"]]) for x in met)


def test_compare_without_prices_ranks_by_gpus_and_prints_a_short_table(capsys):
    r = run(capsys, "size", "-m", "llama-3.1-70b", "-g", "h100", "--compare", "--rps", "10", "--slo-itl-p99", "60ms")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) <= 20 and "best:" in r.out
    j = json.loads(run(capsys, "size", "-m", "llama-3.1-70b", "-g", "h100", "--compare", "--rps", "10",
                       "--slo-itl-p99", "60ms", "-o", "json").out)
    met = [x for x in j["layouts"] if x["fits"] and x["performance"]["slo_met"]]
    gpus = [x["performance"]["gpus_total"] for x in met]
    assert gpus == sorted(gpus)
    assert any(not x["fits"] for x in j["layouts"])  # TP 1 16-bit does not hold a 70B model


def test_parse_prices_resolves_aliases():
    assert compare.parse_prices("h100=4.5, l40s=1.2") == {"h100-80gb": 4.5, "l40s": 1.2}
    with pytest.raises(InputError):
        compare.parse_prices("h100=cheap")


def test_unreachable_ttft_floor_is_computed_at_the_budget_it_reports():
    from vllmkube import catalog, performance, serving, sizing

    m, g = catalog.find_model("llama-3.1-70b"), catalog.find_gpu("l40s")
    sp = sizing.size(m, g, sizing.SizingOptions(tensor_parallel_size=4, quantization="fp8", max_model_len=8200))
    w = serving.Workload(input_len=8000, output_len=200, slo_ttft_p99=0.05)
    p = serving.plan(m, g, sp, w)
    assert not p.slo_met and p.limited_by == "slo-unreachable"
    floor = next(u for u in p.unmet if u.startswith("TTFT p99 is at least"))
    assert f"--max-num-batched-tokens {p.max_num_batched_tokens})" in floor
    at_budget = performance.steady_state(performance.engine_for(m, g, sp, 1, p.max_num_batched_tokens), 1, 8000, 200)
    assert f"at least {at_budget.ttft_p99_ms:.0f} ms" in floor
    # no other budget has a lower floor: it is a floor
    for b in serving.BUDGETS:
        other = performance.steady_state(performance.engine_for(m, g, sp, 1, b), 1, 8000, 200)
        assert other.ttft_p99_ms >= at_budget.ttft_p99_ms - 1e-6


def test_report_never_says_the_objective_is_kept_when_it_is_not_met(capsys):
    from clirun import run

    out = run(capsys, "size", "--model", "llama-3.1-70b", "--gpu", "l40s", "--tensor-parallel-size", "4",
              "--quantization", "fp8", "--input-len", "8000", "--output-len", "200", "--slo-ttft-p99", "50ms")
    text = out.out + out.err
    assert "SLO not met" in text
    assert "keeps TTFT p99 within the objective" not in text
    met = run(capsys, "size", "--model", "llama-3.1-8b", "--gpu", "h100", "--input-len", "1000", "--output-len", "200",
              "--slo-ttft-p99", "5s")
    assert "keeps TTFT p99 within the objective" in met.out + met.err


def test_the_servers_own_settings_are_what_is_predicted():
    # "what will this deployment do": with --max-num-seqs / --max-num-batched-tokens given, the
    # figures are at those settings, not at the planner's choice
    from vllmkube import catalog, performance, serving, sizing

    m, g = catalog.find_model("llama-3.1-8b"), catalog.find_gpu("h100")
    sp = sizing.size(m, g, sizing.SizingOptions(max_num_seqs=8, max_num_batched_tokens=512))
    w = serving.Workload(input_len=2000, output_len=200, slo_itl_p99=0.010)
    free = serving.plan(m, g, sp, w)
    fixed = serving.plan(m, g, sp, w, server=(512, 8))
    assert (fixed.max_num_batched_tokens, fixed.max_num_seqs, fixed.limited_by) == (512, 8, "user-settings")
    at = performance.steady_state(performance.engine_for(m, g, sp, 8, 512), 8, 2000, 200)
    assert fixed.itl_p99_ms == pytest.approx(at.itl_p99_ms, abs=0.01)
    assert fixed.requests_per_s == pytest.approx(at.requests_per_s, rel=1e-3)
    assert (free.max_num_seqs, free.max_num_batched_tokens) != (8, 512)
    # the SLO verdict is the server's too
    assert fixed.slo_met == (at.itl_p99_ms <= 10.0)
