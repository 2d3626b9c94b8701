"""How long `vllmkube lint` takes on 20 rendered documents, after start-up.

    python3 benchmarks/lint_speed.py [--repeat 20] [--schemas ../shared/schemas]

Renders two releases (8B on L4, 70B on H100; 22 documents), keeps the first 20, and times:
  cold   the first lint in a fresh process (imports done; schemas loaded and compiled)
  warm   later lints in the same process (median of --repeat runs)
  cli    `vllmkube lint FILE` end to end in a new process (interpreter start-up included)
With ../shared/schemas present the CRDs are validated too; without, the CRD kinds are reported unknown.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vllmkube.lint import LintOptions, lint_text
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render

DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"


def twenty_documents() -> str:
    docs = []
    for values in ({"model": "llama-3.1-8b", "gpu": "l4"},
                   {"model": "llama-3.1-70b", "gpu": "h100-80gb", "monitor": "podmonitor", "name": "llama-70b"}):
        plan, rendered = plan_render(build(RenderSpec, values))
        docs += rendered
    docs = docs[:20]
    return "".join("---\n" + d.text for d in docs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--schemas", default=str(DEFAULT_SCHEMAS))
    args = ap.parse_args()
    locations = (args.schemas,) if Path(args.schemas).is_dir() else ()
    options = LintOptions(schema_locations=locations)
    text = twenty_documents()

    t0 = time.perf_counter()
    result = lint_text(text, "bench.yaml", options)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        lint_text(text, "bench.yaml", options)
        warm.append(time.perf_counter() - t0)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    cmd = [sys.executable, "-c", "import sys; from vllmkube.cli import main; sys.argv[0] = 'vllmkube'; main()",
           "lint", f.name, "--fail-on", "never"]
    cmd += [x for loc in locations for x in ("--schema-location", loc)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    cli = time.perf_counter() - t0
    Path(f.name).unlink()

    print(f"documents: {result.documents}, findings: {result.counts}, CRD schemas: {'yes' if locations else 'no'}")
    print(f"cold (first lint in the process): {cold * 1000:7.1f} ms")
    print(f"warm (median of {args.repeat}):          {statistics.median(warm) * 1000:7.1f} ms "
          f"(min {min(warm) * 1000:.1f}, max {max(warm) * 1000:.1f})")
    print(f"cli end to end (new process):     {cli * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
