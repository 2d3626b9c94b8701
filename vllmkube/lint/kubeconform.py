"""``--kubeconform``: run kubeconform over each source with the same schema locations and merge
its verdict as findings (rule ``kubeconform``). One process per source, fed on stdin, so
its results map back to our file names; documents are matched by kind and name."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from .documents import Document, Source
from .findings import Finding, Severity, format_path
from .schema import CRD_LAYOUT


def arguments(binary: str, kubernetes_version: str, locations: Sequence[str], cache_dir: Path | None) -> list[str]:
    args = [binary, "-output", "json", "-strict", "-kubernetes-version", kubernetes_version]
    for loc in locations:
        if loc.endswith("json"):
            args += ["-schema-location", loc]
            continue
        base = loc.rstrip("/")
        args += ["-schema-location", base, "-schema-location", f"{base}/{CRD_LAYOUT}"]
        if Path(base, "kubernetes").is_dir():  # shared/schemas keeps core kinds one level down
            args += ["-schema-location", f"{base}/kubernetes"]
    if not locations:
        args += ["-schema-location", "default"]
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        args += ["-cache", str(cache_dir)]
    return args + ["-"]


def run(binary: str, sources: Sequence[Source], docs: Sequence[Document], kubernetes_version: str,
        locations: Sequence[str], cache_dir: Path | None = None, timeout_s: float = 300) -> list[Finding]:
    args = arguments(binary, kubernetes_version, locations, cache_dir)
    findings: list[Finding] = []
    for src in sources:
        try:
            proc = subprocess.run(args, input=src.text, capture_output=True, text=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError("--kubeconform", f"running {binary} failed: {exc}", "check the kubeconform binary") from None
        try:
            results = json.loads(proc.stdout or "{}").get("resources") or []
        except ValueError:
            err = (proc.stderr or proc.stdout).strip().splitlines()
            raise InputError("--kubeconform", f"kubeconform gave no JSON ({err[-1] if err else f'exit {proc.returncode}'})",
                             "check its version (needs -output json)") from None
        mine = [d for d in docs if d.file == src.name]
        for r in results:
            findings += _findings(src.name, r, mine)
    return findings


def _findings(file: str, r: dict, docs: Sequence[Document]) -> list[Finding]:
    status = str(r.get("status", "")).lower()
    if "invalid" not in status and "error" not in status:
        return []
    doc = next((d for d in docs if d.kind == r.get("kind") and d.name == r.get("name")), None)
    missing = "could not find schema" in str(r.get("msg", "")).lower()
    severity = Severity.WARNING if missing else Severity.ERROR
    fix = "pass --schema-location for the kind" if missing else "fix the document to match the schema"
    errors = r.get("validationErrors") or [{"path": "", "msg": r.get("msg", "")}]
    out = []
    for e in errors:
        path = tuple(int(p) if p.isdigit() else p for p in str(e.get("path", "")).strip("/").split("/") if p)
        message = f"kubeconform: {e.get('msg') or r.get('msg')}"
        if doc is not None:
            out.append(doc.finding("kubeconform", severity, path, message, fix))
        else:
            out.append(Finding(file, 0, format_path(path), severity, "kubeconform", message, fix, 1,
                               str(r.get("kind", "")), str(r.get("name", ""))))
    return out
