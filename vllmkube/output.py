"""Writing rendered documents: stdout as one YAML stream or a JSON List, or a folder with a kustomization."""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import InputError
from .plan import Plan
from .render import Document, kustomization, to_json, to_stream

FORMATS = ("yaml", "json")


def write_render(plan: Plan, docs: list[Document], out_dir: str | None, fmt: str = "yaml",
                 force: bool = False) -> None:
    if out_dir is None:
        _warn(plan)
        sys.stdout.write(to_json(docs) if fmt == "json" else to_stream(plan, docs))
        return
    from . import outdir

    folder = Path(out_dir)
    files = {d.filename: d.text for d in docs}
    files["kustomization.yaml"] = kustomization(docs)
    changes = outdir.plan(folder, files, force)  # refuses before anything is printed or written
    _warn(plan)
    outdir.apply(folder, changes)
    print(f"wrote {len(docs)} manifests and kustomization.yaml to {folder}", file=sys.stderr)


def _warn(plan: Plan) -> None:
    for n in plan.notes:
        print(f"note: {n}", file=sys.stderr)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)


def output_choice(output: str | None, out_dir: str | None) -> tuple[str, str | None]:
    """(format, folder) from ``-o/--output`` and ``-d/--output-dir``.

    ``-o`` used to name the folder. For one release a value that is clearly a path (it has a
    slash, starts with '.' or '~', or is an existing folder) still means the folder, with a
    warning; any other value must be a format, so ``-o json`` never creates ./json/.
    """
    if output is None or output in FORMATS:
        if output == "json" and out_dir is not None:
            raise InputError("--output", "--output-dir writes YAML files for kustomize", "drop -o json, or drop --output-dir")
        return output or "yaml", out_dir
    if out_dir is None and _looks_like_path(output):
        print(f"warning: `render -o {output}` is deprecated: use --output-dir/-d {output} "
              "(-o/--output is the format, yaml or json, as in kubectl); this spelling goes in the next release",
              file=sys.stderr)
        return "yaml", output
    if output.endswith((".yaml", ".yml", ".json")):
        raise InputError("--output", f"{output!r} is a file name, and -o/--output is the format (yaml or json)",
                         f"redirect stdout: > {output}")
    raise InputError("--output", f"unknown format {output!r}", "use yaml or json; write files with --output-dir/-d DIR")


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.startswith((".", "~")) or Path(value).is_dir()
