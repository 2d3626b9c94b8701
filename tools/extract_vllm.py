"""Extract what vllmkube needs to know about vLLM releases from the releases' own wheels.

    python tools/extract_vllm.py --probe-python /path/to/probe-venv/bin/python 0.33.0 0.32.0 ...

For each release: download the wheel from PyPI (``pip download --no-deps``), record its name and
sha256, unpack its Python sources (not the compiled kernels), then
- options: run ``tools/vllm_probe.py`` in the probe environment, which builds vLLM's own
  ``vllm serve`` and ``vllm run-batch`` parsers and lists every option string they accept;
- metrics: read every ``vllm:*`` metric declared in the sources (prometheus_client Gauge, Counter,
  Histogram calls with a literal name); counters are written as scraped, with ``_total``;
  a metric declared only under ``if ...show_hidden_metrics`` is marked hidden.
Writes vllmkube/data/vllm/<version>.json (deterministic: same wheel, same bytes) and deletes the
wheel and sources. See docs/vllm-versions.md for the procedure and the probe environment.
Not part of the test suite: it needs the network and a few minutes per release.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "vllmkube" / "data" / "vllm"
PROBE = Path(__file__).resolve().parent / "vllm_probe.py"
SCHEMA = 1
KINDS = {"gauge": "gauge", "counter": "counter", "histogram": "histogram"}
# Modules of the V0 engine: their metrics exist only when the V0 engine runs (not the default
# from 0.8; V0 removed in 0.11).
V0_MODULES = ("vllm/engine/metrics.py", "vllm/engine/metrics_types.py", "vllm/spec_decode/")
MAX_MEMBER = 4 << 20  # larger members are compiled kernels and binaries: not needed to parse


def download(version: str, pip_python: str, dest: Path) -> Path:
    subprocess.run([pip_python, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    f"vllm=={version}", "-d", str(dest)], check=True, stdout=sys.stderr)
    wheels = sorted(dest.glob(f"vllm-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"no wheel for vllm=={version} in {dest}")
    return wheels[0]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def unpack(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.file_size <= MAX_MEMBER and not info.filename.endswith(".so") and ".so." not in info.filename:
                z.extract(info, dest)


def probe(src: Path, python: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), VLLM_TARGET_DEVICE="cpu", VLLM_LOGGING_LEVEL="ERROR",
               CUDA_VISIBLE_DEVICES="", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run([python, str(PROBE)], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"probe failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------- metrics
def _kind(call: ast.Call) -> str | None:
    f = call.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    low = name.lower()
    for word, kind in KINDS.items():
        if word in low:
            return kind
    return None


def _literal_name(call: ast.Call) -> str | None:
    for kw in call.keywords:
        if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            return kw.value.value
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _declared(tree: ast.AST) -> list[tuple[str, str, bool]]:
    """(name, kind, hidden) of each metric declaration with a literal vllm: name."""
    found = []

    def visit(node: ast.AST, hidden: bool) -> None:
        if isinstance(node, ast.If) and "show_hidden_metrics" in ast.unparse(node.test):
            negated = isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
            for child in node.body:
                visit(child, hidden or not negated)
            for child in node.orelse:
                visit(child, hidden or negated)
            return
        if isinstance(node, ast.Call):
            name, kind = _literal_name(node), _kind(node)
            if name and name.startswith("vllm:") and kind:
                found.append((name, kind, hidden))
        for child in ast.iter_child_nodes(node):
            visit(child, hidden)

    visit(tree, False)
    return found


def metrics(src: Path) -> dict[str, dict]:
    """Scraped name -> type, with hidden (only under show_hidden_metrics in the V1 code) and v0
    (only declared by the V0 engine) flags; a metric is exported by default when neither is set."""
    found: dict[str, list[tuple[str, bool, bool]]] = {}
    for path in sorted((src / "vllm").rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if "vllm:" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for name, kind, hidden in _declared(tree):
            scraped = name + "_total" if kind == "counter" and not name.endswith("_total") else name
            found.setdefault(scraped, []).append((kind, hidden, rel.startswith(V0_MODULES)))
    table = {}
    for name, decls in sorted(found.items()):
        kinds = {k for k, _, _ in decls}
        if len(kinds) != 1:
            raise SystemExit(f"{name} declared as {' and '.join(sorted(kinds))}")
        entry = {"type": kinds.pop()}
        if all(v0 for _, _, v0 in decls):
            entry["v0"] = True
        if all(h for _, h, v0 in decls if not v0 or entry.get("v0")):
            entry["hidden"] = True
        table[name] = entry
    return table


# ----------------------------------------------------------------------------- output
def dump(data: dict) -> str:
    """Sorted JSON, one option or metric per line: small, and its diff reads like a changelog."""
    def line(obj) -> str:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def block(obj: dict, depth: int) -> str:
        pad = " " * depth
        rows = []
        for k in sorted(obj):
            v = obj[k]
            if isinstance(v, dict) and (k in ("options", "metrics") or depth == 0):
                rows.append(f"{pad} {line(k)}: {block(v, depth + 1)}")
            else:
                rows.append(f"{pad} {line(k)}: {line(v)}")
        return "{\n" + ",\n".join(rows) + "\n" + pad + "}"

    return block(data, 0) + "\n"


def _compact(parser: dict) -> dict:
    """Keep what vllmkube uses: option strings, whether a value follows, choices and static defaults."""
    options = {}
    for name, entry in parser["options"].items():
        entry = {k: v for k, v in entry.items() if k != "dest" and v != []}
        if entry.get("type", "").startswith("_"):
            del entry["type"]  # vLLM's private converters (optional/union types): not a static type
        options[name] = entry
    return {**parser, "options": options}


def _accepted(parser: dict) -> list[str]:
    return sorted({s for name, e in parser["options"].items() for s in [name, *e.get("aliases", []), *e.get("negative", [])]})


def _run_batch(serve: dict, accepted: list[str], positionals: list[str]) -> dict:
    """run-batch shares most options with serve: keep only the difference."""
    same = set(_accepted(serve))
    return {"extra": sorted(set(accepted) - same), "missing": sorted(same - set(accepted)), "positionals": positionals}


def reformat(path: Path) -> None:
    """Rewrite a data file in the current layout (after a change of this tool's output format)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rb = data["run_batch"]
    if "accepted" in rb:
        data["run_batch"] = _run_batch(data["serve"], rb["accepted"], rb["positionals"])
    path.write_text(dump(data), encoding="utf-8")


def extract(version: str, probe_python: str, work: Path, keep: bool) -> dict:
    t0 = time.monotonic()
    wheels, src = work / "wheels", work / f"src-{version}"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = download(version, probe_python, wheels)
    t_dl = time.monotonic()
    digest = sha256(wheel)
    shutil.rmtree(src, ignore_errors=True)
    unpack(wheel, src)
    got = probe(src, probe_python)
    t_probe = time.monotonic()
    if got["imported_version"] and got["imported_version"] != version:
        raise SystemExit(f"probe imported vLLM {got['imported_version']}, not {version}: check PYTHONPATH")
    data = {
        "schema": SCHEMA,
        "vllm": version,
        "provenance": {
            "wheel": wheel.name, "sha256": digest, "tool": "tools/extract_vllm.py",
            "options": "vLLM's own argparse parsers: " + ", ".join(f"{k}: {v}" for k, v in sorted(got["method"].items())),
            "metrics": "literal vllm:* names of Gauge/Counter/Histogram calls in the wheel's sources",
            "stubbed_modules": got["stubbed"],
        },
        "serve": _compact(got["serve"]),
        "run_batch": _run_batch(got["serve"], _accepted(got["run_batch"]), got["run_batch"]["positionals"]),
        "metrics": metrics(src),
        "batch_defaults": got["batch_defaults"],
    }
    if got.get("shims"):
        data["provenance"]["shims"] = got["shims"]
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"{version}.json").write_text(dump(data), encoding="utf-8")
    if not keep:
        shutil.rmtree(src, ignore_errors=True)
        wheel.unlink()
    print(f"{version}: {len(data['serve']['options'])} serve options, {len(data['metrics'])} metrics; "
          f"download {t_dl - t0:.0f}s, probe {t_probe - t_dl:.0f}s, total {time.monotonic() - t0:.0f}s",
          file=sys.stderr)
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("versions", nargs="*", help="vLLM releases, e.g. 0.33.0")
    p.add_argument("--probe-python",
                   help="python of an environment with CPU torch and vLLM's pure-Python dependencies")
    p.add_argument("--reformat", action="store_true", help="only rewrite the existing data files in the current layout")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vllmkube-extract")
    p.add_argument("--keep", action="store_true", help="keep the wheel and unpacked sources")
    a = p.parse_args(argv)
    if a.reformat:
        for path in sorted(DATA.glob("*.json")):
            reformat(path)
        return 0
    if not a.versions or not a.probe_python:
        p.error("give the releases and --probe-python")
    failed = []
    for v in a.versions:
        try:
            extract(v, a.probe_python, a.work, a.keep)
        except (SystemExit, subprocess.SubprocessError) as e:
            print(f"{v}: FAILED: {e}", file=sys.stderr)
            failed.append(v)
    if failed:
        print("failed: " + " ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
