"""Grafana dashboard ConfigMap: valid JSON, the panels the issue asks for, and every panel
query sees data from pods of the rendered vLLM version (evaluated by promtool)."""
from __future__ import annotations

import json

import pytest
from promtool_harness import Case, Exporter, Pod, dashboard, render, run, series

from vllmkube.versions import NEWEST_VLLM

NS, MODEL, RELEASE = "llm", "llama", "llama"
BASE = dict(model="llama-3.1-8b", gpu="h100", hf_token_secret="hf-token", namespace=NS, name=RELEASE, served_model_name=MODEL, queue_threshold=10)
VERSIONS = [NEWEST_VLLM, "0.10.2", "0.8.5"]
REQUIRED = ["Time to first token", "Inter-token latency", "Requests waiting", "Requests running", "KV-cache usage",
            "Preemptions", "Tokens per second", "Prefix-cache hit rate", "Replicas"]


def _panels(docs) -> dict[str, dict]:
    return {p["title"]: p for p in dashboard(docs)["panels"]}


def test_configmap_is_picked_up_by_the_grafana_sidecar():
    _, docs = render(**BASE)
    (cm,) = [c for c in docs["ConfigMap"] if "grafana_dashboard" in c["metadata"]["labels"]]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == NS
    (key,) = cm["data"]
    assert key.endswith(".json")
    board = json.loads(cm["data"][key])
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]


def test_panels_and_their_queries():
    _, docs = render(**BASE, slo_ttft_p99="500ms", slo_itl_p99="50ms")
    board = dashboard(docs)
    panels = _panels(docs)
    assert set(REQUIRED) <= set(panels)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"]
        assert {"x", "y", "w", "h"} <= set(p["gridPos"])
        for t in p["targets"]:
            assert t["expr"].strip() and t["refId"]
    ttft = [t["expr"] for t in panels["Time to first token"]["targets"]]
    assert "vector(0.5)" in ttft and any(e.startswith("histogram_quantile(0.99, sum by (le)") for e in ttft)
    assert "vector(0.05)" in [t["expr"] for t in panels["Inter-token latency"]["targets"]]
    assert panels["KV-cache usage"]["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert panels["Prefix-cache hit rate"]["fieldConfig"]["defaults"]["max"] == 1.0


def _cluster(version: str) -> list[dict]:
    ex = Exporter(version)
    out = []
    for i, (waiting, kv) in enumerate([(20, 0.5), (15, 0.7)]):
        pod = Pod(f"{RELEASE}-{i}", NS, MODEL, RELEASE)
        out += ex.gauge("queue", pod, f"{waiting}x40") + ex.gauge("running", pod, "8x40") + ex.gauge("kv_usage", pod, f"{kv}x40")
        for signal, per_step in (("preemptions", 1.5), ("prompt_tokens", 1500), ("generation_tokens", 3000),
                                 ("prefix_cache_queries", 1000), ("prefix_cache_hits", 250), ("request_success", 15)):
            out += ex.counter(signal, pod, f"0+{per_step}x40")
        for signal in ("ttft", "itl", "e2e"):
            out += ex.histogram(signal, pod, {"0.1": 5, "1": 5, "10": 0, "+Inf": 0}, 40)
    dep = dict(namespace=NS, deployment=RELEASE)
    out += [series("kube_deployment_status_replicas_ready", "2x40", **dep), series("kube_deployment_spec_replicas", "2x40", **dep)]
    return out


@pytest.fixture(scope="module")
def dashboard_results(promtool, tmp_path_factory):
    cases = []
    for v in VERSIONS:
        _, docs = render(**BASE, vllm_version=v)
        case = Case(f"dashboard-{v}", _cluster(v))
        for p in dashboard(docs)["panels"]:
            for t in p["targets"]:
                case.expr(f"absent({t['expr']})", "5m", [])  # the panel query returns data
        panels = _panels(docs)
        case.expr(panels["Requests waiting"]["targets"][0]["expr"], "5m", [({}, 35)])
        case.expr(panels["Requests waiting"]["targets"][1]["expr"], "5m", [({}, 20)])  # 10 per replica x 2
        case.expr(panels["Prefix-cache hit rate"]["targets"][0]["expr"], "5m", [({}, 0.25)])
        case.expr(panels["Preemptions"]["targets"][0]["expr"], "5m", [({}, 0.2)])
        cases.append(case)
    # the newest version's KV panel against 0.8.5 pods: a renamed metric shows nothing
    _, newest = render(**BASE)
    wrong = Case("dashboard-newest-on-0.8.5-pods", _cluster("0.8.5"))
    for t in _panels(newest)["KV-cache usage"]["targets"][:1]:
        wrong.expr(f"absent({t['expr']})", "5m", [])
    cases.append(wrong)
    # LeaderWorkerSet: no kube_deployment_* series; desired from KEDA's HPA, ready = ready leader pods
    _, lws = render(**BASE, target="lws")
    ready = dict(namespace=NS, condition="true")
    cluster = _cluster(NEWEST_VLLM) + [
        series("kube_horizontalpodautoscaler_status_current_replicas", "3x40", namespace=NS,
               horizontalpodautoscaler=f"keda-hpa-{RELEASE}"),
        series("kube_pod_status_ready", "1x40", pod=f"{RELEASE}-0", **ready),  # leaders of groups 0 and 1
        series("kube_pod_status_ready", "1x40", pod=f"{RELEASE}-1", **ready),
        series("kube_pod_status_ready", "0x40", pod=f"{RELEASE}-2", **ready),  # group 2 still loading
        series("kube_pod_status_ready", "1x40", pod=f"{RELEASE}-0-1", **ready),  # a worker: not a replica
    ]
    case = Case("dashboard-lws", cluster)
    replicas = {t["legendFormat"]: t["expr"] for t in _panels(lws)["Replicas"]["targets"]}
    case.expr(replicas["ready"], "5m", [({}, 2)])
    case.expr(replicas["desired"], "5m", [({}, 3)])
    cases.append(case)
    return run(promtool, cases, tmp_path_factory.mktemp("dashboard"))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_panel_sees_data_of_its_version(dashboard_results, version):
    result = dashboard_results[f"dashboard-{version}"]
    assert result.ok, result.output


def test_a_dashboard_for_the_wrong_version_sees_nothing(dashboard_results):
    assert not dashboard_results["dashboard-newest-on-0.8.5-pods"].ok


def test_lws_replicas_come_from_the_hpa_and_the_leaders(dashboard_results):
    result = dashboard_results["dashboard-lws"]
    assert result.ok, result.output
