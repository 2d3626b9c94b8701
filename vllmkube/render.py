"""One Jinja environment, a fixed document order, and a check of every document.

Templates lay out; the plan (vllmkube/plan/) holds every value. Every value passes through
the ``q`` filter, which writes a JSON string (JSON is YAML 1.2, and ASCII escapes
make any user text safe: quotes, newlines, '#', ': ', '{{', unicode).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .errors import RenderError
from .plan import Plan
from .plan.cache import MODEL_MOUNT
from .plan.engine import HTTP_PORT

TARGET = ("", "target")  # where the target's own documents go (Plan.target.templates)
FRONT = ("", "front")  # issue 12: what sits in front of the pods (Plan.front.templates); before the ScaledObject
# (template, component that switches it). The order is the apply order.
ORDER: tuple[tuple[str, str], ...] = (
    ("namespace", "namespace"),
    ("serviceaccount", "serviceaccount"),
    ("persistentvolumeclaim", "pvc"),
    ("job", "downloader"),
    ("service", "service"),
    TARGET,
    FRONT,
    ("triggerauthentication", "triggerauth"),
    ("scaledobject", "autoscaling"),
    ("servicemonitor", "monitor"),
    ("podmonitor", "monitor"),
    ("prometheusrule", "rules"),
    ("configmap", "dashboard"),
    ("poddisruptionbudget", "pdb"),
    ("networkpolicy", "networkpolicy"),
)


@dataclass(frozen=True)
class Document:
    kind: str
    name: str
    text: str  # the YAML of this one document, no separator

    @functools.cached_property
    def data(self) -> Any:
        """The same, parsed (JSON output, tests): render itself needs only the check in _checked."""
        from .yamlio import load_plain_one

        return load_plain_one(self.text)

    @property
    def filename(self) -> str:
        return f"{self.kind.lower()}-{self.name}.yaml"


def q(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if not isinstance(value, str):
        raise RenderError(f"template passed a {type(value).__name__} to q")
    return json.dumps(value, ensure_ascii=True)


def hashed_name(text: str, release: str, role: str) -> str:
    """A name that changes whenever ``text`` does (the downloader Job's pod template)."""
    from . import naming

    return naming.child(release, f"{role}-{naming.short_hash(text)}")


@functools.cache
def environment():
    import jinja2

    root = resources.files("vllmkube.templates")

    def load(name: str) -> str:
        return root.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["q"] = q
    env.filters["hashed_name"] = hashed_name
    return env


def templates(p: Plan) -> list[str]:
    """The templates of this plan in apply order: the shared ones it wants, the target's in its place."""
    out: list[str] = []
    for template, component in ORDER:
        if (template, component) == TARGET:
            out += p.target.templates
        elif (template, component) == FRONT:
            out += p.front.templates if p.front else ()
        elif template in p.target.replaces:
            continue
        elif component in p.identity.components and (component != "monitor" or template == p.monitoring.kind):
            out.append(template)
            if template == "job" and p.canary is not None:
                out.append("job:canary")  # the canary revision's download, into its own folder
    return out


def context(p: Plan) -> dict[str, Any]:
    """What every template sees. Each part under its own name: templates say pod.image,
    scaling.min_replicas, identity.names.pvc."""
    return {"identity": p.identity, "pod": p.pod, "cache": p.cache, "scaling": p.scaling,
            "monitoring": p.monitoring, "target": p.target, "http_port": HTTP_PORT, "model_mount": MODEL_MOUNT,
            "front": p.front}


def render_documents(p: Plan) -> list[Document]:
    env = environment()
    values = context(p)
    docs = []
    for t in templates(p):
        name, _, variant = t.partition(":")
        ctx = values if not variant else dict(values, identity=p.canary.identity, cache=p.canary.cache)
        docs.append(_checked(name, env.get_template(f"{name}.yaml.j2").render(ctx)))
    return docs


def _checked(template: str, text: str) -> Document:
    """Parse the rendered text back and insist on the basics; a failure is a template bug."""
    from .yamlio import outline

    try:
        top = outline(text, (("apiVersion",), ("kind",), ("metadata", "name")))
    except Exception as exc:
        raise RenderError(f"template {template} must produce exactly one mapping of valid YAML: {exc}") from exc
    kind, name = top.get(("kind",)), top.get(("metadata", "name"))
    if not top.get(("apiVersion",)) or not kind or not name:
        raise RenderError(f"template {template} lacks apiVersion, kind or metadata.name")
    return Document(kind, name, text.strip("\n") + "\n")


def header(p: Plan) -> str:
    lines = ["Generated by vllmkube. Do not edit by hand: change the inputs and render again."]
    lines += p.header
    return "".join(f"# {line}\n" for line in lines)


def to_stream(p: Plan, docs: list[Document]) -> str:
    return header(p) + "".join("---\n" + d.text for d in docs)


def to_json(docs: list[Document]) -> str:
    """One JSON document, a v1 List, as `kubectl get -o json` prints and `kubectl apply -f -` takes."""
    body = {"apiVersion": "v1", "kind": "List", "items": [d.data for d in docs]}
    return json.dumps(body, indent=2, ensure_ascii=True) + "\n"


def kustomization(docs: list[Document]) -> str:
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {d.filename}" for d in docs]
    return "\n".join(lines) + "\n"
