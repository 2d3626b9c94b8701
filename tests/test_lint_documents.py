"""Reading inputs: files, folders, stdin, multi-document streams, Lists, Kustomize, line numbers."""
from __future__ import annotations

import pytest

from vllmkube.errors import InputError
from vllmkube.lint import LintOptions, Source, collect, lint, lint_text
from vllmkube.lint.documents import parse

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: ai
data:
  k: v
"""


def test_multi_document_stream_numbers_documents_and_lines():
    text = "# header\n---\n" + CM.format(name="a") + "---\n---\n" + CM.format(name="b").replace("k: v", "k: v\n  k: w")
    docs, findings = parse(Source("x.yaml", text))
    assert [(d.index, d.name) for d in docs] == [(1, "a"), (2, "b")]
    assert [f.text() for f in findings] == [
        "x.yaml:2:data.k: error yaml-duplicate-key: key 'k' appears again (first on line 18); tools disagree on which "
        "value wins\n  fix: keep one of the two entries"]
    assert findings[0].line == 19
    assert docs[1].line(("data", "k")) == 18


def test_v1_list_items_become_objects_with_their_path():
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "  - " + CM.format(name=n).replace("\n", "\n    ").rstrip() + "\n" for n in ("a", "b"))
    docs, _ = parse(Source("list.yaml", text))
    assert [(d.index, d.name, d.where(("data",))) for d in docs] == [(1, "a", "items[0].data"), (1, "b", "items[1].data")]


def test_yaml11_boolean_is_judged_as_kubectl_reads_it():
    result = lint_text(CM.format(name="a").replace("k: v", "k: on"))
    assert [(f.rule, f.path) for f in result.findings] == [("schema-invalid", "data.k"), ("yaml11-boolean", "data.k")]
    assert "true is not of type string" in result.findings[0].message


def test_folder_walk_skips_kustomization_and_hidden(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "cm.yaml").write_text(CM.format(name="a"))
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("not: [valid")
    (tmp_path / "notes.txt").write_text("ignored")
    sources = collect([str(tmp_path)], lambda: "")
    assert [s.name for s in sources] == [str(tmp_path / "base" / "cm.yaml")]


def test_kustomize_build_output_and_kustomization_kind():
    stream = CM.format(name="a") + "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
    result = lint_text(stream)
    assert result.documents == 1 and result.findings == []


def test_stdin_and_missing_paths():
    assert [s.name for s in collect(["-"], lambda: CM.format(name="a"))] == ["stdin"]
    with pytest.raises(InputError, match="no such file"):
        collect(["/nonexistent/x.yaml"], lambda: "")
    with pytest.raises(InputError, match="nothing to lint"):
        collect([], lambda: "")


def test_invalid_yaml_is_one_finding_with_its_line_and_the_other_documents_are_linted():
    text = "kind: Service\nb: [unclosed\n---\n" + CM.format(name="ok") + "---\nkind: [x\n"
    result = lint([Source("bad.yaml", text), Source("good.yaml", CM.format(name="g"))], LintOptions(schema=False))
    invalid = [(f.file, f.document, f.line) for f in result.findings if f.rule == "yaml-invalid"]
    assert invalid == [("bad.yaml", 1, 3), ("bad.yaml", 3, 13)]
    assert result.documents == 2  # the ConfigMap between the broken documents, and good.yaml
    # not meant for Kubernetes at all (no apiVersion/kind line): skipped with info, not an error
    other = lint([Source("mkdocs.yml", "theme: !!python/name:material.extensions.emoji.twemoji\n")], LintOptions(schema=False))
    assert [(f.rule, f.severity.label) for f in other.findings] == [("not-a-resource", "info")]


def test_template_placeholders_are_a_finding_not_a_crash():
    """`name: {{ .Name }}` parses as a mapping used as a key (unhashable): one finding per document."""
    text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Name }}\n---\n" + CM.format(name="ok")
    result = lint_text(text, "t.yaml", LintOptions(schema=False))
    (f,) = [f for f in result.findings if f.rule == "yaml-invalid"]
    assert (f.document, f.line, f.severity.label) == (1, 4, "error") and "template placeholders" in f.message
    assert result.documents == 1


def test_non_object_documents_are_skipped_with_info():
    result = lint_text("model: llama\ngpu: l4\n")
    assert [(f.rule, f.severity.label) for f in result.findings] == [("not-a-resource", "info")]
