"""Traffic in front of the pods (plan/front.py): the KEDA HTTP add-on for scale-to-zero and the
Gateway API Inference Extension's InferencePool. Renders validate strictly against ../shared/schemas;
the pool's selector is evaluated against every rendered pod template."""
from __future__ import annotations

import re

import pytest
from clirun import run as cli
from k8s_validate import is_core, plain, validate_core, validate_crd

from vllmkube.errors import InputError
from vllmkube.plan.front import COLD_START_MARGIN_S
from vllmkube.plan.pool import EPP_IMAGE
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

BASE = dict(model="llama-3.1-8b", gpu="l4", namespace="llm", name="chat", served_model_name="chat", hf_token_secret="hf-token")
ZERO = dict(BASE, scale_to_zero=True, host="chat.example.com")
POOL = dict(BASE, router="inference-pool", gateway="gateways/inference", host="chat.example.com")


def render(**values):
    plan, docs = plan_render(build(RenderSpec, values))
    return plan, [plain(load_all(d.text)[0]) for d in docs]


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def strict_errors(docs, schemas):
    errors = []
    for d in docs:
        errors += validate_core(d) if is_core(d) else validate_crd(schemas, d)
    return errors


# ------------------------------------------------------------------ scale to zero: KEDA HTTP add-on

@pytest.mark.parametrize("api", ["v1beta1", "v1alpha1"])
def test_scale_to_zero_renders_the_addon_route_and_one_scaledobject(api):
    plan, docs = render(**ZERO, keda_http_api=api)
    kind = "InterceptorRoute" if api == "v1beta1" else "HTTPScaledObject"
    route = one(docs, kind)
    assert route["apiVersion"] == f"http.keda.sh/{api}"
    so = one(docs, "ScaledObject")["spec"]
    assert so["minReplicaCount"] == 0 and "idleReplicaCount" not in so
    push, *vllm = so["triggers"]
    key = "interceptorRoute" if api == "v1beta1" else "httpScaledObject"
    assert push == {"type": "external-push", "name": "http-requests", "metadata": {
        "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090", key: route["metadata"]["name"]}}
    # the vLLM triggers stay, activated by anything above 0, and no empty gateway query comes along
    assert [t["name"] for t in vllm] == ["queue-depth", "kv-cache-usage"]
    assert all(t["metadata"]["activationThreshold"] == "0" and t["metadata"]["query"] for t in vllm)
    # the route comes before the ScaledObject: KEDA asks the scaler for the route's metric at once
    kinds = [d["kind"] for d in docs]
    assert kinds.index(kind) < kinds.index("ScaledObject")
    service = one(docs, "Service", "chat")
    if api == "v1beta1":
        assert route["spec"]["target"] == {"service": "chat", "port": service["spec"]["ports"][0]["port"]}
        assert route["spec"]["rules"] == [{"hosts": ["chat.example.com"], "paths": [{"value": "/v1"}]}]
    else:
        assert route["metadata"]["annotations"] == {"httpscaledobject.keda.sh/skip-scaledobject-creation": "true"}
        ref = route["spec"]["scaleTargetRef"]
        assert (ref["service"], ref["port"], ref["name"], ref["kind"]) == ("chat", 8000, "chat", "Deployment")
        assert route["spec"]["hosts"] == ["chat.example.com"] and route["spec"]["pathPrefixes"] == ["/v1"]


def seconds(text: str) -> int:
    """A Go duration (1h2m5s) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert parts and text, text
    h, m, s = (int(x or 0) for x in parts.groups())
    return 3600 * h + 60 * m + s


def test_durations_are_go_durations_the_gateway_api_accepts():
    from vllmkube.plan.http import duration

    assert [duration(s) for s in (0, 45, 60, 405, 3600, 3725, 150000)] == [
        "0s", "45s", "1m", "6m45s", "1h", "1h2m5s", "41h40m"]
    assert all(re.fullmatch(r"([0-9]{1,5}(h|m|s|ms)){1,4}", duration(s)) for s in (1, 99999, 10**6))


def test_timeouts_follow_the_cold_start_and_the_output_length():
    plan, docs = render(**ZERO, output_len=1000, slo_itl_p99="50ms", slo_ttft_p99="2s")
    t = one(docs, "InterceptorRoute")["spec"]["timeouts"]
    budget = plan.pod.startup_budget_s
    assert seconds(t["readiness"]) == budget + COLD_START_MARGIN_S
    assert seconds(t["responseHeader"]) >= 2 + 1000 * 0.05  # the longest generation at the ITL objective
    assert seconds(t["request"]) == seconds(t["readiness"]) + seconds(t["responseHeader"])
    longer = one(render(**ZERO, output_len=4000, slo_itl_p99="50ms")[1], "InterceptorRoute")["spec"]["timeouts"]
    assert seconds(longer["responseHeader"]) > seconds(t["responseHeader"])
    slower = render(**ZERO, output_len=1000, slo_itl_p99="50ms", load_rate_gib_s=0.05)
    assert seconds(one(slower[1], "InterceptorRoute")["spec"]["timeouts"]["readiness"]) > seconds(t["readiness"])
    # without --output-len a request may fill the context: far above the add-on's 300 s default
    whole = one(render(**ZERO)[1], "InterceptorRoute")["spec"]["timeouts"]
    assert seconds(whole["responseHeader"]) >= plan.sizing.max_model_len * 0.1


def test_cooldowns_come_from_the_startup_budget():
    plan, docs = render(**ZERO, load_rate_gib_s=0.05)  # a slow volume: a long cold start
    so = one(docs, "ScaledObject")["spec"]
    budget = plan.pod.startup_budget_s
    assert budget > 300
    assert so["initialCooldownPeriod"] == budget and so["cooldownPeriod"] >= budget


def test_the_interceptor_may_reach_the_pods():
    _, docs = render(**ZERO, keda_namespace="keda-system")
    sources = one(docs, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda-system"}}} in sources
    so = one(docs, "ScaledObject")["spec"]
    assert so["triggers"][0]["metadata"]["scalerAddress"] == "keda-add-ons-http-external-scaler.keda-system:9090"


def test_activation_query_keeps_working_without_the_addon():
    query = 'sum(rate(nginx_ingress_controller_requests{namespace="llm",service="chat"}[2m]))'
    _, docs = render(**BASE, scale_to_zero=True, activation_query=query)
    assert not [d for d in docs if d["apiVersion"].startswith("http.keda.sh/")]
    so = one(docs, "ScaledObject")["spec"]
    assert so["idleReplicaCount"] == 0 and so["minReplicaCount"] == 1
    assert [t["type"] for t in so["triggers"]] == ["prometheus"] * 3 and so["triggers"][-1]["metadata"]["query"] == query


def test_more_than_one_replica_when_awake_uses_idle_replica_count():
    _, docs = render(**ZERO, min_replicas=2)
    so = one(docs, "ScaledObject")["spec"]
    assert so["minReplicaCount"] == 2 and so["idleReplicaCount"] == 0


@pytest.mark.parametrize("values, flag", [
    (dict(BASE, scale_to_zero=True), "--host"),
    (dict(ZERO, without=["autoscaling"]), "--scale-to-zero"),
    (dict(ZERO, without=["service"]), "--without"),
    (dict(ZERO, keda_namespace="Not_A_Namespace"), "--keda-namespace"),
    (dict(BASE, gateway="gw"), "--gateway"),
    (dict(BASE, host="chat.example.com"), "--host"),
    (dict(BASE, keda_http_api="v1alpha1"), "--keda-http-api"),
    (dict(POOL, keda_namespace="keda"), "--keda-namespace"),
    (dict(ZERO, epp_image="ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"), "--epp-image"),
    (dict(ZERO, inference_objective_api="llm-d.ai/v1alpha2"), "--inference-objective-api"),
    (dict(BASE, router="inference-pool"), "--gateway"),
    (dict(POOL, scale_to_zero=True), "--scale-to-zero"),
    (dict(POOL, epp_image="ghcr.io/llm-d/llm-d-router-endpoint-picker"), "--epp-image"),
    (dict(POOL, epp_image="ghcr.io/llm-d/llm-d-router-endpoint-picker:latest"), "--epp-image"),
])
def test_contradictions_are_refused_with_the_flag(values, flag):
    with pytest.raises(InputError) as err:
        render(**values)
    assert err.value.field == flag


@pytest.mark.parametrize("args", [["--host", "bad host"], ["--keda-http-api", "v2"], ["--router", "nginx"],
                                  ["--gateway", "a/b/c"]])
def test_bad_flags_are_one_line_exit_2(capsys, args):
    out = cli(capsys, "render", "--model", "llama-3.1-8b", "--gpu", "l4", "--scale-to-zero", *args)
    assert out.code == 2 and out.out == "" and len(out.err.strip().splitlines()) == 1


# ------------------------------------------------------------------ routing: InferencePool + endpoint picker

def selects(selector: dict, labels: dict) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels, as the API server does."""
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or ():
        have, values = e["key"] in labels, e.get("values") or []
        ok = {"In": have and labels[e["key"]] in values, "NotIn": not have or labels[e["key"]] not in values,
              "Exists": have, "DoesNotExist": not have}[e["operator"]]
        if not ok:
            return False
    return True


def pod_templates(docs):
    """(owner, pod labels) of every pod the render creates."""
    out = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "Job", "LeaderWorkerSet"):
            out.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["metadata"]["labels"]))
    return out


def test_the_selector_evaluator_is_not_trivially_true():
    assert selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not selects({"matchLabels": {"a": "1", "c": "3"}}, {"a": "1"})
    assert not selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"})


def test_the_pool_selects_exactly_the_vllm_pods_and_not_the_picker():
    _, docs = render(**POOL)
    pool = one(docs, "InferencePool")["spec"]
    chosen = sorted(owner for owner, labels in pod_templates(docs) if selects(pool["selector"], labels))
    assert chosen == ["Deployment/chat"]
    owners = [owner for owner, _ in pod_templates(docs)]
    assert "Deployment/chat-epp" in owners  # there was another pod template to miss
    # the same pods as the Service's, on the port vLLM listens on
    service = one(docs, "Service", "chat")["spec"]
    assert pool["selector"]["matchLabels"] == service["selector"]
    vllm = one(docs, "Deployment", "chat")["spec"]["template"]["spec"]["containers"][0]
    port = next(p["containerPort"] for p in vllm["ports"] if p["name"] == "http")
    assert pool["targetPorts"] == [{"number": port}]
    # the picker's own Service selects the picker only
    epp_service = one(docs, "Service", "chat-epp")["spec"]
    assert [o for o, labels in pod_templates(docs) if selects({"matchLabels": epp_service["selector"]}, labels)] == [
        "Deployment/chat-epp"]
    assert pool["endpointPickerRef"]["name"] == "chat-epp"
    assert pool["endpointPickerRef"]["port"]["number"] in [p["port"] for p in epp_service["ports"]]


def test_the_picker_runs_for_this_pool_with_its_config_and_read_only_rbac():
    _, docs = render(**POOL)
    dep = one(docs, "Deployment", "chat-epp")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == EPP_IMAGE and not c["image"].endswith(":latest")
    args = c["args"]
    assert args[args.index("--pool-name") + 1] == one(docs, "InferencePool")["metadata"]["name"]
    assert args[args.index("--pool-namespace") + 1] == "llm"
    assert args[args.index("--pool-group") + 1] == "inference.networking.k8s.io"
    config = args[args.index("--config-file") + 1]
    cm = one(docs, "ConfigMap", "chat-epp")
    mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
    key = config.removeprefix(mount["mountPath"] + "/")
    picker = load_all(cm["data"][key])[0]
    assert picker["kind"] == "EndpointPickerConfig"
    assert {p["type"] for p in picker["plugins"]} == {"queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer"}
    assert pod["serviceAccountName"] == "chat-epp"
    role = one(docs, "Role", "chat-epp")
    assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in role["rules"])
    assert {res for r in role["rules"] for res in r["resources"]} >= {"pods", "inferencepools", "inferenceobjectives"}
    binding = one(docs, "RoleBinding", "chat-epp")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "chat-epp", "namespace": "llm"}]
    assert binding["roleRef"]["name"] == "chat-epp"


def test_the_route_sends_the_gateways_traffic_to_the_pool():
    plan, docs = render(**POOL, output_len=512)
    route = one(docs, "HTTPRoute")["spec"]
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference",
                                    "namespace": "gateways"}]
    assert route["hostnames"] == ["chat.example.com"]
    (rule,) = route["rules"]
    assert rule["backendRefs"] == [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "chat"}]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/v1"}}]
    assert seconds(rule["timeouts"]["request"]) >= 2 + 512 * 0.1
    # the gateway's proxy calls the pods: its namespace may
    sources = one(docs, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateways"}}} in sources


def test_autoscaling_still_works_behind_the_pool():
    _, plain_docs = render(**BASE)
    _, docs = render(**POOL)
    so = one(docs, "ScaledObject")["spec"]
    assert so["scaleTargetRef"]["name"] == "chat" and so["minReplicaCount"] == 1
    assert so["triggers"] == one(plain_docs, "ScaledObject")["spec"]["triggers"]
    pool = one(docs, "InferencePool")["spec"]
    target = one(docs, "Deployment", so["scaleTargetRef"]["name"])
    assert selects(pool["selector"], target["spec"]["template"]["metadata"]["labels"])  # new replicas join the pool


@pytest.mark.parametrize("api", ["llm-d.ai/v1alpha2", "inference.networking.x-k8s.io/v1alpha2"])
def test_inference_objective_when_asked(api):
    _, docs = render(**POOL)
    assert not [d for d in docs if d["kind"] == "InferenceObjective"]
    _, docs = render(**POOL, inference_objective_priority=10, inference_objective_api=api)
    obj = one(docs, "InferenceObjective")
    assert obj["apiVersion"] == api and obj["spec"]["priority"] == 10
    assert obj["spec"]["poolRef"]["name"] == one(docs, "InferencePool")["metadata"]["name"]


# ------------------------------------------------------------------ strict schemas

@pytest.mark.parametrize("values", [
    ZERO, dict(ZERO, keda_http_api="v1alpha1"), POOL, dict(POOL, inference_objective_priority=-5),
    dict(POOL, inference_objective_priority=3, inference_objective_api="inference.networking.x-k8s.io/v1alpha2"),
    dict(BASE, router="inference-pool", gateway="inference"),
], ids=["addon-v1beta1", "addon-v1alpha1", "pool", "pool-objective", "pool-objective-x-k8s", "pool-local-gateway"])
def test_renders_validate_strictly(values, shared_dir):
    _, docs = render(**values)
    assert strict_errors(docs, shared_dir / "schemas") == []


def test_the_strict_check_catches_a_broken_route(shared_dir):
    _, docs = render(**ZERO)
    route = one(docs, "InterceptorRoute")
    route["spec"]["scalingMetric"] = {"concurrency": {"target": 5}}
    assert strict_errors([route], shared_dir / "schemas")


def test_each_servicemonitor_scrapes_its_own_service():
    _, docs = render(**POOL)
    services = [d for d in docs if d["kind"] == "Service"]
    for monitor, service in (("chat", "chat"), ("chat-epp", "chat-epp")):
        sm = one(docs, "ServiceMonitor", monitor)["spec"]
        chosen = [s["metadata"]["name"] for s in services if selects(sm["selector"], s["metadata"]["labels"])]
        assert chosen == [service]
        ports = [p["name"] for p in one(docs, "Service", service)["spec"]["ports"]]
        assert sm["endpoints"][0]["port"] in ports
    _, docs = render(**POOL, without=["monitor"])
    assert not [d for d in docs if d["kind"] == "ServiceMonitor"]
