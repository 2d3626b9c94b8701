"""PrometheusRule: promtool checks every rule, and each alert fires when it should and
stays silent when it should not, over synthetic vLLM series of the rendered version.

One `promtool check rules` and one `promtool test rules` process for the whole module.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from promtool_harness import (Case, Exporter, Pod, all_promql, check_rules, expected_alert, render, rules_by_name,
                              run, series, write_rules_file)

from vllmkube.plan import rules as alert_rules
from vllmkube.versions import NEWEST_VLLM

REPO = Path(__file__).resolve().parent.parent
NS, MODEL, RELEASE = "llm", "llama", "llama"
BASE = dict(model="llama-3.1-8b", gpu="h100", namespace=NS, name=RELEASE, served_model_name=MODEL, queue_threshold=10,
            max_replicas=4)
GATEWAY = f'sum(rate(nginx_ingress_controller_requests{{namespace="{NS}"}}[2m]))'
RENDERS = {
    "newest": dict(BASE),
    "0.10.2": dict(BASE, vllm_version="0.10.2"),
    "0.8.5": dict(BASE, vllm_version="0.8.5"),
    "relaxed-slo": dict(BASE, slo_ttft_p99="5s", slo_itl_p99="300ms"),
    "zero": dict(BASE, scale_to_zero=True, activation_query=GATEWAY),
    "podmonitor": dict(BASE, monitor="podmonitor"),
    # targets whose workload kube-state-metrics does not know as a Deployment (issue 10)
    "lws-zero": dict(BASE, target="lws", scale_to_zero=True, activation_query=GATEWAY),
    "kserve": dict(BASE, target="kserve"),
    "70b": dict(BASE, model="llama-3.3-70b", tensor_parallel_size=4),
}
STEPS = 160  # 40 minutes of 15 s samples
OUT = {"namespace": NS, "model_name": MODEL}  # labels of the per-service alert expressions

# ------------------------------------------------------------------ synthetic clusters


@dataclass
class Cluster:
    """vLLM pods of one version: what each pod's series do over time."""

    version: str
    pods: int = 2
    model: str = MODEL
    waiting: str = f"0x{STEPS}"
    kv: str = f"0.3x{STEPS}"
    preemptions: str = f"0+0x{STEPS}"
    ttft: dict | None = None  # per-step observations per bucket
    itl: dict | None = None
    up: str = f"1x{STEPS}"
    job: str = RELEASE
    extra: tuple = ()

    def series(self) -> list[dict]:
        ex = Exporter(self.version)
        out = list(self.extra)
        for i in range(self.pods):
            pod = Pod(f"{RELEASE}-{i}", NS, self.model, self.job)
            out += ex.gauge("queue", pod, self.waiting) + ex.gauge("running", pod, f"4x{STEPS}")
            out += ex.gauge("kv_usage", pod, self.kv) + ex.counter("preemptions", pod, self.preemptions)
            out += ex.histogram("ttft", pod, self.ttft or {"0.5": 10, "1": 0, "2.5": 0, "5": 0, "+Inf": 0}, STEPS)
            out += ex.histogram("itl", pod, self.itl or {"0.025": 10, "0.05": 0, "0.1": 0, "0.25": 0, "+Inf": 0}, STEPS)
            out.append(series("up", self.up if i == 0 else f"1x{STEPS}", namespace=NS, job=self.job, pod=pod.name,
                              instance=f"{pod.name}:8000"))
        return out


SLOW_TTFT = {"0.5": 0, "1": 0, "2.5": 0, "5": 10, "+Inf": 0}  # all in (2.5, 5]: p99 = 4.975 s
LITTLE_SLOW_TTFT = {"0.5": 0, "1": 0, "2.5": 0, "5": 0.05, "+Inf": 0}  # 0.003 slow requests/s per pod
PREEMPT = f"0+1x{STEPS}"  # 0.067 preemptions/s per pod
SLOW_ITL = {"0.025": 0, "0.05": 0, "0.1": 0, "0.25": 10, "+Inf": 0}  # all in (0.1, 0.25]: p99 = 248.5 ms


def other_model(version: str, **kw) -> tuple:
    """A second model's pods in the same namespace, doing badly on every signal."""
    bad = Cluster(version, model="mistral", waiting=f"80x{STEPS}", kv=f"0.99x{STEPS}", preemptions=f"0+9x{STEPS}",
                  ttft=SLOW_TTFT, itl=SLOW_ITL, job="mistral", **kw)
    return tuple(s for s in bad.series() if not s["series"].startswith("up{"))


def init_running(pod: str, values: str) -> dict:
    """kube-state-metrics: 1 while the pod's init container runs."""
    return series("kube_pod_init_container_status_running", values, namespace=NS, pod=pod, container="wait-for-model")


def ksm(current: int, max_: int, hpa_name: str = f"keda-hpa-{RELEASE}") -> tuple:
    hpa = dict(namespace=NS, horizontalpodautoscaler=hpa_name)
    return (series("kube_horizontalpodautoscaler_status_current_replicas", f"{current}x{STEPS}", **hpa),
            series("kube_horizontalpodautoscaler_spec_max_replicas", f"{max_}x{STEPS}", **hpa))


# ------------------------------------------------------------------ the cases

def _lws_hpa(current: int) -> tuple:
    return (series("kube_horizontalpodautoscaler_status_current_replicas", f"{current}x{STEPS}", namespace=NS,
                   horizontalpodautoscaler=f"keda-hpa-{RELEASE}"),)


@dataclass
class AlertCase:
    name: str
    render: str  # key of RENDERS
    alert: str
    cluster: Callable[[str], list[dict]]  # version -> input series
    fires: dict | None  # output labels of the expression when it fires; None = silent
    value: str | None = None  # how $value renders in the annotations
    eval_after_for: str = "5m"  # evaluated this long after the rule's `for`
    exporter: str | None = None  # vLLM version of the pods (default: the render's)


def _c(**kw) -> Callable[[str], list[dict]]:
    return lambda version: Cluster(version, **kw).series()


CASES = [
    AlertCase("ttft-slow", "newest", "VllmTTFTP99AboveSLO", _c(ttft=SLOW_TTFT), OUT, "4.975s"),
    AlertCase("ttft-slow-0.10.2", "0.10.2", "VllmTTFTP99AboveSLO", _c(ttft=SLOW_TTFT), OUT, "4.975s"),
    AlertCase("ttft-fast", "newest", "VllmTTFTP99AboveSLO", _c(), None),
    # three slow requests in five minutes: their p99 is their maximum, not an incident
    AlertCase("ttft-slow-little-traffic", "newest", "VllmTTFTP99AboveSLO", _c(ttft=LITTLE_SLOW_TTFT), None),
    AlertCase("ttft-slow-other-model", "newest", "VllmTTFTP99AboveSLO", lambda v: Cluster(v, extra=other_model(v)).series(), None),
    AlertCase("ttft-slow-within-relaxed-slo", "relaxed-slo", "VllmTTFTP99AboveSLO", _c(ttft=SLOW_TTFT), None),
    AlertCase("itl-slow", "newest", "VllmITLP99AboveSLO", _c(itl=SLOW_ITL), OUT, "248.5ms"),
    AlertCase("itl-slow-0.10.2", "0.10.2", "VllmITLP99AboveSLO", _c(itl=SLOW_ITL), OUT, "248.5ms"),
    AlertCase("itl-fast", "newest", "VllmITLP99AboveSLO", _c(), None),
    AlertCase("itl-slow-little-traffic", "newest", "VllmITLP99AboveSLO", _c(itl=SLOW_ITL, ttft=LITTLE_SLOW_TTFT), None),
    AlertCase("itl-slow-within-relaxed-slo", "relaxed-slo", "VllmITLP99AboveSLO", _c(itl=SLOW_ITL), None),
    # a full KV cache alone is vLLM working as designed: it alerts with preemptions or a queue
    AlertCase("kv-full", "newest", "VllmKVCacheNearlyFull", _c(kv=f"0.95x{STEPS}", preemptions=PREEMPT), OUT, "95%"),
    AlertCase("kv-full-0.8.5", "0.8.5", "VllmKVCacheNearlyFull", _c(kv=f"0.95x{STEPS}", preemptions=PREEMPT), OUT, "95%"),
    AlertCase("kv-full-queueing", "newest", "VllmKVCacheNearlyFull", _c(kv=f"0.95x{STEPS}", waiting=f"15x{STEPS}"), OUT, "95%"),
    AlertCase("kv-full-saturated-but-healthy", "newest", "VllmKVCacheNearlyFull",
              _c(kv=f"0.97x{STEPS}", waiting=f"3x{STEPS}"), None),
    AlertCase("kv-85", "newest", "VllmKVCacheNearlyFull", _c(kv=f"0.85x{STEPS}", preemptions=PREEMPT), None),
    AlertCase("kv-full-3-minutes", "newest", "VllmKVCacheNearlyFull",
              _c(kv=f"0.95x12 0.5x{STEPS - 13}", preemptions=PREEMPT), None),
    AlertCase("kv-full-other-model", "newest", "VllmKVCacheNearlyFull", lambda v: Cluster(v, extra=other_model(v)).series(), None),
    AlertCase("preempting", "newest", "VllmPreemptionRateHigh", _c(pods=1, preemptions=f"0+1.5x{STEPS}"), OUT, "0.10"),
    AlertCase("preempting-rarely", "newest", "VllmPreemptionRateHigh", _c(preemptions=f"0+0.15x{STEPS}"), None),
    AlertCase("queue-per-replica-high", "newest", "VllmQueueDepthPerReplicaHigh", _c(waiting=f"25x{STEPS}"), OUT, "25.0"),
    # 30 waiting in total is over 20, but 15 per replica is not
    AlertCase("queue-total-high-per-replica-ok", "newest", "VllmQueueDepthPerReplicaHigh", _c(waiting=f"15x{STEPS}"), None),
    AlertCase("queue-high-5-minutes", "newest", "VllmQueueDepthPerReplicaHigh", _c(waiting=f"25x20 0x{STEPS - 21}"), None),
    AlertCase("target-down", "newest", "VllmTargetDown", _c(up=f"0x{STEPS}"), {"namespace": NS, "pod": f"{RELEASE}-0"}, "0"),
    AlertCase("target-restarted", "newest", "VllmTargetDown", _c(up=f"0x20 1x{STEPS - 21}"), None),
    # still in its init container (waiting for the download): not down
    AlertCase("target-down-while-initializing", "newest", "VllmTargetDown",
              _c(up=f"0x{STEPS}", extra=(init_running(f"{RELEASE}-0", f"1x{STEPS}"),)), None),
    # the init container finished long ago, the pod still does not answer
    AlertCase("target-down-after-init", "newest", "VllmTargetDown",
              _c(up=f"0x{STEPS}", extra=(init_running(f"{RELEASE}-0", f"1x4 0x{STEPS - 5}"),)),
              {"namespace": NS, "pod": f"{RELEASE}-0"}, "0"),
    AlertCase("target-absent", "newest", "VllmTargetAbsent",
              lambda v: [series("up", f"1x{STEPS}", namespace=NS, job="other", pod="x")], {"namespace": NS, "job": RELEASE}),
    AlertCase("target-present", "newest", "VllmTargetAbsent", _c(), None),
    AlertCase("podmonitor-target-present", "podmonitor", "VllmTargetAbsent", _c(job=f"{NS}/{RELEASE}"), None),
    AlertCase("podmonitor-target-absent", "podmonitor", "VllmTargetAbsent", _c(), {"namespace": NS, "job": f"{NS}/{RELEASE}"}),
    AlertCase("zero-scaled-to-zero", "zero", "VllmTargetAbsent",
              lambda v: [series("kube_deployment_spec_replicas", f"0x{STEPS}", namespace=NS, deployment=RELEASE)], None),
    AlertCase("zero-wanted-but-absent", "zero", "VllmTargetAbsent",
              lambda v: [series("kube_deployment_spec_replicas", f"1x{STEPS}", namespace=NS, deployment=RELEASE)],
              {"namespace": NS, "job": RELEASE}),
    # LWS: desired replicas are the HPA's (read from the LWS scale subresource), not a Deployment's
    AlertCase("lws-scaled-to-zero", "lws-zero", "VllmTargetAbsent", lambda v: [*_lws_hpa(0),
              series("kube_deployment_spec_replicas", f"1x{STEPS}", namespace=NS, deployment=RELEASE)], None),
    AlertCase("lws-wanted-but-absent", "lws-zero", "VllmTargetAbsent", lambda v: list(_lws_hpa(1)),
              {"namespace": NS, "job": RELEASE}),
    # KServe: the HPA KEDA makes for KServe's ScaledObject <isvc>-predictor
    AlertCase("kserve-at-max-queue-grows", "kserve", "VllmAutoscalerAtMaxWhileQueueGrows",
              lambda v: Cluster(v, waiting=f"0+1x{STEPS}", extra=ksm(4, 4, f"keda-hpa-{RELEASE}-predictor")).series(),
              {}, eval_after_for="15m"),
    AlertCase("kserve-other-hpa-at-max", "kserve", "VllmAutoscalerAtMaxWhileQueueGrows",
              lambda v: Cluster(v, waiting=f"0+1x{STEPS}", extra=ksm(4, 4)).series(), None, eval_after_for="15m"),
    AlertCase("scaler-metrics-present", "newest", "VllmScalerMetricsAbsent", _c(), None),
    AlertCase("scaler-metrics-wrong-served-name", "newest", "VllmScalerMetricsAbsent", _c(model="meta-llama/x"), OUT),
    # rendered for 0.8.5 (gpu_cache_usage_perc), the pods run the newest vLLM: the scaler sees nothing
    AlertCase("scaler-metrics-version-mismatch", "0.8.5", "VllmScalerMetricsAbsent", _c(), OUT, exporter=NEWEST_VLLM),
    AlertCase("at-max-queue-grows", "newest", "VllmAutoscalerAtMaxWhileQueueGrows",
              lambda v: Cluster(v, waiting=f"0+1x{STEPS}", extra=ksm(4, 4)).series(), {}, eval_after_for="15m"),
    AlertCase("at-max-queue-flat", "newest", "VllmAutoscalerAtMaxWhileQueueGrows",
              lambda v: Cluster(v, waiting=f"50x{STEPS}", extra=ksm(4, 4)).series(), None, eval_after_for="15m"),
    AlertCase("below-max-queue-grows", "newest", "VllmAutoscalerAtMaxWhileQueueGrows",
              lambda v: Cluster(v, waiting=f"0+1x{STEPS}", extra=ksm(2, 4)).series(), None, eval_after_for="15m"),
]


# ------------------------------------------------------------------ a healthy service fires nothing

def fresh_deploy(version: str) -> list[dict]:
    """One 70B pod: 20 minutes in its init container (download), 20 minutes loading (no /metrics,
    up == 0), then 10 minutes serving light traffic."""
    ex, pod = Exporter(version), Pod(f"{RELEASE}-0", NS, MODEL, RELEASE)
    silent = "_x160 "  # no vLLM series until the model is loaded (40 minutes)
    out = [init_running(pod.name, "1x79 0x120"),
           series("up", "0x159 1x40", namespace=NS, job=RELEASE, pod=pod.name, instance=f"{pod.name}:8000"),
           series("kube_deployment_spec_replicas", "1x200", namespace=NS, deployment=RELEASE),
           *(dict(x, values="4x200") for x in ksm(1, 4))]
    out += ex.gauge("queue", pod, silent + "0x39") + ex.gauge("running", pod, silent + "2x39")
    out += ex.gauge("kv_usage", pod, silent + "0.2x39") + ex.counter("preemptions", pod, silent + "0x39")
    for signal, buckets in (("ttft", {"0.5": 3, "+Inf": 0}), ("itl", {"0.025": 100, "+Inf": 0})):
        for h in ex.histogram(signal, pod, buckets, 39):
            h["values"] = silent + h["values"]
    return out


def idle(version: str) -> list[dict]:
    zero = {"0.5": 0, "+Inf": 0}
    return Cluster(version, pods=1, kv=f"0x{STEPS}", ttft=zero, itl=zero, extra=ksm(1, 4)).series()


def saturated_but_healthy(version: str) -> list[dict]:
    """At max replicas, KV caches nearly full (as vLLM intends), a short steady queue, no preemption,
    latency within the SLO."""
    return Cluster(version, pods=4, kv=f"0.97x{STEPS}", waiting=f"6x{STEPS}", extra=ksm(4, 4)).series()


QUIET = {"fresh-70b-deploy": ("70b", fresh_deploy, 50), "idle": ("newest", idle, 40),
         "saturated-but-healthy": ("newest", saturated_but_healthy, 40)}


def _quiet_case(name: str, cluster, rules_file: Path, minutes: int) -> Case:
    case = Case(name, cluster, [rules_file])
    for minute in range(2, minutes, 3):
        for alert in alert_rules.alert_names():
            case.alert(alert, f"{minute}m", [])
    return case


@pytest.fixture(scope="module")
def quiet_results(promtool, rendered, rules_files, tmp_path_factory):
    work = tmp_path_factory.mktemp("quiet")
    cases = [_quiet_case(f"quiet-{name}", cluster(_version(key)), rules_files[key], minutes)
             for name, (key, cluster, minutes) in QUIET.items()]
    # the same fresh deploy against a TargetDown that counts pods in their init container
    docs = _mutated_rules(rendered["70b"], "VllmTargetDown", lambda e: e.split(" unless ")[0])
    cases.append(_quiet_case("mutant-init-counts-as-down", fresh_deploy(_version("70b")),
                             write_rules_file(docs, work / "init-counts.rules.json"), 50))
    return run(promtool, cases, work)


@pytest.mark.parametrize("scenario", list(QUIET))
def test_a_healthy_service_fires_nothing(quiet_results, scenario):
    result = quiet_results[f"quiet-{scenario}"]
    assert result.ok, result.output


def test_the_fresh_deploy_is_not_trivially_quiet(quiet_results, rendered):
    """It is down for 40 minutes, longer than TargetDown's `for` (the start-up budget, longer than
    the 20 minutes of loading): counting the init container as down would fire."""
    down_for = _minutes(rules_by_name(rendered["70b"])["VllmTargetDown"]["for"])
    assert 20 < down_for < 40
    result = quiet_results["mutant-init-counts-as-down"]
    assert not result.ok and any("VllmTargetDown" in f.what for f in result.failures)


def _minutes(d: str) -> float:
    m = re.fullmatch(r"(\d+)([smh])", d)
    assert m, d
    return int(m.group(1)) * {"s": 1 / 60, "m": 1, "h": 60}[m.group(2)]


def _version(render_key: str) -> str:
    return RENDERS[render_key].get("vllm_version", NEWEST_VLLM)


def alert_case(c: AlertCase, docs, rules_file: Path, name: str | None = None, exporter: str | None = None) -> Case:
    rule = rules_by_name(docs)[c.alert]
    eval_m = _minutes(rule.get("for", "0s")) + _minutes(c.eval_after_for)
    assert eval_m * 60 < STEPS * 15, "evaluate inside the synthetic series"
    case = Case(name or c.name, c.cluster(exporter or c.exporter or _version(c.render)), [rules_file])
    exp = [] if c.fires is None else [expected_alert(rule, c.fires, c.value)]
    case.alert(c.alert, f"{round(eval_m * 60)}s", exp)
    return case


def _mutated_rules(docs, alert: str, edit: Callable[[str], str]) -> dict:
    docs = copy.deepcopy(docs)
    for g in docs["PrometheusRule"][0]["spec"]["groups"]:
        for r in g["rules"]:
            if r.get("alert") == alert:
                r["expr"] = edit(r["expr"])
    return docs


# name -> (case to run, how to change the docs or the pods)
MUTANTS = {
    # p99 per pod instead of over the service: the alert gets pod labels and fires per pod
    "ttft-p99-not-aggregated": ("ttft-slow", lambda d: _mutated_rules(
        d, "VllmTTFTP99AboveSLO", lambda e: e.replace("sum by (namespace, model_name, le) (", "(")), None),
    # rules rendered for the newest vLLM, pods on 0.10.0 (no inter_token_latency_seconds yet)
    "itl-newest-rules-on-0.10.0-pods": ("itl-slow", None, "0.10.0"),
    # queue alert on the total instead of per replica
    "queue-not-per-replica": ("queue-total-high-per-replica-ok", lambda d: _mutated_rules(
        d, "VllmQueueDepthPerReplicaHigh", lambda e: e.split(" / on ")[0] + " > 20"), None),
}


@pytest.fixture(scope="module")
def rendered():
    return {k: render(**v)[1] for k, v in RENDERS.items()}


@pytest.fixture(scope="module")
def rules_files(rendered, tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    return {k: write_rules_file(docs, d / f"{k}.rules.json") for k, docs in rendered.items()}


@pytest.fixture(scope="module")
def alert_results(promtool, rendered, rules_files, tmp_path_factory):
    work = tmp_path_factory.mktemp("alerts")
    cases = [alert_case(c, rendered[c.render], rules_files[c.render]) for c in CASES]
    by_name = {c.name: c for c in CASES}
    for name, (base, mutate, exporter) in MUTANTS.items():
        c = by_name[base]
        docs = mutate(rendered[c.render]) if mutate else rendered[c.render]
        path = write_rules_file(docs, work / f"mutant-{name}.rules.json") if mutate else rules_files[c.render]
        cases.append(alert_case(c, docs, path, name=f"mutant-{name}", exporter=exporter))
    return run(promtool, cases, work)


def test_every_alert_has_a_firing_and_a_silent_case():
    fired = {c.alert for c in CASES if c.fires is not None}
    silent = {c.alert for c in CASES if c.fires is None}
    assert fired == silent == set(alert_rules.alert_names())


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_alert(alert_results, case):
    result = alert_results[case]
    assert result.ok, result.output


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_harness_catches_broken_alerts(alert_results, mutant):
    result = alert_results[f"mutant-{mutant}"]
    assert not result.ok, f"{mutant} passed:\n{result.output}"
    assert any(f.what.startswith("alertname") for f in result.failures)


# ------------------------------------------------------------------ promtool check rules, every PromQL

def test_rendered_rules_pass_promtool_check(promtool, rendered, rules_files, tmp_path):
    # every other PromQL of the output (scaler queries, dashboard targets) as recording rules
    extra = []
    for key, docs in rendered.items():
        rules = [{"record": f"check:{i}", "expr": expr} for i, (_, expr) in enumerate(all_promql(docs))]
        extra.append(tmp_path / f"{key}.all.json")
        extra[-1].write_text(json.dumps({"groups": [{"name": key, "rules": rules}]}))
    for path in [*rules_files.values(), *extra]:
        out = check_rules(promtool, path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "SUCCESS" in out.stdout


def test_a_hostile_served_model_name_stays_valid_promql(promtool, tmp_path):
    _, docs = render(**{**BASE, "served_model_name": 'team "a" {{ x }} \\ b'})
    path = write_rules_file(docs, tmp_path / "hostile.json")
    out = check_rules(promtool, path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert all('model_name="team \\"a\\" {{ x }} \\\\ b"' in e for o, e in all_promql(docs) if "vllm:" in e
               and o.startswith("scaler"))


def test_check_rules_rejects_a_broken_rule(promtool, rendered, tmp_path):
    """The check is not a rubber stamp: an unbalanced expression fails it."""
    docs = _mutated_rules(rendered["newest"], "VllmKVCacheNearlyFull", lambda e: e + ")")
    out = check_rules(promtool, write_rules_file(docs, tmp_path / "broken.json"))
    assert out.returncode != 0


# ------------------------------------------------------------------ rule shape and runbook

def test_alerts_carry_for_severity_summary_description_runbook(rendered):
    rules = rules_by_name(rendered["newest"])
    assert {n for n, r in rules.items() if "alert" in r} == set(alert_rules.alert_names())
    hpa = rendered["newest"]["ScaledObject"][0]["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"]
    assert f'horizontalpodautoscaler="{hpa}"' in rules["VllmAutoscalerAtMaxWhileQueueGrows"]["expr"]
    for name in alert_rules.alert_names():
        r = rules[name]
        assert r["for"] and r["labels"]["severity"] in ("warning", "critical")
        assert r["annotations"]["summary"] and r["annotations"]["description"]
        assert r["annotations"]["runbook_url"].endswith(f"docs/runbook.md#{name.lower()}")
    assert rules["VllmPreemptionRateHigh"]["for"] == "10m" and "> 0.05" in rules["VllmPreemptionRateHigh"]["expr"]
    assert "> 0.9" in rules["VllmKVCacheNearlyFull"]["expr"]
    assert rules["VllmKVCacheNearlyFull"]["for"] == "15m"
    for slo in ("VllmTTFTP99AboveSLO", "VllmITLP99AboveSLO"):
        assert rules[slo]["expr"].startswith("histogram_quantile(0.99, sum by (namespace, model_name, le) (rate(")
    relaxed = rules_by_name(rendered["relaxed-slo"])
    assert "> 5 and on (namespace, model_name) (" in relaxed["VllmTTFTP99AboveSLO"]["expr"]
    assert "> 0.3 and on (namespace, model_name) (" in relaxed["VllmITLP99AboveSLO"]["expr"]


def test_recording_rules_are_per_service(rendered):
    groups = rendered["newest"]["PrometheusRule"][0]["spec"]["groups"]
    records = [r for g in groups for r in g["rules"] if "record" in r]
    assert len(records) >= 10
    for r in records:
        assert f'namespace="{NS}",model_name="{MODEL}"' in r["expr"], r["record"]
        assert "by (namespace, model_name" in r["expr"], r["record"]


def _anchors(markdown: str) -> set[str]:
    """GitHub heading anchors: lowercase, spaces to '-', punctuation dropped."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


def test_runbook_has_a_section_per_alert(rendered):
    anchors = _anchors((REPO / "docs" / "runbook.md").read_text(encoding="utf-8"))
    for r in rules_by_name(rendered["newest"]).values():
        if "alert" in r:
            assert r["annotations"]["runbook_url"].split("#", 1)[1] in anchors, r["alert"]
