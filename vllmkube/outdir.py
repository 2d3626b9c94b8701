"""`render --output-dir`: write into a folder that vllmkube shares with its owner.

vllmkube owns only the files it wrote. ``.vllmkube-manifest`` in the folder records them, one
``SHA256  NAME`` line each (the format of ``sha256sum``, so ``sha256sum -c .vllmkube-manifest``
checks them). A render then

- overwrites its own files and removes those it no longer produces (a changed model renames them);
- leaves every other file alone (your ingress.yaml, an overlay, vllmkube.yaml itself);
- refuses, before writing anything, when a file it would write or remove exists and is not its
  own, or is its own but was edited by hand since (``force`` overwrites such files, never deletes
  a file it did not write);
- writes each file to a temporary name first and renames it into place, the record last.

The planning is pure (``plan``); ``apply`` does the I/O.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

RECORD = ".vllmkube-manifest"
FLAG = "--output-dir"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_record(folder: Path) -> dict[str, str]:
    """name -> sha256 of the files the last render wrote (empty when there is no record)."""
    try:
        text = (folder / RECORD).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(FLAG, f"cannot read {folder / RECORD}: {exc.strerror or exc}", "check the permissions") from None
    record = {}
    for line in text.splitlines():
        sha, sep, name = line.partition("  ")
        if sep and len(sha) == 64 and _plain_name(name):
            record[name] = sha
    return record


def format_record(files: dict[str, str]) -> str:
    return "".join(f"{digest(text)}  {name}\n" for name, text in sorted(files.items()))


def _plain_name(name: str) -> bool:
    # a record edited to point outside the folder must not make us delete anything there
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..", RECORD)


def _current(path: Path) -> str | None:
    """sha256 of the file on disk, None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "directory"
    except OSError as exc:
        raise InputError(FLAG, f"cannot read {path}: {exc.strerror or exc}", "check the permissions") from None


@dataclass(frozen=True)
class Plan:
    write: dict[str, str]  # name -> text
    remove: list[str]  # our files this render no longer produces


def plan(folder: Path, files: dict[str, str], force: bool = False) -> Plan:
    """What to write and remove; InputError (nothing touched) when that would harm a file we do not own."""
    record = read_record(folder)
    for name, text in sorted(files.items()):
        on_disk = _current(folder / name)
        if on_disk is None or on_disk == digest(text):
            continue  # new, or already exactly what we would write
        if on_disk == "directory":
            raise InputError(FLAG, f"{folder / name} is a folder, and render would write a file there",
                             "move it, or render into another folder")
        if force:
            continue
        if name not in record:
            raise InputError(FLAG, f"{folder / name} exists and was not written by vllmkube",
                             "move it, render into another folder, or pass --force to overwrite it")
        if on_disk != record[name]:
            raise InputError(FLAG, f"{folder / name} was edited after vllmkube wrote it",
                             "keep changes in a kustomize overlay (docs/manifests.md), or pass --force to overwrite")
    remove = []
    for name, sha in sorted(record.items()):
        if name in files:
            continue
        on_disk = _current(folder / name)
        if on_disk is None:
            continue  # already gone
        if on_disk != sha:  # edited since: never delete someone's work, even with --force
            raise InputError(FLAG, f"{folder / name} was edited after vllmkube wrote it and this render no longer "
                             "produces it", "delete or move it yourself")
        remove.append(name)
    return Plan(dict(files), remove)


def apply(folder: Path, p: Plan) -> None:
    """Temp files first, then renames, the record, and the removals; temp files are cleaned up on error."""
    temps: dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        everything = dict(p.write)
        everything[RECORD] = format_record(p.write)
        for name, text in everything.items():
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text, encoding="utf-8")
            temps[name] = tmp
        # The record goes last. A file that already holds exactly what a render would write is never a
        # conflict, so a render interrupted between the renames can simply be run again.
        for name in p.write:
            os.replace(temps.pop(name), folder / name)
        os.replace(temps.pop(RECORD), folder / RECORD)
        for name in p.remove:
            (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(FLAG, f"cannot write {folder}: {exc.strerror or exc}", "pick a writable folder") from None
    finally:
        for tmp in temps.values():
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
