"""Identity: the release's names, labels and selector, the model it serves, and which shared
documents it gets. Every target names its objects from here (naming.py makes the strings)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import naming
from ..catalog import ModelEntry
from ..errors import InputError
from ..sizing import SizingPlan
from ..spec import RenderSpec
from ..versions import VllmVersion
from . import storage

# Optional shared documents, switched off with --without (the target's own are always rendered).
OPTIONAL = ("serviceaccount", "pvc", "downloader", "service", "autoscaling", "monitor", "rules", "dashboard", "pdb",
            "networkpolicy")


@dataclass(frozen=True)
class Identity:
    release: str
    namespace: str
    labels: dict[str, str]
    downloader_labels: dict[str, str]
    selector: dict[str, str]
    components: frozenset[str]  # shared documents to render (render.ORDER)
    names: dict[str, str]  # object names by role
    served_model_name: str  # what clients send as `model`; vLLM's model_name metric label
    model_repo: str  # the Hugging Face repository downloaded into the cache
    revision: str | None
    allow_from_namespaces: list[str]  # NetworkPolicy: namespaces besides this one that may call the API


def build(spec: RenderSpec, model: ModelEntry, sizing: SizingPlan, v: VllmVersion,
          omit: frozenset[str] = frozenset()) -> Identity:
    """``omit``: shared documents the target replaces with its own (a controller that makes them)."""
    release = naming.check_name(spec.name, "--name") if spec.name else naming.release_name(model.id)
    ns = naming.check_namespace(spec.namespace)
    for other in spec.allow_from_namespaces:
        naming.check_namespace(other, "--allow-from-namespace")
    naming.check_namespace(spec.prometheus_namespace, "--prometheus-namespace")
    if sizing.needs_prequantized_checkpoint and not spec.model_repo:
        raise InputError("--model-repo", f"{sizing.quantization} needs a pre-quantized checkpoint of {model.id}",
                         "pass --model-repo ORG/NAME-AWQ (or --quantization fp8/none)")
    if spec.model_config_path and not spec.model_repo and "/" not in model.id and spec.wants("downloader"):
        raise InputError("--model-repo", f"the model read from {spec.model_config_path} names no Hugging Face repository "
                         "to download", "pass --model-repo ORG/NAME, or --without downloader if the PVC holds it already")
    repo = spec.model_repo or model.id
    # clients ask for the model by its id; a local config.json has none, so its repository stands in
    served = spec.served_model_name or (spec.model_repo if "/" not in model.id and spec.model_repo else model.id)
    version_label = naming.label_value(f"v{v}")
    components = {c for c in OPTIONAL if spec.wants(c)}
    if storage.choose(spec).strategy == storage.POD:  # each pod downloads into its own volume
        components -= {"pvc", "downloader"}
    if spec.create_namespace and spec.wants("namespace"):
        components.add("namespace")
    if spec.prometheus_auth_secret and "autoscaling" in components:
        components.add("triggerauth")
    names = {
        "server": release, "service": release, "serviceaccount": release,
        "pvc": naming.child(release, "models"),
        "downloader": naming.child(release, "download-" + naming.short_hash(repo, spec.revision or "")),
        "scaledobject": release, "triggerauth": naming.child(release, "prometheus"),
        "hpa": f"keda-hpa-{release}", "monitor": release, "rules": release, "dashboard": naming.child(release, "dashboard"),
        "pdb": release, "networkpolicy": release,
    }
    return Identity(
        release=release, namespace=ns, labels=naming.labels(release, "server", version_label),
        downloader_labels=naming.labels(release, "downloader", version_label), selector=naming.selector(release),
        components=frozenset(components - omit), names=names, served_model_name=served, model_repo=repo,
        revision=spec.revision, allow_from_namespaces=sorted(set(spec.allow_from_namespaces) - {ns}),
    )
