"""Start-up cost of `vllmkube size` and `vllmkube render` against the import time of their dependencies.

    python benchmarks/cli_latency.py [runs]

Target: each command within 1.5x of its **dependency floor**: a Python process that imports, and
does nothing else, exactly the third-party modules (site-packages: typer, pydantic, jinja2,
ruamel.yaml, rich and what they load) that the command itself ends up with in ``sys.modules``.
The list is taken from a real run of the command, so it follows the code.

Why not ``import typer, jinja2, pydantic, ruamel.yaml, rich``: pydantic and typer import lazily.
``import pydantic`` loads none of its model machinery, and typer 0.29 builds a pydantic
TypeAdapter per option at parse time from a module ``import typer`` does not load. Any command that
validates its input with a pydantic model (as ours must: the JSON Schema comes from the model that
parses the file) pays for those modules, 1.3-1.5x the bare import on its own ("+1 pydantic model"
below). That bare figure is printed for reference; the ratio against it is not the target.

Everything vllmkube does on top of the floor counts against it: its own modules, dataclasses and
pydantic models being defined, typer parsing ~80 options, validation, sizing, templates, the check
of every rendered document, stdlib modules only vllmkube imports.

The `vllmkube` command leaves with os._exit once its output is flushed (vllmkube/cli.py, console:
tearing the interpreter down cost render 100-150 ms); every floor here does the same, so it is
import time alone. The commands run as users run them (`python -m vllmkube`, the console entry).

Judged on CPU time (user + system of the child): on a shared machine wall time mostly measures
the neighbours. Each round runs every floor just before its command; the figure judged is the median
over rounds of command / floor, so a slow spell of the machine, which hits both halves of a pair,
cancels out (the ratio of medians, of minimums and of wall medians are printed too). `render` renders, checks and prints a real example (examples/h100-llama-3.1-8b-slo).

vllmkube's modules are byte-compiled first, as `pip install` does (an editable install under
PYTHONDONTWRITEBYTECODE=1 would otherwise compile them from source on every run, while the
dependencies have their .pyc files). The first render fills the compiled-template cache
(vllmkube/templatecache.py), as a user's first run does.
"""
import compileall
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
TARGET = 1.5
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "h100-llama-3.1-8b-slo" / "vllmkube.yaml"
# Every floor ends in os._exit, as the `vllmkube` command does (cli.console): the floor is import
# time alone, not the interpreter's teardown of what was imported.
EXIT = "\nos._exit(0)\n"
BARE = [sys.executable, "-c", "import os, typer, jinja2, pydantic, ruamel.yaml, rich" + EXIT]
PYDANTIC_MODEL = [sys.executable, "-c", "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
                  "import typer, jinja2, pydantic, ruamel.yaml, rich\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)" + EXIT]
COMMANDS = {
    "size": ["size", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100", "--output", "json"],
    "render": ["render", "-f", str(EXAMPLE)],
}

# Runs a command in-process, then prints the site-packages modules it loaded, in import order.
_LOADED = """
import json, os, sys, sysconfig
argv = json.loads(sys.argv[1])
sys.argv = ["vllmkube", *argv]
real = sys.stdout
sys.stdout = open(os.devnull, "w")
sys.stderr = open(os.devnull, "w")
from vllmkube.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
third = [name for name, m in list(sys.modules.items())
         if any((getattr(m, "__file__", None) or "").startswith(r) for r in roots)
         and not name.startswith("vllmkube") and not name.startswith("__editable__")]
print(json.dumps(third), file=real)
"""


def dependency_floor(argv: list[str]) -> list[str]:
    """A command that imports the third-party modules ``vllmkube argv`` loads, in the same order."""
    out = subprocess.run([sys.executable, "-c", _LOADED, json.dumps(argv)], check=True, capture_output=True, text=True)
    modules = json.loads(out.stdout)
    # same environment as the CLI (vllmkube/cli.py): pydantic skips its entry-point scan for plugins
    # (a name an extension module registers under an alias, e.g. ruamel.yaml.clib._ruamel_yaml, is
    # loaded by its real name in the list: skipped)
    code = ("import importlib, os\nos.environ.setdefault('PYDANTIC_DISABLE_PLUGINS', '__all__')\n"
            f"for m in {modules!r}:\n    try:\n        importlib.import_module(m)\n    except ImportError:\n        pass\n" + EXIT)
    return [sys.executable, "-c", code]


def once(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): CPU time moves less when other work shares the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    compileall.compile_dir(str(EXAMPLE.parents[2] / "vllmkube"), quiet=1)
    runs: dict[str, list[str]] = {"bare imports": BARE, "+1 pydantic model": PYDANTIC_MODEL}
    for name, argv in COMMANDS.items():
        runs[f"{name} floor"] = dependency_floor(argv)
        runs[name] = [sys.executable, "-m", "vllmkube", *argv]
    for cmd in runs.values():
        once(cmd)  # warm the file cache (and the compiled-template cache)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(RUNS):  # interleaved, so a slow minute hits every command alike
        for name, cmd in runs.items():
            times[name].append(once(cmd))

    def stat(name: str, i: int, f) -> float:  # i: 0 wall, 1 CPU
        return f(t[i] for t in times[name])

    for name in times:
        print(f"{name:<17} wall median {stat(name, 0, statistics.median) * 1000:7.1f} ms"
              f"  min {stat(name, 0, min) * 1000:7.1f} ms   CPU median {stat(name, 1, statistics.median) * 1000:7.1f} ms"
              f"  min {stat(name, 1, min) * 1000:7.1f} ms")

    def paired(name: str, floor: str) -> float:
        """Median over rounds of (command / floor), each pair run back to back: a slow spell of the
        machine hits both halves of a pair, so it cancels out, where a ratio of medians keeps it."""
        return statistics.median(c[1] / f[1] for c, f in zip(times[name], times[floor]))

    def ratio(name: str, floor: str) -> str:
        return (f"CPU {paired(name, floor):.2f} (ratio of the CPU medians "
                f"{stat(name, 1, statistics.median) / stat(floor, 1, statistics.median):.2f}, "
                f"of the minimums {stat(name, 1, min) / stat(floor, 1, min):.2f}, "
                f"wall {stat(name, 0, statistics.median) / stat(floor, 0, statistics.median):.2f})")

    ok = True
    print(f"{'+1 pydantic model':<17} vs bare imports: {ratio('+1 pydantic model', 'bare imports')} (reference)")
    for name in COMMANDS:
        r = paired(name, f"{name} floor")
        ok &= r <= TARGET
        print(f"{name:<17} vs its dependency floor: {ratio(name, f'{name} floor')} target <= {TARGET}: "
              f"{'ok' if r <= TARGET else 'MISSED'}")
        print(f"{'':<17} vs bare imports: {ratio(name, 'bare imports')} (reference)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
