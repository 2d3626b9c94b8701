"""Run the real CLI entry point in-process: exit code, stdout and stderr, as a user sees them."""
from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys, *args: str) -> Result:
    from vllmkube.cli import main

    old = sys.argv
    sys.argv = ["vllmkube", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
