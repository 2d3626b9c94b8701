"""render: one sizing drives every number; hostile input stays data; output is stable and complete."""
import json
import math
import shutil
import subprocess
import sys
import zipfile

import pytest

from clirun import run
from k8s_validate import is_core, plain, validate_core
from vllmkube.plan.pod import probe_budget_s
from vllmkube.render import to_stream
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all


def render(**values):
    values.setdefault("hf_token_secret", "hf-token")  # most catalog models here are gated
    values.setdefault("storage_class", "shared-rwx")  # the shared PVC + downloader Job (test_first_apply: per cloud)
    plan, docs = plan_render(build(RenderSpec, values))
    return plan, {d.kind: plain(load_all(d.text)[0]) for d in docs}, to_stream(plan, docs)


def container(docs):
    return docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def arg(c, flag):
    args = c["args"]
    return args[args.index(flag) + 1] if flag in args else None


@pytest.mark.parametrize("gpu", ["h100", "h200", "a100-80gb", "l40s"])
def test_every_number_follows_from_one_sizing(gpu):
    plan, docs, _ = render(model="llama-3.3-70b", gpu=gpu, max_model_len=8192)
    s = plan.sizing
    c = container(docs)
    gpus = s.tensor_parallel_size * s.pipeline_parallel_size
    assert arg(c, "--tensor-parallel-size") == str(s.tensor_parallel_size)
    assert arg(c, "--max-model-len") == str(s.max_model_len)
    assert arg(c, "--gpu-memory-utilization") == str(s.gpu_memory_utilization)
    assert arg(c, "--max-num-seqs") == str(s.max_num_seqs)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    if gpus > 1:
        shm = int(volumes["dshm"]["emptyDir"]["sizeLimit"].removesuffix("Gi"))
        assert volumes["dshm"]["emptyDir"]["medium"] == "Memory" and shm >= 2
        req = int(c["resources"]["requests"]["memory"].removesuffix("Gi"))
        lim = int(c["resources"]["limits"]["memory"].removesuffix("Gi"))
        assert lim - req == shm  # the tmpfs counts against the memory limit
    else:
        assert "dshm" not in volumes
    budget = probe_budget_s(s.checkpoint_gib, 0.5)
    probe = c["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= budget
    pvc = int(docs["PersistentVolumeClaim"]["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))
    assert pvc >= s.checkpoint_gib * 1.2


def test_changing_the_gpu_changes_them_together():
    a, da, _ = render(model="llama-3.3-70b", gpu="h100")
    b, db, _ = render(model="llama-3.3-70b", gpu="h200")
    assert a.sizing.tensor_parallel_size != b.sizing.tensor_parallel_size
    ca, cb = container(da), container(db)
    assert ca["resources"]["limits"]["nvidia.com/gpu"] != cb["resources"]["limits"]["nvidia.com/gpu"]
    assert arg(ca, "--tensor-parallel-size") != arg(cb, "--tensor-parallel-size")
    sel = lambda d: d["Deployment"]["spec"]["template"]["spec"]["nodeSelector"]["nvidia.com/gpu.product"]  # noqa: E731
    assert sel(da) == "NVIDIA-H100-80GB-HBM3" and sel(db) == "NVIDIA-H200"


def test_production_basics_of_the_deployment():
    plan, docs, _ = render(model="llama-3.1-8b", gpu="h100", namespace="llm")
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert "replicas" not in docs["Deployment"]["spec"]  # KEDA owns the count
    assert pod["enableServiceLinks"] is False and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["image"].startswith("vllm/vllm-openai:v") and not c["image"].endswith(":latest")
    assert c["command"] == ["vllm", "serve"] and c["args"][0].startswith("/models/")
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in c["env"]
    assert arg(c, "--served-model-name") == "meta-llama/Llama-3.1-8B-Instruct"
    drain = int(arg(c, "--shutdown-timeout"))
    assert pod["terminationGracePeriodSeconds"] > drain + plan.pod.prestop_sleep_s
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True  # the weights; the compile caches next to them are writable
    assert mounts["/cache/compile"] == {"name": "models", "mountPath": "/cache/compile", "subPath": "compile-cache"}
    assert docs["Service"]["metadata"]["name"] != "vllm"
    assert docs["Service"]["spec"]["ports"][0] == {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}
    job = docs["Job"]["spec"]["template"]["spec"]
    assert job["containers"][0]["env"][0] == {"name": "REPO_ID", "value": "meta-llama/Llama-3.1-8B-Instruct"}
    # the Service must not select the downloader's pod
    job_labels = docs["Job"]["spec"]["template"]["metadata"]["labels"]
    assert not all(job_labels.get(k) == v for k, v in docs["Service"]["spec"]["selector"].items())


def test_old_vllm_gets_only_flags_it_accepts():
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", vllm_version="0.10.2")
    c = container(docs)
    assert "--shutdown-timeout" not in c["args"]  # added in 0.18
    assert c["image"] == "vllm/vllm-openai:v0.10.2"


def test_capacity_and_cloud_pick_labels_and_tolerations():
    _, docs, _ = render(model="llama-3.1-8b", gpu="l4", quantization="fp8", cloud="gcp", capacity="spot")
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"]["cloud.google.com/gke-spot"] == "true"
    assert pod["nodeSelector"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    assert any(t["key"] == "cloud.google.com/gke-spot" for t in pod["tolerations"])
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", cloud="aws")
    terms = docs["Deployment"]["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    assert {"key": "eks.amazonaws.com/capacityType", "operator": "NotIn", "values": ["SPOT"]} in \
        terms["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", cloud="azure")
    terms = docs["Deployment"]["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    assert "kubernetes.azure.com/scalesetpriority" in json.dumps(terms)


HOSTILE = 'evil" name\n#: {{ x }} - [a, b] ${HOME} é\u2028'


def test_hostile_values_stay_data():
    plan, docs, text = render(model="llama-3.1-8b", gpu="h100", served_model_name=HOSTILE,
                              revision="main\n- oops: 1", runbook_url="https://x/y?a=1#{{b}}")
    c = container(docs)
    assert arg(c, "--served-model-name") == HOSTILE
    job_env = {e["name"]: e.get("value") for e in docs["Job"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert job_env["REVISION"] == "main\n- oops: 1"
    assert all(is_core(d) is False or not validate_core(d) for d in docs.values())
    # the PromQL selectors quote it too: the query still names exactly this model
    so = docs["ScaledObject"]["spec"]["triggers"][0]["metadata"]["query"]
    assert json.dumps(HOSTILE, ensure_ascii=True) in so


def test_same_input_same_bytes():
    assert render(model="qwen3-32b", gpu="h100")[2] == render(model="qwen3-32b", gpu="h100")[2]


def test_without_switches_components_off():
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", without=["autoscaling", "networkpolicy", "dashboard"])
    assert {"ScaledObject", "NetworkPolicy", "ConfigMap"}.isdisjoint(docs)
    assert docs["Deployment"]["spec"]["replicas"] == 1  # no autoscaler: the Deployment owns the count
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", create_namespace=True, monitor="podmonitor")
    assert "Namespace" in docs and "PodMonitor" in docs and "ServiceMonitor" not in docs


def test_awq_needs_a_prequantized_repo(capsys):
    r = run(capsys, "render", "-m", "deepseek-v3", "-g", "h100")
    assert r.code == 2 and r.err.startswith("error: --model-repo") and r.out == ""


@pytest.mark.parametrize("args,field", [
    (["--namespace", "Bad_NS"], "--namespace"),
    (["--cloud", "ibm"], "--cloud"),
    (["--min-replicas", "5", "--max-replicas", "2"], "min_replicas"),
    (["--name", "vllm"], "--name"),
    (["--image", "vllm/vllm-openai:latest"], "--image"),
    (["--image", "vllm/vllm-openai"], "--image"),
    (["--slo-ttft-p99", "fast"], "--slo-ttft-p99"),
    (["--without", "everything"], "--without"),
    (["--pvc-size", "200GB"], "--pvc-size"),
    (["--storage-class", "x: {y}"], "--storage-class"),
    (["--hf-token-secret", "Bad Secret"], "--hf-token-secret"),
    (["--prometheus-release", "my release"], "--prometheus-release"),
    (["--model-repo", "a b/c"], "--model-repo"),
])
def test_bad_render_options_exit_2_with_one_line(capsys, args, field):
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", *args)
    assert r.code == 2, r.err
    assert r.out == ""  # nothing half-written
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines


def test_config_file_with_flags_on_top(tmp_path, capsys):
    cfg = tmp_path / "vllmkube.yaml"
    cfg.write_text("model: llama-3.1-8b\ngpu: h100\nmax-replicas: 7\nnamespace: from-file\nhf-token-secret: hf\n")
    r = run(capsys, "render", "-f", str(cfg), "--namespace", "from-flag")
    assert r.code == 0, r.err
    docs = {d["kind"]: d for d in load_all(r.out)}
    assert docs["Deployment"]["metadata"]["namespace"] == "from-flag"
    assert docs["ScaledObject"]["spec"]["maxReplicaCount"] == 7
    cfg.write_text("model: llama-3.1-8b\ngpu: h100\nmax_replica: 7\n")
    r = run(capsys, "render", "-f", str(cfg))
    assert r.code == 2 and "max_replica: unknown key" in r.err and "max_replicas" in r.err
    cfg.write_text("model: llama-3.1-8b\nmodel: x\n")
    r = run(capsys, "render", "-f", str(cfg))
    assert r.code == 2 and "not valid YAML" in r.err


def test_init_file_renders(tmp_path, capsys):
    path = tmp_path / "vllmkube.yaml"
    assert run(capsys, "init", str(path), "-m", "llama-3.1-8b", "-g", "h100").code == 0
    assert run(capsys, "init", str(path)).code == 2  # no silent overwrite
    r = run(capsys, "render", "-f", str(path), "--hf-token-secret", "hf")
    assert r.code == 0 and "kind: Deployment" in r.out


def test_schema_command_is_json_schema(capsys):
    schema = json.loads(run(capsys, "schema").out)
    assert schema["additionalProperties"] is False and "max_model_len" in schema["properties"]


def test_output_dir_with_kustomization(tmp_path, capsys):
    out = tmp_path / "out"
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "--output-dir", str(out))
    assert r.code == 0 and r.out == ""
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))  # .vllmkube-manifest: test_outdir.py
    assert "kustomization.yaml" in names and "deployment-llama-3-1-8b-instruct.yaml" in names
    kust = load_all((out / "kustomization.yaml").read_text())[0]
    assert sorted(kust["resources"]) == sorted(n for n in names if n != "kustomization.yaml")
    kubectl = shutil.which("kubectl")
    if kubectl:  # kubectl parses it offline (create --dry-run needs a server)
        res = subprocess.run([kubectl, "kustomize", str(out)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert len(load_all(res.stdout)) == len(names) - 1


def test_header_says_what_and_how_big(capsys):
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100")
    head = [line for line in r.out.splitlines() if line.startswith("#")][:4]
    assert "Generated by vllmkube" in head[0] and "TP 1" in head[1] and "tokens" in head[2]


def test_wheel_ships_templates_and_renders_from_an_install(tmp_path):
    """A non-editable install must find the templates (they live at the repo's top level)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(root)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    wheel = next(tmp_path.glob("vllmkube-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "vllmkube/templates/deployment.yaml.j2" in names and "vllmkube/data/catalog.json" in names
    packages = {p.parent.relative_to(root).as_posix() for p in (root / "vllmkube").rglob("__init__.py")}
    assert sorted(p for p in packages if f"{p}/__init__.py" not in names) == []  # pyproject lists every package
    from vllmkube import versions
    assert {f"vllmkube/data/vllm/{v}.json" for v in versions.RELEASES} <= set(names)  # render reads them
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("from vllmkube.spec import RenderSpec, build; from vllmkube.workflow import plan_render; "
            "p, d = plan_render(build(RenderSpec, {'model': 'llama-3.1-8b', 'gpu': 'h100', 'hf_token_secret': 'hf', 'storage_class': 'rwx'})); print(len(d))")
    res = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) >= 10


def test_fp8_on_load_still_downloads_and_reads_the_16bit_checkpoint():
    fp8, docs, _ = render(model="llama-3.1-8b", gpu="l4", quantization="fp8")
    bf16, _, _ = render(model="llama-3.1-8b", gpu="h100")
    assert fp8.sizing.weights_gib_total < 0.6 * bf16.sizing.weights_gib_total
    assert fp8.sizing.checkpoint_gib == bf16.sizing.checkpoint_gib
    assert arg(container(docs), "--quantization") == "fp8"
    assert fp8.cache.pvc_size == bf16.cache.pvc_size


def test_slo_flags_move_batch_limits_max_replicas_and_alerts_together():
    base, dbase, _ = render(model="llama-3.1-8b", gpu="h100", rps=30)
    tight, dtight, _ = render(model="llama-3.1-8b", gpu="h100", rps=30, slo_ttft_p99="300ms", slo_itl_p99="20ms")
    seqs = lambda d: int(arg(container(d), "--max-num-seqs"))  # noqa: E731
    assert seqs(dtight) < seqs(dbase)  # a tighter ITL objective allows a smaller batch
    assert tight.sizing.max_num_seqs == seqs(dtight)  # the engine flag and the KV budget agree
    so = lambda d: d["ScaledObject"]["spec"]  # noqa: E731
    assert so(dtight)["maxReplicaCount"] > so(dbase)["maxReplicaCount"]  # smaller batches: more replicas for 30 req/s
    assert so(dtight)["maxReplicaCount"] == tight.scaling.max_replicas
    rules = lambda d: {r.get("alert"): r["expr"] for g in d["PrometheusRule"]["spec"]["groups"] for r in g["rules"]}  # noqa: E731
    slo = lambda expr: expr.split(" and on ")[0]  # noqa: E731 (the objective, before the traffic guard)
    assert slo(rules(dtight)["VllmTTFTP99AboveSLO"]).endswith("> 0.3")
    assert slo(rules(dbase)["VllmTTFTP99AboveSLO"]).endswith("> 2")
    assert slo(rules(dtight)["VllmITLP99AboveSLO"]).endswith("> 0.02")
    names = [t["name"] for t in so(dtight)["triggers"]]
    assert names == ["queue-depth", "kv-cache-usage", "request-rate"]


def test_explicit_max_replicas_wins_with_a_warning(capsys):
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "--rps", "200", "--max-replicas", "2")
    assert r.code == 0
    assert "maxReplicaCount: 2" in r.out and "needs" in r.err and "--max-replicas caps" in r.err


def test_model_config_needs_a_repo_to_download(tmp_path, capsys):
    import json as _json

    (tmp_path / "config.json").write_text(_json.dumps({
        "model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
        "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
        "torch_dtype": "bfloat16"}))
    r = run(capsys, "render", "--model-config", str(tmp_path), "--gpu", "h100")
    assert r.code == 2 and r.err.startswith("error: --model-repo")
    r = run(capsys, "render", "--model-config", str(tmp_path), "--gpu", "h100", "--model-repo", "acme/my-llama")
    assert r.code == 0 and '"acme/my-llama"' in r.out


def test_rollout_replace_or_surge(capsys):
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100")
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    _, docs, _ = render(model="llama-3.1-8b", gpu="h100", rollout="surge")
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100")
    assert "rollout takes the service down" in r.err
    r = run(capsys, "render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "--min-replicas", "2")
    assert "rollout takes the service down" not in r.err
