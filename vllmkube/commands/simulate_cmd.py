"""`vllmkube simulate`: replay a traffic shape through the HPA/KEDA algorithm and the performance model."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..cli import app
from . import options as opt


@app.command()
def simulate(
    model: opt.Model = None,
    model_config_path: opt.ModelConfig = None,
    gpu: opt.Gpu = None,
    gpu_memory_gib: opt.GpuMemoryGib = None,
    gpu_bandwidth_tbps: opt.GpuBandwidthTbps = None,
    gpu_bf16_tflops: opt.GpuBf16Tflops = None,
    max_model_len: opt.MaxModelLen = None,
    tensor_parallel_size: opt.TP = None,
    quantization: opt.Quantization = None,
    kv_cache_dtype: opt.KvCacheDtype = None,
    vllm_version: opt.VllmVersion = None,
    allow_unknown_vllm_version: opt.AllowUnknownVllm = None,
    input_len: opt.InputLen = None,
    output_len: opt.OutputLen = None,
    slo_ttft_p99: opt.SloTtft = None,
    slo_itl_p99: opt.SloItl = None,
    traffic: str = typer.Option("step:1:20", "--traffic", help="constant:RPS, step:FROM:TO[:AT_S], pulse:RPS:AT_S[:LEN_S], diurnal:MIN:MAX[:PERIOD_S] "
                                "or csv:PATH (timestamp_s,input_len,output_len per request)."),
    duration_s: int = typer.Option(3600, "--duration", min=60, max=7 * 86400, help="Seconds to simulate (not for csv)."),
    min_replicas: int = typer.Option(1, "--min-replicas", min=1, help="Fewest replicas."),
    max_replicas: Optional[int] = typer.Option(None, "--max-replicas", min=1, help="Most replicas (default: what the peak needs)."),
    queue_threshold: Optional[float] = typer.Option(None, "--queue-threshold", min=0.1, help="Override the SLO-derived queue threshold."),
    cold_start_s: Optional[int] = typer.Option(None, "--cold-start-s", min=0, help="Seconds until a new replica serves (default: startup-probe budget)."),
    load_rate_gib_s: Optional[float] = typer.Option(None, "--load-rate-gib-s", min=0.01, help="Weight load rate for the cold start, GiB/s (default: what render assumes on a cluster's default storage)."),
    policy: Optional[List[str]] = typer.Option(None, "--policy", help="vllmkube, queue-10 or cpu (repeat; default all)."),
    scale_to_zero: bool = typer.Option(False, "--scale-to-zero", help="Start at zero; the KEDA HTTP add-on holds requests "
                                       "while the first replica starts, and the last goes after the cooldown."),
    cooldown_s: Optional[int] = typer.Option(None, "--cooldown", min=0, help="Idle seconds before scaling to zero "
                                             "(default: as render, at least the cold start and 300)."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Also write the replica curve to this .svg file."),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> int:
    """Replay TRAFFIC through KEDA/HPA scaling: SLO-violation minutes, replica curve and GPU-hours per policy."""
    from pathlib import Path

    from ..errors import InputError
    from ..report import emit_simulation
    from ..simulate import prepare
    from ..spec import SizeSpec

    values = opt.spec_values(SizeSpec, locals())  # parameters are named like SizeSpec's fields
    if output not in ("table", "json"):
        raise InputError("--output", f"unknown format {output!r}", "use table or json")
    if plot is not None and not plot.lower().endswith(".svg"):
        raise InputError("--plot", "only SVG is written (PNG would need matplotlib, not a dependency)", "use e.g. --plot out.svg")

    def read(path: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError("--traffic", f"cannot read {path}: {exc.strerror or exc}", "pass csv:PATH to a readable file") from None

    run = prepare(opt.build_spec(SizeSpec, values), traffic, duration_s, read, min_replicas=min_replicas,
                  max_replicas=max_replicas, queue_threshold=queue_threshold, cold_start_s=cold_start_s,
                  load_rate_gib_s=load_rate_gib_s, only=policy, scale_to_zero=scale_to_zero, cooldown_s=cooldown_s)
    emit_simulation(run, output)
    if plot is not None:
        from ..simulate import svg

        try:
            Path(plot).write_text(svg(run.results, run.title), encoding="utf-8")
        except OSError as exc:
            raise InputError("--plot", f"cannot write {plot}: {exc.strerror or exc}", "pick a writable path") from None
        import sys

        print(f"wrote {plot}", file=sys.stderr)
    return 0
