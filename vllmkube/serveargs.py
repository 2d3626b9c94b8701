"""Would vLLM's ``vllm serve`` parser of a release accept this command line?

``check(argv, version)`` replays argparse's rules on the option set extracted from the release's
wheel (releases.py): ``--flag value``, ``--flag=value``, boolean flags that take no value,
``--no-``/``--disable-`` forms, aliases (``-tp 2``), underscores for dashes and unique prefixes
(vLLM's FlexibleArgumentParser and argparse's allow_abbrev), list options (``nargs='+'``) and
the positional model. Use it for any vLLM server command line: a Deployment's, or the leader and
worker of a multi-node LeaderWorkerSet.
"""
from __future__ import annotations

import shlex
from typing import Sequence

from . import releases, versions
from .versions import VllmVersion


_NUMBERS = {"int": int, "float": float}


def _parses(convert, value: str) -> bool:
    try:
        convert(value)
        return True
    except ValueError:
        return False


def is_option(tok: str) -> bool:
    """argparse's test: starts with '-' and is not a negative number (vLLM has no such options)."""
    if not tok.startswith("-") or tok == "-":
        return False
    try:
        float(tok)
        return False
    except ValueError:
        return True


def check(argv: Sequence[str], version: VllmVersion | str, positional_model: bool = True) -> list[str]:
    """Problems vLLM ``version``'s serve parser reports for ``argv`` (the tokens after
    ``vllm serve``); an empty list when it parses.

    ``positional_model`` is False for ``python -m vllm.entrypoints.openai.api_server``, which
    takes the model only as ``--model``. Values are checked as argparse would for int and float
    options and against static ``choices``; ``$(VAR)`` values (Kubernetes expands them) are not.
    """
    v = version if isinstance(version, VllmVersion) else VllmVersion.parse_plain(version)
    release = releases.exact(v)
    if release is None and v > versions.newest():  # --allow-unknown-vllm-version: read as the newest we know
        release = releases.load(versions.NEWEST_VLLM)
    if release is None:
        raise KeyError(f"no extracted data for vLLM {v}")
    parser = release.serve
    max_positionals = len(parser.positionals) if positional_model else 0
    problems: list[str] = []
    positionals = 0
    i, n = 0, len(argv)
    while i < n:
        tok = argv[i]
        if tok == "--":
            positionals += n - i - 1
            break
        if not is_option(tok):
            positionals += 1
            if positionals > max_positionals:
                problems.append(f"unrecognized argument {tok!r}")
            i += 1
            continue
        if tok.startswith("-O") and "-O" not in parser.by_spelling and "--optimization-level" in parser.by_spelling:
            # vLLM's parser rewrites -O3 / -O=3 / -O 3 to --optimization-level before argparse
            tok = "--optimization-level" + ("=" + tok[2:].removeprefix("=") if tok != "-O" else "")
        flag, eq, inline = tok.partition("=")
        option = parser.lookup(flag)
        if option is None and not flag.startswith("--") and len(flag) > 2:
            # -O3: a one-letter option with its value attached
            short = parser.lookup(flag[:2])
            if isinstance(short, releases.Option) and short.takes_value:
                option, eq, inline = short, "=", flag[2:] + eq + inline
        if option is None:
            problems.append(f"unrecognized argument {flag}")
            i += 1
            continue
        if isinstance(option, list):
            problems.append(f"ambiguous option {flag} could match {', '.join(o.name for o in option)}")
            i += 1
            continue
        i += 1
        if not option.takes_value:
            if eq:
                problems.append(f"{flag} takes no value (got {tok!r})")
            continue
        if eq:
            values = [inline]
        else:
            values = []
            nargs = option.nargs
            want = nargs if isinstance(nargs, int) else None
            while i < n and not is_option(argv[i]) and (nargs in ("+", "*") or len(values) < (want or 1)):
                values.append(argv[i])
                i += 1
            if nargs in (None, "+") and not values or want is not None and len(values) < want:
                problems.append(f"{flag} expects a value")
                continue
        for value in values:
            if "$(" not in value and option.type in _NUMBERS and not _parses(_NUMBERS[option.type], value):
                problems.append(f"{flag} {value!r} is not {'an' if option.type == 'int' else 'a'} {option.type}")
        if option.choices:
            allowed = {str(c) for c in option.choices}
            for value in values:
                if "$(" not in value and value not in allowed:
                    problems.append(f"{flag} {value!r} is not one of: {', '.join(sorted(allowed))}")
    return problems


def _script_argv(script: str) -> tuple[list[str], bool] | None:
    """The vLLM server's arguments in a shell script (``ray start ... && vllm serve M ...``)."""
    text = script.replace("\\\r\n", " ").replace("\\\n", " ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    command: list[str] = []
    for tok in [*lexer, ";"]:
        if set(tok) <= set(";&|\n"):
            found = _argv(command)
            if found:
                return found
            command = []
        else:
            command.append(tok)
    return None


def _argv(tokens: list[str]) -> tuple[list[str], bool] | None:
    for i, tok in enumerate(tokens):
        if tok.rsplit("/", 1)[-1] == "vllm" and tokens[i + 1:i + 2] == ["serve"]:
            return tokens[i + 2:], True
        if tok == "vllm.entrypoints.openai.api_server":
            return tokens[i + 1:], False
    return None


def server_argv(container: dict) -> tuple[list[str], bool] | None:
    """(arguments, positional_model) of the vLLM server a container runs, or None.

    Reads ``command`` + ``args`` as a list (``[vllm, serve, M, ...]``, ``[python3, -m,
    vllm.entrypoints.openai.api_server, ...]``) or as a ``sh -c`` script; feed the result to
    ``check``. Kubernetes ``$(VAR)`` references stay as they are.
    """
    tokens = [str(t) for t in [*(container.get("command") or []), *(container.get("args") or [])]]
    if tokens and tokens[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash", "zsh"):
        for j, tok in enumerate(tokens[1:-1], start=1):
            if tok.startswith("-") and tok.endswith("c"):
                return _script_argv(tokens[j + 1])
        return None
    return _argv(tokens)
