"""vLLM version knowledge that sizing needs, in one place.

The releases vllmkube knows are the data files extracted from their wheels
(``vllmkube/data/vllm/<version>.json``, tools/extract_vllm.py, docs/vllm-versions.md);
``releases.py`` reads them, ``flags.py`` and ``metrics.py`` answer from them. This module
parses versions and answers the memory-profiling questions.
Sources: shared reference ``vllm-kv-cache-sizing.md`` (version timeline) and
``kubernetes-vllm-facts.md`` section 3.2 (defaults of vLLM 0.33.0).
"""
from __future__ import annotations

import re
from functools import total_ordering
from importlib.resources import files

from .errors import InputError


def data_dir():
    return files("vllmkube.data").joinpath("vllm")


def _key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


# Every release with extracted data, oldest first: the releases manifests can be rendered for.
RELEASES: tuple[str, ...] = tuple(sorted((p.name[:-5] for p in data_dir().iterdir() if p.name.endswith(".json")),
                                         key=_key))
# The newest of them; the default image tag is derived from it.
NEWEST_VLLM = RELEASES[-1]
OLDEST_VLLM = "0.6.0"  # sizing only; manifests need a release in RELEASES
VERSION_RE = r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[.+-]?[0-9A-Za-z.+-]*)?"  # 0.33.0, v0.33, 0.34.0rc1


@total_ordering
class VllmVersion:
    __slots__ = ("parts",)

    def __init__(self, major: int, minor: int, patch: int = 0) -> None:
        self.parts = (major, minor, patch)

    @classmethod
    def parse(cls, text: str, field: str = "--vllm-version") -> "VllmVersion":
        m = re.fullmatch(VERSION_RE, text.strip())
        if not m:
            raise InputError(field, f"{text!r} is not a vLLM version", f"use a release like {NEWEST_VLLM}")
        v = cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        if v < cls.parse_plain(OLDEST_VLLM):
            raise InputError(field, f"vLLM {v} is older than the oldest supported {OLDEST_VLLM}", f"use {OLDEST_VLLM} or newer")
        return v

    @classmethod
    def parse_plain(cls, text: str) -> "VllmVersion":
        major, minor, patch = (int(x) for x in text.split("."))
        return cls(major, minor, patch)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VllmVersion) and self.parts == other.parts

    def __lt__(self, other: "VllmVersion") -> bool:
        return self.parts < other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __str__(self) -> str:
        return "%d.%d.%d" % self.parts

    def at_least(self, text: str) -> bool:
        return self >= VllmVersion.parse_plain(text)


def require_release(v: VllmVersion, field: str = "--vllm-version", allow_unknown: bool = False) -> None:
    """Manifests are rendered only for releases whose options and metrics were extracted, or, with
    --allow-unknown-vllm-version, a release newer than all of them (read as the newest)."""
    if str(v) in RELEASES or (allow_unknown and is_unknown(v)):
        return
    below = [r for r in RELEASES if _key(r) < v.parts]
    above = [r for r in RELEASES if _key(r) > v.parts]
    near = " or ".join(dict.fromkeys(x for x in (below[-1:] + above[:1])))
    raise InputError(field, f"vLLM {v} is not a release vllmkube has data for ({RELEASES[0]} to {NEWEST_VLLM}, "
                     f"{len(RELEASES)} releases)", f"use {near}; to add a release see docs/vllm-versions.md")


def newest() -> VllmVersion:
    return VllmVersion.parse_plain(NEWEST_VLLM)


ALLOW_UNKNOWN_FLAG = "--allow-unknown-vllm-version"


def is_unknown(v: VllmVersion) -> bool:
    """Newer than the newest release with extracted data (a patch release can change flags too)."""
    return v > newest()


def check_known(text: str, allow_unknown: bool) -> str | None:
    """Refuse a vLLM release newer than the tool knows, or (allowed) the warning to show for it."""
    v = VllmVersion.parse(text)
    if not is_unknown(v):
        return None
    if not allow_unknown:
        raise InputError("--vllm-version", f"vLLM {v} is newer than {NEWEST_VLLM}, the newest release this vllmkube "
                         "knows (flags, metric names and defaults may have changed)",
                         f"use {NEWEST_VLLM}, add the release (docs/vllm-versions.md), or pass {ALLOW_UNKNOWN_FLAG}")
    return (f"vLLM {v} is newer than {NEWEST_VLLM}, the newest release vllmkube knows: flags, metric names and "
            f"defaults are assumed unchanged since {NEWEST_VLLM}; check the output against vLLM's release notes")


def uses_v1_engine(v: VllmVersion) -> bool:
    """V1 became the default engine in 0.8 (Feb 2025); V0 was removed in 0.11."""
    return v.at_least("0.8.0")


def estimates_cuda_graphs(v: VllmVersion) -> bool:
    """From about 0.21 the profiler subtracts a CUDA-graph estimate from the KV budget
    (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS; vllm PR #30515, on by default later).
    Before that, graphs were captured after the KV cache was sized and sat outside it."""
    return v.at_least("0.21.0")


def has_hybrid_kv_manager(v: VllmVersion) -> bool:
    """Sliding-window and chunked-local layers keep only their window (about 0.10)."""
    return v.at_least("0.10.0")

