"""Print the error tables of docs/sizing.md and docs/performance-model.md from the shared measurements.

    python benchmarks/calibration_report.py sizing        # start-up logs: weights and KV, per case
    python benchmarks/calibration_report.py performance   # benchmark runs: error per class and GPU family

Reads shared/reference/ (VLLMKUBE_SHARED, else ../shared beside the repository).
"""
import json
import math
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from calibration_cases import gpu_for, to_case  # noqa: E402

from vllmkube import catalog, sizing  # noqa: E402

REF = Path(os.environ.get("VLLMKUBE_SHARED") or ROOT.parent / "shared") / "reference"
STARTUP = ("vllm-startup-calibration.json", "vllm-startup-calibration-more.json")
BENCH = ("vllm-benchmark-calibration.json", "vllm-benchmark-calibration-a100-h200.json")
# records that name no GPU or leave fields empty: what they are, from their source (see tests/test_calibration.py)
FILL = {
    "vllm-pr10511-h100-llama3-8b-tp1": {"gpu_model": "h100"},
    "vllm-pr10511-h100-llama3-8b-tp2": {"gpu_model": "h100"},
    "vllm-23278-h100-gpt-oss-120b": {"gpu_memory_total_gib": 79.22, "vllm_version": "0.10.1"},
    "vllm-pr21489-gemma3-4b-it-178gib": {"gpu_model": "b200", "vllm_version": "0.10.0"},
}


def sizing_table() -> None:
    print("| case | GPU | vLLM (as modelled) | weights GiB ours / log | activation GiB ours / log | KV ours / log | error |")
    print("|---|---|---|---|---|---|---|")
    for name in STARTUP:
        for rec in json.loads((REF / name).read_text()):
            rec = {**rec, **FILL.get(rec["id"], {})}
            probe = rec if (rec.get("kv_cache_tokens") or rec.get("num_gpu_blocks") or rec.get("available_kv_cache_gib")) \
                else {**rec, "available_kv_cache_gib": 1.0}
            case = to_case(probe)
            if case is None:
                continue
            gpu = gpu_for(rec["gpu_model"], case.gpu_memory_gib)
            p = sizing.size(case.model, gpu, case.options, case.gpu_memory_gib)
            act = f"{p.activation_gib_per_gpu:.2f} / {rec.get('activation_peak_gib') or '-'}"
            if probe is not rec:
                kv, err = "- / (not logged)", "weights and activation only"
            elif case.kv_gib is not None and case.kv_gib < 0:
                kv, err = f"{p.kv_cache_gib_per_gpu:.2f} / {case.kv_gib} GiB", \
                    "refused by vLLM; ours: " + ("fits (wrong)" if p.fits else "does not fit")
            elif case.kv_tokens:
                kv, err = f"{p.kv_cache_tokens:,} / {case.kv_tokens:,} tokens", f"{p.kv_cache_tokens / case.kv_tokens - 1:+.1%}"
            else:
                kv, err = f"{p.kv_cache_gib_per_gpu:.2f} / {case.kv_gib} GiB", f"{p.kv_cache_gib_per_gpu / case.kv_gib - 1:+.1%}"
            print(f"| {case.id} | {gpu.key} | {case.options.vllm_version} | {p.weights_gib_per_gpu:.2f} / "
                  f"{rec['weights_reported']} | {act} | {kv} | {err} |")


def _pct(xs: list[float]) -> str:
    if not xs:
        return "-"
    xs = sorted(xs)
    return f"{statistics.median(xs):.0%} / {xs[math.ceil(0.9 * len(xs)) - 1]:.0%}"  # nearest-rank p90


def performance_table() -> None:
    import calibration as cal

    groups: dict[tuple, dict[str, list[float]]] = {}
    for name in BENCH:
        records = json.loads((REF / name).read_text())
        frontend = cal.frontend_bound(records)
        by_id = {r["id"]: r for r in records}
        for r in cal.results(records):
            rec = by_id[r.id]
            family = catalog.find_gpu_in_text(rec["gpu"]).architecture
            kind = "MoE" if catalog.find_model(rec["model"]).is_moe else "dense"
            shape = "front-end-bound" if r.id in frontend else ("closed loop" if rec.get("max_concurrency") else "burst")
            g = groups.setdefault((family, kind, shape), {"tok": [], "itl": [], "ttft": [], "n": []})
            g["n"].append(1)
            for key, e in (("tok", r.tok_s_error), ("itl", r.itl_error), ("ttft", r.ttft_error)):
                if e is not None and not (key != "tok" and r.id in frontend):
                    g[key].append(abs(e))
    print("| GPU family | model | run shape | runs | output tok/s median / p90 | median ITL median / p90 | median TTFT median / p90 |")
    print("|---|---|---|---|---|---|---|")
    for (family, kind, shape), g in sorted(groups.items()):
        print(f"| {family} | {kind} | {shape} | {len(g['n'])} | {_pct(g['tok'])} | {_pct(g['itl'])} | {_pct(g['ttft'])} |")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "sizing"
    sizing_table() if what == "sizing" else performance_table()
