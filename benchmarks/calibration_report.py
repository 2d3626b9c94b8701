"""Print the sizing error table of docs/sizing.md from the shared start-up logs.

    python benchmarks/calibration_report.py [path/to/vllm-startup-calibration.json]
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from calibration_cases import gpu_for, to_case  # noqa: E402

from vllmkube import sizing  # noqa: E402

path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/reference/vllm-startup-calibration.json"
print("| case | GPU | vLLM (as modelled) | weights GiB ours / log | KV ours / log | error |")
print("|---|---|---|---|---|---|")
for rec in json.loads(path.read_text()):
    named = rec.get("gpu_model")
    rec = dict(rec, gpu_model=named or "h100")  # the PR #10511 logs are H100 runs that name no GPU
    case = to_case(rec)
    if case is None:
        continue
    gpu = gpu_for(rec["gpu_model"], case.gpu_memory_gib)
    p = sizing.size(case.model, gpu, case.options, case.gpu_memory_gib)
    if case.model.multimodal:
        kv, err = f"{p.kv_cache_gib_per_gpu:.2f} / {case.kv_gib} GiB", "not modelled (multimodal)"
    elif case.kv_tokens:
        kv, err = f"{p.kv_cache_tokens:,} / {case.kv_tokens:,} tokens", f"{p.kv_cache_tokens / case.kv_tokens - 1:+.1%}"
    else:
        kv, err = f"{p.kv_cache_gib_per_gpu:.2f} / {case.kv_gib} GiB", f"{p.kv_cache_gib_per_gpu / case.kv_gib - 1:+.1%}"
    label = case.id if named else f"{case.id} (no GPU named)"
    print(f"| {label} | {gpu.key} | {case.options.vllm_version} | {p.weights_gib_per_gpu:.2f} / {rec['weights_reported']} | {kv} | {err} |")
