"""One error base class and the exit codes, named once."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    NO = 1  # the answer is no: lint findings, SLO not achievable, does not fit under --strict
    BAD_INPUT = 2
    INTERNAL = 3
    INTERRUPTED = 130


class VllmkubeError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.INTERNAL


class InputError(VllmkubeError):
    """Bad user input. The message names the field and how to fix it."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, field: str, problem: str, fix: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        msg = f"{field}: {problem}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class CatalogError(VllmkubeError):
    """A shipped data file is broken: a bug in vllmkube, not in the user's input."""

    exit_code = ExitCode.INTERNAL


class RenderError(VllmkubeError):
    """A rendered document failed its own checks: a bug in a template."""

    exit_code = ExitCode.INTERNAL
