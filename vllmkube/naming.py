"""The only place names, labels and selectors are made (DNS-1123, at most 63 characters)."""
from __future__ import annotations

import hashlib
import re

from .errors import InputError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX = 63
# A Service called "vllm" makes Kubernetes inject VLLM_PORT=tcp://..., which vLLM reads as its
# internal port and refuses to start (vLLM docs, configuration/env_vars).
RESERVED = {"vllm"}


def slug(text: str, limit: int = MAX) -> str:
    """A DNS-1123 label derived from free text: lowercase, [a-z0-9-], trimmed to ``limit``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(s) > limit:  # keep it unique: trim and add a short hash of the full text
        digest = hashlib.sha256(text.encode()).hexdigest()[:6]
        s = s[: limit - 7].rstrip("-") + "-" + digest
    return s or "model"


def release_name(model_id: str) -> str:
    base = slug(model_id.split("/")[-1], 40)
    return base if base not in RESERVED else f"{base}-server"


def check_name(value: str, field: str, limit: int = 40) -> str:
    """Validate a user-given release name: it prefixes every object name (so <= 40 chars)."""
    if not DNS1123_LABEL.match(value) or len(value) > limit:
        raise InputError(field, f"{value!r} is not a DNS-1123 label of at most {limit} characters",
                         f"use lowercase letters, digits and '-', e.g. {slug(value, limit)!r}")
    if value in RESERVED:
        raise InputError(field, f"{value!r} would name the Service 'vllm' and Kubernetes would inject VLLM_PORT, "
                         "which crashes vLLM", f"use e.g. '{value}-server'")
    return value


def check_namespace(value: str, field: str = "--namespace") -> str:
    if not DNS1123_LABEL.match(value) or len(value) > MAX:
        raise InputError(field, f"{value!r} is not a DNS-1123 label", f"use lowercase letters, digits and '-', e.g. {slug(value)!r}")
    return value


def child(release: str, suffix: str) -> str:
    """Name of one object of the release, e.g. child('llama', 'models') -> 'llama-models'."""
    name = f"{release}-{suffix}" if suffix else release
    return name if len(name) <= MAX else slug(name)


def labels(release: str, component: str, version_label: str) -> dict[str, str]:
    """Recommended labels (app.kubernetes.io/*) on every object of the release."""
    return {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/version": version_label,
        "app.kubernetes.io/managed-by": "vllmkube",
    }


def selector(release: str, component: str = "server") -> dict[str, str]:
    """The immutable subset used by Deployment/Service/PDB/monitor selectors."""
    return {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": component}


def label_value(text: str) -> str:
    """A label value (<= 63 chars, alphanumeric at both ends, [-_.A-Za-z0-9] inside)."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    return s[:MAX].rstrip("-_.")


def short_hash(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:n]
