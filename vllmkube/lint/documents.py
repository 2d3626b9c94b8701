"""Read what `lint` is given (files, folders, stdin) into documents with line numbers.

One ruamel.yaml (safe, YAML 1.2) pass composes the node tree (duplicate keys and YAML 1.1 booleans are seen
there, with their lines), then builds plain Python data from the same nodes. Values kubectl
would read differently (``on``/``yes``/``no`` are booleans in YAML 1.1, which
sigs.k8s.io/yaml follows) are stored as kubectl reads them, so the schema layer judges what
the API server would receive. ``v1 List`` items become documents of their own; Kustomization
files are configuration, not objects, and are skipped.
"""
from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import InputError
from .findings import Finding, Severity, format_path

Path_ = tuple  # a field path: str keys and int indexes

YAML11_BOOLEANS = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
                   **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False)}
YAML_SUFFIXES = (".yaml", ".yml")
SKIPPED_FILES = {"kustomization.yaml", "kustomization.yml", "Kustomization"}
MAX_DEPTH = 200


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """``value[p0][p1]...`` where every step has the right type; ``default`` otherwise."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                return default
        elif not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Source:
    name: str
    text: str
    error: str = ""  # why the file could not be read (a finding on the file, not an abort)
    skip: str = ""  # why the file is not linted (an info finding)


@dataclass
class Document:
    file: str
    index: int  # 1-based among the non-empty documents of the file
    data: Any
    lines: dict[Path_, int] = field(repr=False, default_factory=dict)
    base: Path_ = ()  # where this object sits in its YAML document (List items)
    columns: dict[Path_, int] = field(repr=False, default_factory=dict)  # 1-based, for the same paths as lines

    def get(self, *path: str | int, default: Any = None) -> Any:
        return dig(self.data, *path, default=default)

    def line(self, path: Path_ = ()) -> int | None:
        full = tuple(self.base) + tuple(path)
        while full:
            if full in self.lines:
                return self.lines[full]
            full = full[:-1]
        return self.lines.get((), None)

    def column(self, path: Path_ = ()) -> int | None:
        """Column of the key (or item) that ``line`` reports."""
        full = tuple(self.base) + tuple(path)
        while full and full not in self.lines:
            full = full[:-1]
        return self.columns.get(full)

    def where(self, path: Path_) -> str:
        return format_path(tuple(self.base) + tuple(path))

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.data, dict)

    @functools.cached_property
    def kind(self) -> str:
        return str(self.get("kind", default="")) if self.is_mapping else ""

    @functools.cached_property
    def api_version(self) -> str:
        return str(self.get("apiVersion", default="")) if self.is_mapping else ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @functools.cached_property
    def name(self) -> str:
        return str(self.get("metadata", "name", default="") or "")

    @functools.cached_property
    def namespace(self) -> str | None:
        ns = self.get("metadata", "namespace")
        return str(ns) if ns else None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def finding(self, rule: str, severity: Severity, path: Path_, message: str, fix: str = "") -> Finding:
        return Finding(self.file, self.index, self.where(path), severity, rule, message, fix,
                       self.line(path), self.kind, self.name, self.column(path))


# ----------------------------------------------------------------------------- reading
def collect(paths: list[str], read_stdin: Callable[[], str]) -> list[Source]:
    """Files as given, folders walked for *.yaml/*.yml (sorted), ``-`` for stdin."""
    if not paths:
        raise InputError("PATH", "nothing to lint", "pass files, folders, or - to read stdin")
    sources: list[Source] = []
    for p in paths:
        if p == "-":
            sources.append(Source("stdin", read_stdin()))
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix in YAML_SUFFIXES
                           and f.name not in SKIPPED_FILES
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not found:
                raise InputError(p, "folder holds no *.yaml or *.yml file", "pass a folder of manifests")
            sources += [_chart_template(f) or _read(f) for f in found]
        elif path.is_file():
            sources.append(_read(path))
        else:
            raise InputError(p, "no such file or folder", "check the path")
    return sources


def _chart_template(path: Path) -> Source | None:
    """A file under a Helm chart's templates/ (found by walking a folder) is not a manifest yet."""
    for parent in path.parents:
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return Source(str(path), "", skip=f"a template of the Helm chart {parent.parent}")
        if parent.name in ("", "/"):
            break
    return None


def _read(path: Path) -> Source:
    try:
        return Source(str(path), path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return Source(str(path), "", "is not UTF-8 text")
    except OSError as exc:
        return Source(str(path), "", f"cannot be read: {exc.strerror or exc}")


# ----------------------------------------------------------------------------- parsing
def _yaml():
    from ruamel.yaml import YAML

    # The safe loader: no comment bookkeeping (the round-trip loader spends most of its time
    # there) and, like Go, the last of duplicate keys wins; lines come from the node walk.
    y = YAML(typ="safe", pure=True)
    y.allow_duplicate_keys = True  # reported as findings with their lines instead
    return y


_DOC_START = re.compile(r"^---(?:[ \t]|$)")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each YAML document: one bad document must not hide the others."""
    lines = text.splitlines(keepends=True)
    start = 0
    for i, line in enumerate(lines):
        if i > start and _DOC_START.match(line):
            yield start, "".join(lines[start:i])
            start = i
    yield start, "".join(lines[start:])


_OBJECT_KEY = re.compile(r"^(apiVersion|kind)\s*:", re.MULTILINE)


def _syntax_finding(source: Source, index: int, exc: Exception, first_line: int, chunk: str) -> Finding:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = first_line + (mark.line + 1 if mark is not None else 1)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    if not _OBJECT_KEY.search(chunk):  # mkdocs.yml, CI config...: not meant for Kubernetes
        return Finding(source.name, index, "(document)", Severity.INFO, "not-a-resource",
                       f"not a Kubernetes object (and not plain YAML: {problem}); skipped", "lint only manifests", line)
    if _TEMPLATE.search(chunk):
        message = f"not valid YAML ({problem}): it holds template placeholders ({{{{ ... }}}}) that were not rendered"
        fix = "lint the rendered output (helm template ... | vllmkube lint -), not the template"
    else:
        message, fix = f"not valid YAML ({problem})", "fix the syntax"
    return Finding(source.name, index, "(document)", Severity.ERROR, "yaml-invalid", message, fix, line)


def parse(source: Source) -> tuple[list[Document], list[Finding]]:
    """Documents of one source and the YAML-level findings. A document that cannot be read is
    one ``yaml-invalid`` finding; the documents around it are still read."""
    if source.skip:
        return [], [Finding(source.name, 1, "(file)", Severity.INFO, "not-a-resource", f"{source.skip}; skipped",
                            "lint the rendered chart: helm template ... | vllmkube lint -", 1)]
    if source.error:
        return [], [Finding(source.name, 1, "(file)", Severity.ERROR, "yaml-invalid", f"the file {source.error}",
                            "lint UTF-8 YAML manifests", 1)]
    y = _yaml()
    docs: list[Document] = []
    findings: list[Finding] = []
    index = 0
    for first_line, chunk in _chunks(source.text):
        try:
            nodes = list(y.compose_all(chunk))
        except Exception as exc:  # ruamel's MarkedYAMLError family, and anything odder
            index += 1
            findings.append(_syntax_finding(source, index, exc, first_line, chunk))
            continue
        for node in nodes:
            if node is None or str(getattr(node, "tag", "")).endswith(":null"):
                continue  # an empty document (only comments, or "---" twice)
            index += 1
            walker = _Walker(source.name, index, first_line)
            try:
                walker.walk(node, (), 0)
                data = _plain(y.constructor.construct_document(node))
            except Exception as exc:  # e.g. an unhashable key: `name: {{ .Name }}` is a mapping used as a key
                if getattr(exc, "problem_mark", None) is None and getattr(exc, "context_mark", None) is None:
                    exc.problem_mark = node.start_mark  # where the document starts, for errors without a mark
                findings.append(_syntax_finding(source, index, exc, first_line, chunk))
                continue
            for path, value in walker.patches:
                data = _patch(data, path, value)
            findings += walker.findings
            docs += list(_objects(Document(source.name, index, data, walker.lines, columns=walker.columns)))
    return docs, findings


def _objects(doc: Document) -> Iterator[Document]:
    if doc.api_version.startswith("kustomize.config.k8s.io/"):
        return
    items = doc.get("items")
    if doc.api_version == "v1" and doc.kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            yield Document(doc.file, doc.index, item, doc.lines, ("items", i), doc.columns)
        return
    yield doc


class _Walker:
    """Walks the composed node tree: lines of every key and item, duplicates, YAML 1.1 booleans."""

    def __init__(self, file: str, index: int, offset: int = 0) -> None:
        self.file, self.index, self.offset = file, index, offset  # offset: the document's first line in its file
        self.lines: dict[Path_, int] = {(): offset + 1}
        self.columns: dict[Path_, int] = {(): 1}
        self.findings: list[Finding] = []
        self.patches: list[tuple[Path_, bool]] = []

    def _find(self, rule: str, sev: Severity, path: Path_, mark: Any, message: str, fix: str) -> None:
        self.findings.append(Finding(self.file, self.index, format_path(path), sev, rule, message, fix,
                                     self.offset + mark.line + 1, column=mark.column + 1))

    def walk(self, node: Any, path: Path_, depth: int) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        if depth > MAX_DEPTH:
            return
        if not path:
            self.lines[()] = self.offset + node.start_mark.line + 1
            self.columns[()] = node.start_mark.column + 1
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
                line = self.offset + key_node.start_mark.line + 1
                if key == "<<" and str(key_node.tag).endswith(":merge"):
                    continue
                child = path + (key,)
                if key in seen:
                    self._find("yaml-duplicate-key", Severity.ERROR, child, key_node.start_mark,
                               f"key {key!r} appears again (first on line {seen[key]}); tools disagree on which value wins",
                               "keep one of the two entries")
                else:
                    seen[key] = line
                    self.lines[child] = line
                    self.columns[child] = key_node.start_mark.column + 1
                if isinstance(key_node, ScalarNode) and self._yaml11(key_node):
                    self._find("yaml11-boolean", Severity.WARNING, child, key_node.start_mark,
                               f"key {key} is a boolean in YAML 1.1, which kubectl uses", f'quote it: "{key}"')
                self.walk(value_node, child, depth + 1)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                if path + (i,) not in self.lines:
                    self.lines[path + (i,)] = self.offset + item.start_mark.line + 1
                    self.columns[path + (i,)] = item.start_mark.column + 1
                self.walk(item, path + (i,), depth + 1)
        elif isinstance(node, ScalarNode) and self._yaml11(node):
            value = YAML11_BOOLEANS[node.value]
            self.patches.append((path, value))
            self._find("yaml11-boolean", Severity.WARNING, path, node.start_mark,
                       f"unquoted {node.value} is the boolean {str(value).lower()} for kubectl (YAML 1.1) "
                       f"but the string {node.value!r} for YAML 1.2 tools",
                       f'write "{node.value}" if you mean text, or {str(value).lower()} if you mean a boolean')

    @staticmethod
    def _yaml11(node: Any) -> bool:
        return node.style is None and node.value in YAML11_BOOLEANS and str(node.tag).endswith(":str")


def _plain(value: Any) -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int/float/bool/None (JSON-like)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str):  # TaggedScalar
        return str(value.value)
    return str(value)


def _patch(data: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    cur = data
    for part in path[:-1]:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return data
    try:
        cur[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass
    return data


RESOURCE_KEYS = ("apiVersion", "kind", "metadata")


def looks_like_object(doc: Document) -> bool:
    """A mapping with any of apiVersion/kind/metadata is meant to be a Kubernetes object."""
    return doc.is_mapping and any(k in doc.data for k in RESOURCE_KEYS)


def resource_problem(doc: Document) -> tuple[Path_, str] | None:
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            return (key,), f"has no {key}"
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(/[A-Za-z0-9]+)?", doc.api_version):
        return ("apiVersion",), f"apiVersion {doc.api_version!r} is not GROUP/VERSION"
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        return ("metadata",), "has no metadata.name"
    return None
