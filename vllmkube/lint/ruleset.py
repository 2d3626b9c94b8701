"""Every lint rule, once: id, default severity, one-line title. docs/lint-rules.md has a section
per id (a test keeps the two in step), SARIF lists them, ``--disable`` checks names against them."""
from __future__ import annotations

from dataclasses import dataclass

from .findings import Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    layer: str  # yaml | schema | vllm


_ALL = (
    # YAML and schema layer
    Rule("yaml-invalid", E, "A file or document that cannot be parsed (e.g. unrendered template placeholders)", "yaml"),
    Rule("yaml-duplicate-key", E, "A mapping repeats a key; tools disagree on which value wins", "yaml"),
    Rule("yaml11-boolean", W, "An unquoted yes/no/on/off that kubectl (YAML 1.1) reads as a boolean", "yaml"),
    Rule("not-a-resource", E, "A document without apiVersion, kind or metadata.name", "schema"),
    Rule("schema-invalid", E, "The document breaks its JSON schema (strict: unknown fields are errors)", "schema"),
    Rule("schema-unknown-kind", W, "No schema found for the kind, so it was not validated", "schema"),
    Rule("kubeconform", E, "kubeconform's verdict on the document (with --kubeconform)", "schema"),
    # KEDA semantics
    Rule("keda-query-not-aggregated", E, "A Prometheus trigger query that can return more than one series", "vllm"),
    Rule("keda-metrictype-mismatch", E, "metricType disagrees with the shape of the query (total vs per-replica)", "vllm"),
    Rule("keda-query-unscoped", W, "A vLLM metric selected without namespace and model_name matchers", "vllm"),
    Rule("keda-cooldown-without-scale-to-zero", W, "cooldownPeriod set although the ScaledObject never scales to zero", "vllm"),
    Rule("keda-scale-to-zero-vllm-metrics", E, "Scale to zero on vLLM metrics alone: nothing wakes the service", "vllm"),
    Rule("keda-fallback-value-trigger", I, "fallback with a Value trigger needs KEDA 2.18 or newer", "vllm"),
    Rule("keda-fallback-rejected", W, "A fallback/metricType combination some KEDA releases (2.12-2.20) refuse", "vllm"),
    # vLLM version knowledge
    Rule("vllm-version-unknown", I, "The vLLM version cannot be read from the image tag; version checks skipped", "vllm"),
    Rule("metric-not-exported", E, "A vLLM metric name the deployed vLLM version does not export", "vllm"),
    Rule("vllm-flag-rejected", E, "A vllm serve flag the deployed vLLM version rejects", "vllm"),
    Rule("vllm-disable-log-stats", E, "--disable-log-stats turns off the metrics autoscaling and alerts read", "vllm"),
    Rule("vllm-serve-model-flag", E, "vllm serve given --model on a version that wants the model positional", "vllm"),
    Rule("metric-deprecated", W, "A vLLM metric name that current releases hide or removed", "vllm"),
    Rule("image-not-pinned", W, "An image with a floating tag (:latest, :nightly, :main) or no tag", "vllm"),
    # cross references
    Rule("scale-target-missing", E, "An autoscaler whose scaleTargetRef names no linted workload", "vllm"),
    Rule("autoscaler-conflict", E, "Two autoscalers (HPA, ScaledObject) own one workload", "vllm"),
    Rule("replicas-with-autoscaler", W, "spec.replicas set on a workload an autoscaler owns", "vllm"),
    Rule("service-selector-mismatch", E, "A Service whose selector matches no pod template", "vllm"),
    Rule("service-port-duplicate", E, "Two Service ports with one port number and protocol", "vllm"),
    Rule("service-target-port-missing", E, "A Service targetPort name no selected container declares", "vllm"),
    Rule("monitor-selector-mismatch", E, "A ServiceMonitor/PodMonitor whose selector matches nothing", "vllm"),
    Rule("monitor-port-missing", E, "A monitor endpoint port name the Service or container does not declare", "vllm"),
    Rule("pvc-missing", E, "A pod volume claims a PersistentVolumeClaim that is not linted", "vllm"),
    # the vLLM pod
    Rule("service-named-vllm", E, "A Service named vllm injects VLLM_PORT and crashes vLLM", "vllm"),
    Rule("gpu-limit-mismatch", E, "The GPU limit differs from tensor x pipeline parallel size per pod", "vllm"),
    Rule("shm-missing", E, "Multi-GPU vLLM without a memory-backed /dev/shm (NCCL fails)", "vllm"),
    Rule("startup-probe-budget", E, "The probes kill the pod before the model can load (or download)", "vllm"),
    # production hygiene of the vLLM pod
    Rule("probe-missing", W, "A vLLM server without readiness or startup probe gets traffic before the model loads", "vllm"),
    Rule("model-cache-missing", W, "Weights downloaded on every start: no volume keeps the model", "vllm"),
    Rule("resources-missing", W, "A vLLM server without CPU or memory requests", "vllm"),
    Rule("rollout-stuck", W, "A rolling update with surge that cannot start its new pod (ReadWriteOnce claim)", "vllm"),
    Rule("runtime-fetch", W, "Code or packages fetched when the container starts (pip install, git, runtime_env)", "vllm"),
    Rule("host-access", W, "A vLLM pod on host namespaces (network, IPC, PID) or with hostPath volumes", "vllm"),
    Rule("api-key-in-args", W, "vllm serve --api-key with the key written into the manifest", "vllm"),
    Rule("vllm-demo-server", W, "vllm.entrypoints.api_server: vLLM's demo server, not the OpenAI-compatible one", "vllm"),
    Rule("env-unexpanded", I, "An env value with shell $VAR syntax, which Kubernetes passes on literally", "vllm"),
    Rule("secret-not-base64", E, "Secret data that is not base64: the API server rejects the Secret", "vllm"),
)
RULES: dict[str, Rule] = {r.id: r for r in _ALL}
