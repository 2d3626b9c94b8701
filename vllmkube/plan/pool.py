"""``--router inference-pool``: an InferencePool over the vLLM pods, its endpoint picker, the HTTPRoute
from the user's Gateway and an optional InferenceObjective. plan/front.py says how the parts fit together.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import naming
from ..errors import InputError
from ..spec import RenderSpec
from .engine import HTTP_PORT
from .http import API_PREFIX, duration, gateway_ref
from .identity import Identity

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


def build(spec: RenderSpec, identity: Identity, gen: int, cold: int) -> dict:
    """The Front's fields for the pool (plan/front.py makes the Front)."""
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
    return dict(templates=templates, pool=pool, allow_from_namespaces=allow, warnings=warnings)


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
