"""The default render comes up on the clusters people have (issue 11): the model cache binds on a
cluster whose only storage classes are the ones the cloud creates, or render refuses with one
line; gated models need a token; a changed Job template is a new Job; a new revision rolls.

The storage classes per cloud are from the shared reference cloud-gpu-facts.md section 3.1/3.2:
EKS 1.30+ keeps gp2 but marks no class default [EKS-130]; GKE's default is standard-rwo
[GKE-SC-OBS]; AKS' default is managed-csi and azurefile-csi-premium is pre-created [AKS-STOR].
"""
from __future__ import annotations

import pytest
from clirun import run

from vllmkube.errors import InputError
from vllmkube.spec import RenderSpec, build
from vllmkube.workflow import plan_render
from vllmkube.yamlio import load_all

# class -> (access modes it provisions, is the default); only what a new cluster has.
RWO, RWX = {"ReadWriteOnce"}, {"ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"}
CLUSTER_CLASSES = {
    "aws": {"gp2": (RWO, False)},
    "karpenter": {"gp2": (RWO, False)},
    "gcp": {"standard-rwo": (RWO, True), "premium-rwo": (RWO, False), "standard": (RWO, False)},
    "azure": {"managed-csi": (RWO, True), "default": (RWO, False), "managed-csi-premium": (RWO, False),
              "azurefile-csi": (RWX, False), "azurefile-csi-premium": (RWX, False)},
    "generic": {"standard": (RWO, True)},  # a typical cluster: one block-storage default
}
CLOUDS = list(CLUSTER_CLASSES)
UNGATED = dict(model="Qwen/Qwen2.5-7B-Instruct", gpu="h100")  # H100 is offered on every cloud


def docs(**values):
    _, ds = plan_render(build(RenderSpec, values))
    return [load_all(d.text)[0] for d in ds]


def claims(documents) -> list[dict]:
    """Every claim the render makes: PVCs and the pods' generic ephemeral volumes."""
    out = [d["spec"] for d in documents if d["kind"] == "PersistentVolumeClaim"]
    for d in documents:
        pod = (d.get("spec") or {}).get("template", {}).get("spec", {})
        for v in pod.get("volumes", []):
            if "ephemeral" in v:
                out.append(v["ephemeral"]["volumeClaimTemplate"]["spec"])
    return out


def binds(claim: dict, classes: dict) -> bool:
    name = claim.get("storageClassName")
    if name is None:
        name = next((n for n, (_, default) in classes.items() if default), None)
    if name not in classes:
        return False
    return set(claim["accessModes"]) <= classes[name][0]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_default_render_binds_on_the_clouds_own_classes(cloud):
    rendered = docs(**UNGATED, cloud=cloud)
    cs = claims(rendered)
    assert cs, "the model cache must be a claim"
    for c in cs:
        assert binds(c, CLUSTER_CLASSES[cloud]), (cloud, c)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_shared_cache_binds_or_is_refused_in_one_line(cloud, capsys):
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", "h100", "--cloud", cloud, "--model-cache", "shared-pvc")
    if r.code == 0:
        rendered = [d for d in load_all(r.out)]
        classes = dict(CLUSTER_CLASSES[cloud])
        if cloud == "gcp":  # asked for explicitly: standard-rwx comes with the Filestore CSI add-on [GKE-FS-CLASSES]
            assert "Filestore CSI driver add-on" in r.err
            classes["standard-rwx"] = (RWX, False)
        assert all(binds(c, classes) for c in claims(rendered))
        assert any(d["kind"] == "Job" for d in rendered)
    else:
        assert r.code == 2 and r.out == ""
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and "--storage-class" in lines[0] and "--model-cache pod-volume" in lines[0]
    assert cloud not in ("aws", "karpenter", "generic") or r.code == 2  # no RWX class there by default


def test_a_named_class_is_a_shared_pvc_with_that_class():
    rendered = docs(**UNGATED, cloud="aws", storage_class="efs-sc")
    (pvc,) = [d for d in rendered if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["spec"]["storageClassName"] == "efs-sc" and pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_azure_files_premium_share_is_at_least_100gib():
    (pvc,) = [d for d in docs(**UNGATED, cloud="azure") if d["kind"] == "PersistentVolumeClaim"]
    assert pvc["spec"]["storageClassName"] == "azurefile-csi-premium"
    assert int(pvc["spec"]["resources"]["requests"]["storage"].removesuffix("Gi")) >= 100


def test_read_only_many_with_the_downloader_is_refused():
    with pytest.raises(InputError, match="ReadOnlyMany"):
        docs(**UNGATED, storage_class="nfs", pvc_access_mode="ReadOnlyMany")
    # a volume the user fills is fine read-only
    rendered = docs(**UNGATED, storage_class="nfs", pvc_access_mode="ReadOnlyMany", without=["downloader"])
    assert not any(d["kind"] == "Job" for d in rendered)


def test_pod_volume_downloads_in_the_pod_and_keeps_compile_caches_there():
    (dep,) = [d for d in docs(**UNGATED, cloud="gcp") if d["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["download-model"]
    vllm = pod["containers"][0]
    mounts = {m["mountPath"]: m for m in vllm["volumeMounts"]}
    assert mounts["/cache/compile"]["name"] == "models" and mounts["/models"]["readOnly"] is True
    env = {e["name"]: e["value"] for e in vllm["env"]}
    assert env["VLLM_CACHE_ROOT"].startswith("/cache/compile/")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_gated_model_without_a_token_is_refused_in_one_line(cloud, capsys):
    r = run(capsys, "render", "-m", "llama-3.1-8b", "-g", "h100", "--cloud", cloud)
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "--hf-token-secret" in lines[0] and "gated" in lines[0]
    ok = run(capsys, "render", "-m", "llama-3.1-8b", "-g", "h100", "--cloud", cloud, "--hf-token-secret", "hf")
    assert ok.code == 0, ok.err


def test_gated_is_catalog_data():
    from vllmkube.catalog import find_model

    assert find_model("gemma-2-9b-it").gated and find_model("llama-3.1-8b").gated
    assert not find_model("Qwen/Qwen2.5-7B-Instruct").gated
    with pytest.raises(InputError, match="gated"):
        docs(model="gemma-2-9b-it", gpu="h100")
    docs(model="gemma-2-9b-it", gpu="h100", without=["downloader"], storage_class="x")  # no download, no token


def _job(documents) -> dict:
    (job,) = [d for d in documents if d["kind"] == "Job"]
    return job


def test_job_name_follows_its_whole_pod_template():
    base = dict(UNGATED, storage_class="rwx")
    a = _job(docs(**base))
    assert a["spec"]["ttlSecondsAfterFinished"] > 0
    for change in (dict(image="vllm/vllm-openai:v0.11.0"), dict(hf_token_secret="hf"), dict(revision="abc"),
                   dict(vllm_version="0.10.2")):
        b = _job(docs(**base, **change))
        assert b["spec"]["template"] != a["spec"]["template"]
        assert b["metadata"]["name"] != a["metadata"]["name"], change
    # same template, same name: a re-apply is a no-op
    assert _job(docs(**base))["metadata"]["name"] == a["metadata"]["name"]
    # a change outside the Job's template (replicas) keeps the name
    assert _job(docs(**base, max_replicas=7))["metadata"]["name"] == a["metadata"]["name"]


def test_a_new_revision_rolls_the_deployment_into_its_own_folder():
    def dep(**kw):
        (d,) = [x for x in docs(**UNGATED, storage_class="rwx", **kw) if x["kind"] == "Deployment"]
        return d["spec"]["template"]

    a, b = dep(revision="aaa"), dep(revision="bbb")
    assert a != b
    assert a["metadata"]["annotations"]["vllmkube.io/model-revision"].endswith("@aaa")
    assert b["metadata"]["annotations"]["vllmkube.io/model-revision"].endswith("@bbb")
    folder = lambda t: t["spec"]["containers"][0]["args"][0]  # noqa: E731
    assert folder(a).endswith("/aaa") and folder(b).endswith("/bbb")
    wait = {e["name"]: e.get("value") for e in a["spec"]["initContainers"][0]["env"]}
    assert wait["MARKER"].startswith(folder(a) + "/") and wait["WANT"].endswith("@aaa")


# ------------------------------------------------------------------ placement an autoscaler can satisfy

def _pod(**values):
    (dep,) = [d for d in docs(**values) if d["kind"] == "Deployment"]
    spec = dep["spec"]["template"]["spec"]
    terms = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", {})
    exprs = {e["key"]: (e["operator"], e.get("values")) for t in terms.get("nodeSelectorTerms", [])
             for e in t["matchExpressions"]}
    return spec.get("nodeSelector", {}), exprs, spec["tolerations"]


# labels each autoscaler knows before the node exists (cloud-gpu-facts.md section 2)
KNOWN_LABELS = {
    "karpenter": {"karpenter.k8s.aws/instance-gpu-name", "node.kubernetes.io/instance-type", "karpenter.sh/capacity-type"},
    "aws": {"node.kubernetes.io/instance-type", "eks.amazonaws.com/capacityType"},
    "gcp": {"cloud.google.com/gke-accelerator", "cloud.google.com/gke-spot"},
    "azure": {"node.kubernetes.io/instance-type", "kubernetes.azure.com/scalesetpriority"},
}


@pytest.mark.parametrize("cloud", list(KNOWN_LABELS))
@pytest.mark.parametrize("capacity", ["on-demand", "spot"])
def test_placement_uses_only_labels_the_autoscaler_provisions_for(cloud, capacity):
    selector, exprs, _ = _pod(**UNGATED, cloud=cloud, capacity=capacity)
    used = set(selector) | set(exprs)
    assert used and used <= KNOWN_LABELS[cloud], used - KNOWN_LABELS[cloud]
    assert "nvidia.com/gpu.product" not in used


def test_on_demand_is_not_spot_rather_than_a_node_group_label():
    _, exprs, _ = _pod(**UNGATED, cloud="aws")
    assert exprs["eks.amazonaws.com/capacityType"] == ("NotIn", ["SPOT"])
    _, exprs, _ = _pod(**UNGATED, cloud="karpenter")
    assert exprs["karpenter.sh/capacity-type"] == ("NotIn", ["spot"])
    assert exprs["karpenter.k8s.aws/instance-gpu-name"] == ("In", ["h100"])


def test_instance_types_hold_the_pods_gpus():
    # 4 x A100 80GB per pod: only p4de.24xlarge on AWS; A100 40GB (p4d, same gpu name) is not it
    _, exprs, _ = _pod(model="Qwen/Qwen2.5-72B-Instruct", gpu="a100-80gb", cloud="karpenter", tensor_parallel_size=4)
    assert exprs["node.kubernetes.io/instance-type"] == ("In", ["p4de.24xlarge"])
    _, exprs, _ = _pod(model="Qwen/Qwen2.5-72B-Instruct", gpu="l40s", cloud="aws", tensor_parallel_size=4)
    assert exprs["node.kubernetes.io/instance-type"] == ("In", ["g6e.12xlarge", "g6e.24xlarge", "g6e.48xlarge"])
    selector, _, _ = _pod(**{**UNGATED, "gpu": "a100-40gb"}, cloud="gcp")
    assert selector["cloud.google.com/gke-accelerator"] == "nvidia-tesla-a100"


def test_azure_tolerates_the_gpu_pool_taint_and_uses_vm_sizes():
    _, exprs, tolerations = _pod(**UNGATED, cloud="azure")
    assert exprs["node.kubernetes.io/instance-type"] == ("In", ["Standard_ND96isr_H100_v5"])
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in tolerations


@pytest.mark.parametrize("gpu, cloud", [("a10g", "gcp"), ("a10g", "azure"), ("l40s", "gcp"), ("l4", "azure"),
                                        ("mi300x", "aws"), ("rtx-4090", "karpenter")])
def test_a_gpu_the_cloud_does_not_offer_is_refused(gpu, cloud, capsys):
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", gpu, "--cloud", cloud)
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1
    assert "not offered on" in r.err


def test_generic_keeps_the_gpu_feature_discovery_label():
    selector, exprs, _ = _pod(**UNGATED, cloud="generic")
    assert selector == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"} and not exprs


def test_placement_signature_still_serves_other_callers():
    from vllmkube.catalog import find_gpu
    from vllmkube.placement import placement

    p = placement(find_gpu("h100"), "karpenter", "spot")
    assert p.node_selector == {"karpenter.sh/capacity-type": "spot"}


# ------------------------------------------------------------------ startup budget from the storage

def _startup_s(**values) -> int:
    (dep,) = [d for d in docs(**values) if d["kind"] == "Deployment"]
    probe = dep["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    return probe["periodSeconds"] * probe["failureThreshold"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_70b_model_on_network_storage_gets_time_to_load(cloud):
    from vllmkube.catalog import find_model
    from vllmkube.sizing import GIB

    spec = dict(model="Qwen/Qwen2.5-72B-Instruct", gpu="h100", tensor_parallel_size=4, cloud=cloud)
    weights_gib = find_model("Qwen/Qwen2.5-72B-Instruct").params_b * 2e9 / GIB
    at_100_mib_s = weights_gib * 1024 / 100  # Filestore Basic HDD / EFS bursting read rate
    assert _startup_s(**spec) > at_100_mib_s + 120
    assert _startup_s(**spec, load_rate_gib_s=1.0) < _startup_s(**spec) / 3  # the flag wins


def test_the_budget_follows_the_storage_in_use():
    shared = _startup_s(**UNGATED, cloud="aws", storage_class="efs-sc")
    ebs = _startup_s(**UNGATED, cloud="aws")  # pod volume on gp2/gp3: a bit faster than EFS bursting
    assert ebs < shared


# ------------------------------------------------------------------ NetworkPolicy and probes

def test_networkpolicy_without_client_namespaces_warns_on_stderr(capsys):
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", "h100")
    assert r.code == 0 and "--allow-from-namespace" in r.err and "--allow-from-namespace" not in r.out
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", "h100", "--allow-from-namespace", "ingress-nginx")
    assert "NetworkPolicy" not in r.err
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", "h100", "--without", "networkpolicy")
    assert "NetworkPolicy" not in r.err


def test_readiness_tolerates_a_busy_engine():
    (dep,) = [d for d in docs(**UNGATED) if d["kind"] == "Deployment"]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    ready, live = c["readinessProbe"], c["livenessProbe"]
    assert ready["periodSeconds"] * ready["failureThreshold"] >= 60 and ready["timeoutSeconds"] >= 5
    assert live["periodSeconds"] * live["failureThreshold"] > ready["periodSeconds"] * ready["failureThreshold"]


def test_karpenter_renders_warn_about_the_root_volume(capsys):
    r = run(capsys, "render", "-m", UNGATED["model"], "-g", "h100", "--cloud", "karpenter")
    assert r.code == 0 and "20 GiB root volume" in r.err and "20 GiB" not in r.out
    assert "20 GiB root volume" not in run(capsys, "render", "-m", UNGATED["model"], "-g", "h100", "--cloud", "gcp").err
