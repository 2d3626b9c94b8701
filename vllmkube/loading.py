"""What a checkpoint occupies on a GPU once vLLM's kernels have loaded it. Pure.

Most formats load at their checkpoint size. MXFP4 MoE experts (gpt-oss) do not: vLLM pads the
expert matrices to the tile sizes of the kernel the GPU runs (vllm
model_executor/layers/quantization/mxfp4.py, ``Mxfp4MoEMethod.create_weights``):

* Marlin (Ampere, Ada, and Hopper without the Triton MoE kernels): the per-rank intermediate size
  up to a multiple of 128, the hidden size up to a multiple of 256;
* FlashInfer on Blackwell: both up to a multiple of 256.

For gpt-oss-120b on one H100 that is 2880 -> 2944 x 3072: the experts grow 9% and the model loads
65.97 GiB (vllm issue #23278), not the checkpoint's 61 GiB.
"""
from __future__ import annotations

from .catalog import GpuEntry, ModelEntry

# (intermediate multiple, hidden multiple) by GPU architecture, for MXFP4 experts
MXFP4_PADDING = {"ampere": (128, 256), "ada": (128, 256), "hopper": (128, 256), "blackwell": (256, 256)}


def _round_up(x: int, k: int) -> int:
    return -(-x // k) * k


def expert_factor(m: ModelEntry, gpu: GpuEntry | None, precision: str, tp: int) -> float:
    """Loaded / checkpoint size of the routed experts on one GPU."""
    if precision != "mxfp4" or not m.is_moe or gpu is None:
        return 1.0
    pad = MXFP4_PADDING.get(gpu.architecture)
    if pad is None:
        return 1.0
    inter = max(1, (m.moe_intermediate_size or m.intermediate_size or 4 * m.hidden_size) // tp)
    h = m.hidden_size
    return _round_up(inter, pad[0]) * _round_up(h, pad[1]) / (inter * h)
