"""Find the vLLM server in a container and read its arguments, in every common shape:

    command: [vllm, serve, MODEL, --flag, value]             (vLLM's own docs, vllmkube)
    command: [python3, -m, vllm.entrypoints.openai.api_server] + args: [--model, M, ...]
    command: [/bin/sh, -c] + args: ["vllm serve M --flag value && ..."]   (the vLLM k8s guide)
    args only, on a vllm/vllm-openai image (its ENTRYPOINT is vllm serve or the api_server)
    --flag=value, --flag value, -tp 2, --pipeline_parallel_size 2 (underscores)

Which options take no value, take a list, or have a short alias comes from the options the
releases' own parsers accept (releases.py), so the parse does not depend on the version.

Each argument keeps the document path it came from (the list item, or the shell script).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from functools import cache

from .. import releases
from ..serveargs import is_option  # argparse's test for an option token

SHELLS = {"sh", "bash", "dash", "zsh", "ash"}
ENTRYPOINT_MODULES = {"vllm.entrypoints.openai.api_server", "vllm.entrypoints.api_server"}


@cache
def _shapes() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """From the extracted parsers (newest release first): short aliases -> long name, options
    that never take a value (store_true, --no-/--disable- forms), and list options (nargs +/*)."""
    short: dict[str, str] = {}
    bare: set[str] = set()
    multi: set[str] = set()
    seen: set[str] = set()
    for release in reversed(releases.all_releases()):
        for name, o in release.raw_options.items():
            if name in seen:
                continue
            seen.add(name)
            for alias in o.get("aliases", ()):
                if not alias.startswith("--"):
                    short.setdefault(alias, name)
            if not o["takes_value"]:
                bare.update([name, *o.get("aliases", ()), *o.get("negative", ())])
            elif o.get("nargs") in ("+", "*"):
                multi.add(name)
    return short, frozenset(bare), frozenset(multi)
BOOL_WORDS = {"true", "false", "True", "False", "1", "0"}


@dataclass(frozen=True)
class Arg:
    flag: str  # normalized: --long-name with dashes
    value: str | None
    path: tuple  # document path of the token
    values: tuple[str, ...] = ()


@dataclass
class Invocation:
    entrypoint: str
    model: str | None
    args: list[Arg] = field(default_factory=list)
    from_script: bool = False
    positional: str | None = None  # the model given as the first non-flag token

    def find(self, flag: str) -> Arg | None:
        found = [a for a in self.args if a.flag == flag]
        return found[-1] if found else None

    def value(self, flag: str) -> str | None:
        a = self.find(flag)
        return a.value if a else None

    def int_value(self, flag: str, default: int | None) -> int | None:
        """The flag's integer value; the default when absent; None when not a literal ($(VAR))."""
        a = self.find(flag)
        if a is None:
            return default
        try:
            return int(str(a.value))
        except (TypeError, ValueError):
            return None

    @property
    def served_names(self) -> list[str]:
        a = self.find("--served-model-name")
        if a and a.values:
            return list(a.values)
        return [self.model] if self.model else []


def normalize(flag: str) -> str:
    short = _shapes()[0]
    if flag in short:
        return short[flag]
    return "--" + flag[2:].replace("_", "-") if flag.startswith("--") else flag


def parse_tokens(items: list[tuple[str, tuple]], entrypoint: str, from_script: bool = False) -> Invocation:
    inv = Invocation(entrypoint, None, from_script=from_script)
    i = 0
    while i < len(items):
        tok, path = items[i]
        if not is_option(tok):
            if inv.model is None:
                inv.model = inv.positional = tok
            i += 1
            continue
        name, eq, val = tok.partition("=")
        name = normalize(name)
        if eq:
            inv.args.append(Arg(name, val, path, (val,)))
            i += 1
            continue
        nxt = items[i + 1][0] if i + 1 < len(items) else None
        _, bare_flags, multi_flags = _shapes()
        bare = name in bare_flags or name.startswith(("--no-", "--enable-", "--disable-"))
        if nxt is None or is_option(nxt) or (bare and nxt not in BOOL_WORDS):
            inv.args.append(Arg(name, None, path))
            i += 1
        elif name in multi_flags:
            j = i + 1
            while j < len(items) and not is_option(items[j][0]):
                j += 1
            vals = tuple(t for t, _ in items[i + 1:j])
            inv.args.append(Arg(name, vals[0], path, vals))
            i = j
        else:
            inv.args.append(Arg(name, nxt, path, (nxt,)))
            i += 2
        if name == "--model" and inv.args[-1].value:
            inv.model = inv.args[-1].value
    return inv


def _entry(tokens: list[str]) -> tuple[int, str] | None:
    """(index after the entrypoint, its name) of a vLLM server in a token list."""
    for i, tok in enumerate(tokens):
        base = tok.rsplit("/", 1)[-1]
        if base == "vllm" and i + 1 < len(tokens) and tokens[i + 1] == "serve":
            return i + 2, "vllm serve"
        if tok in ENTRYPOINT_MODULES:
            return i + 1, tok
    return None


def _script(script: str, path: tuple, positional: list[tuple[str, tuple]] = ()) -> Invocation | None:
    """``positional``: the items after ``sh -c SCRIPT $0``, which "$@" in the script expands to
    (a wrapper that passes the container's args on: vllmkube's LeaderWorkerSet launch)."""
    text = script.replace("\\\r\n", " ").replace("\\\n", " ")
    for line in text.splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        command: list[tuple[str, tuple]] = []
        for tok in tokens + [";"]:
            if tok and set(tok) <= set(";&|"):
                found = _entry([t for t, _ in command])
                if found:
                    return parse_tokens(command[found[0]:], found[1], from_script=True)
                command = []
            elif tok == "$@":
                command += positional
            else:
                command.append((tok, path))
    return None


def _shell_script(items: list[tuple[str, tuple]]) -> tuple[str, tuple, list[tuple[str, tuple]]] | None:
    """The script of ``sh -c SCRIPT [$0 ARGS...]`` (also /bin/bash -ec, /usr/bin/env bash -c) and its ARGS."""
    if not items:
        return None
    start = 1 if items[0][0].rsplit("/", 1)[-1] == "env" and len(items) > 1 else 0
    if items[start][0].rsplit("/", 1)[-1] not in SHELLS:
        return None
    for j in range(start + 1, len(items) - 1):
        tok = items[j][0]
        if tok.startswith("-") and not tok.startswith("--") and tok.endswith("c"):
            if items[j + 1][0] == "--" and j + 2 < len(items):  # bash -lc -- SCRIPT
                j += 1
            return items[j + 1][0], items[j + 1][1], items[j + 3:]  # SCRIPT, where, the args after $0
    return None


def find_server(container: dict, cpath: tuple, image_is_vllm: bool) -> Invocation | None:
    command = container.get("command") if isinstance(container.get("command"), list) else []
    args = container.get("args") if isinstance(container.get("args"), list) else []
    items = [(str(t), cpath + ("command", i)) for i, t in enumerate(command)]
    items += [(str(t), cpath + ("args", i)) for i, t in enumerate(args)]
    script = _shell_script(items)
    if script is not None:
        return _script(*script)
    found = _entry([t for t, _ in items])
    if found:
        return parse_tokens(items[found[0]:], found[1])
    if not command and image_is_vllm:
        return parse_tokens(items, "image entrypoint")
    return None
