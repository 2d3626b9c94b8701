"""The vLLM rule layer: each module checks one family of mistakes on the whole bundle."""
from __future__ import annotations

from ..bundle import Bundle
from . import keda, kedaadmission, pods, production, refs, versions

CHECKS = (keda.check, kedaadmission.check, versions.check, refs.check, pods.check, production.check)


def run(bundle: Bundle) -> None:
    for check in CHECKS:
        check(bundle)
