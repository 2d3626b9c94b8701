"""The two small parsers lint relies on: PromQL shape, and vLLM arguments in container specs."""
from __future__ import annotations

import pytest

from vllmkube.lint.promqlshape import PromQLError, form, metric_name, parse, selectors, single_series
from vllmkube.lint.vllmargs import find_server

SEL = '{namespace="ai",model_name="m"}'


@pytest.mark.parametrize("query, single, shape", [
    (f"sum(vllm:num_requests_waiting{SEL})", True, "total"),
    (f"avg(vllm:kv_cache_usage_perc{SEL})", True, "average"),
    (f"sum(vllm:num_requests_waiting{SEL}) / count(vllm:num_requests_waiting{SEL})", True, "average"),
    (f"sum(vllm:num_requests_waiting{SEL}) / scalar(sum(kube_deployment_status_replicas_ready{{deployment=\"x\"}}))",
     True, "average"),
    (f"vllm:num_requests_running{SEL}", False, "other"),
    (f"sum by (pod) (vllm:num_requests_waiting{SEL})", False, "total"),
    (f"sum without (engine) (vllm:num_requests_waiting{SEL})", False, "total"),
    (f"topk(1, vllm:num_requests_waiting{SEL})", False, "other"),
    (f"max(vllm:kv_cache_usage_perc{SEL})", True, "other"),
    (f"histogram_quantile(0.99, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{SEL}[5m])))", True, "other"),
    (f"histogram_quantile(0.99, sum by (le, pod) (rate(vllm:e2e_request_latency_seconds_bucket{SEL}[5m])))", False, "other"),
    (f"ceil(sum(rate(vllm:prompt_tokens_total{SEL}[1m] offset 5m)) / 1000)", True, "total"),
    (f"sum(vllm:num_requests_waiting{SEL}) or vector(0)", True, "other"),
])
def test_query_shapes(query, single, shape):
    node = parse(query)
    assert single_series(node)[0] is single
    assert form(node)[0] == shape


def test_selectors_and_names():
    node = parse('sum(rate({__name__="vllm:num_preemptions_total",namespace="ai"}[1m])) + sum(vllm:num_requests_waiting)')
    assert [metric_name(s) for s in selectors(node)] == ["vllm:num_preemptions_total", "vllm:num_requests_waiting"]
    assert list(selectors(node))[0].matchers[1] == ("namespace", "=", "ai")


@pytest.mark.parametrize("bad", ["sum(", "x{a=b}", "a ~ b"])
def test_unparseable_queries_raise(bad):
    with pytest.raises(PromQLError):
        parse(bad)


def _server(container, image_is_vllm=True):
    inv = find_server(container, ("c",), image_is_vllm)
    return None if inv is None else (inv.entrypoint, inv.model, [(a.flag, a.value, a.path) for a in inv.args])


def test_vllm_serve_list_with_equals_and_multi_names():
    got = _server({"command": ["vllm", "serve", "/models/x", "--served-model-name", "a", "b", "--enforce-eager",
                               "--max-model-len=4096", "-tp", "2"]})
    assert got == ("vllm serve", "/models/x", [
        ("--served-model-name", "a", ("c", "command", 3)), ("--enforce-eager", None, ("c", "command", 6)),
        ("--max-model-len", "4096", ("c", "command", 7)), ("--tensor-parallel-size", "2", ("c", "command", 8))])


def test_python_module_entrypoint_and_snake_case():
    got = _server({"command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                   "args": ["--model", "m", "--pipeline_parallel_size", "2"]})
    assert got == ("vllm.entrypoints.openai.api_server", "m",
                   [("--model", "m", ("c", "args", 0)), ("--pipeline-parallel-size", "2", ("c", "args", 2))])


def test_shell_script_with_exec_continuations_and_chaining():
    script = "pip install -q foo\nexec vllm serve org/model \\\n  --disable-log-requests --port=8000 && echo done"
    got = _server({"command": ["/bin/bash", "-ec"], "args": [script]})
    assert got == ("vllm serve", "org/model", [("--disable-log-requests", None, ("c", "args", 0)),
                                               ("--port", "8000", ("c", "args", 0))])


def test_args_only_on_a_vllm_image_and_non_servers():
    assert _server({"args": ["--model", "m"]})[0] == "image entrypoint"
    assert _server({"args": ["--model", "m"]}, image_is_vllm=False) is None
    assert _server({"command": ["/bin/sh", "-c", "until [ -f x ]; do sleep 10; done"]}) is None
    assert _server({"command": ["python3", "-c", "print(1)"]}) is None
