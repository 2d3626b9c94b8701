"""Start-up cost of `vllmkube size` against a bare import of its dependencies.

    python benchmarks/cli_latency.py [runs]

Both commands run in the same session, interleaved, several times; the medians are compared.
Target: ratio <= 1.5.
"""
import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
BASELINE = [sys.executable, "-c", "import typer, jinja2, pydantic, ruamel.yaml, rich"]
SIZE = [sys.executable, "-m", "vllmkube", "size", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100",
        "--output", "json"]


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    once(BASELINE), once(SIZE)  # warm the file cache
    base, size = [], []
    for _ in range(RUNS):
        base.append(once(BASELINE))
        size.append(once(SIZE))
    b, s = statistics.median(base), statistics.median(size)
    print(f"bare imports   median {b * 1000:7.1f} ms   min {min(base) * 1000:7.1f} ms")
    print(f"vllmkube size  median {s * 1000:7.1f} ms   min {min(size) * 1000:7.1f} ms")
    print(f"ratio of minimums {min(size) / min(base):.2f} (the least noisy figure on a busy machine)")
    print(f"ratio {s / b:.2f} (target <= 1.5)")
    return 0 if s / b <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
