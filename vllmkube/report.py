"""Human and machine output of plans (stdout carries only the result)."""
from __future__ import annotations

import json
import sys

from .sizing import RuleOfThumb, SizingPlan


def emit_size(result: SizingPlan | RuleOfThumb, output: str) -> None:
    data = result.model_dump(mode="json")
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif output == "yaml":
        from .yamlio import dump_one

        sys.stdout.write(dump_one(data))
    elif isinstance(result, RuleOfThumb):
        _rule_table(result)
    else:
        _size_table(result)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=110)


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
    c.print(f"[bold]{p.model}[/] on [bold]{p.gpu}[/] ({p.gpu_memory_gib:g} GiB as CUDA reports it), vLLM {p.vllm_version}")
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
