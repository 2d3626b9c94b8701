"""What an image reference says about the vLLM inside it, for the shapes people publish:

    vllm/vllm-openai:v0.10.2   vllm/vllm-openai:0.4.2   vllm/vllm-openai:v0.10.2-cu128
    rocm/vllm (tag rocm6.2_mi300_ubuntu20.04_py3.9_vllm_0.6.4: ROCm builds name vLLM last)
    aibrix/vllm-openai:v0.7.3.self.post1                      (a rebuild of a release)
    vllm/vllm-openai:nightly  :latest  :main  (no tag)        (floating: no version)
    lmcache/vllm-openai:2025-05-05-v1  pytorch-vllm-serve:20250312_0916_RC01  (builds by date)

A version older than the tables know (``versions.OLDEST_VLLM``) is still a version: lint
says the flag and metric checks are skipped rather than calling it "not a release".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..versions import OLDEST_VLLM, VllmVersion

# Tags that move: every pull may bring another build.
FLOATING = frozenset({"latest", "nightly", "main", "master", "dev", "edge", "stable", "unstable", "head"})
CPU_HINT = re.compile(r"(^|[-_/.])cpu($|[-_/.])")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:$|[-+._][0-9A-Za-z._+-]*$)")
_EMBEDDED = re.compile(r"(?:^|[_-])vllm[_-]?v?(\d+)\.(\d+)(?:\.(\d+))?(?:$|[-+._])")
_DATE = re.compile(r"^(19|20)\d\d[-_]?\d\d[-_]?\d\d")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|<[^>]*>|\$\(|\$\{|^\$")  # {{ .Values.image }}, <your-image>, ${IMAGE}


def is_placeholder(image: str) -> bool:
    """A template or documentation placeholder where an image reference belongs."""
    return bool(_PLACEHOLDER.search(image))


@dataclass(frozen=True)
class ImageVersion:
    version: VllmVersion | None
    problem: str = ""  # why there is no version (empty when there is one)
    below_tables: bool = False  # older than the oldest release the flag/metric tables cover


def is_vllm(image: str) -> bool:
    return "vllm" in repository(image).lower()


def repository(image: str) -> str:
    ref = image.split("@")[0]
    last = ref.rsplit("/", 1)
    return ref if ":" not in last[-1] else ref[: ref.rindex(":")]


def tag(image: str) -> str | None:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def is_cpu_image(image: str) -> bool:
    """vllm-cpu, vllm-openai-cpu, ...:v0.9.1-cpu: images built to run without a GPU."""
    return bool(CPU_HINT.search(repository(image).lower()) or CPU_HINT.search((tag(image) or "").lower()))


def floating(image: str) -> str | None:
    """The floating tag ('latest' for none) of an image not pinned by digest; None if pinned."""
    if not image or "@" in image:
        return None
    if is_placeholder(image):
        return "placeholder"
    t = tag(image)
    if t is None:
        return "latest"
    return t if t.lower() in FLOATING else None


def parse_tag(text: str) -> VllmVersion | None:
    m = _VERSION.match(text) or _EMBEDDED.search(text)
    if not m:
        return None
    return VllmVersion(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def version(image: str) -> ImageVersion:
    """The vLLM version an image runs, read from its tag; else why it cannot be read."""
    if is_placeholder(image):
        return ImageVersion(None, f"image {image!r} is a placeholder, not an image reference")
    if not is_vllm(image):
        return ImageVersion(None, f"image {image!r} is not a vllm image, so its tag says nothing about the vLLM version")
    t = tag(image)
    if t is None:
        why = "is pinned by digest only" if "@" in image else "has no tag (that means :latest)"
        return ImageVersion(None, f"image {image!r} {why}")
    if t.lower() in FLOATING:
        return ImageVersion(None, f"tag {t!r} of {image!r} floats, so it names no vLLM release")
    if _DATE.match(t):
        return ImageVersion(None, f"tag {t!r} of {image!r} is a dated build, not a vLLM release number")
    v = parse_tag(t)
    if v is None:
        return ImageVersion(None, f"tag {t!r} of {image!r} names no vLLM release")
    return ImageVersion(v, below_tables=v < VllmVersion.parse_plain(OLDEST_VLLM))
