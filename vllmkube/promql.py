"""Small PromQL builders: label matchers with safe quoting, and the selector of one service."""
from __future__ import annotations

import json


def quote(value: str) -> str:
    """A PromQL string literal (Go syntax; JSON escapes are a subset)."""
    return json.dumps(value, ensure_ascii=True)


def matchers(**labels: str) -> str:
    return ",".join(f"{k}={quote(v)}" for k, v in labels.items())


def service_selector(namespace: str, served_model_name: str) -> str:
    """Only this service's pods: its namespace and the model_name vLLM puts on every series."""
    return matchers(namespace=namespace, model_name=served_model_name)


def number(x: float) -> str:
    """A threshold or constant as PromQL and KEDA write it: 5, 0.8, 1e+06."""
    return f"{x:g}"


RATE_WINDOW = "5m"  # rate() window of the recording rules, alerts and dashboard
