"""Scale to zero through the KEDA HTTP add-on (``--scale-to-zero`` without ``--activation-query``):
the routing object and the push trigger. plan/front.py says how the parts fit together.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import naming
from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from .engine import HTTP_PORT
from .http import API_PREFIX, duration
from .identity import Identity

@dataclass(frozen=True)
class PushTrigger:
    """The ScaledObject trigger the add-on's external scaler pushes: active while requests wait."""

    name: str
    scaler_address: str
    route_key: str  # interceptorRoute (v1beta1) | httpScaledObject (v1alpha1)
    route_name: str


# KEDA HTTP add-on: its Helm chart's Service names in the add-on's namespace.
INTERCEPTOR_SERVICE, INTERCEPTOR_PORT = "keda-add-ons-http-interceptor-proxy", 8080
SCALER_SERVICE, SCALER_PORT = "keda-add-ons-http-external-scaler", 9090
# The HTTPScaledObject operator makes its own ScaledObject unless told not to (operator/controllers/http/app.go).
SKIP_SCALEDOBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"


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


def build(spec: RenderSpec, identity: Identity, sizing: SizingPlan, gen: int, cold: int) -> dict:
    """The Front's fields for the add-on (plan/front.py makes the Front)."""
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
    return dict(templates=(template,), http=http, push=push, allow_from_namespaces=allow, warnings=warnings)
