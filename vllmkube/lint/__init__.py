"""`vllmkube lint`: schema layer + vLLM rule layer over anyone's manifests -> findings.

    sources -> documents (YAML findings) -> objects -> schema findings -> Bundle -> rule findings

The same tables `render` uses (metrics, flags, catalog, sizing constants) decide what is
wrong, so everything vllmkube renders lints clean (tests/test_lint_render.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from . import rules
from .bundle import Bundle
from .documents import Source, collect, looks_like_object, parse, resource_problem
from .findings import Finding, Severity, counts, sort_key, to_json, to_sarif, to_text
from .ruleset import RULES
from .schema import DEFAULT_KUBERNETES, Schemas

__all__ = ["LintOptions", "LintResult", "Source", "collect", "lint", "lint_text", "render", "threshold"]
OUTPUTS = ("text", "json", "sarif")
FAIL_ON = ("error", "warning", "info", "never")


@dataclass(frozen=True)
class LintOptions:
    kubernetes_version: str = DEFAULT_KUBERNETES
    schema_locations: tuple[str, ...] = ()
    schema_cache: Path | None = None
    schema: bool = True  # False: vLLM rules only
    kubeconform: str | None = None  # path of the kubeconform binary to run as well
    disabled: frozenset[str] = frozenset()


@dataclass
class LintResult:
    findings: list[Finding]
    files: int
    documents: int
    counts: dict[str, int] = field(default_factory=dict)

    def fails(self, threshold: Severity | None) -> bool:
        return threshold is not None and any(f.severity >= threshold for f in self.findings)


def lint(sources: Sequence[Source], options: LintOptions = LintOptions()) -> LintResult:
    unknown = sorted(set(options.disabled) - set(RULES))
    if unknown:
        raise InputError("--disable", f"unknown rule {', '.join(unknown)}", "see docs/lint-rules.md for the rule ids")
    schemas = Schemas(options.kubernetes_version, options.schema_locations, options.schema_cache) if options.schema else None
    findings: list[Finding] = []
    objects = []
    documents = 0
    for src in sources:
        docs, yaml_findings = parse(src)
        documents += len(docs)
        # YAML findings only for Kubernetes objects: other YAML next to them (CI workflows with
        # their `on:` key, config files) is skipped, not judged.
        meant = {d.index for d in docs if looks_like_object(d)}
        findings += [f for f in yaml_findings if f.document in meant or f.path in ("(file)", "(document)")]
        for doc in docs:
            if not looks_like_object(doc):
                findings.append(doc.finding("not-a-resource", Severity.INFO, (), "not a Kubernetes object "
                                            "(no apiVersion, kind or metadata); skipped", "lint only manifests"))
                continue
            if "metadata" not in doc.data:
                # Chart.yaml, component configs (kind: Configuration), audit policies: apiVersion
                # without metadata is configuration read by a program, not an API object
                findings.append(doc.finding("not-a-resource", Severity.INFO, (), "a configuration document "
                                            "(no metadata), not a Kubernetes object; skipped", "lint only manifests"))
                continue
            problem = resource_problem(doc)
            if problem:
                findings.append(doc.finding("not-a-resource", Severity.ERROR, problem[0], f"the document {problem[1]}",
                                            "every object needs apiVersion, kind and metadata.name"))
                continue
            objects.append(doc)
            if schemas is not None:
                findings += schemas.check(doc)
    if options.kubeconform:
        from . import kubeconform

        findings += kubeconform.run(options.kubeconform, sources, objects, schemas.kubernetes_version if schemas else
                                    DEFAULT_KUBERNETES, options.schema_locations, options.schema_cache)
    bundle = Bundle(objects, frozenset(options.disabled))
    rules.run(bundle)
    findings = [f for f in findings if f.rule not in options.disabled] + bundle.findings
    order = {s.name: i for i, s in enumerate(sources)}
    findings.sort(key=lambda f: sort_key(f, order))
    return LintResult(findings, len(sources), documents, counts(findings))


def lint_text(text: str, name: str = "stdin", options: LintOptions = LintOptions()) -> LintResult:
    """Lint one YAML stream (tests, benchmarks, the render matrix)."""
    return lint([Source(name, text)], options)


def threshold(fail_on: str) -> Severity | None:
    """``--fail-on`` -> the lowest severity that fails the run (None: never)."""
    if fail_on not in FAIL_ON:
        raise InputError("--fail-on", f"{fail_on!r} is not a severity", f"use one of {', '.join(FAIL_ON)}")
    return None if fail_on == "never" else Severity.parse(fail_on)


def render(result: LintResult, output: str, tool_version: str) -> str:
    if output == "json":
        return to_json(result.findings, result.files, result.documents)
    if output == "sarif":
        return to_sarif(result.findings, RULES.values(), tool_version)
    if output == "text":
        return to_text(result.findings)
    raise InputError("--output", f"{output!r} is not an output format", f"use one of {', '.join(OUTPUTS)}")


def summary(result: LintResult) -> str:
    c = result.counts
    return (f"{result.documents} documents in {result.files} file(s): {c['error']} error(s), "
            f"{c['warning']} warning(s), {c['info']} info")
