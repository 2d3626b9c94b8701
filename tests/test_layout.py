"""The package layout stays as designed (docs/manifests.md, "Where things live"):

- no import cycles among vllmkube modules, counting imports inside functions too;
- each target module (vllmkube/targets/*.py) imports none of the other targets;
- no part of the plan (vllmkube/plan/*.py) imports a target.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vllmkube"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, source: str | None = None, is_package: bool = False) -> set[str]:
    """Every vllmkube module ``module`` imports, at the top, inside a function or under TYPE_CHECKING."""
    if source is None:
        source = MODULES[module].read_text(encoding="utf-8")
        is_package = MODULES[module].name == "__init__.py"
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            # `from . import x` imports the module x when there is one, else a name of the package
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import vllmkube.a.b` names a module; a name inside one does not
                name = name.rpartition(".")[0]
            if name.startswith("vllmkube") and name != module:
                found.add(name)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_checker_sees_relative_absolute_and_function_level_imports():
    assert "vllmkube.sizing" in GRAPH["vllmkube.workflow"]  # from .sizing import ...
    assert "vllmkube.render" in GRAPH["vllmkube.workflow"]  # inside plan_render
    assert "vllmkube.yamlio" in GRAPH["vllmkube.render"]  # inside _checked
    assert "vllmkube.catalog" in GRAPH["vllmkube.lint.rules.pods"]  # from ... import catalog


def test_the_checker_follows_every_spelling_of_an_import():
    source = """
import vllmkube.naming
from vllmkube.plan import pod
from .deployment import Thing
from . import deployment as d


def late():
    from ..plan.scaling import POLLING_S
    import vllmkube.targets.deployment
"""
    assert imports("vllmkube.targets.lws", source) == {
        "vllmkube.naming", "vllmkube.plan.pod", "vllmkube.plan.scaling", "vllmkube.targets.deployment"}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    assert _cycle(GRAPH) is None


TARGETS = {m for m in MODULES if m.startswith("vllmkube.targets.")}
PARTS = {m for m in MODULES if m == "vllmkube.plan" or m.startswith("vllmkube.plan.")}


def test_there_are_targets_and_parts():
    assert "vllmkube.targets.deployment" in TARGETS
    assert {"vllmkube.plan.identity", "vllmkube.plan.pod", "vllmkube.plan.cache", "vllmkube.plan.scaling",
            "vllmkube.plan.monitoring", "vllmkube.plan.engine", "vllmkube.plan.front"} <= PARTS


def test_targets_import_no_other_target():
    offenders = {t: sorted(GRAPH[t] & (TARGETS | {"vllmkube.targets"})) for t in TARGETS}
    assert {t: o for t, o in offenders.items() if o} == {}


def test_parts_import_no_target():
    offenders = {p: sorted(n for n in GRAPH[p] if n == "vllmkube.targets" or n.startswith("vllmkube.targets."))
                 for p in PARTS}
    assert {p: o for p, o in offenders.items() if o} == {}


def test_a_default_render_loads_only_the_modules_it_uses():
    """Start-up time (benchmarks/cli_latency.py): creating a module's dataclasses and pydantic models
    costs a millisecond or two each, so a plain Deployment render leaves the other targets, the
    canary, the fronts it does not use, the scheduler replay and lint unloaded."""
    import subprocess
    import sys

    example = Path(__file__).resolve().parent.parent / "examples" / "h100-llama-3.1-8b-slo" / "vllmkube.yaml"
    code = ("import os, sys\nsys.argv = ['vllmkube', 'render', '-f', sys.argv[1]]\nsys.stdout = open(os.devnull, 'w')\n"
            "from vllmkube.cli import main\ntry:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code\n"
            "print('LOADED', *sorted(m for m in sys.modules if m.startswith('vllmkube')), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(example)], capture_output=True, text=True, timeout=120)
    loaded = set(next(line for line in proc.stderr.splitlines() if line.startswith("LOADED")).split()[1:])
    assert {"vllmkube.targets.deployment", "vllmkube.plan.front", "vllmkube.serving"} <= loaded  # the check sees them
    unused = {"vllmkube.targets.lws", "vllmkube.targets.kserve", "vllmkube.targets.llmisvc", "vllmkube.plan.canary",
              "vllmkube.plan.keda_http", "vllmkube.plan.pool", "vllmkube.scheduler", "vllmkube.lint",
              "vllmkube.simulate", "vllmkube.batch", "vllmkube.report"}
    assert not unused & loaded
