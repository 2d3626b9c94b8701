"""The Finding model and its three outputs: text (people), JSON (scripts), SARIF (code scanning).

Text is one line per finding, ``file:LINE:COLUMN: severity rule-id: message [document N: field.path]``
(the shape compilers print, so editors and CI annotations jump to the line), and an indented
one-line fix hint under it. ``document`` is the 1-based position of the document in its file (empty
documents are not counted). JSON and SARIF carry the same line and column.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Iterable, Sequence

SCHEMA_VERSION = 1
DOCS_URL = "https://github.com/vllmkube/vllmkube/blob/main/docs/lint-rules.md"


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.strip().upper()]


@dataclass(frozen=True)
class Finding:
    file: str
    document: int
    path: str
    severity: Severity
    rule: str
    message: str
    fix: str = ""
    line: int | None = None
    kind: str = ""
    name: str = ""
    column: int | None = None

    def location(self) -> str:
        """``file:line:col``, or ``file`` alone when the finding has no place in the text."""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def output_line(self) -> str:
        head = f"{self.location()}: {self.severity.label} {self.rule}: {self.message} [document {self.document}: {self.path}]"
        return head + (f"\n  fix: {self.fix}" if self.fix else "")

    def text(self) -> str:
        """Where and what by document and field path (rule fixtures compare this)."""
        head = f"{self.file}:{self.document}:{self.path}: {self.severity.label} {self.rule}: {self.message}"
        return head + (f"\n  fix: {self.fix}" if self.fix else "")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.label
        return d


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Sequence[str | int]) -> str:
    """``("spec", "containers", 0, "args")`` -> ``spec.containers[0].args``; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += ("." if out else "") + part
        else:
            out += "[" + json.dumps(part) + "]"
    return out or "(document)"


def sort_key(f: Finding, order: dict[str, int]) -> tuple:
    return (order.get(f.file, len(order)), f.file, f.document, f.line or 0, f.path, f.rule, f.message)


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    c = {s.label: 0 for s in Severity}
    for f in findings:
        c[f.severity.label] += 1
    return c


def to_text(findings: Sequence[Finding]) -> str:
    return "".join(f.output_line() + "\n" for f in findings)


def to_json(findings: Sequence[Finding], files: int, documents: int) -> str:
    body = {
        "schema_version": SCHEMA_VERSION,
        "summary": {"files": files, "documents": documents, **counts(findings)},
        "findings": [f.as_dict() for f in findings],
    }
    return json.dumps(body, indent=2) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def to_sarif(findings: Sequence[Finding], rules: Iterable, tool_version: str) -> str:
    """SARIF 2.1.0: one run, every rule described, one result per finding."""
    rule_list = list(rules)
    index = {r.id: i for i, r in enumerate(rule_list)}
    results = []
    for f in findings:
        location: dict = {"physicalLocation": {"artifactLocation": {"uri": f.file}}}
        if f.line:
            location["physicalLocation"]["region"] = {"startLine": f.line, "startColumn": f.column or 1}
        location["logicalLocations"] = [{"fullyQualifiedName": f"document {f.document}: {f.path}", "kind": "object"}]
        result = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
            "locations": [location],
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    driver = {
        "name": "vllmkube-lint",
        "version": tool_version,
        "informationUri": DOCS_URL,
        "rules": [{
            "id": r.id,
            "name": r.id,
            "shortDescription": {"text": r.title},
            "helpUri": f"{DOCS_URL}#{r.id}",
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
        } for r in rule_list],
    }
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
    return json.dumps(sarif, indent=2) + "\n"
