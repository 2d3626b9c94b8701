"""The Typer app: parse, call the core, emit, map errors to exit codes. Nothing else."""
from __future__ import annotations

import os
import sys

# The CLI uses no pydantic plugins; without this, pydantic scans every installed package's entry
# points the first time a model is built, a third of `vllmkube size`'s own start-up time.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402

from . import __version__  # noqa: E402
from .errors import ExitCode, VllmkubeError  # noqa: E402

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


# Which module registers which command. Running one command imports (and lets typer build)
# only its module; --help and anything unknown import them all. A test keeps this in step.
COMMAND_MODULES = {
    "size": "size_cmd", "render": "render_cmd", "lint": "lint_cmd", "simulate": "simulate_cmd",
    "gpus": "catalog_cmds", "models": "catalog_cmds", "init": "config_cmds", "schema": "config_cmds",
}


def _register_commands(argv: list[str] | None = None) -> None:
    """Import ``commands/*_cmd*.py``; each registers its commands on ``app``."""
    import importlib
    import pkgutil

    from . import commands

    wanted = COMMAND_MODULES.get(argv[1]) if argv and len(argv) > 1 else None
    names = [wanted] if wanted else sorted(m.name for m in pkgutil.iter_modules(commands.__path__)
                                            if m.name.endswith(("_cmd", "_cmds")))
    for mod in names:
        importlib.import_module(f"{commands.__name__}.{mod}")


_USAGE_ERRORS = {"UsageError", "BadParameter", "MissingParameter", "NoSuchOption", "BadOptionUsage",
                 "BadArgumentUsage", "ClickException", "FileError"}


def main() -> None:
    """Console entry point: one line on stderr and a named exit code for every failure."""
    _register_commands(sys.argv)
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
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and ctx.command_path else ""
            print(f"error: {usage()}{hint}", file=sys.stderr)
            sys.exit(ExitCode.BAD_INPUT)
        print(f"internal error: {exc.__class__.__name__}: {exc} (please report this)", file=sys.stderr)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(rc if isinstance(rc, int) else ExitCode.OK)
