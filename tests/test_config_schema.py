"""`vllmkube schema` is generated from RenderSpec, the model that parses vllmkube.yaml: every file
the tool accepts validates against it, and the keys it refuses do not."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from clirun import run
from vllmkube.errors import InputError
from vllmkube.spec import RenderSpec, build, config_key, spellings
from vllmkube.yamlio import load_one

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*/vllmkube.yaml"))


@pytest.fixture(scope="module")
def validator():
    from vllmkube.starter import json_schema

    return jsonschema.Draft202012Validator(json.loads(json_schema()))


def errors(validator, data) -> list[str]:
    return [e.message for e in validator.iter_errors(data)]


def accepted(tmp_path: Path, text: str) -> bool:
    from vllmkube.workflow import load_config

    path = tmp_path / "vllmkube.yaml"
    path.write_text(text)
    try:
        build(RenderSpec, load_config(str(path)))
        return True
    except InputError:
        return False


def test_the_command_prints_it(capsys, validator):
    assert json.loads(run(capsys, "schema").out) == validator.schema


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_validates(validator, example):
    assert errors(validator, load_one(example.read_text())) == []


@pytest.mark.parametrize("args", [[], ["-m", "llama-3.1-8b", "-g", "h100"], ["-m", "qwen2.5-72b-awq", "-g", "l40s"]])
def test_init_output_validates(capsys, validator, args):
    text = run(capsys, "init", "-", *args).out
    assert errors(validator, load_one(text) or {}) == []
    # the same file with every commented default switched on validates too
    keys = "|".join(RenderSpec.model_fields)
    uncommented = re.sub(rf"(?m)^# (({keys}): )", r"\1", text)
    assert uncommented.count("\n") - text.count("\n") == 0 and len(load_one(uncommented)) > 40
    assert errors(validator, load_one(uncommented)) == []


@pytest.mark.parametrize("text,valid", [
    ("model: llama-3.1-8b\nslo_ttft_p99: 500ms\n", True),
    ("model: llama-3.1-8b\nslo-ttft-p99: 2s\nmax-model-len: 4096\n", True),
    ("model-config: ./config.json\n", True),
    ("model: llama-3.1-8b\nslo_ttft_p99: fast\n", False),
    ("model: llama-3.1-8b\nmax_modle_len: 4096\n", False),  # a typo
    ("model: llama-3.1-8b\nmax-model_len: 4096\n", False),  # neither spelling
    ("model: llama-3.1-8b\nmax_model_len: 4096\nmax-model-len: 2048\n", False),  # one key twice
    ("model: llama-3.1-8b\nwithout: [ingress]\n", False),
    ("model: llama-3.1-8b\nvllm_version: latest\n", False),
])
def test_schema_and_tool_agree(tmp_path, validator, text, valid):
    assert (errors(validator, load_one(text)) == []) is valid
    if "model-config" not in text:  # the tool would read that file
        assert accepted(tmp_path, text) is valid


def test_every_spelling_in_the_schema_is_one_the_tool_reads(validator):
    props = validator.schema["properties"]
    for name in RenderSpec.model_fields:
        for key in spellings(name):
            assert key in props and config_key(key) == name
    assert {config_key(k) for k in props} == set(RenderSpec.model_fields)
