"""Which KEDA releases (2.12-2.20) accept a ScaledObject, modelled from their code.

Facts (shared reference cloud-gpu-facts.md section 5 [KEDA-GIT], kedacore/keda
apis/keda/v1alpha1/scaledobject_webhook.go `verifyFallback` -> scaledobject_types.go
`CheckFallbackValid`; kubernetes-vllm-facts.md section 1 for fallback.behavior):

- 2.12-2.13: the webhook does not check fallback.
- 2.14-2.16: CheckFallbackValid runs but the webhook only logs it (accepted).
- 2.17.0: rejected unless a non-cpu/memory trigger spells out `metricType: AverageValue`
  (an omitted metricType counts as not AverageValue, fixed by kedacore/keda#6702).
- 2.17.1-2.17.3: rejected when every non-cpu/memory trigger is `Value` (omitted = AverageValue);
  also `advanced.scalingModifiers.metricType: Value` with fallback.
- 2.18+: rejected only when all triggers are cpu/memory (fallback applies to Value triggers too,
  except at zero ready replicas).
- 2.14+: fallback.failureThreshold and replicas must be >= 0.
- 2.20: fallback.behavior scalingModifiers needs advanced.scalingModifiers.formula.
- fallback.behavior itself arrived in 2.17 (kedacore/keda#6464, docs 2.17): older CRDs do not
  know the field, and `kubectl apply`'s strict field validation rejects it.
"""
from __future__ import annotations

from typing import Any

# One representative per behaviour: "2.17.1" stands for 2.17.1-2.17.3.
VERSIONS = ("2.12", "2.13", "2.14", "2.15", "2.16", "2.17.0", "2.17.1", "2.18", "2.19", "2.20")
_RESOURCE = ("cpu", "memory")


def parse(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in version.strip().lstrip("v").split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


def label(version: str) -> str:
    return "2.17.1-2.17.3" if version == "2.17.1" else version


def rejection(spec: dict[str, Any], version: str) -> str | None:
    """Why KEDA ``version`` refuses this ScaledObject spec, or None when it accepts it."""
    v = parse(version)
    fallback = spec.get("fallback")
    if not isinstance(fallback, dict):
        return None
    if "behavior" in fallback and v < (2, 17, 0):
        return "fallback.behavior is unknown before KEDA 2.17 (kubectl apply's strict validation rejects it)"
    if v < (2, 14, 0):
        return None
    for key in ("failureThreshold", "replicas"):
        if isinstance(fallback.get(key), int) and fallback[key] < 0:
            return f"fallback.{key} must be >= 0"
    if v < (2, 17, 0):
        return None  # 2.14-2.16 only log what 2.17 rejects
    triggers = [t for t in spec.get("triggers") or [] if isinstance(t, dict)]
    scalers = [t for t in triggers if t.get("type") not in _RESOURCE]
    modifiers = (spec.get("advanced") or {}).get("scalingModifiers") or {}
    if v < (2, 18, 0):
        if v == (2, 17, 0):
            ok = any(t.get("metricType") == "AverageValue" for t in scalers)
            why = "no trigger (other than cpu/memory) spells out metricType: AverageValue (an omitted one counts as not)"
        else:
            ok = any(t.get("metricType", "AverageValue") in ("AverageValue", "") for t in scalers)
            why = "every trigger (other than cpu/memory) is metricType: Value"
        if not ok:
            return f"fallback needs an AverageValue trigger: {why}"
        if modifiers.get("metricType") == "Value":
            return "fallback needs advanced.scalingModifiers.metricType AverageValue"
        return None
    if not scalers:
        return "fallback needs a trigger other than cpu/memory"
    if fallback.get("behavior") == "scalingModifiers" and v >= (2, 20, 0) and not modifiers.get("formula"):
        return "fallback.behavior scalingModifiers needs advanced.scalingModifiers.formula"
    return None


def rejected_by(spec: dict[str, Any]) -> dict[str, str]:
    """{KEDA version label: reason} for every modelled version that refuses the spec."""
    out = {}
    for version in VERSIONS:
        why = rejection(spec, version)
        if why:
            out[label(version)] = why
    return out
