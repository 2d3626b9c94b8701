"""Regression tests for the false findings and crashes real-world manifests caused (issue 14):
each builds the smallest shape of a published manifest that tripped lint."""
from __future__ import annotations

import pytest
from pathlib import Path

from vllmkube.lint import LintOptions, Source, lint, lint_text
from vllmkube.lint.findings import Severity
from vllmkube.lint.imagetags import floating, is_cpu_image, version

NO_SCHEMA = LintOptions(schema=False)


def findings(text: str, name: str = "m.yaml") -> list:
    return lint_text(text, name, NO_SCHEMA).findings


def rules(text: str, at_least: Severity = Severity.INFO) -> set[str]:
    return {f.rule for f in findings(text) if f.severity >= at_least}


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: ai}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: vllm
          image: {image}
          command: ["vllm", "serve", "meta-llama/Llama-3.1-8B-Instruct"]
          resources: {{limits: {{nvidia.com/gpu: "1"}}}}
"""


# ----------------------------------------------------------------------------- image tags
@pytest.mark.parametrize("image, expected", [
    ("vllm/vllm-openai:v0.4.2", "0.4.2"),
    ("vllm/vllm-openai:0.4.2", "0.4.2"),
    ("vllm/vllm-openai:v0.10.2-cu128", "0.10.2"),
    ("rocm/vllm:rocm6.2_mi300_ubuntu20.04_py3.9_vllm_0.6.4", "0.6.4"),
    ("registry.example/aibrix/vllm-openai:v0.7.3.self.post1", "0.7.3"),
    ("localhost:5000/vllm/vllm-openai:v0.11.0", "0.11.0"),
])
def test_release_tags_people_use_are_versions(image, expected):
    assert str(version(image).version) == expected


@pytest.mark.parametrize("image", ["vllm/vllm-openai:nightly", "vllm/vllm-openai:latest", "vllm/vllm-openai",
                                   "lmcache/vllm-openai:2025-05-05-v1", "vllm/vllm-openai@sha256:0b51ec38",
                                   "vllm/vllm-openai:nightly-0a1b2c3"])
def test_floating_dated_and_digest_images_name_no_version(image):
    found = version(image)
    assert found.version is None and found.problem


def test_floating_tags_beyond_latest_and_cpu_images():
    assert floating("busybox:main") == "main" and floating("vllm/vllm-openai:nightly") == "nightly"
    assert floating("vllm/vllm-openai") == "latest" and floating("vllm/vllm-openai@sha256:ab") is None
    assert floating("vllm/vllm-openai:v0.11.0") is None
    assert is_cpu_image("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.9.1") and is_cpu_image("x/vllm:v0.9.1-cpu")
    assert not is_cpu_image("vllm/vllm-openai:v0.11.0")


def test_an_old_release_is_a_version_not_an_unknown_tag():
    (f,) = [f for f in findings(DEPLOY.format(name="m", image="vllm/vllm-openai:v0.4.2")) if f.rule == "vllm-version-unknown"]
    assert "older than 0.6.0" in f.message and "not a vLLM release" not in f.message


# ----------------------------------------------------------------------------- isolation
def test_unnamespaced_objects_of_different_files_do_not_meet():
    hpa = """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: m}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: m}
  minReplicas: 1
  maxReplicas: 2
"""
    deploy = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0").replace("namespace: ai", "namespace: null")
    result = lint([Source("a/hpa.yaml", hpa), Source("b/deploy.yaml", deploy.replace("replicas", "x"))], NO_SCHEMA)
    (missing,) = [f for f in result.findings if f.rule == "scale-target-missing"]
    assert missing.severity == Severity.INFO  # not matched, and not a typo: nothing of that kind in its file
    together = lint([Source("x.yaml", hpa + "---\n" + deploy)], NO_SCHEMA)
    assert "scale-target-missing" not in {f.rule for f in together.findings}


def test_same_namespace_in_another_folder_is_another_application():
    so = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s, namespace: ai}
spec:
  scaleTargetRef: {name: other}
  minReplicaCount: 1
  triggers:
    - type: prometheus
      metadata: {serverAddress: "http://p:9090", threshold: "5", query: 'sum(vllm:gpu_cache_usage_perc{namespace="ai",model_name="m"})'}
"""
    old = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.12.0")  # 0.12 no longer exports gpu_cache_usage_perc
    apart = lint([Source("one/so.yaml", so), Source("two/deploy.yaml", old)], NO_SCHEMA)
    assert {f.rule for f in apart.findings if f.severity == Severity.ERROR} == set()
    same_folder = lint([Source("one/so.yaml", so), Source("one/deploy.yaml", old)], NO_SCHEMA)
    assert "metric-not-exported" in {f.rule for f in same_folder.findings}


def test_an_unreadable_file_is_a_finding_and_the_folder_run_goes_on(tmp_path):
    from vllmkube.lint import collect

    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00kind")
    (tmp_path / "ok.yaml").write_text(DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0"))
    result = lint(collect([str(tmp_path)], lambda: ""), NO_SCHEMA)
    invalid = [f for f in result.findings if f.rule == "yaml-invalid"]
    assert [(f.file.endswith("binary.yaml"), f.line) for f in invalid] == [(True, 1)]
    assert result.documents == 1


# ----------------------------------------------------------------------------- operators
LWS = """apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: vllm}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:
      metadata: {labels: {role: leader}}
      spec:
        containers:
          - name: leader
            image: vllm/vllm-openai:v0.11.0
            command: [sh, -c, "python3 -m vllm.entrypoints.openai.api_server --model m --tensor-parallel-size 8 --pipeline-parallel-size 2"]
            resources: {limits: {nvidia.com/gpu: "8"}}
            ports: [{containerPort: 8080}]
    workerTemplate:
      spec:
        containers:
          - name: worker
            image: vllm/vllm-openai:v0.11.0
            command: [sh, -c, "ray start --block --address=$(LWS_LEADER_ADDRESS):6379"]
            resources: {limits: {nvidia.com/gpu: "8"}}
---
apiVersion: v1
kind: Service
metadata: {name: vllm-leader}
spec:
  selector: {leaderworkerset.sigs.k8s.io/name: vllm, role: leader}
  ports: [{port: 8080, targetPort: 8080}]
"""


def test_lws_controller_labels_are_selectable():
    assert "service-selector-mismatch" not in rules(LWS)
    assert "service-selector-mismatch" in rules(LWS.replace("name: vllm, role: leader", "name: vllm2, role: leader"))


def test_lws_leader_gets_the_pod_checks():
    found = rules(LWS)
    assert {"shm-missing", "probe-missing"} <= found  # TP 8 without /dev/shm; no probe on the leader
    assert "gpu-limit-mismatch" not in found  # 8 x 2 over a group of 2 = 8 per pod


def test_tpu_resources_are_not_a_missing_gpu():
    tpu = LWS.replace('nvidia.com/gpu: "8"', 'google.com/tpu: "4"')
    assert "gpu-limit-mismatch" not in rules(tpu)


def test_kserve_predictor_objects_exist():
    isvc = """apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: llama, namespace: ai}
spec:
  predictor:
    model:
      modelFormat: {name: huggingface}
      storageUri: hf://meta-llama/Llama-3.1-8B-Instruct
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: llama, namespace: ai}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llama-predictor}
  minReplicas: 1
  maxReplicas: 3
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unrelated, namespace: ai}
spec:
  selector: {matchLabels: {app: u}}
  template:
    metadata: {labels: {app: u}}
    spec: {containers: [{name: u, image: "busybox:1.36"}]}
"""
    assert "scale-target-missing" not in rules(isvc)
    assert "scale-target-missing" in rules(isvc.replace("name: llama-predictor", "name: lama-predictor"), Severity.ERROR)


def test_kserve_autoscaling_queries_get_the_keda_rules():
    isvc = """apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: opt, namespace: ai}
spec:
  predictor:
    model: {modelFormat: {name: huggingface}, storageUri: "pvc://models/opt"}
    autoScaling:
      metrics:
        - type: External
          external:
            metric: {backend: prometheus, serverAddress: "http://p:9090", query: QUERY}
            target: {type: Value, value: "2"}
"""
    assert {"keda-query-not-aggregated", "keda-query-unscoped"} <= rules(isvc.replace("QUERY", "vllm:num_requests_running"))
    scoped = 'avg(vllm:num_requests_running{namespace="ai",model_name="opt"})'
    assert rules(isvc.replace("QUERY", f"'{scoped}'"), Severity.WARNING) == set()


def test_ray_clusters_hold_one_model_across_pods():
    fleet = """apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: r}
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers:
          - name: head
            image: vllm/vllm-openai:v0.11.0
            command: ["/bin/bash", "-lc", "--"]
            args: ["ray start --head; vllm serve deepseek-ai/DeepSeek-R1 --tensor-parallel-size 16"]
            resources: {limits: {nvidia.com/gpu: 8}}
  workerGroupSpecs:
    - groupName: w
      rayStartParams: {}
      template:
        spec:
          containers: [{name: w, image: "vllm/vllm-openai:v0.11.0", resources: {limits: {nvidia.com/gpu: 8}}}]
"""
    found = rules(fleet)
    assert "gpu-limit-mismatch" not in found
    assert "shm-missing" in found  # the vllm serve behind `bash -lc --` is found and checked


# ----------------------------------------------------------------------------- false errors of the issue
def test_headless_service_named_vllm_injects_nothing():
    deploy = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0")
    svc = "---\napiVersion: v1\nkind: Service\nmetadata: {name: vllm, namespace: ai}\nspec:\n  selector: {app: m}\n  ports: [{port: 8000}]\n"
    assert "service-named-vllm" in rules(deploy + svc)
    assert "service-named-vllm" not in rules(deploy + svc.replace("spec:\n", "spec:\n  clusterIP: None\n"))


SO = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: s, namespace: ai}}
spec:
  scaleTargetRef: {{name: m}}
  minReplicaCount: {min}
  triggers:
{triggers}"""
TRIGGER = """    - type: prometheus
      metadata: {{serverAddress: "http://p:9090", threshold: "1", query: '{q}'}}
"""


def test_job_and_model_name_scope_a_query():
    q = 'sum(vllm:num_requests_waiting{job="vllm-llama",model_name="llama"})'
    assert "keda-query-unscoped" not in rules(SO.format(min=1, triggers=TRIGGER.format(q=q)))
    q = 'sum(vllm:num_requests_waiting{model_name="llama"})'
    assert "keda-query-unscoped" in rules(SO.format(min=1, triggers=TRIGGER.format(q=q)))


def test_router_request_counter_wakes_a_service_at_zero_and_its_label_is_model():
    queue = TRIGGER.format(q='sum(vllm:num_requests_waiting{namespace="ai",model_name="m"})')
    router = TRIGGER.format(q="sum(rate(vllm:num_incoming_requests_total[1m]) > bool 0)")
    assert "keda-scale-to-zero-vllm-metrics" in rules(SO.format(min=0, triggers=queue))
    found = findings(SO.format(min=0, triggers=queue + router))
    assert "keda-scale-to-zero-vllm-metrics" not in {f.rule for f in found}
    (unscoped,) = [f for f in found if f.rule == "keda-query-unscoped"]
    assert 'model="..."' in unscoped.fix and "model_name" not in unscoped.fix


def test_router_metrics_are_not_judged_as_engine_metrics():
    deploy = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.12.0")
    so = SO.format(min=1, triggers=TRIGGER.format(q='sum(rate(vllm:num_incoming_requests_total{namespace="ai",model="m"}[1m]))'))
    assert not {"metric-not-exported", "metric-deprecated"} & rules(deploy + "---\n" + so)


def test_a_cpu_image_is_not_told_to_get_a_gpu():
    cpu = DEPLOY.format(name="m", image="public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.9.1").replace(
        '          resources: {limits: {nvidia.com/gpu: "1"}}\n', "")
    assert "gpu-limit-mismatch" not in rules(cpu)
    gpu_image = cpu.replace("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.9.1", "vllm/vllm-openai:v0.9.1")
    assert "gpu-limit-mismatch" in rules(gpu_image)


def test_v0_engine_versions_are_not_judged_by_the_v1_metric_table():
    deploy = DEPLOY.format(name="m", image="rocm/vllm:rocm6.2_mi300_ubuntu20.04_py3.9_vllm_0.6.4")
    so = SO.format(min=1, triggers=TRIGGER.format(q='sum(vllm:num_requests_waiting{namespace="ai",model_name="m"})'))
    assert "metric-not-exported" not in rules(deploy + "---\n" + so)


def test_headless_workers_need_no_readiness_probe():
    """vLLM's native multi-node shape: the workers run `vllm serve ... --headless` and serve no HTTP."""
    native = LWS.replace('"ray start --block --address=$(LWS_LEADER_ADDRESS):6379"',
                         '"vllm serve m --tensor-parallel-size 8 --pipeline-parallel-size 2 --headless"')
    probes = [f for f in findings(native) if f.rule == "probe-missing"]
    assert [f.path for f in probes] == ["spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0]"]


def test_every_finding_of_every_fixture_has_a_file_and_line():
    from pathlib import Path

    fixtures = Path(__file__).parent / "lint_fixtures"
    for path in sorted(fixtures.glob("*/*.yaml")):
        for f in lint([Source(str(path), path.read_text())], NO_SCHEMA).findings:
            assert f.file == str(path) and isinstance(f.line, int) and f.line >= 1, f.text()


def test_ray_serve_apps_that_download_their_model():
    ray = """apiVersion: ray.io/v1
kind: RayService
metadata: {name: llm}
spec:
  serveConfigV2: |
    applications:
    - name: llm
      import_path: serve:model
      runtime_env:
        env_vars: {MODEL_ID: "meta-llama/Meta-Llama-3-8B-Instruct"}
  rayClusterConfig:
    headGroupSpec:
      rayStartParams: {}
      template:
        spec:
          containers: [{name: head, image: "rayproject/ray-ml:2.33.0"}]
    workerGroupSpecs:
      - groupName: gpu
        rayStartParams: {}
        template:
          spec:
            containers:
              - name: llm
                image: rayproject/ray-ml:2.33.0
VOLUMES"""
    assert "model-cache-missing" in rules(ray.replace("VOLUMES", ""))
    kept = ray.replace("VOLUMES", "                volumeMounts: [{name: hf, mountPath: /root/.cache/huggingface}]\n"
                                  "            volumes: [{name: hf, persistentVolumeClaim: {claimName: hf}}]\n")
    assert "model-cache-missing" not in rules(kept)


def test_placeholder_images_are_named_as_placeholders():
    for image in ("<image-built-from-dockerfile>", '"{{ .Values.image }}"', "${IMAGE}", '"{{ .Values.repo }}:{{ .Values.tag }}"'):
        found = findings(DEPLOY.format(name="m", image=image))
        (pin,) = [f for f in found if f.rule == "image-not-pinned"]
        assert "placeholder" in pin.message
        (unknown,) = [f for f in found if f.rule == "vllm-version-unknown"]
        assert "placeholder" in unknown.message


def test_more_gpus_than_the_layout_uses_is_a_warning_fewer_an_error():
    deploy = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0").replace(
        '"meta-llama/Llama-3.1-8B-Instruct"]', '"meta-llama/Llama-3.1-8B-Instruct", "--tensor-parallel-size", "2"]')
    def severity(gpus):
        text = deploy.replace('nvidia.com/gpu: "1"', f'nvidia.com/gpu: "{gpus}"')
        return {f.severity for f in findings(text) if f.rule == "gpu-limit-mismatch"}
    assert severity(1) == {Severity.ERROR} and severity(4) == {Severity.WARNING} and severity(2) == set()


def test_selectors_on_labels_controllers_set_at_run_time_pass():
    """A per-pod Service (statefulset.kubernetes.io/pod-name) or one on a Ray cluster's generated
    labels cannot be judged from the manifests: no selector-mismatch error."""
    sts = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0").replace("kind: Deployment", "kind: StatefulSet")
    per_pod = ("---\napiVersion: v1\nkind: Service\nmetadata: {name: m-0, namespace: ai}\nspec:\n"
               "  selector: {app: m, statefulset.kubernetes.io/pod-name: m-0}\n  ports: [{port: 8000}]\n")
    assert "service-selector-mismatch" not in rules(sts + per_pod)
    assert "service-selector-mismatch" in rules(sts + per_pod.replace("app: m,", "app: n,"))


def test_commented_out_installs_and_dollar_signs_inside_values_are_fine():
    base = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0")
    script = base.replace('command: ["vllm", "serve", "meta-llama/Llama-3.1-8B-Instruct"]',
                          'command: ["/bin/sh", "-c", "# pip install vllm\\nvllm serve meta-llama/Llama-3.1-8B-Instruct"]')
    assert "runtime-fetch" not in rules(script)
    assert "runtime-fetch" in rules(script.replace("# pip install vllm", "pip install vllm"))
    env = base.replace("          resources:", "          env: [{name: A, value: 'pa$sword'}, {name: B, value: $(A)}]\n          resources:")
    assert "env-unexpanded" not in rules(env)
    assert "env-unexpanded" in rules(env.replace("$(A)", "'${A}'"))


def test_monitors_of_operator_objects_and_kserve_predictor_pods():
    isvc = """apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: llama, namespace: ai}
spec:
  predictor:
    model: {modelFormat: {name: huggingface}, storageUri: "pvc://models/llama"}
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: llama, namespace: ai}
spec:
  selector: {matchLabels: {serving.kserve.io/inferenceservice: llama}}
  podMetricsEndpoints: [{port: http}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: llama, namespace: ai}
spec:
  selector: {matchLabels: {serving.kserve.io/inferenceservice: llama}}
  endpoints: [{port: http}]
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: ai, labels: {app: other}}
spec:
  selector: {app: other}
  ports: [{name: http, port: 80}]
"""
    assert "monitor-selector-mismatch" not in rules(isvc, Severity.WARNING)


def test_tpu_pods_need_no_nccl_shared_memory():
    tpu = LWS.replace('nvidia.com/gpu: "8"', 'google.com/tpu: "4"')
    assert "shm-missing" not in rules(tpu) and "shm-missing" in rules(LWS)


def test_chart_yaml_and_component_configs_in_a_folder_are_skipped_not_errors():
    chart = "apiVersion: v2\nname: vllm-stack\nversion: 0.1.0\n"
    config = "apiVersion: config.lws.x-k8s.io/v1alpha1\nkind: Configuration\nleaderElection: {leaderElect: true}\n"
    for text in (chart, config):
        assert {(f.rule, f.severity) for f in findings(text)} == {("not-a-resource", Severity.INFO)}


def test_a_folder_run_skips_helm_chart_templates_with_info(tmp_path):
    from vllmkube.lint import collect

    chart = tmp_path / "charts" / "vllm"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: vllm\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text("metadata:\n  name: {{ .Release.Name }}\n")
    (tmp_path / "loose.yaml").write_text("kind: Service\nmetadata:\n  name: {{ .Release.Name }}\n")
    result = lint(collect([str(tmp_path)], lambda: ""), NO_SCHEMA)
    got = sorted((Path(f.file).name, f.rule, f.severity.label) for f in result.findings)
    assert got == [("Chart.yaml", "not-a-resource", "info"), ("deployment.yaml", "not-a-resource", "info"),
                   ("loose.yaml", "yaml-invalid", "error")]


def test_a_default_rollout_of_a_gpu_pod_needs_spare_gpus_advice():
    deploy = DEPLOY.format(name="m", image="vllm/vllm-openai:v0.11.0")
    (f,) = [f for f in findings(deploy) if f.rule == "rollout-stuck"]
    assert f.severity == Severity.INFO and "1 pod(s) of 1 GPU(s)" in f.message
    replace = deploy.replace("spec:\n  selector", "spec:\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n  selector")
    assert "rollout-stuck" not in rules(replace)


def test_llm_inference_service_pods_are_checked_without_false_layout_findings():
    llmisvc = """apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: ai}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-7B-Instruct", name: qwen}
  replicas: 1
  parallelism: {tensor: 4}
  template:
    containers:
      - name: main
        image: vllm/vllm-openai:v0.11.0
        resources: {limits: {nvidia.com/gpu: "4", cpu: "8", memory: 64Gi}}
"""
    found = rules(llmisvc)
    assert not {"gpu-limit-mismatch", "probe-missing", "model-cache-missing"} & found
    assert "shm-missing" in found  # four GPUs in the pod and no /dev/shm: still NCCL's problem
