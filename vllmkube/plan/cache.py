"""Model cache: where the weights live (plan/storage.py picks a shared PVC or a per-pod volume)
and how they get there (a downloader Job, or the same downloader as an init container).

The weights of each revision go to their own folder, and the marker the downloader writes last
holds what it downloaded, so a pod only starts on exactly the revision it was rendered for. A
failed download leaves a failure file with its reason, which the waiting init container prints
before it exits non-zero; it also gives up after a bounded wait.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .. import naming
from ..catalog import ModelEntry
from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from . import storage
from .identity import Identity
from .values import gi, secret_ref

MODEL_MOUNT = "/models"
DOWNLOAD_MARKER = ".vllmkube-complete"  # download_model.py writes it last (it runs standalone, so it spells it too)
DOWNLOAD_FAILED = ".vllmkube-failed"  # ... or this, with the reason, when the download fails
COMPILE_DIR = f"{MODEL_MOUNT}/compile-cache"  # torch.compile / Triton caches, kept across pod restarts
COMPILE_MOUNT = "/cache/compile"  # where the vLLM container sees COMPILE_DIR
HUB_RATE_GIB_S = 0.05  # a slow Hugging Face download, for the bounded wait
REVISION_ANNOTATION = "vllmkube.io/model-revision"


@dataclass(frozen=True)
class ModelCache:
    strategy: str  # shared-pvc | pod-volume
    model_path: str  # where the weights are, inside MODEL_MOUNT: one folder per repository and revision
    download_marker: str  # written last by the downloader; the serving pods wait for it
    marker_content: str  # what the marker holds: REPO@REVISION
    failure_file: str  # written by a failed download, with the reason
    wait_s: int  # the longest a serving pod waits for the download
    pvc_size: str
    pvc_access_mode: str
    storage_class: str | None
    load_rate_gib_s: float  # weight read rate the startup budget assumes
    compile_cache: bool  # compile caches on the model volume (not when the pods cannot write it)
    hf_token: tuple[str, str] | None  # (secret, key)
    downloader_env: list[dict[str, Any]]
    download_script: str
    warnings: tuple[str, ...] = ()

    @property
    def per_pod(self) -> bool:
        return self.strategy == storage.POD


def model_path(repo: str, revision: str | None = None) -> str:
    return f"{MODEL_MOUNT}/{naming.slug(repo, 120)}/{naming.slug(revision or 'main', 80)}"


def marker_content(repo: str, revision: str | None) -> str:
    """Spelled the same in download_model.py (tests/test_downloader.py runs it and compares)."""
    return f"{repo}@{revision or 'main'}"


def download_script() -> str:
    """The downloader's code without its module docstring (the manifest says where it comes from)."""
    text = resources.files("vllmkube").joinpath("download_model.py").read_text(encoding="utf-8")
    if text.startswith('"""'):
        text = text[text.index('"""', 3) + 3:].lstrip("\n")
    return text.rstrip("\n")


# Gated repositories whose whole organisation is gated (cloud-gpu-facts.md section 6 [HF-LLAMA]);
# single gated repos are marked in the model catalog (data/models.yaml `gated`).
GATED_ORGS = ("meta-llama/",)


def check_token(spec: RenderSpec, model: ModelEntry, repo: str) -> None:
    gated = (model.gated and repo == model.id) or repo.startswith(GATED_ORGS)
    if gated and spec.wants("downloader") and not spec.hf_token_secret:
        raise InputError("--hf-token-secret", f"{repo} is a gated Hugging Face repository: the download fails "
                         "without a token", "create a Secret with HF_TOKEN (an account granted access) and pass "
                         "--hf-token-secret NAME[:KEY]")


def build(spec: RenderSpec, identity: Identity, sizing: SizingPlan, model: ModelEntry | None = None) -> ModelCache:
    repo, revision = identity.model_repo, spec.revision
    if model is not None:
        check_token(spec, model, repo)
    store = storage.choose(spec)
    path = model_path(repo, revision)
    hf_token = secret_ref(spec.hf_token_secret, "HF_TOKEN") if spec.hf_token_secret else None
    content = marker_content(repo, revision)
    downloader_env: list[dict[str, Any]] = [
        {"name": "REPO_ID", "value": repo},
        {"name": "REVISION", "value": revision or ""},
        {"name": "TARGET_DIR", "value": path},
        {"name": "COMPILE_DIR", "value": COMPILE_DIR},
        {"name": "HF_HOME", "value": "/tmp/huggingface"},
        {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
    ]
    if hf_token:
        ref = {"secretKeyRef": {"name": hf_token[0], "key": hf_token[1]}}
        downloader_env.append({"name": "HF_TOKEN", "valueFrom": ref})
    weights_gib = sizing.checkpoint_gib * 1.2 + 5  # the download, plus headroom
    if store.strategy == storage.POD:
        weights_gib += 10  # and the compile caches on the same volume
    size = spec.pvc_size or gi(max(weights_gib, store.min_gib))
    return ModelCache(
        strategy=store.strategy, model_path=path, download_marker=f"{path}/{DOWNLOAD_MARKER}", marker_content=content,
        failure_file=f"{path}/{DOWNLOAD_FAILED}",
        wait_s=max(1800, math.ceil(sizing.checkpoint_gib / HUB_RATE_GIB_S) + 600),
        pvc_size=size, pvc_access_mode=store.access_mode, storage_class=store.storage_class,
        load_rate_gib_s=store.load_rate_gib_s, # the downloader makes the folder as uid 1000 (a subPath kubelet makes would be root's)
        compile_cache=spec.wants("downloader"),
        hf_token=hf_token, downloader_env=downloader_env, download_script=download_script(),
        warnings=store.warnings,
    )
