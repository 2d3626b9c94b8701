"""The schema layer: core kinds (kubernetes-validate), CRDs from schema locations, URL cache."""
from __future__ import annotations

import io
import re
import urllib.error

import pytest

from vllmkube.errors import InputError
from vllmkube.lint import LintOptions, lint_text
from vllmkube.lint.schema import Schemas, re2_to_python, template_values

WIDGET = """apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: ai}
spec: {size: %s}
"""
WIDGET_SCHEMA = b'{"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}'


def test_re2_inline_flag_is_rewritten_to_a_scoped_group():
    fixed = re2_to_python("^(?i)(abort|warn)?$")
    assert fixed == "^(?i:(abort|warn)?$)"
    assert [bool(re.search(fixed, s)) for s in ("ABORT", "warn", "", "abortx")] == [True, True, True, False]
    assert re2_to_python("(?i)^x$") == "(?i)^x$"


def test_template_values_follow_kubeconform():
    assert template_values("apps/v1", "Deployment", "1.31.0") == {
        "NormalizedKubernetesVersion": "v1.31.0", "StrictSuffix": "-strict", "ResourceKind": "deployment",
        "ResourceAPIVersion": "v1", "Group": "apps", "KindSuffix": "-apps-v1"}
    assert template_values("networking.k8s.io/v1", "NetworkPolicy", "1.31.0")["KindSuffix"] == "-networking-v1"
    assert template_values("v1", "Service", "1.31.0")["KindSuffix"] == "-v1"


def test_prometheusrule_pattern_is_enforced_after_the_rewrite(shared_dir):
    rule = """apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: r, namespace: ai}
spec:
  groups:
    - name: g
      partial_response_strategy: %s
      rules: [{record: "a:b", expr: "vector(1)"}]
"""
    options = LintOptions(schema_locations=(str(shared_dir / "schemas"),))
    assert lint_text(rule % "Warn", options=options).findings == []
    (bad,) = lint_text(rule % "bogus", options=options).findings
    assert (bad.rule, bad.path) == ("schema-invalid", "spec.groups[0].partial_response_strategy")


def test_kubernetes_version_picks_bundled_schemas_and_rejects_others():
    assert Schemas("1.31").core_version == "1.31.0"
    assert Schemas("v1.33.2").core_version == "1.33.0"
    for bad in ("1.20", "1.99", "latest"):
        with pytest.raises(InputError, match="--kubernetes-version"):
            Schemas(bad)


def test_bad_schema_locations_are_unusable_input(tmp_path):
    with pytest.raises(InputError, match="neither a folder"):
        Schemas(locations=(str(tmp_path / "missing"),))
    with pytest.raises(InputError, match="unknown template field"):
        Schemas(locations=("https://x/{{ .Nope }}.json",))


def test_file_url_template_is_fetched_and_cached_on_disk(tmp_path):
    (tmp_path / "schemas" / "example.com").mkdir(parents=True)
    schema_file = tmp_path / "schemas" / "example.com" / "widget_v1.json"
    schema_file.write_bytes(WIDGET_SCHEMA)
    template = f"file://{tmp_path}/schemas/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"
    options = LintOptions(schema_locations=(template,), schema_cache=tmp_path / "cache")
    assert lint_text(WIDGET % 3, options=options).findings == []
    schema_file.unlink()  # from now on only the cache has it
    (bad,) = lint_text(WIDGET % '"three"', options=options).findings
    assert (bad.rule, bad.path, bad.message) == ("schema-invalid", "spec.size", '"three" is not of type integer')
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_http_schema_is_fetched_once(tmp_path, monkeypatch):
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        if "widget" not in url:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(WIDGET_SCHEMA)

    monkeypatch.setattr("urllib.request.urlopen", fake_urlopen)
    options = LintOptions(schema_locations=("https://schemas.example/crds",), schema_cache=tmp_path)
    assert lint_text(WIDGET % 3, options=options).findings == []
    assert calls == ["https://schemas.example/crds/example.com/widget_v1.json"]
    assert lint_text(WIDGET % 3, options=options).findings == []
    assert len(calls) == 1  # the second run read the disk cache
    gadget = WIDGET.replace("Widget", "Gadget") % 3
    (unknown,) = lint_text(gadget, options=options).findings
    assert unknown.rule == "schema-unknown-kind"


def test_unreachable_schema_host_is_unusable_input(tmp_path, monkeypatch):
    def down(url, timeout):
        raise urllib.error.URLError(ConnectionRefusedError("refused"))

    monkeypatch.setattr("urllib.request.urlopen", down)
    with pytest.raises(InputError, match="cannot fetch"):
        lint_text(WIDGET % 3, options=LintOptions(schema_locations=("https://down.example",), schema_cache=tmp_path))
