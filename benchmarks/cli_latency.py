"""Start-up cost of `vllmkube size` and `vllmkube render` against a bare import of their dependencies.

    python benchmarks/cli_latency.py [runs]

The commands run in the same session, interleaved, several times. Target: each ratio <= 1.5, judged
on the medians of CPU time (user + system of the child): on a shared machine wall time mostly
measures the neighbours, and the fastest of a few runs can be one lucky run (both are printed).
`render` renders, parses back and checks every document of a real example
(examples/h100-llama-3.1-8b-slo), so a slow check or template step shows here.

vllmkube's modules are byte-compiled first, as `pip install` does (an editable install under
PYTHONDONTWRITEBYTECODE=1 would otherwise compile them from source on every run, while the
dependencies in the baseline have their .pyc files). The first render fills the compiled-template
cache (vllmkube/templatecache.py), as a user's first run does.
"""
import compileall
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
TARGET = 1.5
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "h100-llama-3.1-8b-slo" / "vllmkube.yaml"
BASELINE = [sys.executable, "-c", "import typer, jinja2, pydantic, ruamel.yaml, rich"]
# For reference, not a target: `import pydantic` is lazy, so the floor above holds none of pydantic's
# model machinery, while any command that validates a config with a pydantic model pays for it.
PYDANTIC_MODEL = [sys.executable, "-c", "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
                  "import typer, jinja2, pydantic, ruamel.yaml, rich\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)"]
COMMANDS = {
    "size": [sys.executable, "-m", "vllmkube", "size", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100",
             "--output", "json"],
    "render": [sys.executable, "-m", "vllmkube", "render", "-f", str(EXAMPLE)],
}


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
    for cmd in (BASELINE, PYDANTIC_MODEL, *COMMANDS.values()):
        once(cmd)  # warm the file cache (and the compiled-template cache)
    times: dict[str, list[tuple[float, float]]] = {"bare imports": [], "+1 pydantic model": [],
                                                   **{name: [] for name in COMMANDS}}
    for _ in range(RUNS):
        times["bare imports"].append(once(BASELINE))
        times["+1 pydantic model"].append(once(PYDANTIC_MODEL))
        for name, cmd in COMMANDS.items():
            times[name].append(once(cmd))

    def stat(name: str, i: int, f) -> float:  # i: 0 wall, 1 CPU
        return f(t[i] for t in times[name])

    for name in times:
        print(f"{name:<17} wall median {stat(name, 0, statistics.median) * 1000:7.1f} ms"
              f"  min {stat(name, 0, min) * 1000:7.1f} ms   CPU median {stat(name, 1, statistics.median) * 1000:7.1f} ms"
              f"  min {stat(name, 1, min) * 1000:7.1f} ms")
    ok = True
    for name in ("+1 pydantic model", *COMMANDS):
        ratio = stat(name, 1, statistics.median) / stat("bare imports", 1, statistics.median)
        if name in COMMANDS:
            ok &= ratio <= TARGET
        print(f"{name:<17} CPU-time ratio {ratio:.2f} ({f'target <= {TARGET}' if name in COMMANDS else 'reference'}; "
              f"of the minimums {stat(name, 1, min) / stat('bare imports', 1, min):.2f}, "
              f"wall medians {stat(name, 0, statistics.median) / stat('bare imports', 0, statistics.median):.2f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
