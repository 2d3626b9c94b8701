"""Strict schema validation of rendered documents, shared by the render, example and lint tests.

Core kinds: kubernetes-validate (strict, bundled schemas, no network). Custom resources: the JSON
schemas in ../shared/schemas (kubeconform's layout), read at test time, never copied.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

CORE_GROUPS = ("", "apps", "batch", "policy", "networking.k8s.io", "rbac.authorization.k8s.io")
K8S_VERSION = "1.31.0"


def is_core(doc: dict) -> bool:
    api = doc["apiVersion"]
    return "/" not in api or api.split("/")[0] in CORE_GROUPS


def validate_core(doc: dict) -> list[str]:
    import kubernetes_validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            return [f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}"]
    return []


def crd_schema(schemas: Path, doc: dict) -> dict:
    group, version = doc["apiVersion"].split("/")
    path = schemas / group / f"{doc['kind'].lower()}_{version}.json"
    text = path.read_text()
    # Go RE2 inline flag that Python's re rejects (shared/schemas/SOURCES.md)
    text = text.replace("^(?i)(abort|warn)?$", "(?i)^(abort|warn)?$")
    return json.loads(text)


def validate_crd(schemas: Path, doc: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(crd_schema(schemas, doc))
    return [f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.absolute_path)}"
            for e in validator.iter_errors(doc)]


def plain(doc):
    """ruamel's round-trip types -> plain dict/list/str (jsonschema wants plain JSON types)."""
    return json.loads(json.dumps(doc))
