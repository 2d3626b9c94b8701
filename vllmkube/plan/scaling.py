"""Scaling: replicas, the rollout, KEDA's Prometheus triggers and the HPA behaviour KEDA creates.

All vLLM metric names come from ``metrics.name(signal, version)``. The KEDA/HPA maths
(docs/autoscaling.md; shared reference kubernetes-vllm-facts.md sections 1.4-1.6):

* AverageValue (KEDA's default): desired = ceil(M / threshold). M must be a TOTAL over all
  replicas, so the queue trigger is ``sum(waiting)`` and never divided by replicas.
* Value: desired = ceil(readyPods x M / threshold). M must be a per-replica average, so the
  KV-cache trigger is ``avg(kv usage)``.
* Every query aggregates to exactly one series (KEDA errors on more; vLLM exports one
  series per pod and per engine) and selects only this service (namespace + model_name).

tests/test_autoscaling.py evaluates every query rendered from here with promtool against
synthetic vLLM series; `vllmkube simulate` replays the HPA behaviour below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, TYPE_CHECKING

from .. import kedaadmission, metrics
from ..errors import InputError
from ..promql import number, service_selector
from ..spec import RenderSpec
from ..versions import VllmVersion
from .identity import Identity
from .values import secret_ref

if TYPE_CHECKING:
    from ..serving import ServingPlan
    from .keda_http import PushTrigger

DEFAULT_QUEUE_THRESHOLD = 5
# The activation trigger only wakes the service (activationThreshold 0: any traffic). Its
# scaling threshold is so large that ceil(M / T) stays at 1 for any real request rate, so it
# never asks for more replicas than the vLLM triggers do (the HPA takes the max of all).
ACTIVATION_SCALE_THRESHOLD = "1000000"
# The generated HPA's behaviour; vllmkube simulate replays exactly these.
POLLING_S = 15
SCALE_UP_POLICIES = (("Pods", 2, 60), ("Percent", 100, 60))  # whichever adds more, every minute
SCALE_DOWN_POLICY = ("Pods", 1, 120)  # one replica every two minutes, after the stabilization window


class Trigger(NamedTuple):
    name: str
    query: str
    threshold: str
    metric_type: str  # AverageValue | Value
    activation_threshold: str | None = None
    ignore_null_values: bool = True  # KEDA's default: an empty result reads as 0


@dataclass(frozen=True)
class Scaling:
    min_replicas: int
    max_replicas: int
    autoscaled: bool  # KEDA owns the replica count (else the workload's replicas field holds min_replicas)
    # rolling update: (maxSurge, maxUnavailable) = (0, 1) replace or (1, 0) surge
    max_surge: int
    max_unavailable: int
    idle_replicas: int | None
    cooldown_s: int | None
    initial_cooldown_s: int | None
    polling_s: int
    scale_down_window_s: int
    scale_down_policy: tuple[str, int, int]  # type, value, period
    scale_up_policies: list[tuple[str, int, int]]
    triggers: list[Trigger]
    fallback: tuple[int, int, str | None] | None  # (failureThreshold, replicas, behavior: None before KEDA 2.17)
    prometheus_url: str
    trigger_auth: tuple[str, str] | None  # (secret, key) bearer token
    warnings: list[str] = field(default_factory=list)
    push: PushTrigger | None = None  # issue 12: the KEDA HTTP add-on's trigger (plan/keda_http.py), wakes it from zero


def zero_cooldown_s(scale_down_window_s: int, startup_budget_s: int) -> int:
    """Idle seconds before the last replica goes: at least as long as a cold start costs (renting beats
    buying until the rent equals the price), the scale-down window, and 5 minutes. simulate uses it too."""
    return max(300, scale_down_window_s, startup_budget_s)


def queue_threshold(spec: RenderSpec, serving: ServingPlan | None = None) -> float:
    """Waiting requests per replica that justify another replica: the user's, else what keeps
    TTFT p99 within the SLO (serving plan), else a default."""
    if spec.queue_threshold:
        return spec.queue_threshold
    if serving is not None:
        return serving.queue_threshold
    return DEFAULT_QUEUE_THRESHOLD


def triggers(spec: RenderSpec, v: VllmVersion, namespace: str, served: str,
             serving: ServingPlan | None = None, pushed: bool = False) -> list[Trigger]:
    """``pushed``: a push trigger (the KEDA HTTP add-on's) sees requests at zero replicas."""
    zero = spec.scale_to_zero
    activation = (spec.activation_query or "").strip()
    if zero and not activation and not pushed:
        raise InputError("--scale-to-zero", "at zero replicas no vLLM pod exports metrics, so the vLLM triggers could "
                         "never wake the service", "add --activation-query with your gateway's or ingress' request "
                         "rate for this service, or keep --min-replicas 1")
    if activation and not zero:
        raise InputError("--activation-query", "only wakes a service scaled to zero", "add --scale-to-zero or drop it")
    sel = service_selector(namespace, served)
    # With replicas >= 1 an empty result means a wrong name or selector: make it an error
    # (ignoreNullValues false) so KEDA reports it and the fallback holds the replicas,
    # instead of reading 0 and silently never scaling. At zero replicas empty is normal.
    out = [
        Trigger("queue-depth", f"sum({metrics.name('queue', v)}{{{sel}}})", number(queue_threshold(spec, serving)),
                "AverageValue", "0" if zero else None, ignore_null_values=zero),
        Trigger("kv-cache-usage", f"avg({metrics.name('kv_usage', v)}{{{sel}}})", number(spec.kv_cache_threshold),
                "Value", "0" if zero else None, ignore_null_values=zero),
    ]
    if serving is not None:
        # Finished requests per second, summed: holds the replicas the traffic needs while the
        # queue is empty, so queue-only scaling does not drop a replica and pay its cold start again.
        out.append(Trigger("request-rate", f"sum(rate({metrics.name('request_success', v)}{{{sel}}}[1m]))",
                           number(serving.target_rps_per_replica), "AverageValue", "0" if zero else None,
                           ignore_null_values=zero))
    if zero and activation:
        out.append(Trigger("activation", activation, ACTIVATION_SCALE_THRESHOLD, "AverageValue", "0"))
    return out


def build(spec: RenderSpec, v: VllmVersion, identity: Identity, startup_budget_s: int,
          serving: ServingPlan | None = None, push: PushTrigger | None = None) -> Scaling:
    """``serving`` (from --rps / SLO flags) sets maxReplicaCount, the queue threshold and a
    request-rate trigger; its batch limits are already in the sizing (workflow.plan_render).
    ``push``: the front's trigger that wakes the service from zero (plan/front.py)."""
    warnings = []
    zero = spec.scale_to_zero
    if zero and push is None:
        warnings.append(f"scale to zero: the first request after idle waits for a cold start (up to {startup_budget_s}s); "
                        "the gateway must hold or retry it that long")
    if spec.rollout == "replace" and spec.min_replicas == 1:
        warnings.append("with one replica a rollout takes the service down until the new pod has loaded; "
                        "--rollout surge starts it first if a spare GPU set exists, or raise --min-replicas")
    trig = triggers(spec, v, identity.namespace, identity.served_model_name, serving, pushed=push is not None)
    max_replicas = spec.max_replicas
    if serving is not None and serving.replicas is not None:
        if "max_replicas" not in spec.model_fields_set:
            max_replicas = max(spec.min_replicas, serving.replicas)  # the peak traffic decides
        elif serving.replicas > spec.max_replicas:
            warnings.append(f"--rps {serving.rps:g} needs {serving.replicas} replicas, --max-replicas caps at "
                            f"{spec.max_replicas}: expect queueing at peak")
    if spec.fallback_replicas != 0 and kedaadmission.parse(spec.keda_version) < (2, 17, 0):
        warnings.append(f"KEDA {spec.keda_version.strip()} has no fallback.behavior: while Prometheus is unreachable "
                        f"the service goes to {spec.fallback_replicas or spec.min_replicas} replica(s); "
                        "raise --fallback-replicas to hold more")
    surge = spec.rollout == "surge"
    # Behind the HTTP add-on the count itself goes to 0 (the add-on's recipe); more than one replica
    # when awake still needs idleReplicaCount.
    min_replicas = 0 if push is not None and spec.min_replicas == 1 else spec.min_replicas
    return Scaling(
        min_replicas=min_replicas, max_replicas=max_replicas, autoscaled="autoscaling" in identity.components,
        max_surge=1 if surge else 0, max_unavailable=0 if surge else 1,
        idle_replicas=0 if zero else None,
        cooldown_s=zero_cooldown_s(spec.scale_down_window_s, startup_budget_s) if zero else None,
        initial_cooldown_s=startup_budget_s if zero else None,
        polling_s=POLLING_S, scale_down_window_s=spec.scale_down_window_s, scale_down_policy=SCALE_DOWN_POLICY,
        scale_up_policies=list(SCALE_UP_POLICIES), triggers=trig,
        # While Prometheus cannot be read, never scale down (fallback_replicas 0 leaves fallback out);
        # KEDA before 2.17 has no fallback.behavior (kedaadmission.py): there the fallback count holds.
        fallback=None if spec.fallback_replicas == 0 else (
            3, spec.fallback_replicas or spec.min_replicas,
            "currentReplicasIfHigher" if kedaadmission.parse(spec.keda_version) >= (2, 17, 0) else None),
        prometheus_url=spec.prometheus_url,
        trigger_auth=secret_ref(spec.prometheus_auth_secret, "token") if spec.prometheus_auth_secret else None,
        warnings=warnings, push=push,
    )
