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


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    compileall.compile_dir(str(EXAMPLE.parents[2] / "vllmkube"), quiet=1)
    for cmd in (BASELINE, *COMMANDS.values()):
        once(cmd)  # warm the file cache
    times: dict[str, list[float]] = {"bare imports": [], **{name: [] for name in COMMANDS}}
    for _ in range(RUNS):
        times["bare imports"].append(once(BASELINE))
        for name, cmd in COMMANDS.items():
            times[name].append(once(cmd))
    base = times["bare imports"]
    for name, t in times.items():
        print(f"{name:<16} median {statistics.median(t) * 1000:7.1f} ms   min {min(t) * 1000:7.1f} ms")
    ok = True
    for name in COMMANDS:
        t = times[name]
        ratio = statistics.median(t) / statistics.median(base)
        ok &= ratio <= TARGET
        print(f"vllmkube {name:<7} ratio {ratio:.2f} (target <= {TARGET}); ratio of minimums "
              f"{min(t) / min(base):.2f} (the least noisy figure on a busy machine)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
