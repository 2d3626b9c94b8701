"""Serving targets: the workload kind that runs the vLLM pods, one module each.

A target module composes the shared parts of the plan (vllmkube/plan/) and never imports
another target. It provides:

    NAME                      the --target value
    OMITS                     shared documents it has no use for (render.ORDER names them)
    REPLACES                  shared templates whose object the target's controller makes itself
    check(spec, model, gpu, sizing)  refuse a sizing it cannot serve, before anything is built
    build(parts: plan.Parts) -> plan.Target (apiVersion, kind, name, its templates, and
                              whatever else they lay out)

and one template per workload document (templates/<template>.yaml.j2, using _pod.j2).
Registering it here is all render needs.
"""
from __future__ import annotations

import importlib
from types import ModuleType

# The --target values, each the name of its module here. A render imports only the target it uses
# (each module defines the dataclasses of its workload; creating them is start-up time).
NAMES = ("deployment", "lws", "kserve", "llmisvc")


def load(name: str) -> ModuleType:
    """The target module for a --target value (KeyError for an unknown one)."""
    if name not in NAMES:
        raise KeyError(name)
    module = importlib.import_module(f"{__name__}.{name}")
    assert module.NAME == name, f"{module.__name__}.NAME is {module.NAME!r}, registered as {name!r}"
    return module
