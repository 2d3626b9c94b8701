"""Canary: a second copy of the service on another model revision, with a share of the traffic.

The canary gets its own folder on the same model cache PVC (and its own downloader Job), so the
stable pods keep reading their revision; its pods carry the release's labels plus
``vllmkube.io/track: canary`` (the stable pods ``stable``), so one Service and one monitor still
cover both while a route can tell them apart. Each target splits the traffic its own way
(docs/serving-targets.md says how to promote or roll back).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import naming
from ..spec import RenderSpec
from .cache import DOWNLOAD_MARKER, MODEL_MOUNT, ModelCache
from .identity import Identity
from .pod import PodTemplate

TRACK_LABEL = "vllmkube.io/track"


@dataclass(frozen=True)
class Canary:
    revision: str
    percent: int  # of the traffic, 1..99
    name: str  # the canary's workload (and Service) name: <release>-canary
    identity: Identity  # the stable identity with the canary's downloader name
    cache: ModelCache  # the canary revision's folder on the same PVC
    pod: PodTemplate  # the stable pod on the canary's folder, labelled track: canary
    stable_pod: PodTemplate  # the stable pod, labelled track: stable


def build(spec: RenderSpec, identity: Identity, cache: ModelCache, pod: PodTemplate) -> Canary | None:
    if spec.canary_revision is None or spec.canary_percent is None:
        return None
    revision, repo = spec.canary_revision, identity.model_repo
    path = f"{MODEL_MOUNT}/{naming.slug(f'{repo}-{revision}', 120)}"
    env = [dict(e, value=revision) if e["name"] == "REVISION" else dict(e, value=path) if e["name"] == "TARGET_DIR" else e
           for e in cache.downloader_env]
    canary_cache = dataclasses.replace(cache, model_path=path, download_marker=f"{path}/{DOWNLOAD_MARKER}",
                                       downloader_env=env)
    names = dict(identity.names, downloader=naming.child(identity.release, "download-" + naming.short_hash(repo, revision)))
    canary_identity = dataclasses.replace(identity, names=names, revision=revision)
    args = [path if a == cache.model_path else a for a in pod.args]
    canary_pod = dataclasses.replace(pod, args=args, labels={**pod.labels, TRACK_LABEL: "canary"},
                                     wait_for=canary_cache.download_marker if pod.wait_for else None)
    return Canary(revision=revision, percent=spec.canary_percent, name=naming.child(identity.release, "canary"),
                  identity=canary_identity, cache=canary_cache, pod=canary_pod,
                  stable_pod=dataclasses.replace(pod, labels={**pod.labels, TRACK_LABEL: "stable"}))
