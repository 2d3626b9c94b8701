"""Every ScaledObject vllmkube renders is accepted by KEDA 2.12-2.20 (for the --keda-version it
was rendered for), per trigger combination; the admission model follows the per-release table
in the shared reference cloud-gpu-facts.md section 5."""
from __future__ import annotations

import pytest

from vllmkube import kedaadmission
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

GATEWAY = 'sum(rate(nginx_ingress_controller_requests{namespace="llm"}[2m]))'
BASE = dict(model="Qwen/Qwen2.5-7B-Instruct", gpu="h100", namespace="llm")
COMBINATIONS = {
    "queue+kv": {},
    "queue+kv+request-rate": dict(rps=20),
    "scale-to-zero": dict(scale_to_zero=True, activation_query=GATEWAY),
    "scale-to-zero+request-rate": dict(scale_to_zero=True, activation_query=GATEWAY, rps=20),
    "no-fallback": dict(fallback_replicas=0),
    "fallback-3": dict(fallback_replicas=3, min_replicas=2),
}
CLUSTERS = ["2.12", "2.13", "2.14", "2.15", "2.16", "2.17.0", "2.17.1", "2.17.3", "2.18.0", "2.19", "2.20.2"]


def scaledobject(**values) -> dict:
    _, docs = plan_render(build(RenderSpec, {**BASE, **values}))
    (so,) = [load_all(d.text)[0] for d in docs if d.kind == "ScaledObject"]
    return so["spec"]


@pytest.mark.parametrize("combo", list(COMBINATIONS))
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_rendered_scaledobject_is_accepted(combo, cluster):
    spec = scaledobject(**COMBINATIONS[combo], keda_version=cluster)
    assert kedaadmission.rejection(spec, cluster) is None


@pytest.mark.parametrize("combo", list(COMBINATIONS))
def test_the_default_render_is_accepted_from_2_17_and_loud_before(combo):
    spec = scaledobject(**COMBINATIONS[combo])
    rejected = kedaadmission.rejected_by(spec)
    assert not any(v.startswith(("2.17", "2.18", "2.19", "2.20")) for v in rejected)
    # before 2.17 only the fallback.behavior field is refused (by the CRD, at apply time)
    assert all(why.startswith("fallback.behavior is unknown") for why in rejected.values())


def _so(*triggers, **fallback) -> dict:
    spec = {"triggers": list(triggers)}
    if fallback is not None:
        spec["fallback"] = {"failureThreshold": 3, "replicas": 2, **fallback}
    return spec


PROM_AVG = {"type": "prometheus", "metricType": "AverageValue"}
PROM_OMITTED = {"type": "prometheus"}
PROM_VALUE = {"type": "prometheus", "metricType": "Value"}
CPU = {"type": "cpu", "metricType": "Utilization"}


@pytest.mark.parametrize("triggers, rejected", [
    ((PROM_AVG, PROM_VALUE), set()),  # what vllmkube renders: accepted everywhere
    ((PROM_OMITTED, PROM_VALUE), {"2.17.0"}),  # 2.17.0 counts an omitted metricType as not AverageValue
    ((PROM_VALUE,), {"2.17.0", "2.17.1-2.17.3"}),  # Value only: 2.17.x; 2.18 applies fallback to Value
    ((CPU,), {"2.17.0", "2.17.1-2.17.3", "2.18", "2.19", "2.20"}),  # fallback never works on cpu/memory
    ((CPU, PROM_OMITTED), {"2.17.0"}),
])
def test_the_admission_model_follows_the_per_release_table(triggers, rejected):
    assert set(kedaadmission.rejected_by(_so(*triggers))) == rejected


def test_older_keda_refuses_the_behavior_field_and_negative_counts():
    assert set(kedaadmission.rejected_by(_so(PROM_AVG, behavior="currentReplicasIfHigher"))) == {
        "2.12", "2.13", "2.14", "2.15", "2.16"}
    assert "2.14" in kedaadmission.rejected_by(_so(PROM_AVG, replicas=-1))
    assert "2.13" not in kedaadmission.rejected_by(_so(PROM_AVG, replicas=-1))
    assert kedaadmission.rejected_by({"triggers": [PROM_VALUE]}) == {}  # no fallback, nothing to refuse


def test_old_keda_render_leaves_behavior_out_and_says_what_the_fallback_does(capsys):
    from clirun import run

    r = run(capsys, "render", "-m", BASE["model"], "-g", "h100", "--keda-version", "2.16")
    (so,) = [d for d in load_all(r.out) if d["kind"] == "ScaledObject"]
    assert r.code == 0 and "behavior" not in so["spec"]["fallback"]
    assert "KEDA 2.16 has no fallback.behavior" in r.err
    assert "currentReplicasIfHigher" in run(capsys, "render", "-m", BASE["model"], "-g", "h100").out


def test_lint_flags_combinations_by_the_versions_they_break():
    from vllmkube.lint import LintOptions, lint_text

    text = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: m, namespace: ai}
spec:
  scaleTargetRef: {name: m}
  fallback: {failureThreshold: 3, replicas: 2}
  triggers:
    - type: prometheus
      metadata: {serverAddress: "http://p:9090", threshold: "5", query: 'sum(vllm:num_requests_waiting{namespace="ai",model_name="m"})'}
"""
    findings = [f for f in lint_text(text, options=LintOptions(schema=False)).findings if f.rule == "keda-fallback-rejected"]
    assert len(findings) == 1 and "KEDA 2.17.0:" in findings[0].message and "2.17.1" not in findings[0].message
