"""Small value spellings the parts share: memory quantities and Secret references."""
from __future__ import annotations

import math


def gi(gib: float) -> str:
    """A memory or storage quantity in whole GiB, rounded up: 17.2 -> '18Gi'."""
    return f"{max(1, math.ceil(gib))}Gi"


def secret_ref(value: str, default_key: str) -> tuple[str, str]:
    """NAME or NAME:KEY -> (name, key)."""
    name, _, key = value.partition(":")
    return name, key or default_key
