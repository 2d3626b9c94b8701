"""Evaluate rendered PromQL with a real Prometheus engine (promtool test rules).

What the tests need, in one place:
- ``render`` runs the real render path (spec -> plans -> templates -> parsed documents);
- ``scaler_triggers`` / ``rule_groups`` / ``dashboard`` / ``all_promql`` pull every PromQL out
  of the rendered documents, so the tests judge what a cluster would receive;
- ``Exporter`` writes synthetic series under the names a given vLLM version exports. It is
  written from kubernetes-vllm-facts.md section 2.3 and deliberately does NOT use
  vllmkube.metrics: the metric table is what is under test;
- ``hpa_desired`` is the HPA replica formula per metricType (facts section 1.5), and
  ``hpa_promql`` the same formula wrapped around a scaler query, so promtool computes the
  replica count from the query's own result;
- ``run`` writes promtool unit-test files, runs ONE promtool process over all of them and
  parses the per-file verdicts (with the number of series a failing expression returned).
"""
from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

STEP = "15s"  # scrape and rule evaluation interval of every synthetic test


# ---------------------------------------------------------------- rendering and extraction

def render(**values: Any) -> tuple[Any, dict[str, list[dict]]]:
    """(Plan, {kind: [parsed documents]}) through the same path as `vllmkube render`."""
    values.setdefault("hf_token_secret", "hf-token")  # the test models are gated
    plan, docs = plan_render(build(RenderSpec, values))
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        parsed = load_all(d.text)[0]
        by_kind.setdefault(parsed["kind"], []).append(_plain(parsed))
    return plan, by_kind


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


@dataclass
class ScalerTrigger:
    name: str
    query: str
    threshold: float
    metric_type: str  # as KEDA reads it: a missing metricType is AverageValue
    activation_threshold: float | None
    ignore_null_values: bool


def scaler_triggers(docs: dict[str, list[dict]]) -> list[ScalerTrigger]:
    (so,) = docs["ScaledObject"]
    out = []
    for t in so["spec"]["triggers"]:
        if t.get("type") != "prometheus":  # e.g. the KEDA HTTP add-on's external-push: no query to evaluate
            continue
        md = t["metadata"]
        act = md.get("activationThreshold")
        out.append(ScalerTrigger(t.get("name", ""), md["query"], float(md["threshold"]),
                                 t.get("metricType", "AverageValue"), float(act) if act is not None else None,
                                 md.get("ignoreNullValues", "true").lower() != "false"))
    return out


def rule_groups(docs: dict[str, list[dict]]) -> list[dict]:
    (pr,) = docs["PrometheusRule"]
    return pr["spec"]["groups"]


def rules_by_name(docs: dict[str, list[dict]]) -> dict[str, dict]:
    return {r.get("alert") or r["record"]: r for g in rule_groups(docs) for r in g["rules"]}


def dashboard(docs: dict[str, list[dict]]) -> dict:
    (cm,) = [c for c in docs["ConfigMap"] if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    (text,) = cm["data"].values()
    return json.loads(text)


def all_promql(docs: dict[str, list[dict]]) -> list[tuple[str, str]]:
    """(origin, expr) for every PromQL in the output: scaler queries, rules, dashboard targets."""
    out = [(f"scaler {t.name}", t.query) for t in scaler_triggers(docs)] if "ScaledObject" in docs else []
    out += [(f"rule {r.get('alert') or r['record']}", r["expr"]) for g in rule_groups(docs) for r in g["rules"]]
    out += [(f"panel {p['title']} {t['refId']}", t["expr"]) for p in dashboard(docs)["panels"] for t in p["targets"]]
    return out


def write_rules_file(docs: dict[str, list[dict]], path: Path) -> Path:
    """spec.groups of the PrometheusRule as a plain Prometheus rules file."""
    path.write_text(json.dumps({"groups": rule_groups(docs)}, indent=1))
    return path


# ---------------------------------------------------------------- what a vLLM version exports

def _v(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def exported_names(version: str) -> dict[str, list[str]]:
    """signal -> every name a vLLM pod of ``version`` exports for it by default.

    From kubernetes-vllm-facts.md 2.3: kv_cache_usage_perc and prefix_cache_* appear in
    0.9.2, the gpu_* names are hidden from 0.11; time_per_output_token_seconds is hidden from
    0.12. Versions in between export both. inter_token_latency_seconds: the facts say 0.11
    (PR #24110), but the 0.10.2 wheel already declares it (v1/metrics/loggers.py, next to the
    old name marked "Deprecated in 0.11"), so 0.10.2 here.
    """
    v = _v(version)
    assert v >= (0, 8), "the synthetic exporter models the V1 engine (0.8+)"
    kv = (["vllm:gpu_cache_usage_perc"] if v < (0, 11) else []) + (["vllm:kv_cache_usage_perc"] if v >= (0, 9, 2) else [])
    itl = (["vllm:time_per_output_token_seconds"] if v < (0, 12) else []) + (
        ["vllm:inter_token_latency_seconds"] if v >= (0, 10, 2) else [])
    hits = (["vllm:gpu_prefix_cache_hits_total"] if v < (0, 11) else []) + (
        ["vllm:prefix_cache_hits_total"] if v >= (0, 9, 2) else [])
    queries = (["vllm:gpu_prefix_cache_queries_total"] if v < (0, 11) else []) + (
        ["vllm:prefix_cache_queries_total"] if v >= (0, 9, 2) else [])
    return {
        "queue": ["vllm:num_requests_waiting"], "running": ["vllm:num_requests_running"], "kv_usage": kv,
        "ttft": ["vllm:time_to_first_token_seconds"], "itl": itl, "e2e": ["vllm:e2e_request_latency_seconds"],
        "preemptions": ["vllm:num_preemptions_total"], "prefix_cache_hits": hits, "prefix_cache_queries": queries,
        "prompt_tokens": ["vllm:prompt_tokens_total"], "generation_tokens": ["vllm:generation_tokens_total"],
        "request_success": ["vllm:request_success_total"],
    }


def _labels(**labels: str) -> str:
    return "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items()) + "}"


@dataclass
class Pod:
    name: str
    namespace: str
    model_name: str
    job: str


class Exporter:
    """Synthetic /metrics of vLLM pods of one version, as promtool input_series."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.names = exported_names(version)

    def _base(self, pod: Pod, engine: int) -> dict[str, str]:
        return {"namespace": pod.namespace, "pod": pod.name, "job": pod.job, "instance": f"{pod.name}:8000",
                "model_name": pod.model_name, "engine": str(engine)}

    def gauge(self, signal: str, pod: Pod, values: str, engine: int = 0) -> list[dict]:
        return [{"series": name + _labels(**self._base(pod, engine)), "values": values} for name in self.names[signal]]

    counter = gauge  # a counter is a gauge whose values only rise ("0+1.5x80")

    def histogram(self, signal: str, pod: Pod, per_step: dict[str, float], steps: int, engine: int = 0) -> list[dict]:
        """Buckets that grow by ``per_step[le]`` observations (non-cumulative) every step."""
        out, cum = [], 0.0
        for le in sorted(per_step, key=lambda b: math.inf if b == "+Inf" else float(b)):
            cum += per_step[le]
            for name in self.names[signal]:
                out.append({"series": name + "_bucket" + _labels(**self._base(pod, engine), le=le),
                            "values": f"0+{cum:g}x{steps}"})
        return out


def series(name: str, values: str, **labels: str) -> dict:
    return {"series": name + _labels(**labels), "values": values}


# ---------------------------------------------------------------- the HPA formula (facts 1.5)

TOLERANCE = 0.1


def hpa_desired(metric_type: str, m: float, threshold: float, ready: int, current: int | None = None) -> int:
    """Replicas one external metric asks for (before min/max clamping and behavior)."""
    current = ready if current is None else current
    if metric_type == "AverageValue":
        ratio = m / (threshold * current) if current else math.inf
        desired = math.ceil(m / threshold)
    elif metric_type == "Value":
        ratio = m / threshold
        desired = math.ceil(ratio * ready) if ready else math.ceil(ratio)
    else:
        raise ValueError(f"{metric_type} is not for Prometheus triggers")
    return current if abs(1 - ratio) <= TOLERANCE else desired


def hpa_promql(t: ScalerTrigger, ready: int) -> str:
    """The scaler query wrapped in the HPA formula of its metricType, for promtool to evaluate."""
    if t.metric_type == "AverageValue":
        return f"ceil(({t.query}) / {t.threshold:g})"
    if t.metric_type == "Value":
        return f"ceil({ready} * ({t.query}) / {t.threshold:g})"
    raise ValueError(f"metricType {t.metric_type!r} is not AverageValue or Value")


# ---------------------------------------------------------------- annotations

_VALUE = re.compile(r"\{\{\s*\$value\s*\|[^}]*\}\}")
_LABEL = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def expand(template: str, value: str | None, labels: dict[str, str]) -> str:
    """What Prometheus makes of an annotation, given the expected rendering of $value."""
    if _VALUE.search(template):
        assert value is not None, f"give the expected $value text for {template!r}"
        template = _VALUE.sub(lambda _: value, template)
    text = _LABEL.sub(lambda m: labels[m.group(1)], template)
    assert "{{" not in text, f"template construct the harness does not know: {text!r}"
    return text


def expected_alert(rule: dict, output_labels: dict[str, str], value: str | None = None) -> dict:
    """exp_alerts entry: the rule's labels over the expression's labels, annotations expanded."""
    labels = {**output_labels, **rule.get("labels", {})}
    return {"exp_labels": labels,
            "exp_annotations": {k: expand(v, value, labels) for k, v in rule.get("annotations", {}).items()}}


# ---------------------------------------------------------------- promtool

@dataclass
class Case:
    """One promtool unit-test file: input series, expression tests, alert tests."""

    name: str
    series: list[dict]
    rule_files: list[Path] = field(default_factory=list)
    exprs: list[dict] = field(default_factory=list)  # promql_expr_test entries
    alerts: list[dict] = field(default_factory=list)  # alert_rule_test entries

    def expr(self, expr: str, eval_time: str, samples: list[tuple[dict[str, str], float]]) -> None:
        self.exprs.append({"expr": expr, "eval_time": eval_time,
                           "exp_samples": [{"labels": _labels(**lb), "value": v} for lb, v in samples]})

    def alert(self, alertname: str, eval_time: str, exp: list[dict]) -> None:
        self.alerts.append({"alertname": alertname, "eval_time": eval_time, "exp_alerts": exp})

    def document(self) -> dict:
        group: dict[str, Any] = {"name": self.name, "interval": STEP, "input_series": self.series}
        if self.exprs:
            group["promql_expr_test"] = self.exprs
        if self.alerts:
            group["alert_rule_test"] = self.alerts
        return {"rule_files": [str(p) for p in self.rule_files], "evaluation_interval": STEP, "tests": [group]}


@dataclass
class Failure:
    what: str  # 'expr: "..."' or 'alertname: X'
    text: str

    @property
    def got_series(self) -> int | None:
        """How many series a failing expression returned (None for alert failures)."""
        m = re.search(r"got: (.*)", self.text)
        if not self.what.startswith("expr") or not m:
            return None
        got = m.group(1).strip()
        return 0 if got == "nil" else len(re.findall(r"\} [-+]?(?:[0-9.]+(?:E[-+]?[0-9]+)?|NaN|Inf)", got))


@dataclass
class Result:
    ok: bool
    output: str
    failures: list[Failure]


def run(promtool: str, files: list[Case], workdir: Path) -> dict[str, Result]:
    """Write every file, run one `promtool test rules` over all of them, verdict per file."""
    workdir.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in files]
    assert len(set(names)) == len(names), "test file names must be unique"
    paths = []
    for f in files:
        p = workdir / f"{f.name}.test.json"
        p.write_text(json.dumps(f.document(), indent=1))
        paths.append(p)
    proc = subprocess.run([promtool, "test", "rules", *map(str, paths)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, cwd=workdir)
    sections = re.split(r"^Unit Testing:\s+", proc.stdout, flags=re.M)[1:]
    results: dict[str, Result] = {}
    for section in sections:
        head, _, body = section.partition("\n")
        name = Path(head.strip()).name.removesuffix(".test.json")
        ok = "SUCCESS" in body and "FAILED" not in body
        chunks = re.split(r"^    (?=expr: |alertname: )", body, flags=re.M)[1:]
        results[name] = Result(ok, body, [Failure(c.split(",", 1)[0], c) for c in chunks])
    missing = set(names) - set(results)
    assert not missing, f"promtool reported nothing for {sorted(missing)}:\n{proc.stdout}"
    assert proc.returncode == (0 if all(r.ok for r in results.values()) else 1), proc.stdout
    return results


def check_rules(promtool: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
