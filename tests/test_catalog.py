"""The shipped catalogs load, hold what the issue asks for, and lookups forgive spelling."""
import pytest

from vllmkube import arch, catalog
from vllmkube.errors import InputError

REQUIRED_GPUS = ["t4", "a10g", "a10", "l4", "l40", "l40s", "a100-40gb", "a100-80gb", "h100-80gb", "h100-pcie",
                 "h100-nvl", "h200", "gh200", "b200", "rtx-3090", "rtx-4090", "rtx-6000-ada", "mi300x", "mi325x"]


def test_gpu_catalog_has_required_keys():
    keys = {g.key for g in catalog.gpus()}
    assert set(REQUIRED_GPUS) <= keys


@pytest.mark.parametrize("name,key", [("h100", "h100-80gb"), ("H100-80GB", "h100-80gb"), ("NVIDIA-L40S", "l40s"),
                                      ("nvidia_h100_80gb_hbm3", "h100-80gb"), ("Tesla-T4", "t4")])
def test_gpu_aliases_and_product_labels(name, key):
    assert catalog.find_gpu(name).key == key


def test_gpu_memory_is_what_cuda_reports_not_marketing():
    h100 = catalog.find_gpu("h100")
    assert h100.memory_gib == pytest.approx(79.22, abs=0.2)  # vLLM logs print 79.22 GiB
    assert h100.memory_gib < h100.memory_marketed_gb
    assert catalog.find_gpu("mi300x").resource_name == "amd.com/gpu"


def test_unknown_gpu_suggests_close_matches():
    with pytest.raises(InputError) as err:
        catalog.find_gpu("h10")
    assert "--gpu" in str(err.value) and "h100" in str(err.value)


def test_model_catalog_size_and_families():
    models = catalog.models()
    assert len(models) >= 30
    kinds = {m.attention for m in models}
    assert kinds == {"full", "sliding-window", "chunked-local", "mla"}
    assert any(m.is_moe for m in models)


@pytest.mark.parametrize("name", ["meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct", "Llama-3.1-8B",
                                  "META-LLAMA/LLAMA-3.1-8B", "meta-llama/Llama-3.1-8B"])
def test_model_lookup_is_forgiving(name):
    assert catalog.find_model(name).id == "meta-llama/Llama-3.1-8B-Instruct"


def test_unknown_model_names_close_matches_and_hint():
    with pytest.raises(InputError) as err:
        catalog.find_model("llama-3.1-9b")
    msg = str(err.value)
    assert msg.startswith("--model:") and "did you mean" in msg and "--model-config" in msg


def test_llama_8b_kv_bytes_per_token_is_128_kib():
    m = catalog.find_model("llama-3.1-8b")
    assert arch.kv_bytes_per_token(m, 2) == 131072


def test_deepseek_mla_kv_is_latent_not_heads():
    m = catalog.find_model("deepseek-v3")
    assert m.attention == "mla"
    assert arch.kv_bytes_per_token(m, 2) == 61 * (512 + 64) * 2
    # replicated on every TP rank: no split by 8
    assert arch.kv_layer_bytes_per_token(m, 8, 2) == (512 + 64) * 2


def test_param_count_from_architecture_matches_sourced_count():
    # computed without the sourced total, the layout arithmetic lands within 2% of it
    for name in ("llama-3.1-8b", "llama-3.1-70b", "qwen2.5-7b", "mixtral-8x7b", "qwen3-30b-a3b"):
        m = catalog.find_model(name)
        computed = arch.param_split(m.model_copy(update={"params_b": None})).total / 1e9
        assert computed == pytest.approx(m.params_b, rel=0.03), name


def test_generated_json_twin_is_up_to_date():
    """data/catalog.json is generated from the YAML files: `python -m vllmkube.catalog` rebuilds it."""
    from importlib import resources

    committed = resources.files("vllmkube.data").joinpath("catalog.json").read_text(encoding="utf-8")
    assert committed == catalog.build_json(), "run: python -m vllmkube.catalog"
