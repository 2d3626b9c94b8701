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
    _, docs = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf", **values}))
    job = next(load_all(d.text)[0] for d in docs if d.kind == "Job")
    c = job["spec"]["template"]["spec"]["containers"][0]
    return list(c["command"]), {e["name"]: e.get("value", "") for e in c["env"] if "value" in e}


def _run(tmp_path, command, env):
    fake = tmp_path / "fake"
    (fake / "huggingface_hub").mkdir(parents=True, exist_ok=True)
    (fake / "huggingface_hub" / "__init__.py").write_text(FAKE_HUB)
    target = tmp_path / "models" / env["TARGET_DIR"].lstrip("/")
    full = {**os.environ, **env, "TARGET_DIR": str(target), "FAKE_LOG": str(tmp_path / "calls.log"),
            "COMPILE_DIR": str(tmp_path / "compile-cache"),
            "PYTHONPATH": str(fake)}
    assert command[:2] == ["python3", "-c"]
    res = subprocess.run([sys.executable, "-c", command[2]], env=full, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    log = tmp_path / "calls.log"
    return target, (log.read_text().splitlines() if log.exists() else [])


def test_downloads_once_then_skips_then_follows_a_new_revision(tmp_path):
    command, env = _job(revision="abc123", storage_class="rwx")
    target, calls = _run(tmp_path, command, env)
    assert len(calls) == 1 and '"meta-llama/Llama-3.1-8B-Instruct", "abc123"' in calls[0]
    assert (target / ".vllmkube-complete").is_file() and (target / "model.safetensors").is_file()
    _, calls = _run(tmp_path, command, env)
    assert len(calls) == 1  # same repo and revision: nothing downloaded
    command2, env2 = _job(revision="def456", storage_class="rwx")
    _, calls = _run(tmp_path, command2, env2)
    assert len(calls) == 2 and '"def456"' in calls[1]


def test_a_new_revision_is_a_new_job_name():
    _, a = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf", "storage_class": "rwx", "revision": "a"}))
    _, b = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf", "storage_class": "rwx", "revision": "b"}))
    name = lambda docs: next(d.name for d in docs if d.kind == "Job")  # noqa: E731
    assert name(a) != name(b)


def test_the_marker_the_script_writes_is_the_one_the_pods_wait_for():
    from pathlib import Path

    import vllmkube
    from vllmkube.plan.cache import DOWNLOAD_MARKER

    script = (Path(vllmkube.__file__).parent / "download_model.py").read_text()
    assert f'"{DOWNLOAD_MARKER}"' in script
    from vllmkube.plan.cache import DOWNLOAD_FAILED, marker_content

    assert f'"{DOWNLOAD_FAILED}"' in script
    assert marker_content("a/b", None) == "a/b@main"  # the script's own spelling, checked by running it above


FAILING_HUB = '''
class GatedRepoError(Exception):
    pass
def snapshot_download(**kw):
    raise GatedRepoError("401 Client Error. Cannot access gated repo for url https://huggingface.co/x")
'''


def _wait_container(**values):
    _, docs = plan_render(build(RenderSpec, {"model": "llama-3.1-8b", "gpu": "h100", "hf_token_secret": "hf",
                                             "storage_class": "rwx", **values}))
    dep = next(load_all(d.text)[0] for d in docs if d.kind == "Deployment")
    (wait,) = dep["spec"]["template"]["spec"]["initContainers"]
    return wait["command"], {e["name"]: e["value"] for e in wait["env"]}


def _wait(tmp_path, command, env, **override):
    """Run the wait-for-model init container's shell script against the folder under tmp_path."""
    env = {k: str(tmp_path / "models" / v.lstrip("/")) if k in ("MARKER", "FAILED") else v for k, v in env.items()}
    return subprocess.run(command, env={**os.environ, **env, **override}, capture_output=True, text=True, timeout=30)


def test_a_failed_download_stops_the_waiting_pods_with_its_reason(tmp_path):
    command, env = _job(storage_class="rwx")
    fake = tmp_path / "fake" / "huggingface_hub"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(FAILING_HUB)
    target = tmp_path / "models" / env["TARGET_DIR"].lstrip("/")
    res = subprocess.run([sys.executable, "-c", command[2]], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **env, "TARGET_DIR": str(target), "COMPILE_DIR": str(tmp_path / "cc"),
                              "PYTHONPATH": str(tmp_path / "fake")})
    assert res.returncode == 1 and "GatedRepoError" in res.stderr
    assert not (target / ".vllmkube-complete").exists()
    wcmd, wenv = _wait_container()
    out = _wait(tmp_path, wcmd, wenv)
    assert out.returncode == 1
    assert "GatedRepoError" in out.stderr and "HF_TOKEN" in out.stderr


def test_the_pods_wait_for_their_revision_and_for_a_bounded_time(tmp_path):
    command, env = _job(storage_class="rwx", revision="abc123")
    target, _ = _run(tmp_path, command, env)
    wcmd, wenv = _wait_container(revision="abc123")
    assert _wait(tmp_path, wcmd, wenv).returncode == 0  # the marker holds this revision
    assert int(wenv["WAIT_S"]) >= 1800
    # pods of another revision find a marker that is not theirs, and give up after WAIT_S
    other_cmd, other_env = _wait_container(revision="def456")
    folder = tmp_path / "models" / other_env["MARKER"].lstrip("/")
    folder.parent.mkdir(parents=True)
    folder.write_text((target / ".vllmkube-complete").read_text())  # the old revision's content
    out = _wait(tmp_path, other_cmd, other_env, WAIT_S="0")
    assert out.returncode == 1 and "not in the model cache" in out.stderr
