"""The rule layer never crashes on malformed objects (a schema error is the finding, not a
traceback): every value of a realistic stack is swapped for values of other types in turn."""
from __future__ import annotations

import copy
from pathlib import Path

from vllmkube.lint import Source
from vllmkube.lint.bundle import Bundle
from vllmkube.lint.documents import Document, parse
from vllmkube.lint import rules

FIXTURES = Path(__file__).parent / "lint_fixtures"
STACK = ["startup-probe-budget/good.yaml", "monitor-port-missing/good.yaml", "metric-not-exported/good.yaml",
         "autoscaler-conflict/bad.yaml", "pvc-missing/good.yaml", "gpu-limit-mismatch/bad.yaml"]
LWS = """apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: big, namespace: ai}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    workerTemplate:
      spec:
        containers:
          - name: vllm
            image: vllm/vllm-openai:v0.11.0
            command: [sh, -c, "vllm serve m --tensor-parallel-size 8 --pipeline-parallel-size 2 --nnodes 2"]
            resources: {limits: {nvidia.com/gpu: "8"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dash, namespace: ai}
data:
  d.json: '{"panels": [{"targets": [{"expr": "sum(vllm:num_requests_waiting{namespace=\\"ai\\"})"}]}]}'
"""
OTHERS = [None, "x", 7, [], {}, ["x"], {"a": "b"}]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def test_no_crash_on_any_type_swap():
    docs = []
    for rel in STACK:
        docs += parse(Source(rel, (FIXTURES / rel).read_text()))[0]
    docs += parse(Source("lws.yaml", LWS))[0]
    runs = 0
    for i, doc in enumerate(docs):
        for path in list(_paths(doc.data))[1:]:
            if path[0] in ("apiVersion", "kind"):
                continue
            for other in OTHERS:
                if type(other) is type(doc.get(*path)):
                    continue
                mutated = copy.deepcopy(doc.data)
                _set(mutated, path, other)
                trial = docs[:i] + [Document(doc.file, doc.index, mutated, doc.lines)] + docs[i + 1:]
                rules.run(Bundle(trial))  # must not raise
                runs += 1
    assert runs > 1000


def test_no_crash_on_type_swaps_in_operator_shapes():
    """The same over real-world operator objects: LWS with a Service, KServe with autoscaling,
    a KubeRay RayService with a runtime_env."""
    corpus = Path(__file__).parent / "lint_corpus"
    docs = []
    for rel in ("lws-vllm-tpu.yaml", "kserve-keda-llm-metrics.yaml", "kuberay-rayservice-vllm.yaml"):
        docs += parse(Source(rel, (corpus / rel).read_text()))[0]
    runs = 0
    for i, doc in enumerate(docs):
        for path in list(_paths(doc.data))[1:]:
            if path[0] in ("apiVersion", "kind"):
                continue
            for other in (None, "x", {}):
                if type(other) is type(doc.get(*path)):
                    continue
                mutated = copy.deepcopy(doc.data)
                _set(mutated, path, other)
                rules.run(Bundle(docs[:i] + [Document(doc.file, doc.index, mutated, doc.lines)] + docs[i + 1:]))
                runs += 1
    assert runs > 300
