"""The rendered scale-to-zero ScaledObject (KEDA HTTP add-on, issue 12) goes 0 -> 1 on the first
request and back to 0 after its cooldown.

promtool evaluates the rendered vLLM queries over synthetic series in each state (no pod, an idle
pod, a busy pod); KEDA's activation rule (a trigger is active when its value exceeds
activationThreshold; an empty result reads as 0 unless ignoreNullValues is false; an external-push
trigger is active when its scaler says so) and its 0 <-> 1 rule (scale to minReplicaCount 0 once
no trigger has been active for cooldownPeriod, to 1 as soon as one is) replay them over time.
"""
from __future__ import annotations

import pytest
from promtool_harness import Case, Exporter, Pod, render, run, scaler_triggers

from vllmkube.versions import NEWEST_VLLM

NS, MODEL, RELEASE = "llm", "llama", "llama"
VALUES = dict(model="llama-3.1-8b", gpu="h100", namespace=NS, name=RELEASE, served_model_name=MODEL,
              scale_to_zero=True, host="llm.example.com")
# per state: waiting requests and KV usage of the one pod, or None for no pod at all
STATES = {"no-pod": None, "idle-pod": (0, 0.0), "busy-pod": (3, 0.4)}


@pytest.fixture(scope="module")
def rendered():
    return render(**VALUES)[1]


@pytest.fixture(scope="module")
def values(rendered, promtool, tmp_path_factory):
    """promtool's value of every vLLM trigger in every state (None: empty result)."""
    exporter, pod = Exporter(NEWEST_VLLM), Pod(f"{RELEASE}-0", NS, MODEL, RELEASE)
    triggers = scaler_triggers(rendered)
    expected = {}
    cases = []
    for state, pod_values in STATES.items():
        inputs = []
        if pod_values is not None:
            inputs += exporter.gauge("queue", pod, f"{pod_values[0]}x40")
            inputs += exporter.gauge("kv_usage", pod, f"{pod_values[1]}x40")
        else:  # another service's pod in the namespace: present, but never ours
            inputs += exporter.gauge("queue", Pod("other-0", NS, "other", "other"), "7x40")
        case = Case(state, inputs)
        for t in triggers:
            want = None if pod_values is None else {"queue-depth": pod_values[0], "kv-cache-usage": pod_values[1]}[t.name]
            case.expr(t.query, "5m", [] if want is None else [({}, want)])
            expected[(state, t.name)] = want
        cases.append(case)
    results = run(promtool, cases, tmp_path_factory.mktemp("zero"))
    for state in STATES:
        assert results[state].ok, results[state].output
    return expected  # proven by promtool


def active(so_spec: dict, values: dict, state: str, push: bool) -> bool:
    """KEDA: any trigger above its activationThreshold; empty reads 0 when ignoreNullValues (default)."""
    for t in so_spec["triggers"]:
        if t["type"] == "external-push":
            if push:
                return True
            continue
        md = t["metadata"]
        v = values[(state, t["name"])]
        if v is None:
            if md.get("ignoreNullValues", "true") == "false":
                raise AssertionError(f"{t['name']}: an empty result would be a scaler error at zero replicas")
            v = 0.0
        if v > float(md.get("activationThreshold", "0")):
            return True
    return False


def replay(so_spec: dict, values: dict, timeline: list[tuple[int, str, bool]], until: int) -> list[int]:
    """Replicas each second. timeline: (from second, vLLM state, add-on sees requests)."""
    replicas, last_active, out = so_spec["minReplicaCount"], None, []
    for now in range(until):
        state, push = next((s, p) for t, s, p in reversed(timeline) if t <= now)
        if replicas == 0:
            state = "no-pod"  # no pod exports anything at zero
        if active(so_spec, values, state, push):
            last_active = now
            replicas = max(replicas, 1)
        elif replicas and last_active is not None and now - last_active >= so_spec["cooldownPeriod"]:
            replicas = so_spec["minReplicaCount"]
        out.append(replicas)
    return out


def test_vllm_triggers_cannot_wake_it_but_the_push_trigger_can(rendered, values):
    (so,) = rendered["ScaledObject"]
    spec = so["spec"]
    assert spec["minReplicaCount"] == 0 and spec["triggers"][0]["type"] == "external-push"
    assert not active(spec, values, "no-pod", push=False)  # empty vLLM queries read 0: nothing wakes it
    assert active(spec, values, "no-pod", push=True)  # the interceptor holds a request: wake
    assert not active(spec, values, "idle-pod", push=False)  # idle: the cooldown runs
    assert active(spec, values, "busy-pod", push=False)  # waiting requests keep it up


def test_zero_to_one_on_the_first_request_and_back_after_the_cooldown(rendered, values):
    (so,) = rendered["ScaledObject"]
    spec = so["spec"]
    cooldown = spec["cooldownPeriod"]
    timeline = [(0, "no-pod", False), (100, "no-pod", True), (101, "busy-pod", True), (400, "idle-pod", False)]
    replicas = replay(spec, values, timeline, 400 + cooldown + 60)
    assert replicas[:100] == [0] * 100
    assert replicas[100] == 1  # the first request
    drop = 399 + cooldown  # the last active second is 399
    assert set(replicas[100:drop]) == {1}
    assert replicas[drop] == 0  # idle for the cooldown: zero
    assert set(replicas[drop:]) == {0}


def test_without_the_push_trigger_it_would_never_wake(rendered, values):
    """The mutation lint flags (keda-scale-to-zero-vllm-metrics): drop the push trigger and the first
    request is never served."""
    (so,) = rendered["ScaledObject"]
    spec = dict(so["spec"], triggers=[t for t in so["spec"]["triggers"] if t["type"] != "external-push"])
    replicas = replay(spec, values, [(0, "no-pod", False), (100, "busy-pod", True)], 600)
    assert set(replicas) == {0}
