"""The schema layer: every document against a strict JSON schema.

Core kinds use the schemas kubernetes-validate bundles (strict variants, Kubernetes 1.25 and
up). Custom resources use ``--schema-location`` entries in kubeconform's layout: a template
ending in ``.json`` is used as is; a folder or URL base is searched with both layouts
kubeconform users keep (shared/schemas/SOURCES.md):

    {{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json
    {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json

Template values follow kubeconform's registry.go. URL schemas are fetched once with urllib and
cached on disk. Go RE2 patterns Python's ``re`` rejects (``^(?i)(abort|warn)?$`` in the
PrometheusRule CRD) are rewritten to an equivalent scoped flag group.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from .documents import Document
from .findings import Finding, Severity

CORE_LAYOUT = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_LAYOUT = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
DEFAULT_KUBERNETES = "1.31.0"
MAX_ERRORS_PER_DOCUMENT = 25
_TEMPLATE_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
_URL = re.compile(r"^(https?|file)://")


def normalize_version(text: str) -> str:
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise InputError("--kubernetes-version", f"{text!r} is not a Kubernetes version", "use e.g. 1.31")
    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}"


def template_values(api_version: str, kind: str, k8s_version: str, strict: bool = True) -> dict[str, str]:
    """The values kubeconform's schemaPath() gives a location template."""
    group_parts = api_version.split("/")
    kind_suffix = "-" + group_parts[0].split(".")[0].lower()
    if len(group_parts) > 1:
        kind_suffix += "-" + group_parts[1].lower()
    return {
        "NormalizedKubernetesVersion": "v" + k8s_version,
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": group_parts[-1],
        "Group": group_parts[0],
        "KindSuffix": kind_suffix,
    }


def expand(template: str, values: dict[str, str]) -> str:
    return _TEMPLATE_VAR.sub(lambda m: values[m.group(1)], template)


def location_templates(location: str) -> list[str]:
    """kubeconform: a location not ending in json is a base; we search it in both layouts."""
    if location.endswith("json"):
        templates = [location]
    else:
        base = location.rstrip("/")
        templates = [f"{base}/{CRD_LAYOUT}", f"{base}/{CORE_LAYOUT}"]
    for t in templates:
        unknown = {m.group(1) for m in _TEMPLATE_VAR.finditer(t)} - set(template_values("v1", "Pod", "1.0.0"))
        if unknown:
            raise InputError("--schema-location", f"{location!r} uses unknown template field(s) {', '.join(sorted(unknown))}",
                             "use kubeconform's fields, e.g. {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
    if not _URL.match(location) and "{{" not in location and not Path(location).is_dir():
        raise InputError("--schema-location", f"{location!r} is neither a folder, a URL nor a .json template",
                         "pass a folder in kubeconform's layout (like ../shared/schemas) or a URL template")
    return templates


# ----------------------------------------------------------------------------- RE2 -> Python
_INLINE_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def re2_to_python(pattern: str) -> str | None:
    """Rewrite RE2-only syntax; None when Python still cannot compile it (the pattern is dropped).

    RE2 allows a flag group mid-pattern (``^(?i)x$``: flags from there on); Python only at the
    start. ``A(?i)B`` becomes ``A(?i:B)``, which means the same."""
    out = pattern
    for _ in range(8):
        m = _INLINE_FLAGS.search(out)
        if not m or m.start() == 0:
            break
        flags = m.group(1).replace("U", "")
        rest = out[m.end():]
        out = out[: m.start()] + (f"(?{flags}:{rest})" if flags else rest)
    try:
        re.compile(out)
    except re.error:
        return None
    return out


def _fix_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                fixed = re2_to_python(v)
                if fixed is not None:
                    out[k] = fixed
            elif k == "patternProperties" and isinstance(v, dict):
                out[k] = {re2_to_python(p) or ".*": _fix_patterns(s) for p, s in v.items()}
            else:
                out[k] = _fix_patterns(v)
        return out
    if isinstance(node, list):
        return [_fix_patterns(v) for v in node]
    return node


# ----------------------------------------------------------------------------- core kinds
def _kv_root():
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.cache
def kv_versions() -> tuple[str, ...]:
    found = []
    for entry in _kv_root().iterdir():
        m = re.fullmatch(r"v(\d+\.\d+\.\d+)-local-strict", entry.name)
        if m:
            found.append(m.group(1))
    return tuple(sorted(found, key=lambda v: tuple(int(x) for x in v.split("."))))


def kv_version(k8s_version: str) -> str:
    """The newest bundled schema set not newer than the requested minor (as kubernetes-validate does)."""
    want = tuple(int(x) for x in k8s_version.split(".")[:2])
    usable = [v for v in kv_versions() if tuple(int(x) for x in v.split(".")[:2]) <= want]
    if not usable or want > tuple(int(x) for x in kv_versions()[-1].split(".")[:2]):
        first, last = kv_versions()[0], kv_versions()[-1]
        raise InputError("--kubernetes-version", f"{k8s_version} is outside the bundled schemas ({first} to {last})",
                         "pick a version in that range")
    return usable[-1]


def _is_builtin_group(group: str) -> bool:
    return group == "" or "." not in group or group.endswith(".k8s.io")


@functools.cache
def _kv_definitions(version: str):
    from referencing import Resource

    text = _kv_root().joinpath(f"v{version}-local-strict", "_definitions.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return data["$id"], Resource.from_contents(data)


@functools.cache
def _kv_validator(version: str, api_version: str, kind: str):
    import jsonschema
    from referencing import Registry

    segment = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    entry = _kv_root().joinpath(f"v{version}-local-strict", f"{kind.lower()}-{segment}.json")
    if not entry.is_file():
        return None
    schema = json.loads(entry.read_text(encoding="utf-8"))
    defs_id, defs = _kv_definitions(version)
    registry = Registry().with_resource(defs_id, defs)
    return jsonschema.Draft202012Validator(schema, registry=registry)


# ----------------------------------------------------------------------------- locations
Fetch = Callable[[str], "bytes | None"]


def url_fetcher(cache_dir: Path | None, timeout_s: float = 30) -> Fetch:
    """GET a schema URL; None for 404 / missing file:// targets; cached on disk by URL hash."""

    def fetch(url: str) -> bytes | None:
        cached = cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:40] + ".json") if cache_dir else None
        if cached is not None and cached.is_file():
            return cached.read_bytes()
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (user-given schema URL)
                body = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise InputError("--schema-location", f"fetching {url} failed: HTTP {exc.code}", "check the URL template") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (FileNotFoundError, IsADirectoryError)) or url.startswith("file:"):
                return None
            raise InputError("--schema-location", f"cannot fetch {url}: {exc.reason}",
                             "check the network, or use a local folder of schemas") from None
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(cached)
        return body

    return fetch


@dataclass
class Schemas:
    """Finds and caches a validator per (apiVersion, kind)."""

    kubernetes_version: str = DEFAULT_KUBERNETES
    locations: Sequence[str] = ()
    cache_dir: Path | None = None
    fetch: Fetch | None = None

    def __post_init__(self) -> None:
        self.kubernetes_version = normalize_version(self.kubernetes_version)
        self.core_version = kv_version(self.kubernetes_version)
        self.templates = [t for loc in self.locations for t in location_templates(loc)]
        self.fetch = self.fetch or url_fetcher(self.cache_dir)
        self._cache: dict[tuple[str, str], tuple[Any, str] | None] = {}

    def lookup(self, api_version: str, kind: str) -> tuple[Any, str] | None:
        key = (api_version, kind)
        if key not in self._cache:
            self._cache[key] = self._find(api_version, kind)
        return self._cache[key]

    def _find(self, api_version: str, kind: str) -> tuple[Any, str] | None:
        group = api_version.rpartition("/")[0]
        if _is_builtin_group(group):
            v = _kv_validator(self.core_version, api_version, kind)
            if v is not None:
                return v, f"Kubernetes {self.core_version} strict"
        values = template_values(api_version, kind, self.kubernetes_version)
        for template in self.templates:
            where = expand(template, values)
            body = self._load(where)
            if body is not None:
                return self._compile(body, where), where
        return None

    def _load(self, where: str) -> bytes | None:
        if _URL.match(where):
            return self.fetch(where)
        path = Path(where)
        return path.read_bytes() if path.is_file() else None

    @staticmethod
    def _compile(body: bytes, where: str):
        import jsonschema

        try:
            schema = json.loads(body)
        except ValueError:
            raise InputError("--schema-location", f"{where} is not a JSON schema", "check the location") from None
        schema = _fix_patterns(schema)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        return cls(schema)

    def check(self, doc: Document) -> list[Finding]:
        found = self.lookup(doc.api_version, doc.kind)
        if found is None:
            where = f"kubernetes-validate {self.core_version}" + (f" and {len(self.locations)} --schema-location(s)"
                                                                 if self.locations else "")
            return [doc.finding("schema-unknown-kind", Severity.WARNING, ("kind",),
                                f"no schema for {doc.api_version} {doc.kind} in {where}; it was not validated",
                                "pass --schema-location with its JSON schema (kubeconform layout, e.g. a CRDs-catalog folder)")]
        validator, source = found
        out: list[Finding] = []
        for err in sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]):
            out += _describe(doc, err, source)
            if len(out) >= MAX_ERRORS_PER_DOCUMENT:
                break
        return out[:MAX_ERRORS_PER_DOCUMENT]


def _describe(doc: Document, err: Any, source: str) -> list[Finding]:
    import jsonschema

    if err.context:
        err = jsonschema.exceptions.best_match(err.context)
    path = tuple(err.absolute_path)
    fix = f"match the {source} schema"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set((err.schema.get("properties") or {}).keys())
        patterns = list((err.schema.get("patternProperties") or {}).keys())
        out = []
        for key in err.instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "remove it or fix its place in the document"
            out.append(doc.finding("schema-invalid", Severity.ERROR, path + (key,),
                                   f"unknown field {key!r} in {doc.kind} ({source} schema)", hint))
        if out:
            return out
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        shown = json.dumps(err.instance)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        message = f"{shown} is not of type {' or '.join(str(t) for t in wanted if t != 'null')}"
    else:
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
    return [doc.finding("schema-invalid", Severity.ERROR, path, message, fix)]
