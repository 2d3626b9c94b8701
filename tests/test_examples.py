"""Golden examples: every examples/*/vllmkube.yaml renders to its committed rendered.yaml, and every
document validates strictly. Regenerate with `python examples/regenerate.py` and review the diff."""
import importlib.util
from pathlib import Path

import pytest

from k8s_validate import is_core, plain, validate_core, validate_crd
from vllmkube.yamlio import load_all

ROOT = Path(__file__).resolve().parent.parent
SERVING = sorted(p.parent for p in (ROOT / "examples").glob("*/vllmkube.yaml"))
BATCH = sorted(p.parent for p in (ROOT / "examples").glob("*/batch.yaml"))  # `vllmkube batch -f batch.yaml`
EXAMPLES = sorted(SERVING + BATCH)


def _regen():
    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "examples" / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_at_least_four_examples():
    assert len(SERVING) >= 4 and len(BATCH) >= 1


def test_regenerate_finds_every_example():
    assert _regen().examples() == EXAMPLES


@pytest.mark.parametrize("folder", BATCH, ids=lambda p: p.name)
def test_batch_example_estimate_matches_golden(folder):
    golden = folder / "estimate.txt"
    assert golden.is_file(), f"missing {golden}: run python examples/regenerate.py"
    assert _regen().render_batch(folder)[1] == golden.read_text(), "drifted: run python examples/regenerate.py and review"


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_golden(folder):
    golden = folder / "rendered.yaml"
    assert golden.is_file(), f"missing {golden}: run python examples/regenerate.py"
    assert _regen().render_example(folder) == golden.read_text(), "drifted: run python examples/regenerate.py and review"


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_example_core_kinds_validate_strictly(folder):
    docs = [plain(d) for d in load_all((folder / "rendered.yaml").read_text())]
    errors = [e for d in docs if is_core(d) for e in validate_core(d)]
    assert not errors, errors


@pytest.mark.parametrize("folder", SERVING, ids=lambda p: p.name)
def test_example_custom_resources_validate(folder, shared_dir):
    docs = [plain(d) for d in load_all((folder / "rendered.yaml").read_text())]
    crds = [d for d in docs if not is_core(d)]
    assert crds, "expected KEDA and prometheus-operator resources"
    errors = [e for d in crds for e in validate_crd(shared_dir / "schemas", d)]
    assert not errors, errors
