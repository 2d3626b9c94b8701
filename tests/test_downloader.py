"""The downloader Job's script, run for real with a stand-in huggingface_hub: it downloads once,
skips when the same repository and revision are there, and downloads again for a new revision."""
import os
import subprocess
import sys

from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

FAKE_HUB = '''
import json, os, pathlib
def snapshot_download(repo_id, revision, local_dir, ignore_patterns):
    log = pathlib.Path(os.environ["FAKE_LOG"])
    with log.open("a") as f:
        f.write(json.dumps([repo_id, revision, local_dir, ignore_patterns]) + "\\n")
    (pathlib.Path(local_dir) / "model.safetensors").write_text("weights")
'''


def _job(**values):
    _, docs = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", **values}))
    job = next(load_all(d.text)[0] for d in docs if d.kind == "Job")
    c = job["spec"]["template"]["spec"]["containers"][0]
    return list(c["command"]), {e["name"]: e.get("value", "") for e in c["env"] if "value" in e}


def _run(tmp_path, command, env):
    fake = tmp_path / "fake"
    (fake / "huggingface_hub").mkdir(parents=True, exist_ok=True)
    (fake / "huggingface_hub" / "__init__.py").write_text(FAKE_HUB)
    target = tmp_path / "models" / env["TARGET_DIR"].lstrip("/")
    full = {**os.environ, **env, "TARGET_DIR": str(target), "FAKE_LOG": str(tmp_path / "calls.log"),
            "PYTHONPATH": str(fake)}
    assert command[:2] == ["python3", "-c"]
    res = subprocess.run([sys.executable, "-c", command[2]], env=full, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    log = tmp_path / "calls.log"
    return target, (log.read_text().splitlines() if log.exists() else [])


def test_downloads_once_then_skips_then_follows_a_new_revision(tmp_path):
    command, env = _job(revision="abc123")
    target, calls = _run(tmp_path, command, env)
    assert len(calls) == 1 and '"meta-llama/Llama-3.1-8B-Instruct", "abc123"' in calls[0]
    assert (target / ".vllmkube-complete").is_file() and (target / "model.safetensors").is_file()
    _, calls = _run(tmp_path, command, env)
    assert len(calls) == 1  # same repo and revision: nothing downloaded
    command2, env2 = _job(revision="def456")
    _, calls = _run(tmp_path, command2, env2)
    assert len(calls) == 2 and '"def456"' in calls[1]


def test_a_new_revision_is_a_new_job_name():
    _, a = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "revision": "a"}))
    _, b = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "revision": "b"}))
    name = lambda docs: next(d.name for d in docs if d.kind == "Job")  # noqa: E731
    assert name(a) != name(b)


def test_the_marker_the_script_writes_is_the_one_the_pods_wait_for():
    from pathlib import Path

    import vllmkube
    from vllmkube.plan.cache import DOWNLOAD_MARKER

    script = (Path(vllmkube.__file__).parent / "download_model.py").read_text()
    assert f'"{DOWNLOAD_MARKER}"' in script
