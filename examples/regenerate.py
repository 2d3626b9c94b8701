"""Regenerate every example's rendered.yaml from its vllmkube.yaml:

    python examples/regenerate.py

Review the diff before committing: tests/test_examples.py fails when an output drifts.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render_example(folder: Path) -> str:
    from vllmkube.render import to_stream
    from vllmkube.spec import RenderSpec, build
    from vllmkube.workflow import load_config, plan_render

    plan, docs = plan_render(build(RenderSpec, load_config(str(folder / "vllmkube.yaml"))))
    return to_stream(plan, docs)


def examples() -> list[Path]:
    return sorted(p.parent for p in HERE.glob("*/vllmkube.yaml"))


if __name__ == "__main__":
    for folder in examples():
        (folder / "rendered.yaml").write_text(render_example(folder), encoding="utf-8")
        print(f"wrote {folder.relative_to(HERE.parent)}/rendered.yaml", file=sys.stderr)
