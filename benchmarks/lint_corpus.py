"""Precision and recall of `vllmkube lint` on real-world manifests (tests/lint_corpus).

    python3 benchmarks/lint_corpus.py [--corpus tests/lint_corpus] [--schemas ../shared/schemas] [-v]

The whole corpus is linted in one folder run (as CI lints a repository), then scored against
tests/lint_corpus/key.yaml:
  recall     expected problems that lint reports (any severity, on that file, rule and object)
  precision  warnings and errors that are expected, over all warnings and errors
  false      findings the key forbids (must_not), and errors the key does not expect
Info findings are advice: they count for recall but not against precision; so does
schema-unknown-kind (no schema for a CRD: a notice about lint's coverage). Key entries marked
`schema: true` are scored only with --schemas.
tests/test_lint_corpus.py asserts no crash, no false error and recall >= 85%.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from vllmkube.lint import LintOptions, collect, lint
from vllmkube.lint.findings import Finding, Severity

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "lint_corpus"


@dataclass(frozen=True)
class Entry:
    file: str
    rule: str
    object: str | None  # Kind/name, "-" for the file itself, None for any object
    severity_above: Severity | None = None  # must_not only: the rule is fine at this severity or below
    why: str = ""
    schema: bool = False  # found by the schema layer only (scored when schemas are given)

    def matches(self, f: Finding, rel: str) -> bool:
        if rel != self.file or not self.rule or f.rule != self.rule:
            return False
        if self.object not in (None, "-") and f"{f.kind}/{f.name}" != self.object:
            return False
        return self.severity_above is None or f.severity > self.severity_above


@dataclass
class Score:
    files: int
    findings: list[tuple[str, Finding]]
    expected: list[Entry]
    found: list[Entry] = field(default_factory=list)
    missed: list[Entry] = field(default_factory=list)
    true: list[tuple[str, Finding]] = field(default_factory=list)
    unexpected: list[tuple[str, Finding]] = field(default_factory=list)
    forbidden: list[tuple[str, Finding, Entry]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.expected) if self.expected else 1.0

    @property
    def precision(self) -> float:
        loud = len(self.true) + len(self.unexpected)
        return len(self.true) / loud if loud else 1.0

    @property
    def false_errors(self) -> list[tuple[str, Finding]]:
        forbidden = [(rel, f) for rel, f, _ in self.forbidden if f.severity == Severity.ERROR]
        return forbidden + [(rel, f) for rel, f in self.unexpected if f.severity == Severity.ERROR]


def load_key(corpus: Path) -> tuple[list[Entry], list[Entry]]:
    from ruamel.yaml import YAML

    key = YAML(typ="safe", pure=True).load((corpus / "key.yaml").read_text(encoding="utf-8")) or {}
    expect, must_not = [], []
    for file, body in key.items():
        for kind, out in (("expect", expect), ("must_not", must_not)):
            for e in (body or {}).get(kind) or []:
                above = Severity.parse(e["severity_above"]) if e.get("severity_above") else None
                out.append(Entry(file, e.get("rule") or "", e.get("object"), above, e.get("why", ""), bool(e.get("schema"))))
    return expect, must_not


# A notice about lint's own coverage (no schema for a CRD), not a claim about the manifest.
COVERAGE_NOTICES = {"schema-unknown-kind"}


def score(corpus: Path = CORPUS, options: LintOptions = LintOptions(schema=False)) -> Score:
    expect, must_not = load_key(corpus)
    expect = [e for e in expect if options.schema and options.schema_locations or not e.schema]
    sources = [s for s in collect([str(corpus)], lambda: "") if Path(s.name).name != "key.yaml"]
    result = lint(sources, options)
    rel = {s.name: Path(s.name).relative_to(corpus).as_posix() for s in sources}
    findings = [(rel.get(f.file, f.file), f) for f in result.findings]
    s = Score(len(sources), findings, expect)
    for e in expect:
        (s.found if any(e.matches(f, r) for r, f in findings) else s.missed).append(e)
    for r, f in findings:
        banned = next((e for e in must_not if e.matches(f, r)), None)
        if banned is not None:
            s.forbidden.append((r, f, banned))
        if f.severity < Severity.WARNING or f.rule in COVERAGE_NOTICES:
            continue
        if banned is None and any(e.matches(f, r) for e in expect):
            s.true.append((r, f))
        else:
            s.unexpected.append((r, f))
    return s


def report(s: Score, verbose: bool = False) -> str:
    lines = [f"corpus: {s.files} files, {len(s.findings)} findings, {len(s.expected)} expected problems",
             f"recall    {s.recall:6.1%}  ({len(s.found)}/{len(s.expected)} expected problems reported)",
             f"precision {s.precision:6.1%}  ({len(s.true)}/{len(s.true) + len(s.unexpected)} warnings and errors expected)",
             f"false errors {len(s.false_errors)}, forbidden findings {len(s.forbidden)}"]
    for e in s.missed:
        lines.append(f"  missed      {e.file}: {e.rule or '(no rule)'} {e.object or ''}  {e.why}")
    for r, f in s.unexpected:
        lines.append(f"  unexpected  {r}:{f.line}: {f.severity.label} {f.rule} ({f.kind}/{f.name})")
    for r, f, e in s.forbidden:
        lines.append(f"  forbidden   {r}:{f.line}: {f.severity.label} {f.rule} ({f.kind}/{f.name})  {e.why}")
    if verbose:
        lines += [f"  {r}:{f.line}: {f.severity.label} {f.rule} ({f.kind}/{f.name})" for r, f in s.findings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--schemas", help="also validate against these schemas (e.g. ../shared/schemas)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every finding")
    a = p.parse_args(argv)
    options = LintOptions(schema_locations=(a.schemas,)) if a.schemas else LintOptions(schema=False)
    s = score(a.corpus.resolve(), options)
    print(report(s, a.verbose))
    return 0 if not s.false_errors and s.recall >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
