"""The CLI as a user meets it: exit codes, one-line errors, stdout only for results."""
import json
import os
import sys

import pytest

from clirun import run

CONTRACT = ["schema_version", "model", "gpu", "tensor_parallel_size", "pipeline_parallel_size", "gpus_per_replica",
            "nodes_per_replica", "quantization", "kv_cache_dtype", "max_model_len", "gpu_memory_utilization",
            "rule_of_thumb_gb", "weights_gib_per_gpu", "overhead_gib_per_gpu", "kv_cache_gib_per_gpu",
            "kv_bytes_per_token", "kv_cache_tokens", "max_concurrency", "fits", "rejected", "warnings"]


def test_size_json_contract(capsys):
    r = run(capsys, "size", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100", "--output", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert set(CONTRACT) <= set(data)
    assert data["kv_bytes_per_token"] == 131072 and data["tensor_parallel_size"] == 1
    assert data["schema_version"] == 1


def test_size_table_shows_breakdown(capsys):
    r = run(capsys, "size", "-m", "llama-3.1-70b", "-g", "a100-80gb")
    assert r.code == 0
    for word in ("weights", "KV cache", "activation", "budget", "rejected"):
        assert word in r.out


def test_size_yaml(capsys):
    r = run(capsys, "size", "-m", "qwen3-8b", "-g", "l4", "-o", "yaml")
    assert r.code == 0 and "kv_cache_tokens:" in r.out


def test_params_b_alone_is_the_rule_of_thumb(capsys):
    r = run(capsys, "size", "--params-b", "70", "--output", "json")
    data = json.loads(r.out)
    assert r.code == 0 and data["method"] == "rule-of-thumb" and data["rule_of_thumb_gb"] == 175.0


def test_unlisted_gpu_by_memory(capsys):
    r = run(capsys, "size", "-m", "llama-3.1-8b", "--gpu-memory-gib", "44", "-o", "json")
    assert r.code == 0 and json.loads(r.out)["gpu_memory_gib"] == 44


@pytest.mark.parametrize("args,field", [
    (["--gpu", "h1000"], "--gpu"),
    (["--gpu", "h100", "--max-model-len", "999999"], "--max-model-len"),
    (["--gpu", "h100", "--tensor-parallel-size", "3"], "--tensor-parallel-size"),
    (["--gpu", "h100", "--gpu-memory-utilization", "1.5"], "--gpu-memory-utilization"),
    (["--gpu", "h100", "--gpu-memory-utilization", "-0.1"], "--gpu-memory-utilization"),
    (["--gpu", "h100", "--quantization", "int3"], "--quantization"),
    (["--gpu", "h100", "--vllm-version", "banana"], "--vllm-version"),
    (["--gpu", "h100", "--output", "xml"], "--output"),
])
def test_bad_input_exits_2_with_one_line(capsys, args, field):
    r = run(capsys, "size", "--model", "llama-3.1-8b", *args)
    assert r.code == 2
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in r.err


def test_unknown_model_hint(capsys):
    r = run(capsys, "size", "--model", "lama-3.1-8b", "--gpu", "h100")
    assert r.code == 2 and "did you mean" in r.err and "--model-config" in r.err


def test_usage_errors_exit_2(capsys):
    r = run(capsys, "size", "--no-such-flag")
    assert r.code == 2 and "Traceback" not in r.err


def test_version_and_catalog_listings(capsys):
    r = run(capsys, "--version")
    assert r.code == 0 and r.out.startswith("vllmkube ")
    gpus = json.loads(run(capsys, "gpus", "--output", "json").out)
    assert {"h100-80gb", "mi300x"} <= {g["key"] for g in gpus}
    models = json.loads(run(capsys, "models", "-o", "json").out)
    assert len(models) >= 30
    assert "h100-80gb" in run(capsys, "gpus").out


def test_command_module_map_covers_every_command(capsys):
    """main() imports only the invoked command's module: the map must name each command's module."""
    from vllmkube import cli

    run(capsys, "--help")  # imports every command module
    registered = {(c.name or c.callback.__name__): c.callback.__module__.rsplit(".", 1)[-1]
                  for c in cli.app.registered_commands}
    assert registered == cli.COMMAND_MODULES


def test_generated_reference_docs_are_current():
    """docs/cli.md and docs/vllmkube.schema.json are generated: `python -m vllmkube.docgen`."""
    from vllmkube import docgen

    for filename, text in docgen.outputs().items():
        assert (docgen.DOCS / filename).read_text(encoding="utf-8") == text, f"stale docs/{filename}: run python -m vllmkube.docgen"


def test_every_config_key_has_a_flag_and_every_flag_reaches_the_spec():
    """render's parameters are named like RenderSpec's fields: nothing typed is dropped on the way."""
    import inspect

    from vllmkube.commands import render_cmd, size_cmd
    from vllmkube.spec import RenderSpec, SizeSpec

    render_params = set(inspect.signature(render_cmd.render).parameters)
    assert set(RenderSpec.model_fields) - {"params_b", "concurrency"} <= render_params
    size_params = set(inspect.signature(size_cmd.size).parameters)
    assert set(SizeSpec.model_fields) <= size_params


def test_bare_command_shows_help_and_exits_0(capsys):
    """typer >= 0.2x raises NoArgsIsHelpError for no_args_is_help; bare `vllmkube` must not crash on it."""
    import subprocess
    import sys

    r = run(capsys)
    assert r.code == 0 and "Usage: vllmkube" in r.out and "render" in r.out and "internal error" not in r.err
    proc = subprocess.run([sys.executable, "-m", "vllmkube"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Usage: vllmkube" in proc.stdout and proc.stderr == ""


@pytest.mark.parametrize("args", [
    ["simulate", "-m", "llama-3.1-8b", "-g", "h100", "--plot", "/no/such/dir/x.svg"],  # fails after the report is built
    ["size", "-m", "llama-3.1-8b", "-g", "h1000"],
    ["render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "--max-model-len", "9999999"],
    ["render", "-m", "llama-3.1-8b", "--hf-token-secret", "hf", "-g", "h100", "-o", "xml"],
    ["lint", "/no/such/file.yaml"],
    ["gpus", "-o", "xml"],
    ["init", "/no/such/dir/vllmkube.yaml"],
    ["render", "--no-such-flag"],
])
def test_nothing_on_stdout_when_a_command_fails(capsys, args):
    r = run(capsys, *args)
    assert r.code == 2, r.err
    assert r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("error: ")


def test_simulate_plot_to_a_bad_folder_prints_no_report(capsys, tmp_path):
    ok = run(capsys, "simulate", "-m", "llama-3.1-8b", "-g", "h100", "--plot", str(tmp_path / "x.svg"))
    assert ok.code == 0 and ok.out and (tmp_path / "x.svg").read_text().startswith("<svg")


def _long_options(command: str) -> list[str]:
    import typer

    from vllmkube.cli import app

    cmd = typer.main.get_command(app).commands[command]
    return [o for p in cmd.params for o in [*p.opts, *p.secondary_opts] if o.startswith("--")]


def test_help_off_a_terminal_is_plain_and_unwrapped(capsys):
    r = run(capsys, "render", "--help")
    assert r.code == 0 and "╭" not in r.out and "\x1b[" not in r.out
    for option in _long_options("render"):
        assert option in r.out
    # each option's help text stays on its option's line (grep-able, no mid-sentence wrap)
    line = next(x for x in r.out.splitlines() if "--output-dir" in x)
    assert line.rstrip().endswith("other files in the folder are left alone.")


def test_rich_help_on_a_terminal_keeps_option_names_whole(capsys, monkeypatch):
    import shutil

    from typer import rich_utils

    from vllmkube.terminal import HeldOutput

    monkeypatch.setattr(rich_utils, "Table", rich_utils.Table)  # restored after the test
    monkeypatch.setattr(rich_utils, "MAX_WIDTH", 100)
    monkeypatch.setattr(rich_utils, "FORCE_TERMINAL", False)  # no colour codes inside the names
    monkeypatch.setattr(HeldOutput, "isatty", lambda self: True)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a: os.terminal_size((100, 40)))
    r = run(capsys, "render", "--help")
    assert r.code == 0 and "╭" in r.out  # rich panels
    for option in _long_options("render"):
        assert option in r.out, option


def test_shell_completion_is_on(capsys, monkeypatch):
    r = run(capsys, "--help")
    assert "--install-completion" in r.out
    monkeypatch.setenv("_VLLMKUBE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "vllmkube render --output-d")
    monkeypatch.setenv("COMP_CWORD", "2")
    r = run(capsys)
    assert r.code == 0 and r.out.split() == ["--output-dir"]


def test_dependency_ranges_are_bounded():
    import re
    import tomllib

    from conftest import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert re.search(r"<\s*\d", requirement), f"{requirement}: no upper bound"


def _process(*args: str):
    import subprocess

    return subprocess.run([sys.executable, "-m", "vllmkube", *args], capture_output=True, text=True, timeout=120)


def test_the_command_leaves_with_its_output_whole_and_its_exit_code(capsys, tmp_path):
    """`vllmkube` (console) skips the interpreter's teardown: what it printed must still arrive in
    full, byte for byte what main() prints in-process, and every exit code must come through."""
    from pathlib import Path

    from clirun import run

    example = str(Path(__file__).resolve().parent.parent / "examples" / "h100-llama-3.1-8b-slo" / "vllmkube.yaml")
    proc = _process("render", "-f", example)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == run(capsys, "render", "-f", example).out
    assert proc.stdout.rstrip().endswith('kubernetes.io/metadata.name: "gateway"')
    bad = _process("render", "--model", "nope/nope", "--gpu", "h100")
    assert (bad.returncode, bad.stdout) == (2, "") and bad.stderr.startswith("error: --model")
    assert _process("--version").stdout == f"vllmkube {__import__('vllmkube').__version__}\n"
    written = _process("render", "-f", example, "-d", str(tmp_path / "out"))
    assert written.returncode == 0 and (tmp_path / "out" / "kustomization.yaml").read_text().count("  - ") > 5


def test_the_installed_command_is_the_console_entry():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '\n[project.scripts]\nvllmkube = "vllmkube.cli:console"\n' in text


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`vllmkube render | head -1`: no traceback and no "Exception ignored" at exit."""
    import subprocess
    from pathlib import Path

    example = str(Path(__file__).resolve().parent.parent / "examples" / "h100-llama-3.1-8b-slo" / "vllmkube.yaml")
    proc = subprocess.run(f"{sys.executable} -m vllmkube render -f {example} | head -1", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("# Generated by vllmkube")
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
