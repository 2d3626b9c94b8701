"""`render --output-dir` owns only what it wrote; `-o` is the format, as in kubectl."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clirun import run
from vllmkube import outdir
from vllmkube.yamlio import load_all

THEIRS = {"ingress.yaml": "apiVersion: networking.k8s.io/v1\nkind: Ingress\n",
          "patch-cache.yaml": "- op: add\n  path: /spec\n", "vllmkube.yaml": "model: x\n", "notes.txt": "mine\n"}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def render_into(capsys, folder: Path, model: str, *extra: str):
    return run(capsys, "render", "-m", model, "-g", "h100", "--hf-token-secret", "hf", "--output-dir", str(folder), *extra)


def test_rerender_keeps_other_files_and_removes_its_own_stale_ones(tmp_path, capsys):
    out = tmp_path / "deploy"
    out.mkdir()
    for name, text in THEIRS.items():
        (out / name).write_text(text)
    first = render_into(capsys, out, "llama-3.1-8b")
    assert first.code == 0, first.err
    old_own = set(outdir.read_record(out))
    assert "deployment-llama-3-1-8b-instruct.yaml" in old_own and "kustomization.yaml" in old_own

    second = render_into(capsys, out, "qwen3-8b")  # another model: every file name changes
    assert second.code == 0, second.err
    files = snapshot(out)
    for name, text in THEIRS.items():
        assert files[name] == text.encode(), f"{name} was touched"
    new_own = set(outdir.read_record(out))
    assert "deployment-qwen3-8b.yaml" in new_own
    stale = old_own - new_own
    assert stale and not any((out / name).exists() for name in stale)
    assert set(files) == set(THEIRS) | new_own | {outdir.RECORD}
    kust = load_all((out / "kustomization.yaml").read_text())[0]
    assert sorted(kust["resources"]) == sorted(new_own - {"kustomization.yaml"})


def test_init_then_render_into_the_same_folder_keeps_the_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "init", "-m", "llama-3.1-8b", "-g", "h100").code == 0
    config = Path("vllmkube.yaml").read_bytes()
    for _ in range(2):
        r = run(capsys, "render", "-f", "vllmkube.yaml", "-d", ".", "--hf-token-secret", "hf")
        assert r.code == 0, r.err
    assert Path("vllmkube.yaml").read_bytes() == config


def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "kustomization.yaml").write_text("resources: [ingress.yaml]\n")
    before = snapshot(out)
    r = render_into(capsys, out, "llama-3.1-8b")
    assert (r.code, r.out) == (2, "")
    assert len(r.err.strip().splitlines()) == 1 and "kustomization.yaml" in r.err and "--force" in r.err
    assert snapshot(out) == before  # nothing written, not even the other files
    forced = render_into(capsys, out, "llama-3.1-8b", "--force")
    assert forced.code == 0 and "deployment-llama-3-1-8b-instruct.yaml" in (out / "kustomization.yaml").read_text()


def test_refuses_when_its_own_file_was_edited(tmp_path, capsys):
    out = tmp_path / "deploy"
    assert render_into(capsys, out, "llama-3.1-8b").code == 0
    svc = out / "service-llama-3-1-8b-instruct.yaml"
    svc.write_text(svc.read_text() + "# hand edit\n")
    r = render_into(capsys, out, "llama-3.1-8b")
    assert r.code == 2 and "edited" in r.err and svc.read_text().endswith("# hand edit\n")
    # an edited file that the next render no longer produces is never deleted, even with --force
    r = render_into(capsys, out, "qwen3-8b", "--force")
    assert r.code == 2 and "edited" in r.err and svc.exists()


def test_an_unchanged_render_is_idempotent(tmp_path, capsys):
    out = tmp_path / "deploy"
    assert render_into(capsys, out, "llama-3.1-8b").code == 0
    before = snapshot(out)
    assert render_into(capsys, out, "llama-3.1-8b").code == 0
    assert snapshot(out) == before


def test_failed_write_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    files = {"a.yaml": "a: 1\n", "b.yaml": "b: 2\n", "kustomization.yaml": "resources: []\n"}
    real_write = Path.write_text
    calls = []

    def failing_write(self, *args, **kwargs):
        calls.append(self.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(Exception) as err:
        outdir.apply(out, outdir.plan(out, files))
    assert "No space left" in str(err.value)
    assert sorted(os.listdir(out)) == ["mine.txt"]  # no temp files, no partial set


def test_a_record_cannot_point_outside_the_folder(tmp_path):
    out = tmp_path / "deploy"
    out.mkdir()
    victim = tmp_path / "victim.yaml"
    victim.write_text("x")
    (out / outdir.RECORD).write_text(f"{outdir.digest('x')}  ../victim.yaml\n")
    outdir.apply(out, outdir.plan(out, {"a.yaml": "a: 1\n"}))
    assert victim.exists()


def test_output_is_a_format_and_the_folder_has_its_own_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yaml_out = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100")
    json_out = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", "json")
    assert json_out.code == 0 and not Path("json").exists()
    body = json.loads(json_out.out)
    assert (body["apiVersion"], body["kind"]) == ("v1", "List")
    assert body["items"] == load_all(yaml_out.out)
    bad = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", "deploy")
    assert (bad.code, bad.out) == (2, "") and "--output-dir" in bad.err and not Path("deploy").exists()
    file = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", "out.yaml")
    assert file.code == 2 and "> out.yaml" in file.err and not Path("out.yaml").exists()
    both = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", "json", "-d", "deploy")
    assert both.code == 2 and not Path("deploy").exists()


def test_old_spelling_of_the_folder_still_works_with_a_warning(tmp_path, capsys):
    out = tmp_path / "deploy"
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", str(out))
    assert r.code == 0 and r.out == ""
    assert "deprecated" in r.err and "--output-dir" in r.err
    assert (out / "kustomization.yaml").exists()
