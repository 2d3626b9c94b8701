"""Small value spellings the parts share: memory quantities, Secret references, the Workload protocol."""
from __future__ import annotations

import math
from typing import Any, Protocol


def gi(gib: float) -> str:
    """A memory or storage quantity in whole GiB, rounded up: 17.2 -> '18Gi'."""
    return f"{max(1, math.ceil(gib))}Gi"


def secret_ref(value: str, default_key: str) -> tuple[str, str]:
    """NAME or NAME:KEY -> (name, key)."""
    name, _, key = value.partition(":")
    return name, key or default_key


class Workload(Protocol):
    """What monitoring needs of a target (plan.Target implements it): where replicas are counted."""

    def hpa_name(self, identity: Any) -> str: ...

    def replica_queries(self, identity: Any) -> tuple[str, str]: ...
