"""`vllmkube init` (a commented starter vllmkube.yaml) and `vllmkube schema` (its JSON Schema)."""
from __future__ import annotations

import sys
from typing import Optional

import typer

from ..cli import app


@app.command()
def init(
    path: str = typer.Argument("vllmkube.yaml", help="File to write, or - for stdout."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model to put in the file."),
    gpu: Optional[str] = typer.Option(None, "--gpu", "-g", help="GPU to put in the file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter vllmkube.yaml."""
    from pathlib import Path

    from ..errors import InputError
    from ..starter import starter

    values = {k: v for k, v in {"model": model, "gpu": gpu}.items() if v is not None}
    text = starter(values)
    if path == "-":
        sys.stdout.write(text)
        return
    target = Path(path)
    if target.exists() and not force:
        raise InputError("path", f"{path} already exists", "pass --force to overwrite it")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError("path", f"cannot write {path}: {exc.strerror or exc}", "pick a writable path") from None
    print(f"wrote {path}; render with: vllmkube render -f {path}", file=sys.stderr)


@app.command()
def schema() -> None:
    """Print the JSON Schema of vllmkube.yaml (for editor completion)."""
    from ..starter import json_schema

    sys.stdout.write(json_schema())
