"""Scale to zero in the simulator (issue 12): KEDA's 0 -> 1 on the first request, the wait that
request sees, and 1 -> 0 after the cooldown that render writes into the ScaledObject."""
from __future__ import annotations

import json

import pytest
from clirun import run as cli

from vllmkube import simulate
from vllmkube.spec import RenderSpec, SizeSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

COLD = 200
# one replica: 8 slots, each request takes ~2 s (0.5 req/s per slot)
MODEL = simulate.ReplicaModel(slots=8, rps=tuple([0.0] + [0.5 * n for n in range(1, 9)]),
                              ttft_p99_s=tuple([0.0] + [0.2] * 8), itl_p99_s=tuple([0.0] + [0.02] * 8),
                              kv_per_request=0.05, gpus=1, cold_start_s=COLD)
POLICY = simulate.Policy("vllmkube", (simulate.Trigger("waiting", 5, "AverageValue"),
                                      simulate.Trigger("kv", 0.8, "Value")))


def pulse_run(zero, at=100, length=300, rps=1.0, duration=2000, policy=POLICY):
    traffic = simulate.pulse(rps, at, length, duration)
    return simulate.run(MODEL, traffic, policy, 2.0, 0.1, 1, 4, zero=zero)


def test_zero_to_one_on_the_first_request_and_back_to_zero_after_the_cooldown():
    cooldown = 300
    r = pulse_run(simulate.ZeroScaling(cooldown))
    assert r.replicas[:100] == [0] * 100  # idle: no replica at all
    woke = 100 + simulate.PUSH_DETECT_S
    assert r.replicas[woke - 1] == 0 and r.replicas[woke] >= 1  # KEDA asks for one as the add-on reports the request
    assert r.wakes == [(100, woke + COLD)]  # ready after the cold start
    assert r.first_wake_s == simulate.PUSH_DETECT_S + COLD  # what the first request waited
    assert r.ready[woke + COLD - 1] == 0 and r.ready[woke + COLD] >= 1
    # the pulse ends at 400 and the queue built during the cold start drains; then idle for the cooldown
    (sleep,) = r.sleeps
    assert sleep >= 400 + cooldown
    idle_from = sleep - cooldown
    assert r.replicas[idle_from] >= 1 and r.replicas[sleep - 1] >= 1 and r.replicas[sleep] == 0
    assert set(r.replicas[sleep:]) == {0}
    # no arrivals after the pulse, so nothing waited in the cooldown: the service was idle
    assert all(r.load[t] == 0 for t in range(idle_from, sleep))


def test_a_longer_cooldown_keeps_the_replica_longer_and_costs_more():
    short, long = pulse_run(simulate.ZeroScaling(300)), pulse_run(simulate.ZeroScaling(900))
    assert long.sleeps[0] - short.sleeps[0] == 600
    assert long.gpu_hours > short.gpu_hours


def test_zero_costs_nothing_while_idle_and_a_cold_start_when_woken():
    zero, warm = pulse_run(simulate.ZeroScaling(300), duration=4 * 3600), pulse_run(None, duration=4 * 3600)
    assert zero.gpu_hours < warm.gpu_hours / 2  # idle hours are free
    # the requests held during the cold start are a backlog: it takes more replicas than warm traffic
    assert zero.peak_replicas > warm.peak_replicas
    assert warm.wakes == [] and min(warm.replicas) == 1
    assert zero.violation_s > warm.violation_s  # the requests held during the cold start are late
    assert zero.violation_s >= COLD  # every second of the cold start has a request waiting


def test_a_second_pulse_after_sleeping_wakes_it_again():
    traffic = simulate.Traffic("two pulses", tuple(1.0 if 100 <= t < 200 or 1500 <= t < 1600 else 0.0
                                                    for t in range(3000)))
    r = simulate.run(MODEL, traffic, POLICY, 2.0, 0.1, 1, 4, zero=simulate.ZeroScaling(300))
    assert [w[0] for w in r.wakes] == [100, 1500] and len(r.sleeps) == 2
    assert all(b - a == simulate.PUSH_DETECT_S + COLD for a, b in r.wakes)


def test_a_cpu_hpa_cannot_scale_to_zero():
    r = pulse_run(simulate.ZeroScaling(300), policy=simulate.Policy("cpu", ()))
    assert min(r.replicas) == 1 and r.wakes == [] and r.sleeps == []


def test_pulse_traffic_shape():
    t = simulate.parse_traffic("pulse:3:10:5", 30)
    assert t.rate[9] == 0 and t.rate[10:15] == (3.0,) * 5 and t.rate[15] == 0


# ------------------------------------------------------------------ the rendered ScaledObject drives it

def test_the_rendered_scaledobject_and_simulate_agree():
    """render's ScaledObject (minReplicaCount 0, the add-on's push trigger, cooldownPeriod) replayed:
    simulate uses the same cooldown for the same model, GPU and load rate."""
    values = dict(model="llama-3.1-8b", gpu="h100", slo_ttft_p99="1s", slo_itl_p99="50ms")
    plan, docs = plan_render(build(RenderSpec, dict(values, scale_to_zero=True, host="llm.example.com",
                                                    hf_token_secret="hf-token")))
    (so,) = [load_all(d.text)[0] for d in docs if d.kind == "ScaledObject"]
    spec = so["spec"]
    assert spec["minReplicaCount"] == 0 and spec["triggers"][0]["type"] == "external-push"
    sim = simulate.prepare(build(SizeSpec, values), "pulse:5:120:600", 3600, read_file=None, scale_to_zero=True)
    assert sim.cold_start_s == plan.pod.startup_budget_s
    assert sim.zero.cooldown_s == spec["cooldownPeriod"]
    ours = next(r for r in sim.results if r.policy == "vllmkube")
    assert ours.replicas[0] == 0 and ours.wakes[0][0] == 120
    assert ours.first_wake_s == simulate.PUSH_DETECT_S + plan.pod.startup_budget_s
    assert ours.sleeps and ours.replicas[-1] == 0


def test_cli_reports_the_wait(capsys):
    r = cli(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--traffic", "pulse:2:60:300", "--duration", "1800",
            "--scale-to-zero", "--policy", "vllmkube")
    assert r.code == 0, r.err
    assert "scale to zero" in r.out and "waits" in r.out and "back to zero at" in r.out
    j = cli(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--traffic", "pulse:2:60:300", "--duration", "1800",
            "--scale-to-zero", "--cooldown", "400", "--policy", "vllmkube", "-o", "json")
    data = json.loads(j.out)["policies"][0]
    assert data["first_wake_s"] > 0 and data["wakes"][0][0] == 60 and data["sleeps"]
    bad = cli(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--cooldown", "400")
    assert bad.code == 2 and "--cooldown" in bad.err


@pytest.mark.parametrize("text", ["pulse:2", "pulse:a:1:2"])
def test_bad_pulse_is_an_input_error(text):
    from vllmkube.errors import InputError

    with pytest.raises(InputError):
        simulate.parse_traffic(text, 100)
