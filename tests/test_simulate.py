"""The autoscaling simulator: HPA maths, traffic shapes, and the step from 1 to 20 req/s."""
import json
import xml.dom.minidom

import pytest

from clirun import run
from vllmkube import catalog, performance, serving, simulate, sizing
from vllmkube.plan.pod import probe_budget_s
from vllmkube.errors import InputError
from vllmkube.spec import SizeSpec, build

STEP = "step:1:20:300"


def _run(traffic=STEP, duration=3600, **values):
    spec = build(SizeSpec, {"model": "llama-3.1-8b", "gpu": "h100", "slo_ttft_p99": "1s", "slo_itl_p99": "50ms", **values})
    return simulate.prepare(spec, traffic, duration, read_file=None)


def test_step_1_to_20_shows_ramp_cold_start_gap_and_beats_the_blog_queue_threshold():
    r = _run()
    by = {x.policy: x for x in r.results}
    ours, blog, cpu = by["vllmkube"], by["queue-10"], by["cpu"]
    # the cold start is the startup-probe budget render writes for this checkpoint
    plan = sizing.size(catalog.find_model("llama-3.1-8b"), catalog.find_gpu("h100"))
    assert r.cold_start_s == probe_budget_s(plan.checkpoint_gib, simulate.DEFAULT_STORAGE.pod_rate)  # render's default storage
    # ramp: one replica before the step, more after it
    assert ours.replicas[299] == 1 and max(ours.replicas[300:]) >= 2
    # cold-start gap: asked for right after the step, serving only a cold start later
    assert 300 < ours.first_scale_up_s <= 300 + 3 * 15
    assert ours.first_ready_s - ours.first_scale_up_s == r.cold_start_s
    assert ours.ready[ours.first_scale_up_s + r.cold_start_s - 1] == 1
    assert any(ours.violating[ours.first_scale_up_s:ours.first_ready_s])
    # a smaller SLO violation than the queue-only policy with the blog's threshold of 10
    assert ours.violation_s < blog.violation_s
    assert ours.violating_share < blog.violating_share
    assert cpu.peak_replicas == 1 and cpu.violation_s > blog.violation_s
    # queue-only scaling drops the replica once the queue drains and pays the cold start again
    assert min(blog.ready[1500:]) == 1 and min(ours.ready[1500:]) >= 2


def test_simulation_is_deterministic():
    a, b = _run(), _run()
    assert [x.violating for x in a.results] == [x.violating for x in b.results]
    assert [x.gpu_hours for x in a.results] == [x.gpu_hours for x in b.results]


def test_gpu_hours_count_starting_pods():
    r = _run(traffic="constant:1", duration=3600)
    ours = next(x for x in r.results if x.policy == "vllmkube")
    assert ours.gpu_hours == pytest.approx(1.0, abs=0.01) and ours.violation_s == 0


def _hpa():
    return simulate._Hpa(simulate.Behavior(), 1, 10)


def test_average_value_and_value_triggers_with_tolerance():
    q = simulate.Trigger("waiting", 10, "AverageValue")
    assert simulate._desired(q, 45, current=2, ready=2) == 5  # ceil(M / T), whatever the replicas
    assert simulate._desired(q, 21, current=2, ready=2) == 2  # ratio 1.05: within the 10% tolerance
    kv = simulate.Trigger("kv", 0.8, "Value")
    assert simulate._desired(kv, 0.95, current=3, ready=3) == 4  # ceil(3 x 0.95 / 0.8)
    assert simulate._desired(kv, 0.84, current=3, ready=3) == 3


def test_scale_up_policy_limits_each_minute():
    h = _hpa()
    assert h.decide(15, 1, 9) == 3  # Pods 2 (1 + 2) beats Percent 100 (2)
    assert h.decide(30, 3, 9) == 3  # the minute's budget is spent
    assert h.decide(90, 3, 9) == 6  # a new minute: Percent 100 (6) beats Pods 2 (5)


def test_scale_down_waits_for_the_window_then_one_pod_per_two_minutes():
    h = _hpa()
    assert h.decide(0, 4, 4) == 4
    assert h.decide(15, 4, 1) == 4  # the window still remembers 4
    assert h.decide(285, 4, 1) == 4
    assert h.decide(300, 4, 1) == 3  # the 4 left the 300 s window; one pod
    assert h.decide(315, 3, 1) == 3  # ... per 120 s
    assert h.decide(405, 3, 1) == 3
    assert h.decide(420, 3, 1) == 2


def test_traffic_shapes():
    assert simulate.parse_traffic("constant:5", 10).rate == (5.0,) * 10
    s = simulate.parse_traffic("step:1:20:3", 6)
    assert s.rate == (1, 1, 1, 20, 20, 20)
    d = simulate.parse_traffic("diurnal:2:10:100", 100)
    assert d.rate[0] == pytest.approx(2) and d.rate[50] == pytest.approx(10) and d.peak == pytest.approx(10)
    csv = "timestamp_s,input_len,output_len\n0.1,100,10\n0.5,100,10\n2.2,300,30\n"
    t = simulate.parse_traffic("csv:x.csv", 0, read_file=lambda p: csv, cost=lambda i, o: (i + o) / 110)
    assert t.rate == (2.0, 0.0, 1.0) and t.weight == (1.0, 1.0, pytest.approx(330 / 110))


@pytest.mark.parametrize("text", ["ramp:1:2", "step:1", "constant:x", "csv:"])
def test_bad_traffic_is_an_input_error(text):
    with pytest.raises(InputError, match="--traffic"):
        simulate.parse_traffic(text, 60, read_file=lambda p: "")


def test_csv_traffic_weights_longer_requests():
    m, g = catalog.find_model("llama-3.1-8b"), catalog.find_gpu("h100")
    sp = sizing.size(m, g)
    plan = serving.plan(m, g, sp, serving.Workload(input_len=1000, output_len=200))
    cost = simulate.cost_fn(performance.engine_for(m, g, sp, plan.max_num_seqs, plan.max_num_batched_tokens), plan)
    assert cost(None, None) == pytest.approx(1.0)
    assert cost(2000, 400) > cost(1000, 200) * 1.9  # twice the tokens, about twice the GPU time
    assert cost(1000, 300) > cost(1100, 200) > 1.0  # an output token costs more than a prompt token


def test_cli_table_chart_and_svg(capsys, tmp_path):
    out = tmp_path / "replicas.svg"
    r = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--slo-itl-p99", "50ms", "--slo-ttft-p99", "1s",
            "--traffic", STEP, "--duration", "1800", "--plot", str(out))
    assert r.code == 0, r.err
    assert "vllmkube" in r.out and "queue-10" in r.out and "cpu" in r.out
    assert "load" in r.out and "ready" in r.out and "min violated" in r.out
    doc = xml.dom.minidom.parse(str(out))
    assert doc.documentElement.tagName == "svg" and len(doc.getElementsByTagName("polyline")) >= 4
    assert f"wrote {out}" in r.err


def test_cli_json_and_errors(capsys, tmp_path):
    r = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--traffic", "constant:3", "--duration", "600",
            "--policy", "vllmkube", "-o", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert [p["policy"] for p in data["policies"]] == ["vllmkube"]
    assert data["policies"][0]["curve"][0][:3] == [0, 3.0, 1]
    bad = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--plot", str(tmp_path / "x.png"))
    assert bad.code == 2 and "--plot" in bad.err and "SVG" in bad.err
    bad = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--policy", "magic")
    assert bad.code == 2 and "--policy" in bad.err
    csv = tmp_path / "t.csv"
    csv.write_text("".join(f"{i / 4},800,150\n" for i in range(400)))
    ok = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--traffic", f"csv:{csv}", "-o", "json")
    assert ok.code == 0, ok.err and json.loads(ok.out)["traffic"].startswith("CSV, 400 requests")
    missing = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--traffic", f"csv:{tmp_path / 'no.csv'}")
    assert missing.code == 2 and "cannot read" in missing.err


def test_cli_cold_start_is_the_startup_budget_render_writes(capsys):
    """Without --load-rate-gib-s, simulate and render assume the same storage (plan/storage.py)."""
    from vllmkube.spec import RenderSpec
    from vllmkube.workflow import plan_render

    plan, _ = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf"}))
    r = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--duration", "600")
    assert r.code == 0 and f"cold start {plan.pod.startup_budget_s}s" in r.out
    slow = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--duration", "600", "--load-rate-gib-s", "0.05")
    assert f"cold start {plan.pod.startup_budget_s}s" not in slow.out
