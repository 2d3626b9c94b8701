"""`vllmkube batch`: the Indexed Job validates strictly and lints clean, its failure policy and Spot
placement are right for each cloud, its engine flags are render's, the deadline and the GPU move
shard count and parallelism (and the estimate on stderr says why), and the rendered command
really runs the shard runner."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from clirun import run
from k8s_validate import is_core, plain, validate_core
from vllmkube.batch import BatchSpec, parse_deadline_s, plan_batch
from vllmkube.batch_runner import EXIT_BAD_INPUT, RESULTS
from vllmkube.catalog import find_gpu
from vllmkube.lint import LintOptions, lint_text
from vllmkube.lint.findings import Severity
from vllmkube.placement import placement
from vllmkube.render import to_stream
from vllmkube.spec import RenderSpec, build
from vllmkube.targets.batch import GRACE_S, NOTICE_S, SERVE_ONLY
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

BASE = dict(model="llama-3.1-8b", gpu="h100", input="requests.jsonl", requests=1_000_000, hf_token_secret="hf-token")


def _plan(**values):
    return plan_batch(build(BatchSpec, {**BASE, **values}))


def _docs(**values):
    plan, docs, estimate = _plan(**values)
    return {(d.kind, d.name): plain(d.data) for d in docs}, to_stream(plan, docs), estimate


def _job(**values) -> dict:
    docs, _, _ = _docs(**values)
    return next(d for (kind, name), d in docs.items() if kind == "Job" and name.endswith("-batch"))


def _pod(job: dict) -> dict:
    return job["spec"]["template"]["spec"]


def _shape(job: dict) -> tuple[int, int]:
    return job["spec"]["completions"], job["spec"]["parallelism"]


CASES = [dict(), dict(gpu="l4", cloud="gcp"), dict(cloud="aws", deadline="2h"), dict(cloud="azure", model="llama-3.1-70b"),
         dict(cloud="karpenter", capacity="on-demand", without=["downloader"], storage_class="efs-sc"), dict(model="qwen3-30b-a3b", gpu="a100-80gb")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()) or "default")
def test_every_document_validates_strictly_and_lints_clean(case):
    docs, text, _ = _docs(**case)
    assert all(is_core(d) for d in docs.values())
    errors = [e for d in docs.values() for e in validate_core(d)]
    assert not errors, errors
    findings = lint_text(text, "batch.yaml", LintOptions(schema=False)).findings
    assert [f.text() for f in findings if f.severity >= Severity.WARNING] == []


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: "-".join(str(v) for v in c.values()) or "default")
def test_lints_clean_against_the_shared_schemas(case, shared_dir):
    _, text, _ = _docs(**case)
    findings = lint_text(text, "batch.yaml", LintOptions(schema_locations=(str(shared_dir / "schemas"),))).findings
    assert [f.text() for f in findings if f.severity >= Severity.WARNING] == []


def test_the_job_validates_against_the_shared_job_schema(shared_dir):
    import jsonschema

    path = shared_dir / "schemas" / "kubernetes" / "v1.31.0-standalone-strict" / "job-batch-v1.json"
    schema = json.loads(path.read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(_job(cloud="gcp"))]
    assert errors == []


def test_failure_policy_ignores_reclaims_and_fails_only_the_index_on_bad_input():
    job = _job()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["podReplacementPolicy"] == "Failed"  # the only value podFailurePolicy allows
    assert spec["backoffLimitPerIndex"] == 3 and 1 <= spec["maxFailedIndexes"] <= spec["completions"]
    assert _pod(job)["restartPolicy"] == "Never"  # backoffLimitPerIndex needs it
    ignore, fail_index = spec["podFailurePolicy"]["rules"]
    assert ignore == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    container = _pod(job)["containers"][0]
    assert fail_index == {"action": "FailIndex", "onExitCodes": {
        "containerName": container["name"], "operator": "In", "values": [EXIT_BAD_INPUT]}}
    assert "backoffLimit" not in spec  # the per-index limit governs


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "karpenter", "generic"])
def test_spot_placement_and_grace_per_cloud(cloud):
    pod = _pod(_job(cloud=cloud))
    expected = placement(find_gpu("h100"), cloud, "spot")
    assert pod.get("nodeSelector", {}) == expected.node_selector
    assert pod["tolerations"] == expected.tolerations
    spot_keys = {"aws": "eks.amazonaws.com/capacityType", "gcp": "cloud.google.com/gke-spot",
                 "azure": "kubernetes.azure.com/scalesetpriority", "karpenter": "karpenter.sh/capacity-type"}
    if cloud in spot_keys:
        assert spot_keys[cloud] in pod["nodeSelector"]
    assert pod["terminationGracePeriodSeconds"] == GRACE_S[cloud] < NOTICE_S[cloud]
    args = pod["containers"][0]["args"]
    assert int(args[args.index("--stop-after") + 1]) < GRACE_S[cloud]  # vLLM is killed before the pod is


def test_azure_and_gcp_tolerate_their_spot_taints():
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
            "effect": "NoSchedule"} in _pod(_job(cloud="azure"))["tolerations"]
    assert any(t["key"] == "cloud.google.com/gke-spot" for t in _pod(_job(cloud="gcp"))["tolerations"])


def test_engine_flags_gpus_and_shm_are_renders():
    """Same sizing as `render`: run-batch gets serve's engine flags minus the front-end ones."""
    for model, gpu in (("llama-3.1-8b", "l4"), ("llama-3.1-70b", "h100")):
        _, docs = plan_render(build(RenderSpec, {"model": model, "gpu": gpu, "hf_token_secret": "hf-token"}))
        deploy = next(plain(d.data) for d in docs if d.kind == "Deployment")
        serve = deploy["spec"]["template"]["spec"]["containers"][0]
        job_pod = _pod(_job(model=model, gpu=gpu))
        batch = job_pod["containers"][0]
        args = batch["args"]
        run_batch = args[args.index("--") + 1:]
        assert run_batch[:4] == ["vllm", "run-batch", "--model", serve["args"][0]]
        pairs = lambda a: dict(zip(a[::2], a[1::2]))  # noqa: E731  (every flag here takes a value)
        expected = {k: v for k, v in pairs(serve["args"][1:]).items() if k not in SERVE_ONLY}
        assert pairs(run_batch[2:]) == {"--model": serve["args"][0], **expected}
        assert batch["resources"] == serve["resources"]
        shm = [v for v in job_pod["volumes"] if v["name"] == "dshm"]
        assert shm == [v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm"]
        assert not {"startupProbe", "readinessProbe", "livenessProbe", "ports", "lifecycle"} & set(batch)


def test_deadline_changes_shards_and_parallelism_and_says_why(capsys):
    shapes = {}
    for deadline in ("24h", "6h", "2h"):
        r = run(capsys, "batch", *_argv(BASE), "--deadline", deadline)
        assert r.code == 0, r.err
        job = next(plain(d) for d in load_all(r.out) if d["kind"] == "Job" and d["metadata"]["name"].endswith("-batch"))
        shapes[deadline] = _shape(job)
        hours = parse_deadline_s(deadline) / 3600
        assert f"deadline {hours:.1f} h, 25% kept for reclaims: {hours * 0.75:.1f} h usable" in r.err
        assert f"{job['spec']['completions']} shard(s), {job['spec']['parallelism']} pod(s) at once" in r.err
    assert shapes["24h"][1] < shapes["6h"][1] < shapes["2h"][1]
    assert shapes["24h"][0] < shapes["6h"][0] < shapes["2h"][0]


def test_gpu_changes_shards_and_parallelism_and_says_why(capsys):
    found = {}
    for gpu in ("h100", "a10g"):
        r = run(capsys, "batch", *_argv({**BASE, "gpu": gpu}), "--deadline", "6h")
        assert r.code == 0, r.err
        job = next(plain(d) for d in load_all(r.out) if d["kind"] == "Job" and d["metadata"]["name"].endswith("-batch"))
        rate = float(re.search(r"answers ([\d.]+) requests/s", r.err).group(1))
        found[gpu] = (_shape(job), rate)
        assert f"x {find_gpu(gpu).key}" in r.err
    (h100_shape, h100_rate), (a10g_shape, a10g_rate) = found["h100"], found["a10g"]
    assert h100_rate > a10g_rate  # the performance model's throughput is the reason
    assert h100_shape[0] < a10g_shape[0] and h100_shape[1] < a10g_shape[1]


def test_the_plan_finishes_within_the_deadline():
    for deadline in ("90m", "6h", "3d"):
        _, _, estimate = _plan(deadline=deadline)
        wall = re.search(r"about ([\d.]+) (min|h) wall time", estimate[0])
        wall_s = float(wall.group(1)) * (60 if wall.group(2) == "min" else 3600)
        assert wall_s <= parse_deadline_s(deadline) * 0.75 * 1.01


def test_stdout_is_only_yaml_and_the_estimate_prices_spot_and_on_demand(capsys):
    r = run(capsys, "batch", *_argv(BASE), "--gpu-price", "on-demand=4.5,spot=1.5", "--cloud", "gcp")
    assert r.code == 0, r.err
    # GKE's default cache is a per-pod volume (issue 11): no model PVC or downloader Job, the data PVC stays
    assert [d["kind"] for d in load_all(r.out)] == ["ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Job"]
    gpu_hours = float(re.search(r"([\d.]+) GPU-hours", r.err).group(1))
    on_demand = float(re.search(r"cost on-demand: \$([\d.]+)", r.err).group(1))
    spot = float(re.search(r"cost on Spot: \$([\d.]+)", r.err).group(1))
    assert on_demand == pytest.approx(gpu_hours * 4.5, rel=0.01) and spot == pytest.approx(gpu_hours * 1.5, rel=0.01)
    assert "on a reclaim (gcp: 30 s notice, the pod asks for 15 s)" in r.err
    assert "DisruptionTarget" in r.err and "skips the answered lines" in r.err
    assert "serving on Spot" not in r.err  # placement's serving warning does not apply to a batch that resumes


def test_output_is_deterministic():
    assert _docs(cloud="aws")[1] == _docs(cloud="aws")[1]


def test_the_configmap_holds_the_runner_byte_for_byte():
    from pathlib import Path

    import vllmkube

    docs, _, _ = _docs()
    cm = next(d for (kind, _), d in docs.items() if kind == "ConfigMap")
    assert cm["data"]["batch_runner.py"] == (Path(vllmkube.__file__).parent / "batch_runner.py").read_text()


STAND_IN = '''
import json, sys
a = sys.argv[1:]
with open(a[a.index("-i") + 1]) as src, open(a[a.index("-o") + 1], "w") as out:
    for line in src:
        if line.strip():
            out.write(json.dumps({"custom_id": json.loads(line)["custom_id"], "error": None}) + "\\n")
'''


def test_the_rendered_command_runs_the_shard_runner(tmp_path):
    """The Job's own command and arguments, with /data on a folder and the stand-in for vLLM."""
    docs, _, _ = _docs(requests=5, deadline="1h")
    cm = next(d for (kind, _), d in docs.items() if kind == "ConfigMap")
    job = next(d for (kind, name), d in docs.items() if kind == "Job" and name.endswith("-batch"))
    c = _pod(job)["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    (tmp_path / "runner.py").write_text(cm["data"]["batch_runner.py"])
    (tmp_path / "fake.py").write_text(STAND_IN)
    data = tmp_path / "data"
    data.mkdir()
    with (data / "requests.jsonl").open("w") as f:
        for i in range(5):
            f.write(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": {}}) + "\n")
    assert c["command"] == ["python3", f"{mounts['runner']}/batch_runner.py"]
    args = [a.replace(mounts["data"], str(data), 1) if a.startswith(mounts["data"] + "/") else a for a in c["args"]]
    args = args[:args.index("--") + 1] + [sys.executable, str(tmp_path / "fake.py")]
    for index in range(job["spec"]["completions"]):
        env = {**os.environ, "JOB_COMPLETION_INDEX": str(index)}
        res = subprocess.run([sys.executable, str(tmp_path / "runner.py"), *args], env=env, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stderr
    results = (data / "output" / RESULTS).read_text().splitlines()
    assert [json.loads(line)["custom_id"] for line in results] == [f"r{i}" for i in range(5)]


@pytest.mark.parametrize("extra, needle", [
    (["--deadline", "soon"], "--deadline"),
    (["--deadline", "2m"], "--deadline"),
    (["--input", "../etc/passwd"], "--input"),
    (["--input", "/abs/in.jsonl"], "--input"),
    (["--gpu-price", "spot=cheap"], "--gpu-price"),
    (["--gpu-price", "reserved=1"], "--gpu-price"),
    (["--requests", "0"], "--requests"),
    (["--max-parallelism", "1", "--deadline", "2h"], "--max-parallelism"),
    (["--model", "llama-3.1-70b", "--gpu", "h100", "--deadline", "8m"], "--deadline"),
    (["--capacity", "preemptible"], "--capacity"),
    (["--extra-arg", "--max-model-len=4096"], "--extra-arg"),
])
def test_bad_input_is_one_line_exit_2_and_no_yaml(capsys, extra, needle):
    r = run(capsys, "batch", *_argv(BASE), *extra)
    assert r.code == 2, r.err
    assert r.out == ""
    assert needle in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_input_and_requests_are_required(capsys):
    r = run(capsys, "batch", "--model", "llama-3.1-8b", "--gpu", "h100", "--requests", "10")
    assert r.code == 2 and "input" in r.err


def _argv(values: dict) -> list[str]:
    out: list[str] = []
    for k, v in values.items():
        out += [f"--{k.replace('_', '-')}", str(v)]
    return out
