"""Turn a start-up log record of shared/reference/vllm-startup-calibration.json into sizing inputs.

Generic on purpose: other real start-up logs in the same format are used to check the
model, so nothing here knows a particular case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from vllmkube import catalog
from vllmkube.sizing import SizingOptions


@dataclass
class Case:
    id: str
    model: catalog.ModelEntry
    gpu_memory_gib: float
    options: SizingOptions
    kv_tokens: int | None
    kv_gib: float | None


def _version(rec: dict) -> str:
    text = str(rec.get("vllm_version") or "")
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    if m and "main" not in text:
        return m.group(1)
    engine = str(rec.get("engine") or "")
    if engine.startswith("V0") or "2024" in text:
        return "0.6.5"  # V0 memory profiler with the three-line log (Dec 2024 - Jan 2025)
    return "0.10.0"  # V1 of unknown release


def _quoted_flag(rec: dict, flag: str) -> int | None:
    """A numeric flag the record's quoted command line sets but its fields leave empty."""
    m = re.search(re.escape(flag) + r"[ =](\d+)", str(rec.get("quote") or ""))
    return int(m.group(1)) if m else None


def _engine(rec: dict) -> str:
    engine = str(rec.get("engine") or "").upper()
    return "v0" if engine.startswith("V0") else "v1" if engine.startswith("V1") else "auto"


def to_case(rec: dict) -> Case | None:
    """None when the record cannot be a test (no model or GPU named, nothing to compare)."""
    if not rec.get("model_id") or not rec.get("gpu_model") or not rec.get("gpu_memory_total_gib"):
        return None
    kv_tokens = rec.get("kv_cache_tokens")
    if kv_tokens is None and rec.get("num_gpu_blocks"):
        kv_tokens = rec["num_gpu_blocks"] * (rec.get("block_size") or 16)
    kv_gib = rec.get("available_kv_cache_gib")
    if kv_tokens is None and kv_gib is None:
        return None
    model = catalog.find_model(rec["model_id"])
    engine = "auto"
    kv_dtype = rec.get("kv_cache_dtype") or "auto"
    opts = SizingOptions(
        max_model_len=rec.get("max_model_len") or model.max_context,
        gpu_memory_utilization=rec.get("gpu_memory_utilization") or 0.9,
        tensor_parallel_size=rec.get("tensor_parallel_size") or 1,
        pipeline_parallel_size=rec.get("pipeline_parallel_size") or 1,
        data_parallel_size=rec.get("data_parallel_size") or 1,
        expert_parallel=bool(rec.get("expert_parallel")),
        kv_cache_dtype=kv_dtype if kv_dtype in ("auto", "fp8", "fp8_e4m3", "fp8_e5m2") else "auto",
        dtype=rec.get("dtype") if rec.get("dtype") in ("bfloat16", "float16") else "auto",
        vllm_version=_version(rec),
        max_num_batched_tokens=rec.get("max_num_batched_tokens") or _quoted_flag(rec, "--max-num-batched-tokens"),
        max_num_seqs=rec.get("max_num_seqs") or _quoted_flag(rec, "--max-num-seqs"),
        enforce_eager=bool(rec.get("enforce_eager")),
        quantization=None if model.quantization else "none",  # the layout as logged, no fallback
        vllm_engine=engine if _engine(rec) == "auto" else _engine(rec),
        min_concurrency=0.01,
    )
    return Case(rec["id"], model, float(rec["gpu_memory_total_gib"]), opts, kv_tokens, kv_gib)


def gpu_for(text: str, memory_gib: float) -> catalog.GpuEntry:
    """The catalog GPU a log names, with the memory the log printed."""
    return catalog.find_gpu_in_text(text).model_copy(update={"memory_gib": memory_gib})
