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
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
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
    "batch": "batch_cmd",
}


def _register_commands(argv: list[str] | None = None) -> None:
    """Import ``commands/*_cmd*.py``; each registers its commands on ``app``."""
    import importlib

    from . import commands

    wanted = COMMAND_MODULES.get(argv[1]) if argv and len(argv) > 1 else None
    if wanted:
        names = [wanted]
    else:
        import pkgutil

        names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if m.name.endswith(("_cmd", "_cmds")))
    for mod in names:
        importlib.import_module(f"{commands.__name__}.{mod}")


def main() -> None:
    """Console entry point: one line on stderr and a named exit code for every failure.

    stdout is held back until the command ends and is dropped when it fails (exit 2, 3 or 130):
    a command that ends in an error never leaves half a report or half a YAML stream in a pipe.
    Exit 1 ("the answer is no": lint findings, --strict) keeps its output.
    """
    from .terminal import HeldOutput

    args = sys.argv[1:] or ["--help"]  # bare `vllmkube` shows help, exit 0, on any typer release
    _register_commands(sys.argv)
    held = HeldOutput(sys.stdout)
    sys.stdout = held
    try:
        code = _run(args)
    finally:
        sys.stdout = held.real
    if code in (ExitCode.OK, ExitCode.NO):
        try:
            held.release()
        except BrokenPipeError:  # the reader went away (`| head`): nothing left to tell it
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)


def console() -> None:
    """The ``vllmkube`` command (and ``python -m vllmkube``): main(), then leave without tearing the
    interpreter down.

    Freeing every module and object at exit cost a short command like ``render`` 100-150 ms of CPU
    (measured with benchmarks/cli_latency.py), more than rendering itself. The process ends anyway:
    once its output is flushed it leaves with os._exit, as mypy's console entry does. Every file
    vllmkube writes is closed (and atomically renamed) before main() returns. Tests and library
    callers use main(), which exits the normal way.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = ExitCode.OK
    elif not isinstance(code, int):  # what Python does with SystemExit("text")
        print(code, file=sys.stderr)
        code = ExitCode.NO
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a closed stream: nothing left to tell
            pass
    os._exit(code)


def _run(args: list[str]) -> int:
    extra = {}
    if "--help" in args:
        from .terminal import prepare_help

        extra = prepare_help(app, sys.stdout.isatty())
    try:
        rc = app(args=args, prog_name="vllmkube", standalone_mode=False, **extra)
    except VllmkubeError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # shell completion ends this way
        return exc.code if isinstance(exc.code, int) else ExitCode.OK if exc.code is None else ExitCode.NO
    except (typer.Abort, EOFError):
        return ExitCode.INTERRUPTED
    except Exception as exc:  # usage errors (click, or the copy typer vendors) and our bugs
        if any(c.__name__ == "ClickException" for c in type(exc).__mro__):
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and ctx.command_path else ""
            print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
            return ExitCode.BAD_INPUT
        print(f"internal error: {exc.__class__.__name__}: {exc} (please report this)", file=sys.stderr)
        return ExitCode.INTERNAL
    return rc if isinstance(rc, int) else ExitCode.OK
