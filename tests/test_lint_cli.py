"""`vllmkube lint` as users run it: exit codes, the three outputs, options, kubeconform."""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from clirun import run

FIXTURES = Path(__file__).parent / "lint_fixtures"
BAD = str(FIXTURES / "keda-metrictype-mismatch" / "bad.yaml")
GOOD = str(FIXTURES / "keda-metrictype-mismatch" / "good.yaml")
WARN_ONLY = str(FIXTURES / "replicas-with-autoscaler" / "bad.yaml")


def test_exit_codes(capsys, tmp_path):
    assert run(capsys, "lint", "--no-schema", GOOD).code == 0
    bad = run(capsys, "lint", "--no-schema", BAD)
    assert bad.code == 1
    # file:LINE:COL first, as compilers print it: editors and CI annotations jump to the line
    assert bad.out.splitlines()[0].startswith(f"{BAD}:55:7: error keda-metrictype-mismatch: ")
    assert bad.out.splitlines()[0].endswith(" [document 2: spec.triggers[0]]")
    assert bad.out.splitlines()[1].startswith("  fix: ")
    assert "error(s)" in bad.err and "keda" not in bad.err
    # an unparsable file is a finding on that file (exit 1), and the files next to it are still linted
    (tmp_path / "broken.yaml").write_text("kind: [Deployment,\n")
    shutil.copy(BAD, tmp_path / "stack.yaml")
    r = run(capsys, "lint", "--no-schema", str(tmp_path))
    assert r.code == 1 and "Traceback" not in r.err
    assert r.out.startswith(f"{tmp_path / 'broken.yaml'}:2:1: error yaml-invalid: not valid YAML")
    assert "stack.yaml:55:7: error keda-metrictype-mismatch" in r.out
    assert run(capsys, "lint", "--output", "xml", GOOD).code == 2
    assert run(capsys, "lint", "--disable", "no-such-rule", GOOD).code == 2


def test_fail_on_threshold(capsys):
    assert run(capsys, "lint", "--no-schema", WARN_ONLY).code == 0
    assert run(capsys, "lint", "--no-schema", "--fail-on", "warning", WARN_ONLY).code == 1
    assert run(capsys, "lint", "--no-schema", "--fail-on", "never", BAD).code == 0
    assert run(capsys, "lint", "--no-schema", "--disable", "keda-metrictype-mismatch", BAD).code == 0


def test_stdin(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(Path(BAD).read_text()))
    r = run(capsys, "lint", "--no-schema", "-")
    assert r.code == 1 and r.out.startswith("stdin:55:7: error keda-metrictype-mismatch")


def test_json_output(capsys):
    r = run(capsys, "lint", "--no-schema", "-o", "json", BAD)
    body = json.loads(r.out)
    assert body["schema_version"] == 1
    assert body["summary"] == {"files": 1, "documents": 2, "info": 0, "warning": 0, "error": 3}
    first = body["findings"][0]
    assert (first["rule"], first["severity"], first["document"], first["kind"], first["path"]) == (
        "keda-metrictype-mismatch", "error", 2, "ScaledObject", "spec.triggers[0]")
    assert (first["line"], first["column"]) == (55, 7) and first["fix"]  # the "- type: prometheus" line


def test_sarif_output(capsys):
    r = run(capsys, "lint", "--no-schema", "-o", "sarif", BAD)
    sarif = json.loads(r.out)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    rules = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    assert "keda-metrictype-mismatch" in rules and "startup-probe-budget" in rules
    result = run_["results"][0]
    assert result["ruleId"] == "keda-metrictype-mismatch" and result["level"] == "error"
    assert rules[result["ruleIndex"]] == "keda-metrictype-mismatch"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == BAD and loc["region"] == {"startLine": 55, "startColumn": 7}


def test_folder_with_schema_location(capsys, shared_dir, tmp_path):
    (tmp_path / "deploy").mkdir()
    shutil.copy(BAD, tmp_path / "deploy" / "stack.yaml")
    (tmp_path / "deploy" / "README.md").write_text("not linted")
    r = run(capsys, "lint", str(tmp_path), "--schema-location", str(shared_dir / "schemas"))
    assert r.code == 1
    assert {line.split(": ")[1].split()[1] for line in r.out.splitlines() if not line.startswith("  ")} == {
        "keda-metrictype-mismatch"}


# ----------------------------------------------------------------------------- kubeconform
FAKE = r'''#!{python}
import json, sys
text = sys.stdin.read()
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
res = []
if "replica: 1" in text:
    res.append({{"filename": "stdin", "kind": "Deployment", "name": "llm", "version": "apps/v1",
                "status": "statusInvalid", "msg": "problem validating schema",
                "validationErrors": [{{"path": "/spec", "msg": "additional properties 'replica' not allowed"}}]}})
print(json.dumps({{"resources": res}}))
sys.exit(1 if res else 0)
'''


@pytest.fixture
def fake_kubeconform(tmp_path, monkeypatch):
    log = tmp_path / "args.log"
    binary = tmp_path / "bin" / "kubeconform"
    binary.parent.mkdir()
    binary.write_text(FAKE.format(python=sys.executable, log=str(log)))
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_kubeconform_verdict_is_merged(capsys, fake_kubeconform, tmp_path):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    bad = str(FIXTURES / "schema-invalid" / "bad.yaml")
    r = run(capsys, "lint", "--kubeconform", "--schema-location", str(schemas), "--kubernetes-version", "1.30", bad)
    assert r.code == 1
    assert (": error kubeconform: kubeconform: additional properties 'replica' not allowed [document 1: spec]\n"
            "  fix: fix the document to match the schema") in r.out
    assert r.out.startswith(f"{bad}:")
    args = json.loads(fake_kubeconform.read_text().splitlines()[0])
    assert args[:5] == ["-output", "json", "-strict", "-kubernetes-version", "1.30.0"]
    assert args[5:9] == ["-schema-location", str(schemas), "-schema-location",
                         f"{schemas}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"]
    good = run(capsys, "lint", "--kubeconform", str(FIXTURES / "schema-invalid" / "good.yaml"))
    assert good.code == 0 and "kubeconform" not in good.out


def test_kubeconform_missing_is_unusable_input(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = run(capsys, "lint", "--kubeconform", GOOD)
    assert r.code == 2 and "kubeconform is not on PATH" in r.err


@pytest.mark.skipif(shutil.which("kubeconform") is None, reason="kubeconform not installed")
def test_real_kubeconform_agrees(capsys, shared_dir):
    loc = str(shared_dir / "schemas")
    good = run(capsys, "lint", "--kubeconform", "--schema-location", loc, str(FIXTURES / "schema-invalid" / "good.yaml"))
    assert good.code == 0, good.out
    bad = run(capsys, "lint", "--kubeconform", "--schema-location", loc, str(FIXTURES / "schema-invalid" / "bad.yaml"))
    assert bad.code == 1 and " kubeconform: " in bad.out
