"""Human and machine output of plans (stdout carries only the result)."""
from __future__ import annotations

import json
import sys

from typing import TYPE_CHECKING

from .sizing import RuleOfThumb, SizingPlan

if TYPE_CHECKING:
    from .compare import Comparison
    from .serving import ServingPlan
    from .simulate import Run


def _write(data: dict, output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        from .yamlio import dump_one

        sys.stdout.write(dump_one(data))


def emit_size(result: SizingPlan | RuleOfThumb, output: str, performance: "ServingPlan | None" = None,
              benchmark=None) -> None:
    data = result.model_dump(mode="json")
    if performance is not None:
        data["performance"] = performance.model_dump(mode="json")
    if benchmark is not None:
        data["benchmark"] = benchmark.model_dump(mode="json")
    if output in ("json", "yaml"):
        _write(data, output)
    elif isinstance(result, RuleOfThumb):
        _rule_table(result)
    else:
        _size_table(result)
        if performance is not None:
            _performance_table(performance)
        if benchmark is not None:
            _benchmark_table(benchmark)


def _benchmark_table(b) -> None:
    c = _console()
    rate = "inf" if b.request_rate is None else f"{b.request_rate:g}"
    cap = f", --max-concurrency {b.max_concurrency}" if b.max_concurrency else ""
    c.print(f"[bold]Benchmark replay[/] (vllm bench serve: --num-prompts {b.num_prompts} --request-rate {rate}{cap}, "
            f"{b.input_len} in / {b.output_len} out; server --max-num-seqs {b.max_num_seqs} "
            f"--max-num-batched-tokens {b.max_num_batched_tokens})")
    c.print(f"  duration {b.duration_s:g} s, {b.requests_per_s:.2f} req/s, {b.output_tokens_per_s:,.1f} output tok/s")
    c.print(f"  median TTFT {_ms(b.median_ttft_ms)} (including queueing), median ITL {_ms(b.median_itl_ms)} "
            f"(mean {_ms(b.mean_itl_ms)}); peak {b.peak_running} running, {b.preemptions} preemptions")
    for n in b.notes:
        c.print(f"  note: {n}")


def emit_compare(table: "Comparison", output: str) -> None:
    if output in ("json", "yaml"):
        from .sizing import SCHEMA_VERSION

        rows = [{"gpu": r.gpu, "tensor_parallel_size": r.tp, "precision": r.precision,
                 "gpus_per_replica": r.gpus_per_replica, "fits": r.fits, "why_not": r.why_not,
                 "usd_per_hour": None if r.usd_per_hour is None else round(r.usd_per_hour, 2),
                 "performance": r.serving.model_dump(mode="json") if r.serving else None} for r in table.rows]
        _write({"schema_version": SCHEMA_VERSION, "model": table.model, "workload": table.workload.model_dump(mode="json"),
                "gpu_prices_usd_per_hour": table.prices, "layouts": rows}, output)
    else:
        _compare_table(table)


def _console():
    from .terminal import console

    return console()


def _rule_table(r: RuleOfThumb) -> None:
    c = _console()
    c.print(f"[bold]Rule of thumb[/] for {r.params_b:g}B parameters at {r.bytes_per_param:g} bytes/param")
    c.print(f"  weights {r.weights_gb:g} GB + 25% KV cache {r.kv_cache_gb:g} GB = [bold]{r.rule_of_thumb_gb:g} GB[/]")
    if r.gpu:
        c.print(f"  on {r.gpu}: about {r.gpus_needed} GPU(s)")
    for w in r.warnings:
        c.print(f"[yellow]note:[/] {w}")


def _size_table(p: SizingPlan) -> None:
    from rich.table import Table

    c = _console()
    layout = f"TP {p.tensor_parallel_size} x PP {p.pipeline_parallel_size}"
    quant = p.quantization or "16-bit"
    verdict = "[green]fits[/]" if p.fits else "[red]does not fit[/]"
    from rich.markup import escape

    # a name from a user's config.json is text, never rich markup
    c.print(f"[bold]{escape(p.model)}[/] on [bold]{escape(p.gpu)}[/] ({p.gpu_memory_gib:g} GiB as CUDA reports it), "
            f"vLLM {p.vllm_version}")
    c.print(f"  {verdict}: {layout} = {p.gpus_per_replica} GPU(s) on {p.nodes_per_replica} node(s), "
            f"{quant} weights, KV cache {p.kv_cache_dtype}, max_model_len {p.max_model_len}")
    t = Table(title="Memory per GPU (GiB)", title_justify="left", show_edge=False)
    t.add_column("item")
    t.add_column("GiB", justify="right")
    t.add_column("share", justify="right")
    t.add_column("")
    budget = p.gpu_memory_gib * p.gpu_memory_utilization
    rows = [
        ("weights", p.weights_gib_per_gpu, ""),
        ("activation peak", p.activation_gib_per_gpu, f"profiled at {p.activation_profile_tokens} tokens"),
        ("non-torch (NCCL, cuBLAS)", p.non_torch_gib_per_gpu, ""),
        ("CUDA graphs (estimate)", p.cuda_graph_gib_per_gpu, "charged from vLLM 0.21" if p.cuda_graph_gib_per_gpu else "outside the budget"),
        ("KV cache", p.kv_cache_gib_per_gpu, f"{p.kv_cache_tokens:,} tokens"),
    ]
    for name, gib, note in rows:
        share = gib / budget if budget else 0
        bar = "#" * round(share * 30)
        t.add_row(name, f"{gib:.2f}", f"{share:5.1%}", f"{bar} {note}".strip())
    t.add_row("[bold]budget[/]", f"[bold]{budget:.2f}[/]", "", f"{p.gpu_memory_utilization:.2f} x {p.gpu_memory_gib:g} GiB")
    c.print(t)
    c.print(f"  KV per token: {p.kv_bytes_per_token:,} bytes (whole model), {p.kv_bytes_per_token_per_gpu:,} per GPU")
    c.print(f"  max concurrency at {p.max_model_len} tokens: [bold]{p.max_concurrency:g}x[/]"
            f" (scheduler cap --max-num-seqs {p.max_num_seqs})")
    c.print(f"  rule of thumb: {p.params_b:g}B params -> {p.rule_of_thumb_gb:g} GB (weights + 25% KV)")
    if p.rejected:
        c.print("  options tried and rejected:")
        for r in p.rejected:
            c.print(f"    - {r.option}: {r.reason}")
    for w in p.warnings:
        c.print(f"[yellow]  warning:[/] {w}")


def _ms(x: float) -> str:
    return f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms"


def _slo_text(s: "ServingPlan") -> str:
    parts = []
    if s.slo_ttft_p99_ms is not None:
        parts.append(f"TTFT p99 <= {_ms(s.slo_ttft_p99_ms)}")
    if s.slo_itl_p99_ms is not None:
        parts.append(f"ITL p99 <= {_ms(s.slo_itl_p99_ms)}")
    return ", ".join(parts) or "no latency SLO"


_LIMITS = {"itl-slo": "the ITL SLO", "ttft-slo": "the TTFT SLO", "token-budget": "the token budget",
           "kv-cache": "the KV cache", "scheduler": "vLLM's default cap", "frontend": "the API server",
           "slo-unreachable": "nothing: the SLO is out of reach", "user-settings": "your settings"}


def _performance_table(s: "ServingPlan") -> None:
    c = _console()
    traffic = f", {s.rps:g} req/s peak" if s.rps is not None else ""
    c.print(f"[bold]Serving plan[/]: {s.input_len} in / {s.output_len} out tokens{traffic}; {_slo_text(s)}")
    c.print(f"  one replica at {s.concurrency} in flight: TTFT {_ms(s.ttft_ms)} (p99 {_ms(s.ttft_p99_ms)}), "
            f"ITL {_ms(s.itl_ms)} (p99 {_ms(s.itl_p99_ms)}), {s.output_tokens_per_s:,.0f} output tok/s, "
            f"{s.requests_per_s:.2f} req/s")
    c.print(f"  vLLM: --max-num-seqs {s.max_num_seqs} --max-num-batched-tokens {s.max_num_batched_tokens} "
            f"(capped by {_LIMITS.get(s.limited_by, s.limited_by)}); {s.capacity_rps:.2f} req/s per replica")
    why = ("keeps TTFT p99 within the objective" if s.slo_met else
           "the objective is out of reach on this layout: it only bounds the queue")
    c.print(f"  autoscaling: add a replica above {s.queue_threshold:g} waiting requests per replica ({why})")
    if s.replicas is not None:
        c.print(f"  replicas for {s.rps:g} req/s with {s.headroom:.0%} headroom: [bold]{s.replicas}[/] "
                f"({s.gpus_total} GPU(s))")
    if s.slo_met:
        c.print(f"  SLO: [green]met[/] ({_slo_text(s)})" if (s.slo_ttft_p99_ms or s.slo_itl_p99_ms) else
                "  SLO: none given (pass --slo-ttft-p99 / --slo-itl-p99)")
    else:
        for u in s.unmet:
            c.print(f"  [red]SLO not met:[/] {u}")
        c.print(f"  nearest option that meets it: {s.nearest_option or 'none in the catalog'}")
    for n in s.notes:
        c.print(f"[yellow]  note:[/] {n}")


COMPARE_ROWS = 10


def _compare_table(t: "Comparison") -> None:
    from rich.table import Table

    c = _console()
    w = t.workload
    traffic = f", {w.rps:g} req/s" if w.rps is not None else ""
    slo = []
    if w.slo_ttft_p99 is not None:
        slo.append(f"TTFT p99 <= {_ms(w.slo_ttft_p99 * 1e3)}")
    if w.slo_itl_p99 is not None:
        slo.append(f"ITL p99 <= {_ms(w.slo_itl_p99 * 1e3)}")
    c.print(f"[bold]{t.model}[/]: {w.input_len} in / {w.output_len} out{traffic}; {', '.join(slo) or 'no latency SLO'}")
    need = "GPUs" if w.rps is not None else "GPUs per req/s"
    tab = Table(show_edge=False, title_justify="left")
    for col, just in (("#", "right"), ("layout", "left"), ("GPU/rep", "right"), ("seqs", "right"),
                      ("req/s/rep", "right"), ("ITL p99", "right"), ("TTFT p99", "right"), (need, "right"),
                      ("$/h", "right"), ("SLO", "left")):
        tab.add_column(col, justify=just)
    fitting = [r for r in t.rows if r.fits and r.serving is not None]
    for i, r in enumerate(fitting[:COMPARE_ROWS], 1):
        s = r.serving
        gpus = f"{s.gpus_total}" if s.gpus_total is not None else f"{r.gpus_needed:.2f}"
        cost = f"{r.usd_per_hour:,.2f}" if r.usd_per_hour is not None else "-"
        ok = "[green]yes[/]" if s.slo_met else "[red]no[/]"
        style = "bold" if i == 1 and s.slo_met else None
        tab.add_row(str(i), r.label, str(r.gpus_per_replica), str(s.max_num_seqs), f"{s.capacity_rps:.2f}",
                    _ms(s.itl_p99_ms), _ms(s.ttft_p99_ms), gpus, cost, ok, style=style)
    c.print(tab)
    hidden = len(fitting) - COMPARE_ROWS
    if hidden > 0:
        c.print(f"  ... {hidden} more layouts (-o json lists all)")
    misfit = [r for r in t.rows if not r.fits]
    if misfit:
        c.print("  does not fit: " + ", ".join(r.label for r in misfit))
    if fitting and fitting[0].serving.slo_met:
        best = fitting[0]
        c.print(f"  best: [bold]{best.label}[/], {best.serving.max_num_seqs} seqs, "
                f"--max-num-batched-tokens {best.serving.max_num_batched_tokens}")
    elif fitting:
        c.print("  [red]no layout meets the SLOs[/]")
    if t.prices:
        c.print("  ranked by $/h: " + ("all replicas for the traffic" if w.rps is not None else "one replica")
                + "; prices " + ", ".join(f"{k}={v:g}" for k, v in sorted(t.prices.items())))


def emit_simulation(run: "Run", output: str) -> None:
    if output == "json":
        from .simulate import SCRAPE_S
        from .sizing import SCHEMA_VERSION

        policies = []
        for r in run.results:
            curve = [[t, round(r.load[t], 3), r.replicas[t], r.ready[t], r.violating[t]]
                     for t in range(0, len(r.load), SCRAPE_S)]
            policies.append({"policy": r.policy, "slo_violation_minutes": round(r.violation_minutes, 2),
                             "requests_over_slo_share": round(r.violating_share, 4), "gpu_hours": round(r.gpu_hours, 3),
                             "peak_replicas": r.peak_replicas, "first_scale_up_s": r.first_scale_up_s,
                             "first_ready_s": r.first_ready_s, "max_queue": round(r.max_queue, 1),
                             "first_wake_s": r.first_wake_s, "wakes": [list(w) for w in r.wakes], "sleeps": r.sleeps,
                             "curve_columns": ["t_s", "rps", "replicas", "ready", "slo_violated"], "curve": curve})
        _write({"schema_version": SCHEMA_VERSION, "model": run.model, "gpu": run.gpu, "traffic": run.traffic.label,
                "cold_start_s": run.cold_start_s, "min_replicas": run.min_replicas, "max_replicas": run.max_replicas,
                "performance": run.plan.model_dump(mode="json"), "policies": policies}, "json")
        return
    from rich.table import Table

    from .simulate import chart

    c = _console()
    p = run.plan
    c.print(f"[bold]{run.title}[/]")
    c.print(f"  one replica ({run.gpus_per_replica} GPU): {p.capacity_rps:.2f} req/s at --max-num-seqs {p.max_num_seqs}; "
            f"replicas {run.min_replicas}..{run.max_replicas}; {_slo_text(p)}")
    c.print(f"  vllmkube scales on queue > {p.queue_threshold:g}/replica, finished > {p.target_rps_per_replica:g} req/s/replica"
            " or KV > 0.8")
    c.print("  queue-10: the blog's queue-only trigger (10/replica); cpu: a CPU-based HPA, never scales")
    t = Table(show_edge=False)
    for col in ("policy", "min > SLO", "req > SLO", "GPU-h", "peak", "scale-up at", "ready at", "max queue"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for r in run.results:
        t.add_row(r.policy, f"{r.violation_minutes:.1f}", f"{r.violating_share:.1%}", f"{r.gpu_hours:.2f}",
                  str(r.peak_replicas), "-" if r.first_scale_up_s is None else f"{r.first_scale_up_s}s",
                  "-" if r.first_ready_s is None else f"{r.first_ready_s}s", f"{r.max_queue:,.0f}")
    c.print(t)
    if run.zero:  # issue 12: what the first request after idle waits
        c.print(f"  scale to zero: cooldown {run.zero.cooldown_s}s; the first request after idle waits for a replica")
        for r in run.results:
            if r.replicas and min(r.replicas) > 0:
                c.print(f"    {r.policy}: never at zero")
                continue
            waits = ", ".join(f"{b - a}s (request at {a}s)" for a, b in r.wakes) or "-"
            c.print(f"    {r.policy}: waits {waits}; back to zero at {', '.join(f'{t}s' for t in r.sleeps) or '-'}")
    for line in chart(run.results):
        c.print(line)
