"""Model cache: the PVC the weights live on and the Job that downloads them into it.

Every serving pod mounts the PVC read-only and waits for the marker the downloader writes last.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import naming
from ..sizing import SizingPlan
from ..spec import RenderSpec
from .identity import Identity
from .values import gi, secret_ref

MODEL_MOUNT = "/models"
DOWNLOAD_MARKER = ".vllmkube-complete"  # download_model.py writes it last (it runs standalone, so it spells it too)


@dataclass(frozen=True)
class ModelCache:
    model_path: str  # where the weights are, inside MODEL_MOUNT
    download_marker: str  # written last by the downloader; the serving pods wait for it
    pvc_size: str
    pvc_access_mode: str
    storage_class: str | None
    hf_token: tuple[str, str] | None  # (secret, key)
    downloader_env: list[dict[str, Any]]


def model_path(repo: str) -> str:
    return f"{MODEL_MOUNT}/{naming.slug(repo, 120)}"


def build(spec: RenderSpec, identity: Identity, sizing: SizingPlan) -> ModelCache:
    path = model_path(identity.model_repo)
    hf_token = secret_ref(spec.hf_token_secret, "HF_TOKEN") if spec.hf_token_secret else None
    downloader_env: list[dict[str, Any]] = [
        {"name": "REPO_ID", "value": identity.model_repo},
        {"name": "REVISION", "value": spec.revision or ""},
        {"name": "TARGET_DIR", "value": path},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
        {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
    ]
    if hf_token:
        ref = {"secretKeyRef": {"name": hf_token[0], "key": hf_token[1]}}
        downloader_env.append({"name": "HF_TOKEN", "valueFrom": ref})
    return ModelCache(
        model_path=path, download_marker=f"{path}/{DOWNLOAD_MARKER}",
        pvc_size=spec.pvc_size or gi(sizing.checkpoint_gib * 1.2 + 5),  # the download, plus headroom
        pvc_access_mode=spec.pvc_access_mode, storage_class=spec.storage_class, hf_token=hf_token,
        downloader_env=downloader_env,
    )
