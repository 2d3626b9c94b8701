"""Writing rendered documents: stdout as one stream, or a folder with a kustomization."""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import InputError
from .plan import Plan
from .render import Document, kustomization, to_stream


def write_render(plan: Plan, docs: list[Document], out_dir: str | None) -> None:
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if out_dir is None:
        sys.stdout.write(to_stream(plan, docs))
        return
    folder = Path(out_dir)
    files = {d.filename: d.text for d in docs}
    files["kustomization.yaml"] = kustomization(docs)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stale = [p for p in folder.glob("*.yaml") if p.name not in files]
        for name, text in files.items():  # write to temp names first: nothing half-written
            (folder / f".{name}.tmp").write_text(text, encoding="utf-8")
        for name in files:
            (folder / f".{name}.tmp").replace(folder / name)
        for path in stale:
            path.unlink()
    except OSError as exc:
        raise InputError("--output-dir", f"cannot write {folder}: {exc.strerror or exc}", "pick a writable folder") from None
    print(f"wrote {len(docs)} manifests and kustomization.yaml to {folder}", file=sys.stderr)
