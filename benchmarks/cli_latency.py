"""Start-up cost of `vllmkube size` and `vllmkube render` against a bare import of their dependencies.

    python benchmarks/cli_latency.py [runs]

The three commands run in the same session, interleaved, several times; the medians are compared.
Target: each ratio <= 1.5. `render` renders, parses back and checks every document of a real
example (examples/h100-llama-3.1-8b-slo), so a slow check or template step shows here.

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
    for cmd in (BASELINE, *COMMANDS.values()):
        once(cmd)  # warm the file cache (and the compiled-template cache)
    times: dict[str, list[tuple[float, float]]] = {"bare imports": [], **{name: [] for name in COMMANDS}}
    for _ in range(RUNS):
        times["bare imports"].append(once(BASELINE))
        for name, cmd in COMMANDS.items():
            times[name].append(once(cmd))

    def median(name: str, i: int) -> float:  # i: 0 wall, 1 CPU
        return statistics.median(t[i] for t in times[name])

    for name, t in times.items():
        print(f"{name:<16} median {median(name, 0) * 1000:7.1f} ms   min {min(x[0] for x in t) * 1000:7.1f} ms"
              f"   CPU median {median(name, 1) * 1000:7.1f} ms")
    ok = True
    for name in COMMANDS:
        ratio = median(name, 0) / median("bare imports", 0)
        ok &= ratio <= TARGET
        print(f"vllmkube {name:<7} ratio {ratio:.2f} (target <= {TARGET}); CPU-time ratio "
              f"{median(name, 1) / median('bare imports', 1):.2f} (steadier on a busy machine)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
