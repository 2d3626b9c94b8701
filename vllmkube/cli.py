"""The Typer app: parse, call the core, emit, map errors to exit codes. Nothing else."""
from __future__ import annotations

import sys

import typer

from . import __version__
from .errors import ExitCode, VllmkubeError

app = typer.Typer(
    name="vllmkube",
    help="Size a model for vLLM and render production Kubernetes manifests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"vllmkube {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Size a model for vLLM and render production Kubernetes manifests."""


def _register_commands() -> None:
    """Import every ``commands/*_cmd*.py``; each registers its commands on ``app``."""
    import importlib
    import pkgutil

    from . import commands

    for mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        if mod.endswith("_cmd") or mod.endswith("_cmds"):
            importlib.import_module(f"{commands.__name__}.{mod}")


_register_commands()


_USAGE_ERRORS = {"UsageError", "BadParameter", "MissingParameter", "NoSuchOption", "BadOptionUsage",
                 "BadArgumentUsage", "ClickException", "FileError"}


def main() -> None:
    """Console entry point: one line on stderr and a named exit code for every failure."""
    try:
        rc = app(standalone_mode=False)
    except VllmkubeError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, EOFError):
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # usage errors (click, or the copy typer vendors) and our bugs
        usage = getattr(exc, "format_message", None)
        if usage is not None and type(exc).__name__ in _USAGE_ERRORS:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `vllmkube {ctx.command.name} --help`)" if ctx is not None and ctx.command else ""
            print(f"error: {usage()}{hint}", file=sys.stderr)
            sys.exit(ExitCode.BAD_INPUT)
        print(f"internal error: {exc.__class__.__name__}: {exc} (please report this)", file=sys.stderr)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(rc if isinstance(rc, int) else ExitCode.OK)
