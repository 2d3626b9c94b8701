"""Shared fixtures. Tests that need ../shared (schemas, calibration logs) or promtool
skip with a reason on a newcomer's clone; CI sets VLLMKUBE_REQUIRE_SHARED=1 and
VLLMKUBE_REQUIRE_PROMTOOL=1 so that they fail instead of skipping."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _need(env: str, reason: str) -> None:
    if os.environ.get(env) == "1":
        pytest.fail(f"{reason} ({env}=1 makes this required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = Path(os.environ.get("VLLMKUBE_SHARED", REPO.parent / "shared"))
    if not (path / "reference").is_dir():
        _need("VLLMKUBE_REQUIRE_SHARED", f"shared reference folder not found at {path}")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        _need("VLLMKUBE_REQUIRE_PROMTOOL", "promtool not installed (Debian package prometheus)")
    return found
