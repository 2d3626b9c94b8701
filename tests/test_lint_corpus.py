"""`vllmkube lint` on real-world manifests (tests/lint_corpus, sources in each file's first
comment), scored against the expert key tests/lint_corpus/key.yaml by benchmarks/lint_corpus.py:
no crash, no false error, recall of the key's problems >= 85%."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "lint_corpus"


def _bench():
    spec = importlib.util.spec_from_file_location("lint_corpus_bench", REPO / "benchmarks" / "lint_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scored():
    bench = _bench()
    s = bench.score(CORPUS)
    print("\n" + bench.report(s))  # pytest -s shows precision and recall
    return bench, s


def test_the_corpus_is_real_world_and_cites_its_sources():
    files = sorted(p for p in CORPUS.rglob("*.yaml") if p.name != "key.yaml")
    cases = {p.relative_to(CORPUS).parts[0] for p in files}
    assert len(cases) >= 15, "the issue asks for at least 15 real-world manifests"
    for p in files:
        assert p.read_text(encoding="utf-8").startswith("# Source: "), f"{p.name} does not start with its source"


def test_every_key_entry_names_a_corpus_file_and_a_known_rule(scored):
    bench, _ = scored
    from vllmkube.lint.ruleset import RULES

    expect, must_not = bench.load_key(CORPUS)
    for e in expect + must_not:
        assert (CORPUS / e.file).is_file(), e.file
        assert e.rule in RULES or (not e.rule and e in expect), e.rule  # rule: null = a problem no rule covers


def test_no_crash_every_file_linted_every_finding_located(scored):
    _, s = scored
    assert s.files == len([p for p in CORPUS.rglob("*.yaml") if p.name != "key.yaml"])
    assert all(f.line and f.file for _, f in s.findings)


def test_no_false_error_and_nothing_the_key_forbids(scored):
    bench, s = scored
    assert s.false_errors == [] and s.forbidden == [], bench.report(s)


def test_recall_and_precision(scored):
    bench, s = scored
    assert s.recall >= 0.85, bench.report(s)
    assert s.precision >= 0.85, bench.report(s)


def test_with_crd_schemas_too(shared_dir):
    """The schema layer adds no false error on real-world manifests (KServe's docs sample breaks its CRD)."""
    from vllmkube.lint import LintOptions

    bench = _bench()
    s = bench.score(CORPUS, LintOptions(schema_locations=(str(shared_dir / "schemas"),)))
    assert s.false_errors == [] and s.forbidden == [], bench.report(s)
    assert s.recall >= 0.85 and s.precision >= 0.85, bench.report(s)
