"""Everything vllmkube renders lints clean: no finding at warning or above, over a matrix of
models, GPUs, tensor parallel sizes, vLLM versions and components, and over examples/."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from vllmkube import versions
from vllmkube.lint import LintOptions, collect, lint, lint_text
from vllmkube.lint.findings import Severity
from vllmkube.render import to_stream
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GATEWAY = 'sum(rate(nginx_ingress_controller_requests{namespace="default",service="llama"}[2m]))'
MATRIX = [
    dict(model="llama-3.1-8b", gpu="l4"),  # TP 2 on 24 GB cards
    dict(model="llama-3.1-8b", gpu="h100-80gb", vllm_version="0.10.2"),
    dict(model="llama-3.1-8b", gpu="a10g", vllm_version="0.8.0", monitor="podmonitor"),
    dict(model="llama-3.1-8b", gpu="l4", tensor_parallel_size=4, without=["monitor", "rules", "dashboard", "service"]),
    dict(model="llama-3.1-70b", gpu="h100-80gb", monitor="podmonitor", slo_ttft_p99="500ms"),
    dict(model="llama-3.1-70b", gpu="h100-80gb", quantization="fp8", vllm_version=versions.NEWEST_VLLM),
    dict(model="llama-3.3-70b", gpu="h200", vllm_version="0.12.0", cloud="gcp"),
    dict(model="llama-3.1-405b", gpu="h200", quantization="fp8"),
    dict(model="qwen2.5-72b", gpu="l40s", quantization="awq", model_repo="Qwen/Qwen2.5-72B-Instruct-AWQ"),
    dict(model="Qwen/Qwen2.5-14B-Instruct-AWQ", gpu="l4"),
    dict(model="qwen3-30b-a3b", gpu="a100-80gb", without=["autoscaling"]),
    dict(model="gpt-oss-20b", gpu="h100-80gb", vllm_version="0.11.0", prometheus_auth_secret="prom-token", hf_token_secret="hf"),
    dict(model="mistral-7b", gpu="l4", create_namespace=True, namespace="llm", cloud="aws", capacity="spot", name="chat"),
    dict(model="gemma-3-27b", gpu="h100-80gb", without=["downloader"], served_model_name="gemma",
         storage_class="models-rwx"),
    dict(model="deepseek-r1-distill-qwen-32b", gpu="a100-40gb", vllm_version="0.9.2"),
    dict(model="llama-3.1-8b", gpu="l4", scale_to_zero=True, activation_query=GATEWAY),
    dict(model="llama-3.1-8b", gpu="l4", scale_to_zero=True, host="llm.example.com"),  # KEDA HTTP add-on
    dict(model="llama-3.1-8b", gpu="l4", scale_to_zero=True, host="llm.example.com", keda_http_api="v1alpha1"),
    dict(model="qwen2.5-32b", gpu="h100-80gb", router="inference-pool", gateway="gw/inference", inference_objective_priority=1),
    dict(model="llama-3.1-8b", gpu="h100-80gb", rps=30, slo_ttft_p99="1s", slo_itl_p99="40ms"),  # serving plan
    dict(model="llama-3.3-70b", gpu="h100-80gb", vllm_version="0.10.2", rps=5, input_len=4000, output_len=500),
]


def _id(case: dict) -> str:
    return "-".join(str(v if not isinstance(v, list) else "+".join(v)) for k, v in case.items() if k != "activation_query")


@functools.cache
def rendered(i: int) -> tuple[str, int]:
    plan, docs = plan_render(build(RenderSpec, {"hf_token_secret": "hf-token", **MATRIX[i]}))
    return to_stream(plan, docs), len(docs)


def loud(findings) -> list[str]:
    return [f.text() for f in findings if f.severity >= Severity.WARNING]


@pytest.mark.parametrize("i", range(len(MATRIX)), ids=[_id(c) for c in MATRIX])
def test_render_lints_clean_rules(i):
    text, n = rendered(i)
    result = lint_text(text, "out.yaml", LintOptions(schema=False))
    assert result.documents == n
    assert loud(result.findings) == []


@pytest.mark.parametrize("i", range(len(MATRIX)), ids=[_id(c) for c in MATRIX])
def test_render_lints_clean_with_schemas(i, shared_dir):
    text, _ = rendered(i)
    options = LintOptions(schema_locations=(str(shared_dir / "schemas"),))
    assert loud(lint_text(text, "out.yaml", options).findings) == []


def test_examples_lint_clean(shared_dir):
    files = sorted(EXAMPLES.rglob("*.yaml"))
    if not any("kind:" in f.read_text() for f in files):
        pytest.fail("examples/ holds no rendered manifests to lint")
    result = lint(collect([str(EXAMPLES)], lambda: ""), LintOptions(schema_locations=(str(shared_dir / "schemas"),)))
    assert result.documents > 10
    assert loud(result.findings) == []


def test_a_broken_render_is_caught():
    """The guard works: un-aggregating our own queue trigger and a wrong metricType are found."""
    text, _ = rendered(0)
    broken = text.replace('query: "sum(vllm:num_requests_waiting', 'query: "(vllm:num_requests_waiting', 1)
    broken = broken.replace('metricType: "Value"', 'metricType: "AverageValue"', 1)
    rules = {f.rule for f in lint_text(broken, "out.yaml", LintOptions(schema=False)).findings}
    assert {"keda-query-not-aggregated", "keda-metrictype-mismatch"} <= rules
