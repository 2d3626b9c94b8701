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
from typing import TYPE_CHECKING

from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from .identity import Identity

if TYPE_CHECKING:
    from .keda_http import HttpAddon, PushTrigger
    from .pool import Pool

# Beyond the startup-probe budget, a cold start also schedules the pod and pulls the vLLM image
# (~10 GB) on a node that may not have it. A node provisioned from nothing takes longer still.
COLD_START_MARGIN_S = 180
GENERATION_MARGIN = 1.5

@dataclass(frozen=True)
class Front:
    kind: str  # service | keda-http | inference-pool
    generation_s: int  # the longest generation the timeouts allow
    cold_start_s: int  # what the first request after idle may wait
    templates: tuple[str, ...] = ()  # templates/<name>.yaml.j2, rendered at render.FRONT
    http: HttpAddon | None = None
    pool: Pool | None = None
    push: PushTrigger | None = None  # joins the vLLM triggers in the ScaledObject
    allow_from_namespaces: list[str] = field(default_factory=list)  # besides identity's: whose pods call the vLLM pods directly
    warnings: list[str] = field(default_factory=list)


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
    # each kind in a module of its own, loaded only when chosen (render's start-up time)
    if chosen == "keda-http":
        from . import keda_http

        return Front(chosen, generation_s=gen, cold_start_s=cold, **keda_http.build(spec, identity, sizing, gen, cold))
    if chosen == "inference-pool":
        from . import pool

        return Front(chosen, generation_s=gen, cold_start_s=cold, **pool.build(spec, identity, gen, cold))
    return Front("service", generation_s=gen, cold_start_s=cold)
