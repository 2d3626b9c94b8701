"""The commented starter config (`vllmkube init`) and the JSON Schema of the config file."""
from __future__ import annotations

import json
from typing import Any

from .spec import RenderSpec, flag, spellings

# Shown uncommented in the starter file: what almost everyone sets.
ESSENTIAL = ("model", "gpu", "name", "namespace", "max_model_len", "min_replicas", "max_replicas",
             "slo_ttft_p99", "slo_itl_p99")


def json_schema() -> str:
    """RenderSpec's own JSON Schema, with every other spelling of a key the config file accepts
    (spec.spellings) as a property of its own, and two spellings of one key refused together."""
    schema = RenderSpec.model_json_schema()
    props = schema["properties"]
    exclusive = []
    for name in list(props):
        names = spellings(name)
        for other in names[1:]:
            props[other] = dict(props[name], title=f"{props[name].get('title', name)} (as {other})")
        exclusive += [{"not": {"required": [a, b]}} for i, a in enumerate(names) for b in names[i + 1:]]
    schema["allOf"] = exclusive
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vllmkube.yaml"
    schema["description"] = "Options of `vllmkube render` (and `size`); flags override the file."
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(str(value))


def starter(values: dict[str, Any]) -> str:
    lines = ["# vllmkube.yaml: options of `vllmkube render -f vllmkube.yaml` (flags on the command line win).",
             "# Keys may be written max_model_len or max-model-len. Editor completion: `vllmkube schema`.",
             "# Unset keys take the defaults shown (commented out).", ""]
    for name, field in RenderSpec.model_fields.items():
        desc = field.description or f"same as {flag(name)}"
        default = field.default if field.default is not None or name not in values else None
        if name in values:
            lines += [f"# {desc}", f"{name}: {_scalar(values[name])}", ""]
        elif name in ESSENTIAL:
            lines += [f"# {desc}", f"{name}: {_scalar(default)}" if default is not None else f"# {name}:", ""]
        else:
            lines += [f"# {desc}", f"# {name}: {_scalar(default)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
