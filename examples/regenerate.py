"""Regenerate every example's rendered.yaml from its vllmkube.yaml (or, for a batch example, its
batch.yaml: rendered.yaml plus estimate.txt, what `vllmkube batch` prints on stderr):

    python examples/regenerate.py

Review the diff before committing: tests/test_examples.py fails when an output drifts.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = "batch.yaml"  # `vllmkube batch -f batch.yaml` instead of `vllmkube render -f vllmkube.yaml`


def render_example(folder: Path) -> str:
    from vllmkube.render import to_stream
    from vllmkube.spec import RenderSpec, build
    from vllmkube.workflow import load_config, plan_render

    if (folder / BATCH).is_file():
        return render_batch(folder)[0]
    plan, docs = plan_render(build(RenderSpec, load_config(str(folder / "vllmkube.yaml"))))
    return to_stream(plan, docs)


def render_batch(folder: Path) -> tuple[str, str]:
    """(rendered.yaml, estimate.txt) of a batch example."""
    from vllmkube.batch import BatchSpec, plan_batch
    from vllmkube.render import to_stream
    from vllmkube.spec import build
    from vllmkube.workflow import load_config

    plan, docs, estimate = plan_batch(build(BatchSpec, load_config(str(folder / BATCH))))
    return to_stream(plan, docs), "\n".join(estimate) + "\n"


def examples() -> list[Path]:
    return sorted({p.parent for name in ("vllmkube.yaml", BATCH) for p in HERE.glob(f"*/{name}")})


if __name__ == "__main__":
    for folder in examples():
        (folder / "rendered.yaml").write_text(render_example(folder), encoding="utf-8")
        print(f"wrote {folder.relative_to(HERE.parent)}/rendered.yaml", file=sys.stderr)
        if (folder / BATCH).is_file():
            (folder / "estimate.txt").write_text(render_batch(folder)[1], encoding="utf-8")
            print(f"wrote {folder.relative_to(HERE.parent)}/estimate.txt", file=sys.stderr)
