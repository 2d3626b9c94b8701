"""ScaledObjects that some KEDA releases refuse: fallback with metricType combinations (and the
fallback.behavior field) by the versions they break. The model is vllmkube/kedaadmission.py
(KEDA's webhook code per release, shared reference cloud-gpu-facts.md section 5)."""
from __future__ import annotations

from ... import kedaadmission
from ..bundle import Bundle
from ..findings import Severity


def check(b: Bundle) -> None:
    for so in b.of("ScaledObject"):
        spec = so.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("fallback"), dict):
            continue
        rejected = kedaadmission.rejected_by(spec)
        if not rejected:
            continue
        by_reason: dict[str, list[str]] = {}
        for version, why in rejected.items():
            by_reason.setdefault(why, []).append(version)
        text = "; ".join(f"KEDA {', '.join(vs)}: {why}" for why, vs in by_reason.items())
        # Only the behavior field on old KEDA: right for 2.17+, and the apply error is loud: info.
        field_only = all(why.startswith("fallback.behavior is unknown") for why in by_reason)
        b.report("keda-fallback-rejected", so, ("spec", "fallback"), f"this ScaledObject is refused by {text}",
                 "give one non-cpu/memory trigger an explicit metricType: AverageValue, and leave out "
                 "fallback.behavior for KEDA before 2.17 (vllmkube render --keda-version)",
                 severity=Severity.INFO if field_only else None)
