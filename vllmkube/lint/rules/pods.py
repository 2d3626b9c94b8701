"""The vLLM pod itself: GPUs, /dev/shm, probes during model load, the `vllm` Service trap.

Facts (shared reference kubernetes-vllm-facts.md): /dev/shm for tensor parallelism (3.5),
VLLM_PORT injected by a Service named vllm (3.4), the HTTP port only answers once the model
is loaded and SIGTERM during load kills vLLM (3.3, 3.6). The load-time estimate uses the same
constants as the renderer (plan.pod.ENGINE_INIT_S, the default --load-rate-gib-s).
"""
from __future__ import annotations

import functools
import math
import re

from ... import arch, catalog
from ...errors import InputError
from ...plan.pod import ENGINE_INIT_S, PROBE_SAFETY
from ...sizing import BYTES_PER_PARAM, GIB, PRECISION_LABEL
from .. import imagetags
from ..bundle import RAY_CLUSTER_SPEC, Bundle, Server, related
from .production import downloads_at_start
from ..documents import as_dict, as_list, dig
from ..findings import Severity

LOAD_RATE_GIB_S = 0.5  # a fast disk: a budget too short even for it is surely too short
# A download from the Hugging Face hub onto a fresh node: ~250 MB/s is a good day (hf_transfer
# or Xet reach more; a shared NAT or a throttled token much less).
DOWNLOAD_GIB_S = 0.25
PVC_HEADROOM = 1.2  # a model cache PVC holds the weights plus about 20%
_QUANT_HINT = re.compile(r"(awq|gptq|nvfp4|mxfp4|int8|w8a8|int4|w4a16|fp8)", re.IGNORECASE)
_HINT_PRECISION = {"awq": "awq", "gptq": "gptq", "nvfp4": "nvfp4", "mxfp4": "mxfp4", "int8": "int8", "w8a8": "int8",
                   "int4": "awq", "w4a16": "awq", "fp8": "fp8"}
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)([KMGTPE]i?|[kmgtpe])?$")
_UNIT_GIB = {None: 1 / GIB, "Ki": 1 / 1024**2, "Mi": 1 / 1024, "Gi": 1, "Ti": 1024, "Pi": 1024**2,
             "k": 1e3 / GIB, "K": 1e3 / GIB, "M": 1e6 / GIB, "G": 1e9 / GIB, "T": 1e12 / GIB, "P": 1e15 / GIB}


def check(b: Bundle) -> None:
    _service_named_vllm(b)
    for s in b.servers:
        layout = _layout(b, s)
        if layout is None:
            continue
        _gpus(b, s, layout)
        _shm(b, s, layout)
        _probes(b, s)


# ----------------------------------------------------------------------------- VLLM_PORT
def _service_named_vllm(b: Bundle) -> None:
    for svc in b.of("Service"):
        if svc.name != "vllm" or svc.get("spec", "clusterIP") == "None" or svc.get("spec", "type") == "ExternalName":
            continue  # the kubelet injects <NAME>_PORT only for Services with a cluster IP
        exposed = [s for s in b.servers if related(svc, s.doc) and s.pod.spec.get("enableServiceLinks") is not False]
        protected = [s for s in b.servers if related(svc, s.doc)] and not exposed
        if protected:
            continue
        who = ", ".join(sorted({s.doc.ref for s in exposed})[:3]) if exposed else "every vLLM pod in the namespace"
        b.report("service-named-vllm", svc, ("metadata", "name"),
                 f"a Service named vllm makes Kubernetes inject VLLM_PORT=tcp://... into {who}, and vLLM exits "
                 "(\"VLLM_PORT ... appears to be a URI\")",
                 "rename the Service (e.g. vllm-api), or set enableServiceLinks: false in the pod spec",
                 Severity.ERROR if exposed else Severity.WARNING)


# ----------------------------------------------------------------------------- GPUs and shm
def _layout(b: Bundle, s: Server) -> tuple[int, int, int, int] | None:
    """(tp, pp, dp per pod, nodes per model copy); None when an argument is not a literal."""
    inv = s.inv
    tp = inv.int_value("--tensor-parallel-size", 1)
    if s.doc.kind == "LLMInferenceService" and inv.find("--tensor-parallel-size") is None:
        tensor = s.doc.get("spec", "parallelism", "tensor")  # KServe passes it to vLLM
        tp = tensor if isinstance(tensor, int) and tensor > 0 else 1
    pp = inv.int_value("--pipeline-parallel-size", 1)
    dp_local = inv.int_value("--data-parallel-size-local", None)
    dp = inv.int_value("--data-parallel-size", 1)
    nnodes = inv.int_value("--nnodes", None)
    if None in (tp, pp, dp) or (inv.find("--nnodes") and nnodes is None) or (inv.find("--data-parallel-size-local") and dp_local is None):
        return None
    if nnodes is None:
        size = s.doc.get("spec", "leaderWorkerTemplate", "size", default=1) if s.doc.kind == "LeaderWorkerSet" else 1
        nnodes = size if isinstance(size, int) and size > 0 else 1
    if dp_local is None:
        if dp > 1 and nnodes > 1:
            return None  # data parallel spread over nodes without --data-parallel-size-local: cannot tell
        dp_local = dp
    return tp, pp, dp_local, nnodes


# Accelerators that are not counted in GPUs (TPU chips, Neuron cores, Gaudi cards): the
# parallel layout maps onto them differently, so only their presence is checked.
OTHER_ACCELERATORS = ("google.com/tpu", "aws.amazon.com/neuron", "habana.ai/gaudi", "intel.com/gpu", "gpu.intel.com/",
                      "huawei.com/ascend")


def _other_accelerator(container: dict) -> bool:
    res = as_dict(container.get("resources"))
    keys = [str(k) for section in ("limits", "requests") for k in as_dict(res.get(section))]
    return any(k.lower().startswith(OTHER_ACCELERATORS) for k in keys)


def _gpu_limit(container: dict) -> tuple[str, int | None] | None:
    res = as_dict(container.get("resources"))
    for section in ("limits", "requests"):
        for key, value in as_dict(res.get(section)).items():
            if "gpu" in str(key).lower() and not str(key).lower().startswith(OTHER_ACCELERATORS):
                try:
                    return f"{section}.{key}", int(str(value))
                except ValueError:
                    return f"{section}.{key}", None
    return None


def _gpus(b: Bundle, s: Server, layout: tuple[int, int, int, int]) -> None:
    tp, pp, dp_local, nodes = layout
    if s.doc.kind in RAY_CLUSTER_SPEC:
        return  # the Ray cluster's pods together hold the GPUs of one model copy
    if s.doc.kind == "LLMInferenceService":
        return  # KServe adds the parallel flags from spec.parallelism
    if (tp * pp) % nodes:
        return
    expected = tp * pp * dp_local // nodes
    parts = f"--tensor-parallel-size {tp} x --pipeline-parallel-size {pp}" + (f" x data parallel {dp_local}" if dp_local > 1 else "")
    parts += f" / {nodes} nodes" if nodes > 1 else ""
    found = _gpu_limit(s.container)
    if found is None and (_other_accelerator(s.container) or imagetags.is_cpu_image(s.image)
                          or s.pod.spec.get("resourceClaims")):
        return  # TPU/Neuron/Gaudi, a CPU build of vLLM, or devices claimed through DRA
    if found is None:
        b.report("gpu-limit-mismatch", s.doc, s.cpath + ("resources",),
                 f"no GPU limit, but {parts} needs {expected} GPU(s) in this pod: it may land on a node without GPUs",
                 f"set resources.limits.nvidia.com/gpu (or amd.com/gpu) to {expected}",
                 Severity.ERROR if expected > 1 else Severity.WARNING)
        return
    where, count = found
    if count is None or count == expected:
        return
    effect = ("vLLM fails at start-up (world size larger than the GPUs it sees)" if count < expected
              else f"{count - expected} GPU(s) stay idle")
    b.report("gpu-limit-mismatch", s.doc, s.cpath + ("resources",) + tuple(where.split(".", 1)),
             f"GPU {where.split('.')[0][:-1]} {count}, but {parts} = {expected} per pod: {effect}",
             f"set the GPU limit to {expected}, or change the parallel sizes",
             Severity.ERROR if count < expected else Severity.WARNING)  # idle GPUs cost, but the server runs


def _shm(b: Bundle, s: Server, layout: tuple[int, int, int, int]) -> None:
    tp, pp, dp_local, _ = layout
    if tp * pp * dp_local <= 1 or s.pod.spec.get("hostIPC") is True:
        return
    if _other_accelerator(s.container) or imagetags.is_cpu_image(s.image):
        return  # the NCCL shared-memory failure is a GPU one
    for mount in as_list(s.container.get("volumeMounts")):
        if isinstance(mount, dict) and str(mount.get("mountPath", "")).rstrip("/") == "/dev/shm":
            return
    what = f"tensor parallel size {tp}" if tp > 1 else f"{tp * pp * dp_local} GPU workers"
    b.report("shm-missing", s.doc, s.cpath + ("volumeMounts",) if s.container.get("volumeMounts") else s.cpath,
             f"{what} but no /dev/shm volume: the container gets the runtime's 64 MiB and NCCL fails "
             "(\"Error while creating shared memory segment\")",
             "mount an emptyDir {medium: Memory, sizeLimit: 2Gi or more} at /dev/shm and count it in the memory limit")


# ----------------------------------------------------------------------------- probes
@functools.lru_cache(maxsize=512)
def _catalog_model(name: str):
    try:
        return catalog.find_model(name)
    except InputError:  # its "did you mean" search is slow: failures are cached too
        return None


def _model(s: Server):
    names = s.inv.served_names + [s.inv.value("--model") or "", s.inv.model or ""]
    for name in names:
        for candidate in (name, name.rstrip("/").rsplit("/", 1)[-1]):
            if candidate and not candidate.startswith("$"):
                found = _catalog_model(candidate)
                if found is not None:
                    return found
    return None


def _weights(b: Bundle, s: Server) -> tuple[float, str, Severity] | None:
    """(GiB read at start-up, where the figure comes from, severity when the budget is short)."""
    m = _model(s)
    if m is not None:
        checkpoint = m.quantization or "16bit"
        precision = checkpoint
        q = s.inv.value("--quantization")
        if q in BYTES_PER_PARAM and q != "fp8":
            precision = q  # a 4-bit/8-bit method means a pre-quantized checkpoint on disk
        elif checkpoint == "16bit":
            hint = _QUANT_HINT.search(" ".join(x for x in (s.inv.model, s.inv.value("--model")) if x))
            if hint:
                precision = _HINT_PRECISION[hint.group(1).lower()]
        if m.weight_bytes and precision == checkpoint:
            size = m.weight_bytes / GIB
        else:
            size = arch.param_split(m).total * BYTES_PER_PARAM[precision] / GIB
        return size, f"{m.id} ({PRECISION_LABEL[precision]} weights, ~{size:.0f} GiB)", Severity.ERROR
    for vol in as_list(s.pod.spec.get("volumes")):
        claim = dig(vol, "persistentVolumeClaim", "claimName")
        pvc = b.find("PersistentVolumeClaim", str(claim), s.doc) if claim else None
        storage = pvc.get("spec", "resources", "requests", "storage") if pvc else None
        gib = _gib(storage)
        if gib:
            size = gib / PVC_HEADROOM
            return size, f"the weights on PersistentVolumeClaim {claim} ({storage}, assumed ~{size:.0f} GiB of weights)", Severity.WARNING
    return None


def _gib(quantity) -> float | None:
    m = _QUANTITY.match(str(quantity or ""))
    return float(m.group(1)) * _UNIT_GIB[m.group(2)] if m and m.group(2) in _UNIT_GIB else None


def _budget(probe: dict) -> tuple[int, int, int, int]:
    delay = int(probe.get("initialDelaySeconds") or 0)
    period = int(probe.get("periodSeconds") or 10)
    failures = int(probe.get("failureThreshold") or 3)
    return delay + period * failures, delay, period, failures


def _probes(b: Bundle, s: Server) -> None:
    startup, liveness = s.container.get("startupProbe"), s.container.get("livenessProbe")
    probe, key = (startup, "startupProbe") if isinstance(startup, dict) else (liveness, "livenessProbe")
    if not isinstance(probe, dict):
        return  # nothing kills the pod while it loads
    weights = _weights(b, s)
    if weights is None:
        return
    size, source, severity = weights
    try:
        budget, delay, period, failures = _budget(probe)
    except (TypeError, ValueError):
        return
    needed = math.ceil(size / LOAD_RATE_GIB_S + ENGINE_INIT_S)
    which = "startupProbe" if key == "startupProbe" else "livenessProbe (there is no startupProbe)"
    allows = f"{which} allows {budget}s (initialDelay {delay} + period {period} x failureThreshold {failures})"
    if budget < needed:
        want = math.ceil((needed * PROBE_SAFETY - delay) / period)
        b.report("startup-probe-budget", s.doc, s.cpath + (key,),
                 f"{allows}, but loading {source} at {LOAD_RATE_GIB_S:g} GiB/s plus ~{ENGINE_INIT_S}s engine "
                 f"start needs ~{needed}s: the kubelet kills vLLM mid-load",
                 f"add a startupProbe on /health with periodSeconds {period} and failureThreshold >= {want}"
                 if key != "startupProbe" else f"raise startupProbe.failureThreshold to {want} or more", severity)
        return
    model = downloads_at_start(s)
    download = math.ceil(size / DOWNLOAD_GIB_S) if model else 0
    if severity != Severity.ERROR and not download:
        return  # the size is a guess from a claim's capacity: too rough to ask for margin
    safe = math.ceil((needed + download) * PROBE_SAFETY)
    if budget >= safe:
        return
    want = math.ceil((safe - delay) / period)
    if download:
        why = (f"every start first downloads {model} (~{size:.0f} GiB, ~{download}s at {DOWNLOAD_GIB_S:g} GiB/s), "
               f"then loads it (~{needed}s with engine start)")
    else:
        why = f"loading {source} with engine start takes ~{needed}s, which leaves less than {PROBE_SAFETY:g}x margin"
    b.report("startup-probe-budget", s.doc, s.cpath + (key,),
             f"{allows}: {why}; a slow node or a slow day and the kubelet kills vLLM mid-start",
             f"raise {key}.failureThreshold to {want} or more" + (", or keep the model on a volume" if download else ""),
             Severity.WARNING)
