"""Front: what sits between the clients and the vLLM pods (issue 12). Any target that serves HTTP on
the identity's Service and selector gets it; nothing here knows the workload kind.

* ``service`` (default): clients call the Service, which spreads requests over ready pods.
* ``keda-http`` (``--scale-to-zero`` without ``--activation-query``): the KEDA HTTP add-on's
  interceptor counts requests and holds them while the first pod starts. Routing is an
  InterceptorRoute (``http.keda.sh/v1beta1``, add-on 0.14+) or an HTTPScaledObject (v1alpha1, older
  add-ons, told not to make its own ScaledObject); the scaling stays in our one ScaledObject, which
  gets an ``external-push`` trigger next to the vLLM triggers (kedacore/http-add-on
  ``pkg/k8s/scaledobject.go``: metadata ``scalerAddress`` and ``interceptorRoute`` /
  ``httpScaledObject``; shared reference beyond-one-deployment.md section 3).
* ``inference-pool`` (``--router inference-pool --gateway NAME``): a Gateway API Inference Extension
  InferencePool (``inference.networking.k8s.io/v1``) over the vLLM pods, the endpoint picker (EPP)
  that scores them by queue, KV cache and prefix (llm-d/llm-d-router v0.10.0 chart: args, ports,
  RBAC), an HTTPRoute from the user's Gateway to the pool, and optionally an InferenceObjective
  (beyond-one-deployment.md section 4).

Every timeout follows from the plan: the cold start from the startup-probe budget, the longest
generation from the context length (or --output-len) at the ITL objective.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import naming
from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from .engine import HTTP_PORT
from .identity import Identity

# KEDA HTTP add-on: its Helm chart's Service names in the add-on's namespace.
INTERCEPTOR_SERVICE, INTERCEPTOR_PORT = "keda-add-ons-http-interceptor-proxy", 8080
SCALER_SERVICE, SCALER_PORT = "keda-add-ons-http-external-scaler", 9090
# The HTTPScaledObject operator makes its own ScaledObject unless told not to (operator/controllers/http/app.go).
SKIP_SCALEDOBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"
API_PREFIX = "/v1"  # the OpenAI-compatible API; /metrics and /health stay off the public path
# Beyond the startup-probe budget, a cold start also schedules the pod and pulls the vLLM image
# (~10 GB) on a node that may not have it. A node provisioned from nothing takes longer still.
COLD_START_MARGIN_S = 180
GENERATION_MARGIN = 1.5

# Endpoint picker: llm-d/llm-d-router v0.10.0 (config/charts/routerlib; release images are
# ghcr.io/llm-d/llm-d-router-endpoint-picker:<tag>, .github/ISSUE_TEMPLATE/new-release.md).
EPP_IMAGE = "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"
EPP_GRPC_PORT, EPP_HEALTH_PORT, EPP_METRICS_PORT = 9002, 9003, 9090
EPP_CONFIG_KEY, EPP_CONFIG_DIR = "endpoint-picker.yaml", "/config"
POOL_GROUP = "inference.networking.k8s.io"
# Header a client sets to pick an InferenceObjective (llm-d-router pkg/epp/metadata/consts.go;
# x-gateway-inference-objective is the deprecated alias).
OBJECTIVE_HEADER = "x-llm-d-inference-objective"


@dataclass(frozen=True)
class PushTrigger:
    """The ScaledObject trigger the add-on's external scaler pushes: active while requests wait."""

    name: str
    scaler_address: str
    route_key: str  # interceptorRoute (v1beta1) | httpScaledObject (v1alpha1)
    route_name: str


@dataclass(frozen=True)
class HttpAddon:
    api: str  # v1beta1 | v1alpha1
    name: str
    host: str
    path_prefix: str
    service: str
    port: int
    concurrency_target: int  # in-flight requests per replica (one replica's batch)
    readiness: str  # how long the interceptor holds a request for a pod to become ready
    response_header: str  # headers of a non-streamed completion arrive when generation ends
    request: str  # the whole request: cold start + generation
    interceptor: str  # where clients (or the ingress) send traffic
    skip_scaledobject_annotation: str = SKIP_SCALEDOBJECT


@dataclass(frozen=True)
class Epp:
    name: str
    labels: dict[str, str]
    selector: dict[str, str]
    image: str
    grpc_port: int
    health_port: int
    metrics_port: int
    config_key: str
    config: str  # EndpointPickerConfig (YAML) for the ConfigMap
    config_dir: str  # where the ConfigMap is mounted
    config_path: str  # --config-file
    monitor_labels: dict[str, str]  # its ServiceMonitor's: kube-prometheus-stack selects on `release`


@dataclass(frozen=True)
class Pool:
    name: str
    selector: dict[str, str]  # the vLLM pods' selector, from the identity
    target_port: int
    group: str
    epp: Epp
    gateway_name: str
    gateway_namespace: str | None  # None: the release's namespace
    host: str | None
    path_prefix: str
    request_timeout: str
    objective: tuple[str, str, int] | None  # (apiVersion, name, priority)
    objective_header: str = OBJECTIVE_HEADER


@dataclass(frozen=True)
class Front:
    kind: str  # service | keda-http | inference-pool
    templates: tuple[str, ...]  # templates/<name>.yaml.j2, rendered at render.FRONT
    http: HttpAddon | None
    pool: Pool | None
    push: PushTrigger | None  # joins the vLLM triggers in the ScaledObject
    allow_from_namespaces: list[str]  # besides identity's: whose pods call the vLLM pods directly
    generation_s: int  # the longest generation the timeouts allow
    cold_start_s: int  # what the first request after idle may wait
    warnings: list[str] = field(default_factory=list)


def duration(s: int) -> str:
    """A Go duration, 1h2m5s: what metav1.Duration parses, and within the Gateway API's pattern
    (at most 5 digits per unit) for any context length."""
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec or not (h or m) else "")


def generation_s(spec: RenderSpec, sizing: SizingPlan) -> int:
    """The longest a request may generate: time to first token plus every output token at the ITL
    objective, with a margin, rounded up to 10 s. Without --output-len a request may fill the context."""
    tokens = spec.output_len or max(1, sizing.max_model_len - (spec.input_len or 0))
    raw = (spec.slo_ttft_p99 + tokens * spec.slo_itl_p99) * GENERATION_MARGIN
    return int(math.ceil(raw / 10) * 10)


def cold_start_s(startup_budget_s: int) -> int:
    return startup_budget_s + COLD_START_MARGIN_S


def kind(spec: RenderSpec) -> str:
    if spec.router == "inference-pool":
        return "inference-pool"
    if spec.scale_to_zero and not (spec.activation_query or "").strip():
        return "keda-http"
    return "service"


def build(spec: RenderSpec, identity: Identity, sizing: SizingPlan, startup_budget_s: int) -> Front:
    chosen = kind(spec)
    gen = generation_s(spec, sizing)
    cold = cold_start_s(startup_budget_s)
    given = spec.model_fields_set
    only = {"keda-http": ("keda_http_api", "keda_namespace"),
            "inference-pool": ("gateway", "inference_objective_priority", "inference_objective_api", "epp_image")}
    for front, fields in only.items():
        for f in fields:
            if f == "gateway" and (spec.canary_revision is not None or spec.target == "llmisvc"):
                continue  # an LLMInferenceService's router and a canary's split attach to the Gateway too
            if chosen != front and f in given and getattr(spec, f) is not None:
                where = "--scale-to-zero (without --activation-query)" if front == "keda-http" else "--router inference-pool"
                raise InputError("--" + f.replace("_", "-"), f"only applies to {where}", "add it or drop this option")
    if chosen == "service" and spec.host:
        raise InputError("--host", "only applies to the KEDA HTTP add-on (--scale-to-zero) or --router inference-pool",
                         "add one of them or drop --host")
    if chosen == "keda-http":
        return _keda_http(spec, identity, sizing, gen, cold)
    if chosen == "inference-pool":
        return _pool(spec, identity, gen, cold)
    return Front("service", (), None, None, None, [], gen, cold)


def _keda_http(spec: RenderSpec, identity: Identity, sizing: SizingPlan, gen: int, cold: int) -> Front:
    if not spec.host:
        raise InputError("--host", "the KEDA HTTP add-on routes requests by their Host header, and none was given",
                         "pass --host with the name clients call (e.g. llm.example.com), or --activation-query "
                         "with your own gateway's request rate")
    if "service" not in identity.components:
        raise InputError("--without", "the KEDA HTTP add-on forwards requests to the Service", "keep the service component")
    if "autoscaling" not in identity.components:
        raise InputError("--scale-to-zero", "needs the ScaledObject (KEDA scales 0 <-> 1)", "drop --without autoscaling")
    ns = naming.check_namespace(spec.keda_namespace, "--keda-namespace")
    name = identity.names["service"]
    http = HttpAddon(
        api=spec.keda_http_api, name=name, host=spec.host, path_prefix=API_PREFIX, service=identity.names["service"],
        port=HTTP_PORT, concurrency_target=sizing.max_num_seqs, readiness=duration(cold), response_header=duration(gen),
        request=duration(cold + gen), interceptor=f"{INTERCEPTOR_SERVICE}.{ns}:{INTERCEPTOR_PORT}",
    )
    key = "interceptorRoute" if spec.keda_http_api == "v1beta1" else "httpScaledObject"
    push = PushTrigger("http-requests", f"{SCALER_SERVICE}.{ns}:{SCALER_PORT}", key, name)
    template = "interceptorroute" if spec.keda_http_api == "v1beta1" else "httpscaledobject"
    warnings = [f"scale to zero via the KEDA HTTP add-on: clients call {http.interceptor} with Host {spec.host} "
                f"(point your ingress there); the first request after idle waits up to {cold}s"]
    allow = sorted({ns} - {identity.namespace} - set(identity.allow_from_namespaces))
    return Front("keda-http", (template,), http, None, push, allow, gen, cold, warnings)


def gateway_ref(value: str) -> tuple[str | None, str]:
    ns, _, name = value.rpartition("/")
    return (ns or None), name


def _pool(spec: RenderSpec, identity: Identity, gen: int, cold: int) -> Front:
    if not spec.gateway:
        raise InputError("--gateway", "--router inference-pool attaches an HTTPRoute to a Gateway, and none was given",
                         "pass --gateway NAME or NAMESPACE/NAME of a Gateway whose class supports InferencePool")
    if spec.scale_to_zero and not (spec.activation_query or "").strip():
        raise InputError("--scale-to-zero", "with --router inference-pool nothing holds requests while the first pod "
                         "starts (the pool has no endpoints at zero)", "keep --min-replicas 1, or add --activation-query "
                         "with your gateway's request rate for this route")
    gw_ns, gw_name = gateway_ref(spec.gateway)
    if gw_ns:
        naming.check_namespace(gw_ns, "--gateway")
    epp_name = naming.child(identity.release, "epp")
    version = identity.labels.get("app.kubernetes.io/version", "")
    epp = Epp(name=epp_name, labels=naming.labels(identity.release, "endpoint-picker", version),
              selector=naming.selector(identity.release, "endpoint-picker"), image=_epp_image(spec),
              grpc_port=EPP_GRPC_PORT, health_port=EPP_HEALTH_PORT, metrics_port=EPP_METRICS_PORT,
              config_key=EPP_CONFIG_KEY, config=EPP_CONFIG, config_dir=EPP_CONFIG_DIR,
              config_path=f"{EPP_CONFIG_DIR}/{EPP_CONFIG_KEY}",
              monitor_labels=dict(naming.labels(identity.release, "endpoint-picker", version),
                                  release=spec.prometheus_release))
    objective = None
    if spec.inference_objective_priority is not None:
        objective = (spec.inference_objective_api, identity.release, spec.inference_objective_priority)
    pool = Pool(name=identity.release, selector=dict(identity.selector), target_port=HTTP_PORT, group=POOL_GROUP, epp=epp,
                gateway_name=gw_name, gateway_namespace=gw_ns, host=spec.host, path_prefix=API_PREFIX,
                request_timeout=duration(gen), objective=objective)
    templates = ("epp-serviceaccount", "epp-role", "epp-rolebinding", "epp-configmap", "epp-deployment", "epp-service",
                 "inferencepool", "httproute") + (("inferenceobjective",) if objective else ())
    if "monitor" in identity.components:  # the picker's own metrics (scheduling latency, pool state)
        templates += ("epp-servicemonitor",)
    # The gateway's proxy sends requests straight to the pod the picker chose.
    allow = sorted({gw_ns} - {None, identity.namespace} - set(identity.allow_from_namespaces)) if gw_ns else []
    warnings = []
    if not gw_ns:
        warnings.append("--router inference-pool: the Gateway's proxy pods call the vLLM pods directly; if they run in "
                        "another namespace, add --allow-from-namespace for it (or pass --gateway NAMESPACE/NAME)")
    return Front("inference-pool", templates, None, pool, None, allow, gen, cold, warnings)


def _epp_image(spec: RenderSpec) -> str:
    ref = spec.epp_image or EPP_IMAGE
    last = ref.rsplit("/", 1)[-1]
    if ref.endswith(":latest") or (":" not in last and "@" not in ref):
        raise InputError("--epp-image", f"{ref!r} is not pinned", f"use a version tag or digest, e.g. {EPP_IMAGE}")
    return ref


# The picker's scorers and weights, as the llm-d-router v0.10.0 default (pkg/epp/config/loader/defaults.go):
# queue depth and KV-cache use spread the load, the prefix-cache score keeps a conversation on the pod
# that holds its prefix. The metrics data source and extractor are added by the picker itself.
EPP_CONFIG = """\
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: queue-scorer
  - type: kv-cache-utilization-scorer
  - type: prefix-cache-scorer
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: queue-scorer
        weight: 2
      - pluginRef: kv-cache-utilization-scorer
        weight: 2
      - pluginRef: prefix-cache-scorer
        weight: 3
"""
