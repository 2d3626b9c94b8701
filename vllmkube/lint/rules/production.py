"""What takes a vLLM service down in production although every object is valid.

* No readiness or startup probe: the pod is Ready as soon as the container starts, and the
  Service sends requests minutes before vLLM opens its port (facts 3.3: /health answers only
  once the model is loaded).
* No volume that keeps the model: every new pod downloads tens to hundreds of GB again,
  onto node disk nobody reserved (no ephemeral-storage request means eviction under pressure).
* No CPU or memory request: the scheduler packs the pod anywhere, the kubelet evicts it first.
* A rolling update that surges onto a ReadWriteOnce claim: the new pod cannot attach the
  volume on another node ("Multi-Attach error") and the rollout never finishes.
* Code fetched at start (pip install, git clone, Ray runtime_env): each start depends on the
  network and may install something else than yesterday (git main moves).
* Host namespaces and hostPath: replicas collide on ports, the pod reaches the node.
* Secret data that is not base64: the API server rejects the Secret (kubectl: "illegal base64 data").
"""
from __future__ import annotations

import base64
import binascii
import re

from ..bundle import Bundle, Server
from ..documents import Document, as_dict, as_list, dig
from ..findings import Severity

# Where a model can survive a new pod; emptyDir and configMap/secret volumes do not keep it.
KEEPING_VOLUMES = ("persistentVolumeClaim", "hostPath", "csi", "nfs", "image", "ephemeral", "iscsi", "cephfs",
                   "glusterfs", "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile")
SYSTEM_PATHS = ("/dev", "/proc", "/sys", "/etc", "/run", "/var/run", "/secrets", "/tmp")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_VAR = re.compile(r"\$\((\w+)\)|\$\{(\w+)\}|\$(\w+)")
_COMMENT = re.compile(r"(^|\s)#[^\n]*")
FETCH_AT_START = (
    (re.compile(r"\b(?:pip3?|uv pip|python3? -m pip)\s+install\b"), "pip install"),
    (re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b"), "apt-get install"),
    (re.compile(r"\b(?:yum|dnf|apk)\s+(?:add|install)\b"), "a package install"),
    (re.compile(r"\bgit\s+clone\b"), "git clone"),
    (re.compile(r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:ba)?sh\b"), "a downloaded script piped to sh"),
)


def check(b: Bundle) -> None:
    for s in b.servers:
        _probes(b, s)
        _cache(b, s)
        _requests(b, s)
        _api_key(b, s)
        _demo_server(b, s)
    for isvc in b.of("InferenceService"):
        _isvc_cache(b, isvc)
    for pod in b.pods:
        if any(s.pod is pod for s in b.servers):
            _host(b, pod)
        _fetch(b, pod)
        _env_shell_vars(b, pod)
    for doc in b.of("RayService", "RayJob"):
        _runtime_env(b, doc)
    for d in b.of("Deployment"):
        _rollout(b, d)
    for secret in b.of("Secret"):
        _base64(b, secret)


# ----------------------------------------------------------------------------- probes
def serves_http(s: Server) -> bool:
    """Whether the server answers requests: not a multi-node worker (`--headless`, an LWS
    worker template) and not a pod whose operator adds the probes (KServe LLMInferenceService)."""
    if s.inv.find("--headless") is not None or s.doc.kind == "LLMInferenceService":
        return False
    return not (s.doc.kind == "LeaderWorkerSet" and s.pod.path[-1:] == ("workerTemplate",)
                and s.doc.get("spec", "leaderWorkerTemplate", "leaderTemplate") is not None)


def _probes(b: Bundle, s: Server) -> None:
    if isinstance(s.container.get("readinessProbe"), dict) or isinstance(s.container.get("startupProbe"), dict):
        return
    if not serves_http(s):
        return
    b.report("probe-missing", s.doc, s.cpath,
             "no readinessProbe or startupProbe: the pod counts as Ready when the container starts, so the Service "
             "sends requests while vLLM is still loading the model (connection refused for minutes)",
             "add readinessProbe {httpGet: {path: /health, port: <api port>}} and a startupProbe sized for the model load")


# ----------------------------------------------------------------------------- model cache
def _env(container: dict) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value")) for e in as_list(container.get("env"))
            if isinstance(e, dict) and e.get("name") and isinstance(e.get("value"), (str, int, float))}


def model_id(s: Server) -> str | None:
    """The model the server loads, with $(VAR) from literal env values; None if unknown."""
    raw = s.inv.model or s.inv.value("--model")
    if not raw:
        return None
    env = _env(s.container)
    resolved = _VAR.sub(lambda m: env.get(next(g for g in m.groups() if g), "\0"), raw)
    return None if "\0" in resolved else resolved


def downloads_at_start(s: Server) -> str | None:
    """The hub model id a new pod downloads because no volume keeps it; None if it is kept
    (or cannot be told: a local path, an unresolved variable, offline mode)."""
    model = model_id(s)
    if model is None or not _HUB_ID.match(model):
        return None
    if _env(s.container).get("HF_HUB_OFFLINE") in ("1", "true", "True"):
        return None
    volumes = {str(v.get("name")): v for v in as_list(s.pod.spec.get("volumes")) if isinstance(v, dict)}
    claims = {str(dig(t, "metadata", "name")) for t in as_list(s.doc.get("spec", "volumeClaimTemplates"))}
    for _, c in s.pod.containers(init=True):
        for mount in as_list(c.get("volumeMounts")):
            name, where = str(as_dict(mount).get("name")), str(as_dict(mount).get("mountPath", ""))
            if where.startswith(SYSTEM_PATHS):
                continue  # device nodes and config: no place for weights
            if name in claims or any(k in volumes.get(name, {}) for k in KEEPING_VOLUMES):
                return None
    return model


def _cache(b: Bundle, s: Server) -> None:
    model = downloads_at_start(s)
    if model is None:
        return
    res = as_dict(s.container.get("resources"))
    reserved = "ephemeral-storage" in as_dict(res.get("requests")) or "ephemeral-storage" in as_dict(res.get("limits"))
    disk = ("" if reserved else ", onto node disk no ephemeral-storage request reserves (the kubelet evicts the pod "
            "when the node runs short)")
    b.report("model-cache-missing", s.doc, s.cpath,
             f"no volume keeps {model}: every new pod (rollout, reschedule, scale-up) downloads the weights again"
             f"{disk}, and start-up waits for the hub",
             "mount a PersistentVolumeClaim (ReadWriteMany or ReadOnlyMany for several replicas) at the Hugging Face "
             "cache (HF_HOME, default /root/.cache/huggingface) and pre-load it")


def _isvc_cache(b: Bundle, isvc: Document) -> None:
    """KServe's Hugging Face runtime downloads --model_id at start unless storageUri names the
    model (the storage initializer then fetches it; a pvc:// URI keeps it)."""
    model = isvc.get("spec", "predictor", "model")
    if not isinstance(model, dict) or model.get("storageUri"):
        return
    hub = [str(a).split("=", 1)[1] for a in as_list(model.get("args")) if str(a).startswith("--model_id=")]
    if hub and _HUB_ID.match(hub[0]):
        b.report("model-cache-missing", isvc, ("spec", "predictor", "model", "args"),
                 f"--model_id={hub[0]} without storageUri: every predictor pod downloads the weights from the hub "
                 "when it starts", "set storageUri (hf://, s3:// or a pvc:// the weights are pre-loaded on)")


# ----------------------------------------------------------------------------- server flags
def _api_key(b: Bundle, s: Server) -> None:
    arg = s.inv.find("--api-key")
    if arg is None or not arg.value or _VAR.search(arg.value):
        return  # $(VLLM_API_KEY) from a Secret is the right shape
    b.report("api-key-in-args", s.doc, arg.path,
             "--api-key is written into the manifest: everyone who can read the workload (or its pods' command "
             "line) has the key, and it lands in git",
             "put the key in a Secret and pass it as env VLLM_API_KEY (secretKeyRef), or --api-key $(VLLM_API_KEY)")


def _demo_server(b: Bundle, s: Server) -> None:
    if s.inv.entrypoint != "vllm.entrypoints.api_server":
        return
    path = s.inv.args[0].path[:-1] if s.inv.args else s.cpath
    b.report("vllm-demo-server", s.doc, path,
             "vllm.entrypoints.api_server is vLLM's demonstration server: no OpenAI-compatible API "
             "(/v1/completions, /v1/chat/completions), and vLLM does not maintain it for production",
             "run vllm serve MODEL (or python3 -m vllm.entrypoints.openai.api_server --model MODEL)")


# ----------------------------------------------------------------------------- requests
def _requests(b: Bundle, s: Server) -> None:
    res = as_dict(s.container.get("resources"))
    have = set(as_dict(res.get("requests"))) | set(as_dict(res.get("limits")))  # limits default the requests
    missing = [r for r in ("cpu", "memory") if r not in have]
    if not missing:
        return
    b.report("resources-missing", s.doc, s.cpath + (("resources",) if res else ()),
             f"no {' or '.join(missing)} request: the scheduler places the pod on a node without room for vLLM's "
             "tokenizer, scheduler and host memory, and the kubelet evicts it first under pressure",
             f"set resources.requests.{missing[0]}" + (f" and .{missing[1]}" if len(missing) > 1 else "")
             + " (vLLM needs several cores and host memory of about the model size while loading)")


# ----------------------------------------------------------------------------- env
_SHELL_VAR = re.compile(r"^\$(?:\{\w+\}|[A-Za-z_]\w*)$")  # the whole value: `value: $HF_TOKEN`


def _env_shell_vars(b: Bundle, pod) -> None:
    """`value: $HF_TOKEN` reaches the container as the literal text: Kubernetes expands only
    $(NAME), and only for variables defined earlier in the same env list."""
    for cpath, c in pod.containers(init=True):
        for i, e in enumerate(as_list(c.get("env"))):
            value = e.get("value") if isinstance(e, dict) else None
            if isinstance(value, str) and _SHELL_VAR.search(value):
                b.report("env-unexpanded", pod.doc, cpath + ("env", i, "value"),
                         f"env {e.get('name')} is {value!r}: unless the file goes through envsubst (as some samples "
                         "say), Kubernetes passes the dollar sign and the name on literally",
                         "use valueFrom.secretKeyRef for secrets, or $(NAME) for a variable defined earlier in env")


# ----------------------------------------------------------------------------- host access
def _host(b: Bundle, pod) -> None:
    found = [(pod.spec_path + (k,), k) for k in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(k) is True]
    found += [(pod.spec_path + ("volumes", i, "hostPath"), f"hostPath {dig(v, 'hostPath', 'path')}")
              for i, v in enumerate(as_list(pod.spec.get("volumes"))) if isinstance(v, dict) and "hostPath" in v]
    if not found:
        return
    b.report("host-access", pod.doc, found[0][0],
             f"the pod uses the node's {', '.join(w for _, w in found)}: replicas on one node collide (ports, "
             "IPC), NetworkPolicies do not apply to host networking, and the pod can reach node files",
             "drop them: the GPU device plugin mounts the devices, an emptyDir {medium: Memory} at /dev/shm replaces "
             "hostIPC, and a Service replaces hostNetwork")


# ----------------------------------------------------------------------------- fetch at start
def _scripts(c: dict, cpath: tuple):
    for key in ("command", "args"):
        for i, tok in enumerate(as_list(c.get(key))):
            if isinstance(tok, str) and (" " in tok or "\n" in tok):
                yield cpath + (key, i), tok


def _fetch(b: Bundle, pod) -> None:
    for cpath, c in pod.containers(init=True):
        for path, script in _scripts(c, cpath):
            live = _COMMENT.sub("", script)  # a commented-out `# pip install vllm` runs nothing
            kinds = [what for pattern, what in FETCH_AT_START if pattern.search(live)]
            if kinds:
                git = " (from a git branch, which moves)" if re.search(r"git\+https?://", live) else ""
                b.report("runtime-fetch", pod.doc, path,
                         f"the container runs {' and '.join(dict.fromkeys(kinds))} when it starts{git}: every start "
                         "depends on the network, and a restart may install different code",
                         "bake the packages into the image (a Dockerfile FROM the vLLM image), pinned to versions")
                break


def _keeps_a_volume(b: Bundle, doc: Document) -> bool:
    """Whether any pod of ``doc`` mounts a volume that outlives it (outside system paths)."""
    for pod in b.pods:
        if pod.doc is not doc:
            continue
        volumes = {str(v.get("name")): v for v in as_list(pod.spec.get("volumes")) if isinstance(v, dict)}
        for _, c in pod.containers(init=True):
            for mount in as_list(c.get("volumeMounts")):
                name, where = str(as_dict(mount).get("name")), str(as_dict(mount).get("mountPath", ""))
                if not where.startswith(SYSTEM_PATHS) and any(k in volumes.get(name, {}) for k in KEEPING_VOLUMES):
                    return True
    return False


def _runtime_env(b: Bundle, doc: Document) -> None:
    from ruamel.yaml import YAML

    for key in ("serveConfigV2",):
        text = doc.get("spec", key)
        if not isinstance(text, str):
            continue
        try:
            config = YAML(typ="safe", pure=True).load(text)
        except Exception:  # not YAML: KubeRay reports it
            continue
        for i, app in enumerate(as_list(as_dict(config).get("applications"))):
            env = as_dict(as_dict(app).get("runtime_env"))
            # Ray Serve LLM apps name their model in env_vars (MODEL_ID in KubeRay's vLLM samples)
            models = [str(v) for k, v in as_dict(env.get("env_vars")).items()
                      if "MODEL" in str(k).upper() and _HUB_ID.match(str(v))]
            if models and str(as_dict(env.get("env_vars")).get("HF_HUB_OFFLINE")) not in ("1", "true") \
                    and not _keeps_a_volume(b, doc):
                b.report("model-cache-missing", doc, ("spec", key),
                         f"applications[{i}] serves {models[0]} from the hub and no Ray pod mounts a volume that keeps "
                         "it: every replica start downloads the weights again",
                         "mount a PersistentVolumeClaim at the Hugging Face cache of the GPU worker group")
            fetched = [k for k in ("pip", "conda", "uv") if env.get(k)]
            for k in ("working_dir", "py_modules"):
                values = env.get(k) if isinstance(env.get(k), list) else [env.get(k)]
                if any(isinstance(v, str) and re.match(r"^(https?|s3|gs)://", v) for v in values):
                    fetched.append(f"{k} from a URL")
            if fetched:
                b.report("runtime-fetch", doc, ("spec", key),
                         f"applications[{i}].runtime_env installs {', '.join(fetched)} when the Ray cluster starts the "
                         "application: every start downloads it again and may get different code",
                         "build an image with the packages and the application code, and drop runtime_env pip/working_dir")


# ----------------------------------------------------------------------------- rollouts
def _surges(d: Document) -> bool:
    strategy = as_dict(d.get("spec", "strategy"))
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    surge = dig(strategy, "rollingUpdate", "maxSurge", default="25%")
    return str(surge).strip() not in ("0", "0%")


def _percent_or_int(value, replicas: int, round_up: bool) -> int | None:
    text = str(value).strip()
    try:
        if text.endswith("%"):
            share = float(text[:-1]) * replicas / 100
            return int(-(-share // 1)) if round_up else int(share // 1)
        return int(text)
    except ValueError:
        return None


def _gpu_surge(b: Bundle, d: Document) -> None:
    """Surge with nothing unavailable: the new GPU pod must fit beside the old ones."""
    gpus = 0
    for s in b.servers_of(d):
        for section in ("limits", "requests"):
            for key, value in as_dict(as_dict(s.container.get("resources")).get(section)).items():
                if "gpu" in str(key).lower() and str(value).isdigit():
                    gpus = max(gpus, int(str(value)))
    if not gpus:
        return
    replicas = d.get("spec", "replicas", default=1)
    replicas = replicas if isinstance(replicas, int) and replicas > 0 else 1
    rolling = as_dict(dig(d.get("spec", "strategy"), "rollingUpdate"))
    surge = _percent_or_int(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _percent_or_int(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge and unavailable == 0:
        b.report("rollout-stuck", d, ("spec", "strategy") if d.get("spec", "strategy") else ("spec",),
                 f"a rolling update adds {surge} pod(s) of {gpus} GPU(s) before it stops an old one (maxUnavailable "
                 f"rounds to 0 for {replicas} replica(s)): on a fully used GPU pool the new pod stays Pending and "
                 "the rollout never finishes", "keep spare GPU capacity, or set rollingUpdate {maxSurge: 0, "
                 "maxUnavailable: 1} (one replica down at a time), or strategy: Recreate", Severity.INFO)


def _rollout(b: Bundle, d: Document) -> None:
    if not _surges(d):
        return
    _gpu_surge(b, d)
    spec = as_dict(d.get("spec", "template", "spec"))
    for i, vol in enumerate(as_list(spec.get("volumes"))):
        claim = dig(vol, "persistentVolumeClaim", "claimName")
        pvc = b.find("PersistentVolumeClaim", str(claim), d) if isinstance(claim, str) else None
        modes = [str(m) for m in as_list(pvc.get("spec", "accessModes"))] if pvc else []
        if pvc is None or not modes or any(m in ("ReadWriteMany", "ReadOnlyMany") for m in modes):
            continue
        b.report("rollout-stuck", d, ("spec", "template", "spec", "volumes", i, "persistentVolumeClaim"),
                 f"a rolling update starts the new pod before the old one stops, but claim {claim!r} is "
                 f"{'/'.join(modes)}: on another node the new pod cannot attach it (Multi-Attach error) and the "
                 "rollout hangs", "set strategy: {type: Recreate}, or make the claim ReadWriteMany/ReadOnlyMany")
        return


# ----------------------------------------------------------------------------- secrets
def _base64(b: Bundle, secret: Document) -> None:
    for key, value in as_dict(secret.get("data")).items():
        if not isinstance(value, str):
            continue  # the schema layer reports the type
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            b.report("secret-not-base64", secret, ("data", key),
                     f"data.{key} is not base64 ({value[:30]!r}): the API server rejects the Secret, and every pod "
                     "that reads it stays in CreateContainerConfigError",
                     f"put the plain value under stringData.{key}, or base64-encode it (echo -n ... | base64)",
                     Severity.ERROR)
