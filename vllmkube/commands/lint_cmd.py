"""`vllmkube lint`: check vLLM manifests (anyone's) with the schema and vLLM rule layers."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..cli import app


@app.command()
def lint(
    paths: Optional[List[str]] = typer.Argument(None, help="Files, folders (*.yaml, *.yml) or - for stdin."),
    output: str = typer.Option("text", "--output", "-o", help="text, json or sarif."),
    fail_on: str = typer.Option("error", "--fail-on", help="Exit 1 on findings this severe: error, warning, info, never."),
    kubernetes_version: str = typer.Option("1.31", "--kubernetes-version", help="Schemas of this Kubernetes release."),
    schema_location: Optional[List[str]] = typer.Option(None, "--schema-location", help="CRD schemas: folder or URL template, kubeconform layout (repeat)."),
    schema_cache: Optional[str] = typer.Option(None, "--schema-cache", help="Cache for fetched schemas (default ~/.cache/vllmkube/schemas)."),
    no_schema: bool = typer.Option(False, "--no-schema", help="Skip the schema layer; vLLM rules only."),
    kubeconform: bool = typer.Option(False, "--kubeconform", help="Also run kubeconform (must be on PATH) and merge its verdict."),
    disable: Optional[List[str]] = typer.Option(None, "--disable", help="Rule id to skip (repeat)."),
) -> None:
    """Lint Kubernetes manifests for vLLM: schemas, KEDA maths, metric names, flags, probes, references."""
    import os
    import shutil
    import sys
    from pathlib import Path

    from .. import __version__, lint as core
    from ..errors import InputError

    fails_at = core.threshold(fail_on)
    if output not in core.OUTPUTS:
        raise InputError("--output", f"{output!r} is not an output format", f"use one of {', '.join(core.OUTPUTS)}")
    binary = shutil.which("kubeconform") if kubeconform else None
    if kubeconform and not binary:
        raise InputError("--kubeconform", "kubeconform is not on PATH", "install it, or drop --kubeconform")
    cache = Path(schema_cache) if schema_cache else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vllmkube" / "schemas"
    options = core.LintOptions(kubernetes_version, tuple(schema_location or ()), cache, not no_schema, binary,
                               frozenset(disable or ()))
    result = core.lint(core.collect(list(paths or []), sys.stdin.read), options)
    sys.stdout.write(core.render(result, output, __version__))
    print(core.summary(result), file=sys.stderr)
    if result.fails(fails_at):
        raise typer.Exit(1)
