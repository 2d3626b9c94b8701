"""Serving targets (issue 10): LeaderWorkerSet, KServe InferenceService, LLMInferenceService and
canary rollouts. Every kind validates strictly against ../shared/schemas and lints clean; the
flags on every pod follow from one sizing."""
from __future__ import annotations

import copy
import shlex

import pytest

from clirun import run
from k8s_validate import is_core, plain, validate_core, validate_crd
from vllmkube import catalog, compose
from vllmkube.errors import InputError
from vllmkube.lint import LintOptions, lint_text
from vllmkube.lint.findings import Severity
from vllmkube.render import to_stream
from vllmkube.sizing import size
from vllmkube.spec import RenderSpec, build, resolve_gpu, resolve_model
from vllmkube.targets import lws as lws_target
from vllmkube.workflow import plan_render
from vllmkube.yamlio import dump_all, load_all

M405 = "meta-llama/Llama-3.1-405B-Instruct"


def render(**values):
    # The Llama repositories are gated; one shared model cache (a ReadWriteMany class) as the
    # targets' own docs describe (test_first_apply.py covers the per-pod cache)
    values = {"hf_token_secret": "hf-token", "storage_class": "rwx", **values}
    plan, docs = plan_render(build(RenderSpec, values))
    parsed = [plain(load_all(d.text)[0]) for d in docs]
    return plan, parsed, to_stream(plan, docs)


def of(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = of(docs, kind)
    assert len(found) == 1, [d["kind"] for d in docs]
    return found[0]


def flag(args, name):
    return args[args.index(name) + 1] if name in args else None


def loud(text):
    return [f.text() for f in lint_text(text, "out.yaml", LintOptions(schema=False)).findings
            if f.severity >= Severity.WARNING]


def strict_errors(docs, shared_dir):
    errs = []
    for d in docs:
        errs += validate_core(d) if is_core(d) else validate_crd(shared_dir / "schemas", d)
    return errs


CASES = {
    "lws-405b": dict(model=M405, gpu="h100", quantization="none"),
    "lws-405b-ray": dict(model=M405, gpu="h100", quantization="none", vllm_version="0.10.2", monitor="podmonitor"),
    "kserve": dict(model="llama-3.1-8b", gpu="l4", target="kserve"),
    "kserve-auth": dict(model="llama-3.1-70b", gpu="h100", target="kserve", prometheus_auth_secret="prom"),
    "kserve-canary": dict(model="llama-3.1-8b", gpu="l4", target="kserve", canary_revision="v2", canary_percent=10),
    "llmisvc": dict(model="llama-3.1-8b", gpu="l4", target="llmisvc"),
    "llmisvc-405b": dict(model=M405, gpu="h100", quantization="none", target="llmisvc"),
    "llmisvc-canary": dict(model="llama-3.1-8b", gpu="l4", target="llmisvc", canary_revision="v2", canary_percent=25,
                           gateway="infra/public"),
    "deployment-canary": dict(model="llama-3.1-8b", gpu="l4", canary_revision="abc123", canary_percent=5, gateway="public"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_target_validates_strictly_and_lints_clean(case, shared_dir):
    _, docs, text = render(**CASES[case])
    assert strict_errors(docs, shared_dir) == []
    options = LintOptions(schema_locations=(str(shared_dir / "schemas"),))
    assert [f.text() for f in lint_text(text, "out.yaml", options).findings if f.severity >= Severity.WARNING] == []


# ----------------------------------------------------------------------------- LeaderWorkerSet
def test_405b_at_16_bit_is_one_lws_group_of_two_nodes_with_one_set_of_flags():
    plan, docs, _ = render(model=M405, gpu="h100", quantization="none")
    assert plan.target.kind == "LeaderWorkerSet" and of(docs, "Deployment") == []
    lws = one(docs, "LeaderWorkerSet")
    tmpl = lws["spec"]["leaderWorkerTemplate"]
    assert tmpl["size"] == plan.sizing.nodes_per_replica == 2
    assert tmpl["restartPolicy"] == "RecreateGroupOnPodRestart" and lws["spec"]["startupPolicy"] == "LeaderCreated"
    leader, worker = (tmpl[k]["spec"]["containers"][0] for k in ("leaderTemplate", "workerTemplate"))
    s = plan.sizing
    for c in (leader, worker):
        assert flag(c["args"], "--tensor-parallel-size") == str(s.tensor_parallel_size)
        assert flag(c["args"], "--pipeline-parallel-size") == str(s.pipeline_parallel_size)
        assert flag(c["args"], "--nnodes") == "2"
        assert flag(c["args"], "--node-rank") == "$(LWS_WORKER_INDEX)"
        gpus = s.tensor_parallel_size * s.pipeline_parallel_size // 2
        assert c["resources"]["limits"]["nvidia.com/gpu"] == str(gpus) == "8"
        assert any(m["mountPath"] == "/dev/shm" for m in c["volumeMounts"])
        # the wrapper resolves the leader to an IP and passes the args on
        script = c["command"][2]
        assert c["command"][:2] == ["/bin/sh", "-c"] and 'getent hosts "$LWS_LEADER_ADDRESS"' in script
        assert 'exec vllm serve "$@" --master-addr "$MASTER_ADDR"' in script
        assert script == lws_target.NATIVE_SCRIPT  # laid out as a YAML block, read back byte for byte
        shlex.split(script)  # a well-formed shell literal
    assert worker["args"] == leader["args"] + ["--headless"]
    assert "startupProbe" in leader and "readinessProbe" in leader and "ports" in leader
    assert "startupProbe" not in worker and "readinessProbe" not in worker and "ports" not in worker
    # the budget and the engine timeout are the sizing's, on both
    env = {e["name"]: e["value"] for e in leader["env"]}
    assert env["VLLM_ENGINE_READY_TIMEOUT_S"] == str(max(600, plan.pod.startup_budget_s))
    # both read the one model cache PVC
    claims = {v["persistentVolumeClaim"]["claimName"] for k in ("leaderTemplate", "workerTemplate")
              for v in tmpl[k]["spec"]["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {one(docs, "PersistentVolumeClaim")["metadata"]["name"]}


def test_lws_leader_alone_is_served_scraped_and_scaled():
    plan, docs, _ = render(model=M405, gpu="h100", quantization="none", monitor="podmonitor")
    leader = {"leaderworkerset.sigs.k8s.io/worker-index": "0"}
    assert one(docs, "Service")["spec"]["selector"].items() >= leader.items()
    assert one(docs, "PodMonitor")["spec"]["selector"]["matchLabels"].items() >= leader.items()
    ref = one(docs, "ScaledObject")["spec"]["scaleTargetRef"]
    assert ref == {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": plan.target.name}
    assert "replicas" not in one(docs, "LeaderWorkerSet")["spec"]  # KEDA owns it
    # the group's pods reach each other on any port (rendezvous, NCCL)
    ingress = one(docs, "NetworkPolicy")["spec"]["ingress"]
    assert any("ports" not in r and r["from"][0].get("podSelector", {}).get("matchLabels") for r in ingress)
    # kube-state-metrics has no LWS metrics: the dashboard's replicas come from the HPA and leader pods
    board = one(docs, "ConfigMap")["data"]
    assert "kube_deployment" not in next(iter(board.values()))
    assert "kube_horizontalpodautoscaler_status_current_replicas" in next(iter(board.values()))


def test_lws_ray_recipe_before_vllm_0_11_1():
    _, docs, _ = render(model=M405, gpu="h100", quantization="none", vllm_version="0.10.2")
    tmpl = one(docs, "LeaderWorkerSet")["spec"]["leaderWorkerTemplate"]
    leader, worker = (tmpl[k]["spec"]["containers"][0] for k in ("leaderTemplate", "workerTemplate"))
    assert "multi-node-serving.sh leader" in leader["command"][2] and "--distributed-executor-backend ray" in leader["command"][2]
    assert "--nnodes" not in leader["args"] and flag(leader["args"], "--tensor-parallel-size") == "8"
    assert "multi-node-serving.sh worker" in worker["command"][2] and "args" not in worker
    assert (leader["command"][2], worker["command"][2]) == (lws_target.RAY_LEADER_SCRIPT, lws_target.RAY_WORKER_SCRIPT)


def test_auto_says_on_stderr_and_fp8_stays_one_deployment(capsys):
    r = run(capsys, "render", "--model", M405, "--gpu", "h100", "--quantization", "none", "--hf-token-secret", "hf")
    assert r.code == 0 and "kind: LeaderWorkerSet" in r.out and "note: --target auto" in r.err
    assert "note:" not in r.out
    r = run(capsys, "render", "--model", M405, "--gpu", "h100", "--quantization", "fp8", "--hf-token-secret", "hf")
    assert r.code == 0 and "kind: Deployment" in r.out and "LeaderWorkerSet" not in r.out and "note:" not in r.err


def test_deployment_target_refuses_a_multi_node_sizing(capsys):
    r = run(capsys, "render", "--model", M405, "--gpu", "h100", "--quantization", "none", "--target", "deployment")
    assert r.code == 2 and r.out == "" and "--target" in r.err and "Traceback" not in r.err


def test_lint_checks_lws_workers_like_any_vllm_pod():
    _, docs, _ = render(model=M405, gpu="h100", quantization="none")
    worker = one(docs, "LeaderWorkerSet")["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    assert loud(dump_all(docs)) == []
    wrong = copy.deepcopy(docs)
    w = one(wrong, "LeaderWorkerSet")["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    w["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "4"
    w["containers"][0]["volumeMounts"] = [m for m in w["containers"][0]["volumeMounts"] if m["name"] != "dshm"]
    found = "\n".join(loud(dump_all(wrong)))
    assert "gpu-limit-mismatch" in found and "workerTemplate" in found and "shm-missing" in found
    assert worker["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"


# ----------------------------------------------------------------------------- KServe
def test_inferenceservice_standard_mode_with_kserves_keda_and_no_scaledobject_of_ours():
    plan, docs, _ = render(model="llama-3.1-8b", gpu="l4", target="kserve", prometheus_auth_secret="prom")
    isvc = one(docs, "InferenceService")
    ann = isvc["metadata"]["annotations"]
    assert ann["serving.kserve.io/deploymentMode"] == "Standard" and ann["serving.kserve.io/autoscalerClass"] == "keda"
    assert of(docs, "ScaledObject") == [] and of(docs, "Service") == [] and of(docs, "Deployment") == []
    assert one(docs, "TriggerAuthentication")  # KServe's triggers reference it
    pred = isvc["spec"]["predictor"]
    metrics = pred["autoScaling"]["metrics"]
    assert all(m["type"] == "External" and m["external"]["metric"]["backend"] == "prometheus" for m in metrics)
    # KServe reads target.value only and leaves KEDA's metricType at AverageValue (ceil(query / value)):
    # the queue total stays, the per-replica KV average becomes the KV sum over the pods
    queue, kv = plan.scaling.triggers[:2]
    assert (queue.metric_type, kv.metric_type) == ("AverageValue", "Value")
    assert [m["external"]["metric"]["query"] for m in metrics][:2] == [queue.query, kv.query.replace("avg(", "sum(", 1)]
    assert [m["external"]["target"] for m in metrics][:2] == [{"type": "AverageValue", "value": queue.threshold},
                                                              {"type": "AverageValue", "value": kv.threshold}]
    assert all(m["external"]["authenticationRef"]["authenticationRef"]["name"] == one(docs, "TriggerAuthentication")
               ["metadata"]["name"] for m in metrics)
    assert (pred["minReplicas"], pred["maxReplicas"]) == (plan.scaling.min_replicas, plan.scaling.max_replicas)
    c = pred["containers"][0]
    assert c["name"] == "kserve-container" and c["command"] == ["vllm", "serve"]
    assert flag(c["args"], "--tensor-parallel-size") == str(plan.sizing.tensor_parallel_size)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == str(plan.pod.gpus) and "startupProbe" in c
    assert pred["labels"] == plan.identity.labels
    # Prometheus finds the predictor pods by their labels: there is no Service of ours
    assert one(docs, "PodMonitor")["spec"]["selector"]["matchLabels"].items() <= pred["labels"].items()


def test_kserve_refuses_what_it_cannot_serve(capsys):
    r = run(capsys, "render", "--model", M405, "--gpu", "h100", "-q", "none", "--target", "kserve")
    assert r.code == 2 and "--target" in r.err and r.out == ""
    r = run(capsys, "render", "--model", "llama-3.1-8b", "--gpu", "l4", "--target", "kserve", "--scale-to-zero",
            "--activation-query", "sum(rate(x[1m]))")
    assert r.code == 2 and "--scale-to-zero" in r.err


def test_lint_knows_the_deployment_kserve_makes():
    _, docs, _ = render(model="llama-3.1-8b", gpu="l4", target="kserve")
    isvc = one(docs, "InferenceService")
    so = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "extra", "namespace": "default"},
          "spec": {"scaleTargetRef": {"name": f"{isvc['metadata']['name']}-predictor"},
                   "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "50"}}]}}
    found = "\n".join(loud(dump_all([*docs, so])))
    assert "autoscaler-conflict" in found and "scale-target-missing" not in found
    isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "external"
    assert not [f for f in loud(dump_all([*docs, so])) if "autoscaler-conflict" in f or "scale-target-missing" in f]


# ----------------------------------------------------------------------------- LLMInferenceService
def test_llminferenceservice_takes_parallelism_worker_and_the_sizings_flags():
    plan, docs, _ = render(model=M405, gpu="h100", quantization="none", target="llmisvc")
    svc = one(docs, "LLMInferenceService")
    assert svc["apiVersion"] == "serving.kserve.io/v1alpha2"
    s = plan.sizing
    assert svc["spec"]["parallelism"] == {"tensor": s.tensor_parallel_size, "pipeline": s.pipeline_parallel_size}
    assert svc["spec"]["model"]["name"] == M405 and svc["spec"]["model"]["uri"].startswith("pvc://")
    assert "worker" in svc["spec"] and svc["spec"]["replicas"] == 1 and "scaling" not in svc["spec"]
    main = svc["spec"]["template"]["containers"][0]
    assert main["name"] == "main" and main["resources"]["limits"]["nvidia.com/gpu"] == "8"
    extra = shlex.split({e["name"]: e["value"] for e in main["env"]}["VLLM_ADDITIONAL_ARGS"])
    assert flag(extra, "--max-model-len") == str(s.max_model_len) and "--tensor-parallel-size" not in extra
    _, single, _ = render(model="llama-3.1-8b", gpu="l4", target="llmisvc")
    assert "worker" not in one(single, "LLMInferenceService")["spec"]


# ----------------------------------------------------------------------------- canary
def test_canaries_split_traffic_the_way_each_target_does():
    _, docs, _ = render(**CASES["kserve-canary"])
    isvc = one(docs, "InferenceService")
    canary = isvc["spec"]["canary"]
    assert [c["trafficPercent"] for c in canary] == [10] and canary[0]["predictor"]["name"] == "canary"
    stable_args = isvc["spec"]["predictor"]["containers"][0]["args"]
    canary_args = canary[0]["predictor"]["containers"][0]["args"]
    assert stable_args[0] != canary_args[0] and canary_args[0].endswith("-v2") and stable_args[1:] == canary_args[1:]
    jobs = of(docs, "Job")
    assert sorted({e["value"] for j in jobs for e in j["spec"]["template"]["spec"]["containers"][0]["env"]
                   if e["name"] == "REVISION"}) == ["", "v2"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"

    _, docs, _ = render(**CASES["llmisvc-canary"])
    routes = [d["spec"]["router"]["route"] for d in of(docs, "LLMInferenceService")]
    assert [r["weight"] for r in routes] == [75, 25] and len({r["group"] for r in routes}) == 1

    _, docs, _ = render(**CASES["deployment-canary"])
    route = one(docs, "HTTPRoute")
    backends = route["spec"]["rules"][0]["backendRefs"]
    services = {s["metadata"]["name"]: s for s in of(docs, "Service")}
    assert [b["weight"] for b in backends] == [95, 5] and all(b["name"] in services for b in backends)
    deployments = {d["metadata"]["name"]: d for d in of(docs, "Deployment")}
    for b in backends:  # each backend selects exactly its own Deployment's pods
        sel = services[b["name"]]["spec"]["selector"]
        owners = [n for n, d in deployments.items()
                  if sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(owners) == 1
    # the ServiceMonitor scrapes each pod once: through the shared Service only
    sm = one(docs, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert [n for n, s in services.items() if sm.items() <= s["metadata"]["labels"].items()] == [route["metadata"]["name"]]


@pytest.mark.parametrize("values, field", [
    (dict(canary_revision="v2"), "canary"),
    (dict(canary_revision="v2", canary_percent=10), "--gateway"),
    (dict(canary_revision="v2", canary_percent=100, gateway="g"), "--canary-percent"),
    (dict(canary_revision="v 2", canary_percent=10, gateway="g"), "--canary-revision"),
    (dict(target="lws", canary_revision="v2", canary_percent=10), "--canary-revision"),
])
def test_bad_canary_input_is_one_clear_error(values, field):
    with pytest.raises(InputError) as exc:
        plan_render(build(RenderSpec, dict(model="llama-3.1-8b", gpu="l4", hf_token_secret="hf-token", **values)))
    assert field in str(exc.value)


# ----------------------------------------------------------------------------- size and render agree
GPUS = ("h100", "l4", "h200")


def test_every_layout_size_recommends_renders():
    """Every model of the catalog on these GPUs, at the default choice and at 16-bit (where
    multi-node layouts come from): if `size` says it fits, `render --target auto` builds its plan
    (the templates of both kinds are exercised above)."""
    rendered = multi = 0
    for m in catalog.models():
        for gpu in GPUS:
            for q in (None, "none"):
                values = dict(model=m.id, gpu=gpu, hf_token_secret="hf-token", **({"quantization": q} if q else {}))
                spec = build(RenderSpec, values)
                try:
                    sizing = size(catalog.find_model(m.id), catalog.find_gpu(gpu), spec.sizing_options())
                except InputError:
                    continue  # size refuses it too (e.g. a quantized checkpoint at 16-bit)
                if not sizing.fits:
                    continue
                if sizing.needs_prequantized_checkpoint:  # size says so too: render needs its repository
                    spec = build(RenderSpec, dict(values, model_repo="example/prequantized-AWQ"))
                plan = compose.build(spec, resolve_model(spec), resolve_gpu(spec), sizing)  # the plan, no templates
                assert plan.sizing.nodes_per_replica == sizing.nodes_per_replica
                assert plan.target.kind == ("LeaderWorkerSet" if sizing.nodes_per_replica > 1 else "Deployment")
                rendered += 1
                multi += sizing.nodes_per_replica > 1
    assert rendered > 50 and multi > 3


def test_lint_knows_the_labels_controllers_put_on_pods():
    """A Service written by hand against the labels the LWS and KServe controllers add is not
    'selector matches nothing'; a typo in them still is."""
    _, lws_docs, _ = render(model=M405, gpu="h100", quantization="none", without=["service"], monitor="podmonitor")
    _, isvc_docs, _ = render(model="llama-3.1-8b", gpu="l4", target="kserve", name="chat")
    lws_name = one(lws_docs, "LeaderWorkerSet")["metadata"]["name"]

    def service(name, selector):
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": selector, "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]}}

    good = [service("leaders", {"leaderworkerset.sigs.k8s.io/name": lws_name, "leaderworkerset.sigs.k8s.io/worker-index": "0"}),
            service("predictor", {"serving.kserve.io/inferenceservice": "chat"})]
    assert [f for f in loud(dump_all([*lws_docs, *isvc_docs, *good])) if "selector" in f] == []
    bad = [service("typo", {"leaderworkerset.sigs.k8s.io/name": lws_name + "x"})]
    assert any("service-selector-mismatch" in f for f in loud(dump_all([*lws_docs, *bad])))


def test_every_target_choice_loads_its_module():
    """render imports only the chosen target (targets.load); every --target value but auto has one."""
    import typing

    from vllmkube import targets
    from vllmkube.spec import RenderSpec

    choices = set(typing.get_args(RenderSpec.model_fields["target"].annotation)) - {"auto"}
    assert choices == set(targets.NAMES)
    for name in choices:
        assert targets.load(name).NAME == name
