"""Compiled templates kept on disk between runs (the CLI's `render` turns it on).

Compiling the Jinja templates is a third of what `render` does beyond importing its libraries;
jinja2's own bytecode cache keeps the compiled code in ~/.cache/vllmkube/templates (or
$XDG_CACHE_HOME/vllmkube/templates), keyed by template name and checked against a checksum of
the template's source and the Python version, so an edited template or another Python compiles
afresh. A cache that cannot be written or read is skipped: the output never depends on it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vllmkube" / "templates"


def enable(env: Any, directory: Path | None = None) -> None:
    from jinja2 import FileSystemBytecodeCache

    class Cache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged entry: compile as if there were none
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # read-only home, full disk: compile every time instead
                pass

    folder = directory or default_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return
    env.bytecode_cache = Cache(str(folder))
