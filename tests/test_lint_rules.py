"""Every lint rule: a failing fixture that yields exactly the expected finding text and a passing
fixture that is clean (tests/lint_fixtures/<rule-id>/{bad.yaml,good.yaml,expected.txt})."""
from __future__ import annotations

from pathlib import Path

import pytest

from vllmkube.lint import LintOptions, Source, lint, lint_text
from vllmkube.lint.findings import Severity
from vllmkube.lint.ruleset import RULES

FIXTURES = Path(__file__).parent / "lint_fixtures"
DOCS = Path(__file__).parent.parent / "docs" / "lint-rules.md"
OWN_TESTS = {"kubeconform"}  # needs a kubeconform binary: tests/test_lint_cli.py
RULE_DIRS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def run(rule: str, which: str, locations: tuple[str, ...] = ()) -> list:
    folder = FIXTURES / rule
    path = folder / f"{which}.yaml"
    own = (str(folder / "schemas"),) if (folder / "schemas").is_dir() else ()
    options = LintOptions(schema=RULES[rule].layer != "vllm" or bool(locations), schema_locations=own + locations)
    return lint([Source(path.name, path.read_text(encoding="utf-8"))], options).findings


def test_every_rule_has_fixtures_and_a_doc_section():
    docs = DOCS.read_text(encoding="utf-8")
    assert set(RULE_DIRS) == set(RULES) - OWN_TESTS
    for rule in RULES:
        assert f"\n## {rule}\n" in docs, f"docs/lint-rules.md lacks a section for {rule}"


@pytest.mark.parametrize("rule", RULE_DIRS)
def test_bad_fixture_yields_the_expected_findings(rule):
    found = "".join(f.text() + "\n" for f in run(rule, "bad") if f.rule == rule)
    assert found, f"{rule}: the failing fixture produced no finding"
    assert found == (FIXTURES / rule / "expected.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", RULE_DIRS)
def test_good_fixture_is_clean(rule):
    findings = run(rule, "good")
    assert [f.text() for f in findings if f.rule == rule] == []
    assert [f.text() for f in findings if f.severity >= Severity.WARNING] == []


@pytest.mark.parametrize("rule", RULE_DIRS)
def test_good_fixture_is_clean_with_crd_schemas(rule, shared_dir):
    """With the CRD schemas, the passing fixtures are also schema-valid (no unknown kinds)."""
    findings = run(rule, "good", (str(shared_dir / "schemas"),))
    assert [f.text() for f in findings if f.severity >= Severity.WARNING] == []


# ----------------------------------------------------------------------------- edges the fixtures do not show
def _so(extra: str, query: str = 'sum(vllm:num_requests_waiting{namespace="ai",model_name="m"})') -> str:
    return f"""apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: m, namespace: ai}}
spec:
  scaleTargetRef: {{name: m}}
{extra}
  triggers:
    - type: prometheus
      metadata: {{serverAddress: "http://p:9090", threshold: "5", query: '{query}'}}
"""


def _rules(text: str) -> list[str]:
    return [f.rule for f in lint_text(text, options=LintOptions(schema=False)).findings]


def test_idle_replica_count_zero_makes_cooldown_meaningful():
    gateway = 'sum(rate(nginx_ingress_controller_requests{namespace="ai"}[2m]))'
    assert "keda-cooldown-without-scale-to-zero" not in _rules(_so("  minReplicaCount: 1\n  idleReplicaCount: 0\n"
                                                                  "  cooldownPeriod: 300", gateway))
    # idle at zero on vLLM metrics alone: nothing wakes it either
    assert "keda-scale-to-zero-vllm-metrics" in _rules(_so("  minReplicaCount: 1\n  idleReplicaCount: 0"))


def test_histogram_quantile_by_le_is_one_series_and_scalar_division_keeps_the_form():
    q = 'histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="ai",model_name="m"}[5m])))'
    assert _rules(_so("  minReplicaCount: 1", q)) == ["scale-target-missing"]
    q = 'avg(vllm:num_requests_waiting{namespace="ai",model_name="m"}) * 2'
    assert "keda-metrictype-mismatch" in _rules(_so("  minReplicaCount: 1", q))


def test_annotation_disables_a_rule_on_one_object():
    text = _so("  minReplicaCount: 1\n  cooldownPeriod: 300").replace(
        "metadata: {name: m, namespace: ai}",
        'metadata: {name: m, namespace: ai, annotations: {lint.vllmkube.io/disable: "keda-cooldown-without-scale-to-zero"}}')
    assert "keda-cooldown-without-scale-to-zero" not in _rules(text)
    assert "keda-cooldown-without-scale-to-zero" in _rules(_so("  minReplicaCount: 1\n  cooldownPeriod: 300"))


def test_missing_reference_is_info_when_nothing_of_that_kind_is_linted():
    findings = lint_text(_so("  minReplicaCount: 1"), options=LintOptions(schema=False)).findings
    (missing,) = [f for f in findings if f.rule == "scale-target-missing"]
    assert missing.severity == Severity.INFO


def test_dashboard_configmap_metric_names_are_checked_against_the_version():
    deploy = (FIXTURES / "metric-not-exported" / "good.yaml").read_text().split("---")[0]  # vLLM 0.12.0
    dashboard = """---
apiVersion: v1
kind: ConfigMap
metadata: {name: dash, namespace: ai, labels: {grafana_dashboard: "1"}}
data:
  llm.json: '{"panels": [{"targets": [{"expr": "avg(vllm:gpu_cache_usage_perc{namespace=\\"ai\\"})"}]}]}'
"""
    findings = [f for f in lint_text(deploy + dashboard, options=LintOptions(schema=False)).findings
                if f.rule == "metric-not-exported"]
    assert [(f.path, f.fix) for f in findings] == [('data["llm.json"]', "use vllm:kv_cache_usage_perc")]


# issue 12: what can wake a ScaledObject at zero replicas
_ZERO_SO = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: m, namespace: ai}
spec:
  scaleTargetRef: {name: m}
  minReplicaCount: 0
  triggers:
%s    - type: prometheus
      metadata: {serverAddress: "http://p:9090", threshold: "5", query: 'sum(vllm:num_requests_waiting{namespace="ai",model_name="m"})'}
"""
_PUSH = """    - type: external-push
      metadata: {scalerAddress: "keda-add-ons-http-external-scaler.keda:9090", interceptorRoute: m}
"""
_ROUTER = """    - type: prometheus
      metadata: {serverAddress: "http://p:9090", threshold: "1", query: 'sum(rate(vllm:num_incoming_requests_total{model="m"}[1m]))'}
"""
_ENGINE = """    - type: prometheus
      metadata: {serverAddress: "http://p:9090", threshold: "1", query: 'sum(rate(vllm:request_success_total{namespace="ai",model_name="m"}[1m]))'}
"""


def test_scale_to_zero_on_engine_metrics_alone_is_flagged_and_a_push_or_router_trigger_is_not():
    assert "keda-scale-to-zero-vllm-metrics" in _rules(_ZERO_SO % "")
    assert "keda-scale-to-zero-vllm-metrics" in _rules(_ZERO_SO % _ENGINE)  # another engine metric: still zero at zero
    assert "keda-scale-to-zero-vllm-metrics" not in _rules(_ZERO_SO % _PUSH)  # the HTTP add-on sees requests at zero
    assert "keda-scale-to-zero-vllm-metrics" not in _rules(_ZERO_SO % _ROUTER)  # the router exports it without engines
