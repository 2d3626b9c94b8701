"""GPU and model catalogs: data files validated once at load, with "did you mean" lookups."""
import difflib
import functools
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import CatalogError, InputError

FP8Support = Literal["native", "weight-only", "none"]
AttentionKind = Literal["full", "sliding-window", "chunked-local", "mla"]
Quantization = Literal["fp8", "int8", "awq", "gptq", "mxfp4", "nvfp4"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class GpuEntry(_Strict):
    key: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    aliases: tuple[str, ...] = ()
    name: str
    vendor: Literal["nvidia", "amd"]
    architecture: str  # turing, ampere, ada, hopper, blackwell, cdna3
    compute_capability: str | None = None
    memory_gib: float = Field(gt=0, description="device total as CUDA reports it (GiB); vLLM budgets from this")
    memory_marketed_gb: float = Field(gt=0)
    bandwidth_tbps: float = Field(gt=0)
    bf16_tflops: float | None = Field(default=None, gt=0, description="dense, no sparsity (FP16 where no BF16)")
    fp8_tflops: float | None = Field(default=None, gt=0)
    matmul_bf16_tflops: float | None = Field(default=None, gt=0, description="measured max achievable matmul (MAMF)")
    fp8_support: FP8Support
    bf16_support: bool = True
    interconnect: str
    interconnect_gbps: float | None = Field(default=None, gt=0, description="GPU-GPU GB/s per direction")
    resource_name: str
    product_label: str | None = None  # nvidia.com/gpu.product (GPU feature discovery)
    gke_accelerator: str | None = None  # cloud.google.com/gke-accelerator on GKE
    gpus_per_node: int = Field(ge=1, le=16)
    # cloud (aws, gcp, azure) -> machine type -> GPUs per machine; Karpenter's instance-gpu-name
    instances: dict[Literal["aws", "gcp", "azure"], dict[str, int]] = Field(default_factory=dict)
    karpenter_gpu_name: str | None = None
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str | None = None


class ModelEntry(_Strict):
    id: str  # Hugging Face id, org/name
    aliases: tuple[str, ...] = ()
    model_type: str
    num_layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    intermediate_size: int | None = Field(default=None, gt=0)
    num_attention_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    max_context: int = Field(gt=0)
    dtype: Literal["bfloat16", "float16", "float32"]
    tie_word_embeddings: bool = False
    params_b: float | None = Field(default=None, gt=0, description="total parameters, billions (sourced)")
    # MoE
    num_experts: int | None = Field(default=None, gt=0)
    experts_per_token: int | None = Field(default=None, gt=0)
    num_shared_experts: int = 0
    moe_intermediate_size: int | None = Field(default=None, gt=0)
    first_dense_layers: int = 0  # leading dense (non-MoE) layers, e.g. DeepSeek first_k_dense_replace
    moe_every: int = 1  # MoE on every Nth layer (Llama 4 Maverick interleaves)
    # attention
    attention: AttentionKind = "full"
    sliding_window: int | None = Field(default=None, gt=0)
    sliding_layers: int = 0  # how many layers use the window (or the local chunk)
    kv_lora_rank: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int | None = Field(default=None, gt=0)
    q_lora_rank: int | None = Field(default=None, gt=0)
    qk_nope_head_dim: int | None = Field(default=None, gt=0)
    v_head_dim: int | None = Field(default=None, gt=0)
    # checkpoint
    quantization: Quantization | None = None  # pre-quantized checkpoint
    weight_bytes: int | None = Field(default=None, gt=0, description="exact checkpoint size when known")
    bf16_attention: bool = False  # a quantized checkpoint that keeps attention in 16-bit (Meta's FP8 405B)
    multimodal: bool = False
    # vision encoder (multimodal): what the start-up profiler runs on dummy images (profiling.py)
    vision_params_b: float | None = Field(default=None, gt=0, description="encoder + projector, billions (part of params_b)")
    vision_hidden_size: int | None = Field(default=None, gt=0)
    vision_intermediate_size: int | None = Field(default=None, gt=0)
    vision_output_size: int | None = Field(default=None, gt=0, description="features per patch the encoder outputs")
    vision_tokens_per_item: int | None = Field(default=None, gt=0, description="encoder sequence per image (patches x tiles)")
    mm_tokens_per_item: int | None = Field(default=None, gt=0, description="embeddings one image hands the language model")
    gated: bool = False  # the Hub wants a token of an account granted access (cloud-gpu-facts.md section 6)
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ModelEntry":
        if self.attention == "mla" and not (self.kv_lora_rank and self.qk_rope_head_dim):
            raise ValueError("MLA attention needs kv_lora_rank and qk_rope_head_dim")
        if self.attention in ("sliding-window", "chunked-local") and not (self.sliding_window and self.sliding_layers):
            raise ValueError(f"{self.attention} attention needs sliding_window and sliding_layers")
        if self.sliding_layers > self.num_layers:
            raise ValueError("sliding_layers exceeds num_layers")
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError("num_attention_heads must be a multiple of num_kv_heads")
        if (self.num_experts is None) != (self.experts_per_token is None):
            raise ValueError("num_experts and experts_per_token go together")
        return self

    @property
    def is_moe(self) -> bool:
        return bool(self.num_experts)


@functools.cache
def _load(name: str) -> list[dict]:
    """The catalogs are edited as YAML (data/*.yaml) and read from their generated JSON twin
    (data/catalog.json, `python -m vllmkube.catalog` rebuilds it; a test fails when it is stale):
    parsing YAML in pure Python would cost more than the rest of `vllmkube size`."""
    doc = _load_json()[name]
    if set(doc) != {name}:  # data/gpus.yaml holds `gpus: [...]`, nothing else
        raise CatalogError(f"data/{name}.yaml must hold only a `{name}:` list, not {sorted(doc)}")
    return doc[name]


@functools.cache
def _load_json() -> dict:
    import json

    return json.loads(resources.files("vllmkube.data").joinpath("catalog.json").read_text(encoding="utf-8"))


def build_json() -> str:
    """The JSON twin of the YAML catalogs, byte-for-byte deterministic."""
    import json

    from ruamel.yaml import YAML

    data = {}
    for name in ("gpus", "models"):
        text = resources.files("vllmkube.data").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        data[name] = YAML(typ="safe", pure=True).load(text)
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def _norm(text: str) -> str:
    return text.strip().lower().replace("_", "-").replace(" ", "-")


@functools.cache
def gpus() -> tuple[GpuEntry, ...]:
    """Every GPU, validated (listings, tests). A lookup validates only the entry it finds."""
    entries = tuple(_valid_gpu(i) for i in range(len(_load("gpus"))))
    _check_unique((g.key, *g.aliases, *((g.product_label,) if g.product_label else ())) for g in entries)
    return entries


@functools.cache
def models() -> tuple[ModelEntry, ...]:
    """Every model, validated (listings, tests). A lookup validates only the entry it finds."""
    entries = tuple(_valid_model(i) for i in range(len(_load("models"))))
    _check_unique((m.id, *m.aliases) for m in entries)
    return entries


@functools.cache
def _valid_gpu(i: int) -> GpuEntry:
    raw = _load("gpus")[i]
    try:
        return GpuEntry.model_validate(raw)
    except Exception as exc:  # a broken shipped file is our bug
        raise CatalogError(f"data/gpus.yaml is invalid at {raw.get('key', i)!r}: {exc}") from exc


@functools.cache
def _valid_model(i: int) -> ModelEntry:
    raw = _load("models")[i]
    try:
        return ModelEntry.model_validate(raw)
    except Exception as exc:
        raise CatalogError(f"data/models.yaml is invalid at {raw.get('id', i)!r}: {exc}") from exc


def _check_unique(name_groups) -> None:
    seen: set[str] = set()
    for group in name_groups:
        for name in {_norm(n) for n in group}:
            if name in seen:
                raise CatalogError(f"catalog name {name!r} is used twice")
            seen.add(name)


# The indexes map names to positions in the raw catalog: a command that looks up one model and
# one GPU validates those two entries, not the whole catalog (a tenth of render's own time).
@functools.cache
def _gpu_index() -> dict[str, int]:
    index: dict[str, int] = {}
    for i, g in enumerate(_load("gpus")):
        for name in (g["key"], *g.get("aliases", ()), *((g["product_label"],) if g.get("product_label") else ())):
            index[_norm(name)] = i
    return index


def _model_names(model_id: str, aliases) -> set[str]:
    names = set()
    for full in (model_id, *aliases):
        for name in (full, full.split("/")[-1]):
            n = _norm(name)
            names.add(n)
            # "-Instruct" / "-it" variants share the base architecture
            for suffix in ("-instruct", "-it", "-chat"):
                if n.endswith(suffix):
                    names.add(n[: -len(suffix)])
            names.add(n.replace("-instruct-", "-"))  # Qwen2.5-7B-Instruct-AWQ -> qwen2.5-7b-awq
    return names


@functools.cache
def _model_index() -> dict[str, int]:
    raw = _load("models")
    index: dict[str, int] = {}
    # exact ids and aliases first, so "-Instruct" stripping never shadows a real entry
    for i, m in enumerate(raw):
        for full in (m["id"], *m.get("aliases", ())):
            index[_norm(full)] = i
    for i, m in enumerate(raw):
        for name in _model_names(m["id"], m.get("aliases", ())):
            index.setdefault(name, i)
    return index


def find_gpu(name: str) -> GpuEntry:
    index = _gpu_index()
    key = _norm(name)
    if key in index:
        return _valid_gpu(index[key])
    close = difflib.get_close_matches(key, sorted(index), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_load("gpus")[index[c]]["key"] for c in close))
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise InputError("--gpu", f"unknown GPU {name!r}", f"{hint}see `vllmkube gpus`, or pass --gpu-memory-gib for an unlisted card")


def find_gpu_in_text(text: str) -> GpuEntry:
    """The catalog GPU a free-text description names ("NVIDIA L40S (46068 MiB; AWS g6e)"):
    the longest key or alias that stands as a whole word in it. For reading logs and benchmarks."""
    t = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    best: tuple[str, GpuEntry] | None = None
    for g in gpus():
        for n in (g.key, *g.aliases):
            if re.search(rf"(^|-){re.escape(_norm(n))}($|-)", t) and (best is None or len(n) > len(best[0])):
                best = (n, g)
    if best is None:
        raise LookupError(f"no catalog GPU in {text!r}")
    return best[1]


def find_model(name: str) -> ModelEntry:
    index = _model_index()
    key = _norm(name)
    candidates = [key, key.split("/")[-1]]
    for c in list(candidates):
        for suffix in ("-instruct", "-it", "-chat"):
            if c.endswith(suffix):
                candidates.append(c[: -len(suffix)])
    for c in candidates:
        if c in index:
            return _valid_model(index[c])
    # a unique prefix is enough: "mixtral-8x7b" -> "mixtral-8x7b-instruct-v0.1"
    prefixed = {i for n, i in index.items() if n.startswith(candidates[1] + "-")}
    if len(prefixed) == 1:
        return _valid_model(prefixed.pop())
    ids = sorted({m["id"].split("/")[-1].lower() for m in _load("models")})
    close = difflib.get_close_matches(key.split("/")[-1], ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise InputError("--model", f"unknown model {name!r}", f"{hint}see `vllmkube models`, or pass --model-config PATH to a config.json")


if __name__ == "__main__":  # python -m vllmkube.catalog: rebuild data/catalog.json from the YAML files
    from pathlib import Path

    target = Path(__file__).parent / "data" / "catalog.json"
    target.write_text(build_json(), encoding="utf-8")
    print(f"wrote {target}")
