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


def outline(text: str, paths: Iterable[tuple[str, ...]], yaml: Any = None) -> dict[tuple[str, ...], str]:
    """Check that ``text`` is one YAML document whose root is a mapping, with no duplicate keys,
    tags, anchors or aliases anywhere, and return the scalars at ``paths`` (key paths from the
    root; a null or missing one is left out).

    A check of rendered documents that needs no Python objects: it reads libyaml's parse events
    (ruamel.yaml.clib; the pure-Python parser where it is missing), a fifth of the cost of
    loading them. Raises ValueError naming what is wrong and the line. ``yaml``: another ruamel YAML
    instance to parse with (tests use the pure-Python parser).
    """
    want = set(paths)
    found: dict[tuple[str, ...], str] = {}
    stack: list[list] = []  # open collections: [is_mapping, keys seen, awaiting a key, current key, path]
    documents = 0
    for event in (yaml or _safe()).parse(text):
        name = type(event).__name__
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if name in ("StreamStartEvent", "StreamEndEvent", "DocumentEndEvent"):
            continue
        if name == "DocumentStartEvent":
            documents += 1
            if documents > 1:
                raise ValueError(f"a second document at line {line}")
            continue
        if name in ("MappingEndEvent", "SequenceEndEvent"):
            stack.pop()
            continue
        if name == "AliasEvent" or getattr(event, "anchor", None):
            raise ValueError(f"an anchor or alias at line {line}")
        if getattr(event, "tag", None) is not None:  # templates quote with JSON strings, never tag
            raise ValueError(f"an explicit tag {event.tag} at line {line}")
        if not stack:
            if name != "MappingStartEvent":
                raise ValueError("the document is not a mapping")
            stack.append([True, set(), True, None, ()])
            continue
        frame = stack[-1]
        if frame[0] and frame[2]:  # a mapping key
            if name != "ScalarEvent":
                raise ValueError(f"a key that is not a plain value at line {line}")
            if event.value in frame[1]:
                raise ValueError(f"duplicate key {event.value!r} at line {line}")
            frame[1].add(event.value)
            frame[2], frame[3] = False, event.value
            continue
        path = (*frame[4], frame[3]) if frame[0] else (*frame[4], "[]")
        frame[2] = frame[0]  # after a mapping's value comes its next key
        if name == "ScalarEvent":
            null = event.implicit[0] and event.value in ("", "~", "null", "Null", "NULL")
            if path in want and not null:
                found[path] = event.value
        else:
            stack.append([name == "MappingStartEvent", set(), name == "MappingStartEvent", None, path])
    if documents == 0:
        raise ValueError("no document")
    return found


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
