"""`vllmkube gpus` and `vllmkube models`: list the catalogs."""
from __future__ import annotations

import json
import sys

import typer

from ..cli import app

_FMT = typer.Option("table", "--output", "-o", help="table or json.")


def _check(output: str) -> None:
    from ..errors import InputError

    if output not in ("table", "json"):
        raise InputError("--output", f"unknown format {output!r}", "use table or json")


@app.command()
def gpus(output: str = _FMT) -> None:
    """List the GPU catalog."""
    from ..catalog import gpus as all_gpus

    _check(output)
    entries = all_gpus()
    if output == "json":
        sys.stdout.write(json.dumps([g.model_dump(mode="json") for g in entries], indent=2) + "\n")
        return
    from rich.table import Table

    from ..terminal import console

    t = Table(show_edge=False)
    for col in ("key", "memory GiB", "HBM TB/s", "BF16 TFLOPS", "FP8", "per node", "resource", "product label"):
        t.add_column(col)
    for g in entries:
        t.add_row(g.key, f"{g.memory_gib:g}", f"{g.bandwidth_tbps:g}", f"{g.bf16_tflops or '-'}", g.fp8_support,
                  str(g.gpus_per_node), g.resource_name, g.product_label or "-")
    console().print(t)


@app.command()
def models(output: str = _FMT) -> None:
    """List the model catalog."""
    from .. import arch
    from ..catalog import models as all_models

    _check(output)
    entries = all_models()
    if output == "json":
        sys.stdout.write(json.dumps([m.model_dump(mode="json") for m in entries], indent=2) + "\n")
        return
    from rich.table import Table

    from ..terminal import console

    t = Table(show_edge=False)
    for col in ("id", "params B", "layers", "KV heads", "attention", "context", "checkpoint"):
        t.add_column(col)
    for m in entries:
        t.add_row(m.id, f"{arch.param_split(m).total / 1e9:.1f}", str(m.num_layers), str(m.num_kv_heads),
                  m.attention, str(m.max_context), m.quantization or m.dtype)
    console().print(t)
