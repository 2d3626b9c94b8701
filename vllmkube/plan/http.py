"""What the fronts (plan/front.py, keda_http.py, pool.py) share: the API's path and Go durations."""
from __future__ import annotations

API_PREFIX = "/v1"  # the OpenAI-compatible API; /metrics and /health stay off the public path


def duration(s: int) -> str:
    """A Go duration, 1h2m5s: what metav1.Duration parses, and within the Gateway API's pattern
    (at most 5 digits per unit) for any context length."""
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec or not (h or m) else "")


def gateway_ref(value: str) -> tuple[str | None, str]:
    ns, _, name = value.rpartition("/")
    return (ns or None), name
