"""What the deployed vLLM version accepts and exports, read from the image tag.

Metric names come from ``vllmkube.metrics`` (exported(), replacement()) and flags from
``vllmkube.flags`` (accepts(), describe()): the same data render uses, extracted from each
release's wheel (releases.py).
"""
from __future__ import annotations

import json
import re
from typing import Iterator

from ... import flags, metrics, versions
from .. import imagetags
from .. import metricnames as router
from ..bundle import Bundle, Server, image_is_vllm, image_tag, related, selector_matches
from ..documents import Document, as_dict, as_list, dig
from ..findings import Severity
from ..promqlshape import PromQLError, metric_name, parse, selectors

_VLLM_METRIC = re.compile(r"vllm:[A-Za-z0-9_:]+")
_SUFFIXES = ("_bucket", "_sum", "_count")
# `vllm serve --model M` raised "you should provide the model as a positional argument" in
# vllm/scripts.py and then vllm/entrypoints/cli/serve.py (0.5 to at least the 0.8 series); a
# later release (0.9 to 0.11, not pinned down) turned it into a warning ("will be removed in
# v0.13"). Lint calls it an error only below 0.9, where the ValueError is certain.
SERVE_MODEL_FLAG_OK = "0.9.0"


def check(b: Bundle) -> None:
    for s in b.servers:
        if s.version is None:
            b.report("vllm-version-unknown", s.doc, s.cpath + ("image",),
                     f"{s.version_problem}; metric-name and flag checks for this vLLM server are skipped",
                     f"use a release tag, e.g. vllm/vllm-openai:v{versions.NEWEST_VLLM}")
        else:
            _flags(b, s)
        _log_stats(b, s)
        _serve_model_flag(b, s)
    _images(b)
    _metrics(b)


def _flags(b: Bundle, s: Server) -> None:
    for arg in s.inv.args:
        if flags.accepts(arg.flag, s.version) is not False:
            continue
        f = flags.describe(arg.flag, s.version)
        if f.since is None:
            why, fix = "no vLLM release accepts it", f"remove {arg.flag} or fix its spelling (see `vllm serve --help`)"
        elif s.version.at_least(f.until):
            why, fix = f"removed in {f.until}", f"remove {arg.flag}" + (f" ({f.note})" if f.note else "")
        else:
            why, fix = f"added in {f.since}", f"remove {arg.flag}, or use vLLM {f.since} or newer"
        b.report("vllm-flag-rejected", s.doc, arg.path,
                 f"vLLM {s.version} (image {s.image}) rejects {arg.flag}, {why}: the server exits at start-up",
                 fix)


def _serve_model_flag(b: Bundle, s: Server) -> None:
    arg = s.inv.find("--model")
    if s.inv.entrypoint != "vllm serve" or arg is None or s.inv.positional is not None:
        return
    if s.release is not None and not s.release.at_least(SERVE_MODEL_FLAG_OK):
        b.report("vllm-serve-model-flag", s.doc, arg.path,
                 f"vLLM {s.release} (image {s.image}) wants the model positional: `vllm serve --model ...` exits "
                 "with \"you should provide the model as a positional argument\"",
                 f"write vllm serve {arg.value or 'MODEL'} ... (or use python3 -m vllm.entrypoints.openai.api_server --model)")
        return
    b.report("vllm-serve-model-flag", s.doc, arg.path,
             "`vllm serve --model` is deprecated (vLLM warns that the option will be removed); "
             + ("versions before 0.9 exit on it" if s.release is None else "it still works on this version"),
             f"write vllm serve {arg.value or 'MODEL'} ... with the model positional", Severity.INFO)


def _log_stats(b: Bundle, s: Server) -> None:
    arg = s.inv.find("--disable-log-stats")
    if arg is None:
        return
    readers = [so.ref for so in b.of("ScaledObject", "HorizontalPodAutoscaler")
               if (so.get("spec", "scaleTargetRef", "name") == s.doc.name and related(so, s.doc))]
    readers += [d.ref for d in b.of("PodMonitor") if selector_matches(d.get("spec", "selector"), s.pod.labels)
                and related(d, s.doc)]
    readers += [d.ref for d in b.of("ServiceMonitor", "PrometheusRule") if related(d, s.doc)]
    if readers:
        note = flags.describe("--disable-log-stats").note
        b.report("vllm-disable-log-stats", s.doc, arg.path,
                 f"--disable-log-stats {note}; {', '.join(readers[:3])} read{'s' if len(readers) == 1 else ''} them",
                 "remove --disable-log-stats")


def _images(b: Bundle) -> None:
    for pod in b.pods:
        for cpath, c in pod.containers(init=True):
            image = str(c.get("image") or "")
            tag = imagetags.floating(image)
            if tag is None:
                continue
            if imagetags.is_placeholder(image):
                what = "is a placeholder (a template value or a sample's <...>), so whatever replaces it decides the build"
            else:
                what = f"floats (:{tag})" if imagetags.tag(image) else "has no tag (that means :latest)"
            example = f", e.g. vllm/vllm-openai:v{versions.NEWEST_VLLM}" if image_is_vllm(image) else ""
            b.report("image-not-pinned", pod.doc, cpath + ("image",),
                     f"image {image!r} {what}: each node may pull a different build, and a restart may change the code",
                     f"pin a version tag or an @sha256 digest{example}")


# ----------------------------------------------------------------------------- metric names
def _expressions(b: Bundle) -> Iterator[tuple[Document, tuple, str, list[Server] | None]]:
    """(document, path, PromQL, servers it is about or None to infer from the query)."""
    for so in b.of("ScaledObject"):
        target = so.get("spec", "scaleTargetRef", "name")
        kind = so.get("spec", "scaleTargetRef", "kind") or "Deployment"
        workload = b.find(kind, str(target), so) if target else None
        servers = b.servers_of(workload) if workload is not None else None
        for i, t in enumerate(as_list(so.get("spec", "triggers"))):
            q = dig(t, "metadata", "query")
            if isinstance(q, str):
                yield so, ("spec", "triggers", i, "metadata", "query"), q, servers or None
    for isvc in b.of("InferenceService"):
        for path, q in isvc_queries(isvc):
            yield isvc, path, q, None
    for pr in b.of("PrometheusRule"):
        for gi, g in enumerate(as_list(pr.get("spec", "groups"))):
            for ri, r in enumerate(as_list(dig(g, "rules"))):
                if isinstance(r, dict) and isinstance(r.get("expr"), str):
                    yield pr, ("spec", "groups", gi, "rules", ri, "expr"), r["expr"], None
    for cm in b.of("ConfigMap"):
        for key, value in as_dict(cm.get("data")).items():
            if isinstance(value, str) and value.lstrip().startswith("{") and "vllm:" in value:
                try:
                    exprs = list(_dashboard_exprs(json.loads(value)))
                except ValueError:
                    exprs = [value]  # not JSON after all: the names are still found in the text
                for expr in exprs:
                    yield cm, ("data", key), expr, None


def _dashboard_exprs(node) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield v
            else:
                yield from _dashboard_exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dashboard_exprs(v)


def _names_and_scope(expr: str) -> tuple[list[str], str | None, str | None]:
    try:
        node = parse(expr)
    except PromQLError:
        return sorted(set(_VLLM_METRIC.findall(expr))), None, None
    names, ns, model = [], None, None
    for sel in selectors(node):
        name = metric_name(sel)
        if name.startswith("vllm:"):
            names.append(name)
            for label, op, value in sel.matchers:
                if op == "=" and label == "namespace":
                    ns = value
                if op == "=" and label == "model_name":
                    model = value
    return sorted(set(names)), ns, model


def _candidates(b: Bundle, doc: Document, ns: str | None, model: str | None) -> list[Server]:
    in_ns = [s for s in b.servers if related(doc, s.doc) and (ns is None or s.doc.namespace in (None, ns))]
    named = [s for s in in_ns if model and model in s.inv.served_names]
    return named or in_ns


def _replacement(name: str, v) -> str | None:
    for suffix in _SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base in metrics.known_names():
            r = metrics.replacement(base, v)
            return r + suffix if r else None
    return metrics.replacement(name, v)


def isvc_queries(isvc: Document) -> Iterator[tuple[tuple, str]]:
    """KServe KEDA autoscaling: spec.predictor.autoScaling.metrics[].external.metric.query."""
    for i, m in enumerate(as_list(isvc.get("spec", "predictor", "autoScaling", "metrics"))):
        q = dig(m, "external", "metric", "query")
        if isinstance(q, str):
            yield ("spec", "predictor", "autoScaling", "metrics", i, "external", "metric", "query"), q


def _deprecated(name: str) -> str | None:
    """Why a metric name sees no data on current releases, whatever version is deployed."""
    if router.router_only(name) or name in router.METRICS:
        return None  # the production-stack router exports it
    newest = versions.newest()
    base = name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in metrics.KNOWN_NAMES:
            base = name[: -len(suffix)]
    if base in metrics.KNOWN_NAMES and not metrics.exported(base, newest):
        r = _replacement(name, newest)
        return f"current vLLM releases hide or removed {name}" + (f"; the name is {r} now" if r else "")
    if name in router.V0_ONLY:
        return f"{name} was a V0-engine metric, hidden since vLLM 0.9 and removed after"
    return None


def _metrics(b: Bundle) -> None:
    seen: set = set()
    for doc, path, expr, servers in _expressions(b):
        names, ns, model = _names_and_scope(expr)
        if not names:
            continue
        judged: set[str] = set()
        for s in servers or _candidates(b, doc, ns, model):
            if s.version is None or not s.version.at_least(metrics.FLOOR):
                continue  # unknown, or older than the metric table (V0 names)
            for name in names:
                judged.add(name)
                key = (id(doc), path, name, s.version)
                if key in seen or metrics.exported(name, s.version):
                    continue
                seen.add(key)
                r = _replacement(name, s.version)
                b.report("metric-not-exported", doc, path,
                         f"vLLM {s.version} ({s.doc.ref}, image {s.image}) does not export {name}"
                         + (f"; it is {r} there" if r else "") + ": the query sees no data",
                         f"use {r}" if r else f"drop {name} or change the vLLM version")
        for name in names:
            if name in judged:
                continue  # a known version decided it above
            why = _deprecated(name)
            if why:
                r = _replacement(name, versions.newest())
                b.report("metric-deprecated", doc, path,
                         f"{why}: with no vLLM version known here, the query may see no data",
                         f"use {r}" if r else f"drop {name}")
