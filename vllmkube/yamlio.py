"""The only ruamel.yaml configuration: load and dump, quoting, document separators."""
from __future__ import annotations

import functools
import io
from typing import Any, Iterable


def _yaml(typ: str = "rt"):
    from ruamel.yaml import YAML

    y = YAML(typ=typ, pure=True)
    y.default_flow_style = False
    y.width = 4096  # never fold long strings (PromQL, commands)
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def dump_one(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def load_all(text: str) -> list[Any]:
    """Parse a multi-document YAML stream (YAML 1.2, pure Python, duplicate keys rejected)."""
    return [d for d in _yaml("rt").load_all(text) if d is not None]


def load_plain_all(text: str) -> list[Any]:
    """Parse a stream into plain dicts and lists, fast: ruamel's safe loader on libyaml's C parser
    (ruamel.yaml.clib; the pure-Python parser where it is missing). Duplicate keys are rejected.
    Errors carry a problem_mark with the line, as the round-trip loader's do."""
    return [d for d in _safe().load_all(text) if d is not None]


def load_plain_one(text: str) -> Any:
    """One document as plain data with the same fast loader (config files: no comments to keep)."""
    return _safe().load(text)


@functools.cache
def _safe():
    from ruamel.yaml import YAML

    return YAML(typ="safe")


def uses_c_parser() -> bool:
    from ruamel.yaml.parser import Parser

    return _safe().Parser is not Parser


def load_one(text: str) -> Any:
    return _yaml("rt").load(text)


def dump_all(docs: Iterable[Any]) -> str:
    return "".join("---\n" + dump_one(d) for d in docs)
