"""What a workload controller does that lint cannot see in the object itself (the labels it adds
and the objects it creates are in bundle.py: controller_labels, generated).

KServe v0.20.0: an InferenceService makes its own autoscaler for ``<isvc>-predictor`` unless the
``serving.kserve.io/autoscalerClass`` annotation is ``external`` or ``none`` (default ``hpa``), so
a ScaledObject or HPA of ours on that Deployment fights it (kserve#5527).
"""
from __future__ import annotations

from .documents import Document

KSERVE_AUTOSCALER = "serving.kserve.io/autoscalerClass"


def autoscales_itself(owner: Document) -> bool:
    """True for an InferenceService whose controller makes its own HPA or ScaledObject."""
    if owner.kind != "InferenceService":
        return False
    value = str(owner.get("metadata", "annotations", KSERVE_AUTOSCALER, default="hpa") or "hpa")
    return value not in ("external", "none")

