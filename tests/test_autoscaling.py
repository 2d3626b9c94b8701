"""KEDA ScaledObject: the fields, and the maths proven with promtool.

Every scaler query is taken from the rendered ScaledObject and evaluated by promtool over
synthetic vLLM series; the HPA formula of the trigger's metricType (kubernetes-vllm-facts.md
1.5) is evaluated around it, so the engine computes the replica count the HPA would ask for.
Mutation tests take the same rendered document, break it the ways the known recipes are
broken, and show that the harness catches each one.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass

import pytest
from k8s_validate import plain, validate_crd
from promtool_harness import (Case, Exporter, Pod, Result, hpa_desired, hpa_promql, render, run, scaler_triggers,
                              series)

from vllmkube.errors import InputError
from vllmkube.spec import RenderSpec, build
from vllmkube.versions import NEWEST_VLLM
from vllmkube.workflow import plan_render

NS, MODEL, RELEASE = "llm", "llama", "llama"
BASE = dict(model="llama-3.1-8b", gpu="h100", hf_token_secret="hf-token", namespace=NS, name=RELEASE, served_model_name=MODEL,
            queue_threshold=10, kv_cache_threshold=0.8, min_replicas=1, max_replicas=4)
GATEWAY = f'sum(rate(nginx_ingress_controller_requests{{namespace="{NS}",service="{RELEASE}"}}[2m]))'


def so(docs) -> dict:
    (doc,) = docs["ScaledObject"]
    return doc


# ------------------------------------------------------------------ fields

def test_default_scaledobject_fields():
    plan, docs = render(**BASE)
    spec = so(docs)["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": RELEASE}
    assert spec["minReplicaCount"] == 1 and spec["maxReplicaCount"] == 4
    for only_for_zero in ("cooldownPeriod", "idleReplicaCount", "initialCooldownPeriod"):
        assert only_for_zero not in spec
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert behavior["scaleUp"]["policies"] and behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert spec["fallback"] == {"failureThreshold": 3, "replicas": 1, "behavior": "currentReplicasIfHigher"}
    queue, kv = scaler_triggers(docs)
    assert (queue.name, queue.metric_type, queue.threshold) == ("queue-depth", "AverageValue", 10)
    assert (kv.name, kv.metric_type, kv.threshold) == ("kv-cache-usage", "Value", 0.8)
    assert queue.query.startswith("sum(vllm:num_requests_waiting{") and kv.query.startswith("avg(vllm:kv_cache_usage_perc{")
    for t in (queue, kv):
        assert f'namespace="{NS}"' in t.query and f'model_name="{MODEL}"' in t.query
        assert t.activation_threshold is None and not t.ignore_null_values
    text = next(d.text for d in plan_render(build(RenderSpec, BASE))[1] if d.kind == "ScaledObject")
    assert "KEDA 2.18" in text  # the fallback note about Value triggers


def test_fields_follow_the_options():
    _, docs = render(**{**BASE, "max_replicas": 7, "min_replicas": 2}, scale_down_window_s=900, fallback_replicas=3,
                     prometheus_url="https://prom.example:9091")
    spec = so(docs)["spec"]
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 900
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["fallback"]["replicas"]) == (2, 7, 3)
    assert {t["metadata"]["serverAddress"] for t in spec["triggers"]} == {"https://prom.example:9091"}
    _, docs = render(**BASE, fallback_replicas=0)
    assert "fallback" not in so(docs)["spec"]


def test_trigger_authentication_is_optional():
    _, docs = render(**BASE)
    assert "TriggerAuthentication" not in docs
    assert all("authenticationRef" not in t for t in so(docs)["spec"]["triggers"])
    _, docs = render(**BASE, prometheus_auth_secret="prom-token:bearer")
    (ta,) = docs["TriggerAuthentication"]
    assert ta["spec"]["secretTargetRef"] == [{"parameter": "bearerToken", "name": "prom-token", "key": "bearer"}]
    for t in so(docs)["spec"]["triggers"]:
        assert t["authenticationRef"] == {"name": ta["metadata"]["name"]}
        assert t["metadata"]["authModes"] == "bearer"


def test_scale_to_zero_needs_something_that_sees_requests_at_zero():
    """Without a host for the KEDA HTTP add-on (plan/front.py) or a gateway query nothing could wake it."""
    with pytest.raises(InputError, match="--host") as err:
        render(**BASE, scale_to_zero=True)
    assert "--activation-query" in str(err.value)
    with pytest.raises(InputError, match="--activation-query"):
        render(**BASE, activation_query=GATEWAY)


def test_scale_to_zero_cli_is_one_line_exit_2(capsys):
    from clirun import run as cli

    out = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--scale-to-zero")
    assert out.code == 2 and out.out == ""
    assert len(out.err.strip().splitlines()) == 1 and "--activation-query" in out.err
    out = cli(capsys, "render", "--model", "llama-3.1-8b", "--hf-token-secret", "hf", "--gpu", "h100", "--scale-to-zero", "--activation-query", GATEWAY)
    assert out.code == 0, out.err
    assert "idleReplicaCount: 0" in out.out and "first request" in out.err


def test_scale_to_zero_fields():
    plan, docs = render(**BASE, scale_to_zero=True, activation_query=GATEWAY)
    spec = so(docs)["spec"]
    assert spec["idleReplicaCount"] == 0 and spec["minReplicaCount"] == 1
    assert spec["cooldownPeriod"] >= 300 and spec["initialCooldownPeriod"] > 0
    queue, kv, wake = scaler_triggers(docs)
    assert wake.query == GATEWAY and wake.activation_threshold == 0 and wake.threshold >= 1e6
    assert queue.activation_threshold == 0 and kv.activation_threshold == 0
    # at zero replicas the vLLM queries are empty on purpose: that must read as 0, not an error
    assert queue.ignore_null_values and kv.ignore_null_values
    assert any("first request" in w and "cold start" in w for w in plan.warnings)


@pytest.mark.parametrize("extra", [{}, dict(scale_to_zero=True, activation_query=GATEWAY),
                                   dict(prometheus_auth_secret="prom-token"), dict(fallback_replicas=0)])
def test_keda_documents_validate_against_the_crd_schemas(shared_dir, extra):
    _, docs = render(**BASE, **extra)
    for kind in ("ScaledObject", "TriggerAuthentication"):
        for doc in docs.get(kind, []):
            assert validate_crd(shared_dir / "schemas", plain(doc)) == []


# ------------------------------------------------------------------ the maths, by promtool

@dataclass
class Scenario:
    name: str
    pods: list[tuple[Pod, list[tuple[float, float]]]]  # pod, per engine (waiting, kv usage)
    expect: dict[str, tuple[float, int]]  # trigger -> (query value M, replicas the HPA asks for)
    overall: int  # after max over triggers and min/max clamping


def _pods(n: int, model: str = MODEL, ns: str = NS, prefix: str = RELEASE) -> list[Pod]:
    return [Pod(f"{prefix}-{i}", ns, model, RELEASE if ns == NS else "x") for i in range(n)]


def _noise() -> list[tuple[Pod, list[tuple[float, float]]]]:
    """Another model's pods in the same namespace, and our model name in another namespace."""
    other = [(p, [(500, 1.0)]) for p in _pods(3, model="mistral", prefix="mistral")]
    elsewhere = [(p, [(300, 1.0)]) for p in _pods(2, ns="team-b")]
    return other + elsewhere


def _mix():
    p = _pods(2)
    return [(p[0], [(20, 0.95)]), (p[1], [(15, 0.95)])]


SCENARIOS = [
    # 1 replica (two data-parallel engines in the pod) with 35 waiting, threshold 10 -> 4
    Scenario("queue-1-replica", [(_pods(1)[0], [(20, 0.1), (15, 0.1)])],
             {"queue-depth": (35, 4), "kv-cache-usage": (0.1, 1)}, 4),
    # 2 replicas at 0.95 KV usage, threshold 0.8 -> 3
    Scenario("kv-2-replicas", [(p, [(0, 0.95)]) for p in _pods(2)],
             {"queue-depth": (0, 0), "kv-cache-usage": (0.95, 3)}, 3),
    # 3 replicas share 35 waiting: AverageValue asks for 4 whatever the replica count
    Scenario("queue-3-replicas", list(zip(_pods(3), [[(12, 0.5)], [(12, 0.5)], [(11, 0.5)]])),
             {"queue-depth": (35, 4), "kv-cache-usage": (0.5, 2)}, 4),
    Scenario("mixed", _mix(), {"queue-depth": (35, 4), "kv-cache-usage": (0.95, 3)}, 4),
    # the same with other services' pods around: nothing changes
    Scenario("mixed-with-noise", _mix() + _noise(), {"queue-depth": (35, 4), "kv-cache-usage": (0.95, 3)}, 4),
    Scenario("kv-2-replicas-with-noise", [(p, [(0, 0.95)]) for p in _pods(2)] + _noise(),
             {"queue-depth": (0, 0), "kv-cache-usage": (0.95, 3)}, 3),
]


def _ready(s: Scenario) -> int:
    return sum(1 for pod, _ in s.pods if pod.model_name == MODEL and pod.namespace == NS)


def scaler_case(name: str, docs, exporter: Exporter, s: Scenario) -> Case:
    inputs = []
    for pod, engines in s.pods:
        for e, (waiting, kv) in enumerate(engines):
            inputs += exporter.gauge("queue", pod, f"{waiting:g}x40", engine=e)
            inputs += exporter.gauge("kv_usage", pod, f"{kv:g}x40", engine=e)
    case = Case(name, inputs)
    for t in scaler_triggers(docs):
        m, replicas = s.expect[t.name]
        case.expr(t.query, "5m", [({}, m)])  # exactly one series, with the value M
        case.expr(hpa_promql(t, _ready(s)), "5m", [({}, replicas)])  # the HPA's answer
    return case


def _strip(fn: str, query: str) -> str:
    m = re.fullmatch(rf"{fn}\((.*)\)", query)
    assert m, query
    return m.group(1)


def _mutate(docs, trigger: str, **change):
    docs = copy.deepcopy(docs)
    for t in so(docs)["spec"]["triggers"]:
        if t["name"] == trigger:
            for key, value in change.items():
                if key == "query":
                    t["metadata"]["query"] = value(t["metadata"]["query"])
                elif value is None:
                    t.pop(key, None)
                else:
                    t[key] = value
    return docs


VERSIONS = [NEWEST_VLLM, "0.10.2", "0.8.5"]
S = {s.name: s for s in SCENARIOS}
# name -> (render version, docs mutation, scenario, exporter version, expected failure: series returned or None)
MUTANTS = {
    "unaggregated-queue": (lambda d: _mutate(d, "queue-depth", query=lambda q: _strip("sum", q)), "queue-1-replica", 2),
    "unaggregated-kv": (lambda d: _mutate(d, "kv-cache-usage", query=lambda q: _strip("avg", q)), "kv-2-replicas", 2),
    "kv-as-averagevalue": (lambda d: _mutate(d, "kv-cache-usage", metricType="AverageValue"), "kv-2-replicas", 1),
    "kv-without-metrictype": (lambda d: _mutate(d, "kv-cache-usage", metricType=None), "kv-2-replicas", 1),
    "queue-as-value": (lambda d: _mutate(d, "queue-depth", metricType="Value"), "queue-3-replicas", 1),
    # the blog recipe "fixed" to divide by the replica count: under-scales N-fold
    "queue-divided-by-replicas": (lambda d: _mutate(d, "queue-depth", query=lambda q: f"{q} / count(count by (pod) "
                                                    f"({_strip('sum', q)}))"), "queue-3-replicas", 1),
    "kv-name-gone-in-0.12": (lambda d: _mutate(d, "kv-cache-usage", query=lambda q: q.replace(
        "kv_cache_usage_perc", "gpu_cache_usage_perc")), "kv-2-replicas", 0),
    "no-model-selector": (lambda d: _mutate(d, "queue-depth", query=lambda q: q.replace(f',model_name="{MODEL}"', "")),
                          "mixed-with-noise", 1),
}


@pytest.fixture(scope="module")
def scaler_results(promtool, tmp_path_factory):
    cases = []
    rendered = {v: render(**BASE, vllm_version=v)[1] for v in VERSIONS}
    for v, docs in rendered.items():
        for s in SCENARIOS:
            cases.append(scaler_case(f"{v}-{s.name}", docs, Exporter(v), s))
    unusable = {}
    for name, (mutate, scenario, _) in MUTANTS.items():
        try:
            docs = mutate(rendered[NEWEST_VLLM])
        except AssertionError as exc:  # the rendered query no longer has the shape the mutation breaks
            unusable[f"mutant-{name}"] = Result(True, f"mutation does not apply: {exc}", [])
            continue
        cases.append(scaler_case(f"mutant-{name}", docs, Exporter(NEWEST_VLLM), S[scenario]))
    # manifests rendered for 0.8.5 running on the newest vLLM: the KV name no longer exists
    cases.append(scaler_case("mutant-rendered-for-0.8.5-runs-newest", rendered["0.8.5"], Exporter(NEWEST_VLLM),
                             S["kv-2-replicas"]))
    # scale to zero: no vLLM pod, the gateway sees traffic (0.5 req/s) or none
    zero = render(**BASE, scale_to_zero=True, activation_query=GATEWAY)[1]
    for label, values in (("traffic", "0+7.5x40"), ("idle", "100+0x40")):
        case = Case(f"zero-{label}", [series("nginx_ingress_controller_requests", values, namespace=NS, service=RELEASE,
                                             status="200")])
        queue, kv, wake = scaler_triggers(zero)
        case.expr(queue.query, "5m", [])  # empty at zero replicas (KEDA reads 0: ignoreNullValues)
        case.expr(kv.query, "5m", [])
        case.expr(wake.query, "5m", [({}, 0.5 if label == "traffic" else 0)])
        case.expr(hpa_promql(wake, 0), "5m", [({}, 1 if label == "traffic" else 0)])
        cases.append(case)
    return {**run(promtool, cases, tmp_path_factory.mktemp("scaler")), **unusable}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("scenario", [s.name for s in SCENARIOS])
def test_scaler_queries_return_one_series_and_the_right_replicas(scaler_results, version, scenario):
    result = scaler_results[f"{version}-{scenario}"]
    assert result.ok, result.output
    # promtool proved the values; the HPA formula on them gives the expected replicas
    s = S[scenario]
    _, docs = render(**BASE, vllm_version=version)
    asks = []
    for t in scaler_triggers(docs):
        m, replicas = s.expect[t.name]
        assert hpa_desired(t.metric_type, m, t.threshold, _ready(s)) == replicas
        asks.append(replicas)
    assert min(max(max(asks), BASE["min_replicas"]), BASE["max_replicas"]) == s.overall


def test_issue_examples():
    """1 replica with 35 waiting and threshold 10 asks for 4; 2 replicas at 0.95 KV with 0.8 ask for 3."""
    assert hpa_desired("AverageValue", 35, 10, ready=1) == 4
    assert hpa_desired("Value", 0.95, 0.8, ready=2) == 3
    assert hpa_desired("AverageValue", 35, 10, ready=3) == 4  # the HPA divides by replicas itself
    assert hpa_desired("AverageValue", 35 / 3, 10, ready=3) == 2  # dividing in the query: under-scaled


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_harness_catches_broken_scalers(scaler_results, mutant):
    result = scaler_results[f"mutant-{mutant}"]
    assert not result.ok, f"mutant {mutant} passed:\n{result.output}"
    expected_series = MUTANTS[mutant][2]
    got = [f.got_series for f in result.failures if f.got_series is not None]
    assert expected_series in got, result.output


def test_harness_catches_a_version_mismatch(scaler_results):
    result = scaler_results["mutant-rendered-for-0.8.5-runs-newest"]
    assert not result.ok
    assert any(f.got_series == 0 and "gpu_cache_usage_perc" in f.text for f in result.failures), result.output


@pytest.mark.parametrize("label", ["traffic", "idle"])
def test_activation_query_wakes_the_service_only_on_traffic(scaler_results, label):
    assert scaler_results[f"zero-{label}"].ok, scaler_results[f"zero-{label}"].output
    _, docs = render(**BASE, scale_to_zero=True, activation_query=GATEWAY)
    wake = scaler_triggers(docs)[2]
    value = 0.5 if label == "traffic" else 0.0
    assert (value > wake.activation_threshold) is (label == "traffic")  # KEDA: active iff value > activationThreshold


# ------------------------------------------------------------------ the request-rate trigger (serving plan)

def test_request_rate_trigger_holds_the_replicas_the_traffic_needs(promtool, tmp_path):
    """With --rps the serving plan adds sum(rate(request_success[1m])) as AverageValue: two replicas
    finishing 15 req/s each, with an empty queue, must keep asking for ceil(30 / target) replicas."""
    plan, docs = render(**{**BASE, "queue_threshold": None}, rps=30)
    triggers = {t.name: t for t in scaler_triggers(docs)}
    rate = triggers["request-rate"]
    assert rate.metric_type == "AverageValue" and rate.query.startswith("sum(rate(vllm:request_success_total{")
    target = rate.threshold
    assert 0 < target < 30
    exporter = Exporter(NEWEST_VLLM)
    inputs = []
    for pod in _pods(2) + [p for p, _ in _noise()]:
        per_step = (15 if pod.model_name == MODEL and pod.namespace == NS else 500) * 15  # STEP is 15s
        inputs += exporter.counter("request_success", pod, f"0+{per_step}x40")
        inputs += exporter.gauge("queue", pod, "0x40")
    case = Case("request-rate", inputs)
    case.expr(rate.query, "10m", [({}, 30)])  # one series: our 2 x 15 req/s, not the noise
    want = math.ceil(30 / target)
    case.expr(hpa_promql(rate, 2), "10m", [({}, want)])
    assert hpa_desired("AverageValue", 30, target, ready=2) in (2, want)  # within tolerance it keeps 2
    result = run(promtool, [case], tmp_path)["request-rate"]
    assert result.ok, result.output
    assert want >= 2  # an empty queue does not let the autoscaler drop a replica the traffic needs
