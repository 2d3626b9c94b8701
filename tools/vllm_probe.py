"""Run inside a Python environment that can import one vLLM release; print what its parsers accept.

Called by tools/extract_vllm.py (``VLLM_TARGET_DEVICE=cpu PYTHONPATH=<unpacked wheel> python
vllm_probe.py``); prints one JSON object on stdout. The parsers are vLLM's own: we build the
``vllm serve`` and ``vllm run-batch`` subparsers exactly as the ``vllm`` CLI does and walk the
option strings argparse registered (hidden ones included: argparse accepts them).

Compiled extensions and GPU-only packages are not installed in the probe environment. A module
that cannot be found is replaced by an inert stub (recorded in ``stubbed``) so that imports which
only matter at run time do not stop the parser from being built. Not used by vllmkube at run time.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import types

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
STUBBED: list[str] = []
SHIMS: list[str] = []  # run-time-only compatibility fixes that were needed (recorded in provenance)
# Only these are stubbed when missing: vLLM's compiled extensions and GPU/accelerator packages
# the CPU probe environment does not install. Anything else missing is a broken environment
# (and optional imports guarded by try/except must keep failing as they do without the package).
STUB_PREFIXES = ("vllm._", "vllm.vllm_flash_attn", "vllm.third_party", "vllm.cumem")
STUB_ROOTS = {"flashinfer", "xgrammar", "llguidance", "outlines", "outlines_core", "lm_format_enforcer",
              "mistral_common", "cv2", "numba", "tilelang", "quack", "cutlass",
              "depyf", "compressed_tensors", "PyNvVideoCodec", "nvtx",
              "tvm_ffi", "fastsafetensors", "instanttensor", "humming_kernels", "tokenspeed_mla"}


class _Stub(types.ModuleType):
    """A module whose every attribute is another stub (a class, so it can be subclassed/called)."""

    __path__: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _stub_class(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


def _stub_class(qualname: str):
    class Meta(type):
        def __getattr__(cls, name):
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(name)
            return _stub_class(f"{qualname}.{name}")

        def __or__(cls, other):
            return cls

        def __ror__(cls, other):
            return cls

        def __getitem__(cls, item):
            return cls

        def __iter__(cls):
            return iter(())

    class Stub(metaclass=Meta):
        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return a[0] if len(a) == 1 and callable(a[0]) and not k else self

        def __getattr__(self, name):
            if name.startswith("__") and name.endswith("__"):
                raise AttributeError(name)
            return _stub_class(f"{qualname}.{name}")()

    Stub.__name__ = Stub.__qualname__ = qualname.rsplit(".", 1)[-1]
    Stub.__module__ = qualname.rsplit(".", 1)[0]
    return Stub


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(STUB_PREFIXES) and fullname.split(".")[0] not in STUB_ROOTS:
            return None
        # Last on sys.meta_path: only modules no real finder found get here.
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        STUBBED.append(spec.name)
        m = _Stub(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def _serve_parser():
    root = _flexible()(prog="vllm")
    subs = root.add_subparsers(dest="subparser")
    try:
        from vllm.entrypoints.cli.serve import ServeSubcommand
        return ServeSubcommand().subparser_init(subs), "ServeSubcommand().subparser_init"
    except ImportError as e:  # the same make_arg_parser that ServeSubcommand wraps
        from vllm.entrypoints.openai.cli_args import make_arg_parser
        return (make_arg_parser(_flexible()(prog="vllm serve")),
                f"openai.cli_args.make_arg_parser (vllm.entrypoints.cli.serve did not import: {e})")


def _run_batch_parser():
    root = _flexible()(prog="vllm")
    subs = root.add_subparsers(dest="subparser")
    try:
        from vllm.entrypoints.cli.run_batch import RunBatchSubcommand
        return RunBatchSubcommand().subparser_init(subs), "RunBatchSubcommand().subparser_init"
    except ImportError:
        import vllm.entrypoints.openai.run_batch as module
        if hasattr(module, "make_arg_parser"):
            return module.make_arg_parser(_flexible()(prog="vllm run-batch")), "openai.run_batch.make_arg_parser"
        return _built_by(module), "openai.run_batch.parse_args (parser captured before parsing)"


class _Built(Exception):
    pass


def _built_by(module):
    """The parser ``module.parse_args()`` builds (old releases have no make_arg_parser)."""
    base = module.FlexibleArgumentParser

    class Capturing(base):
        def parse_args(self, *a, **k):
            raise _Built(self)

    module.FlexibleArgumentParser = Capturing
    try:
        module.parse_args()
    except _Built as e:
        return e.args[0]
    finally:
        module.FlexibleArgumentParser = base
    raise RuntimeError(f"{module.__name__}.parse_args() built no parser")


def _flexible():
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:
        from vllm.utils import FlexibleArgumentParser
    return FlexibleArgumentParser


def _static(value):
    """The value when it is plain data (JSON), else None: only static defaults are recorded."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return None


def _type_name(action: argparse.Action) -> str | None:
    t = action.type
    if t is None:
        return "bool" if action.nargs == 0 else "str"
    for builtin in (int, float, str, bool):
        if t is builtin:
            return builtin.__name__
    name = getattr(t, "__name__", "")
    return name if name and name != "<lambda>" else None


def walk(parser: argparse.ArgumentParser) -> dict:
    """Every option string argparse accepts, grouped by the action it triggers."""
    by_action: dict[int, tuple[argparse.Action, list[str]]] = {}
    for opt, action in parser._option_string_actions.items():
        if isinstance(action, argparse._HelpAction):
            continue
        by_action.setdefault(id(action), (action, []))[1].append(opt)
    options = {}
    for action, opts in by_action.values():
        longs = sorted(o for o in opts if o.startswith("--"))
        visible = [o for o in action.option_strings if o.startswith("--")] or longs
        name = visible[0]
        negative = sorted(getattr(action, "negative_option_strings", None) or
                          [o for o in opts if o.startswith("--no-")]) if action.nargs == 0 or \
            isinstance(action, argparse.BooleanOptionalAction) else []
        negative = [o for o in negative if o != name]
        entry = {
            "aliases": sorted(o for o in opts if o != name and o not in negative),
            "dest": action.dest,
            "takes_value": action.nargs != 0,
        }
        if negative:
            entry["negative"] = negative
        if action.nargs not in (None, 0):
            entry["nargs"] = action.nargs
        t = _type_name(action)
        if t:
            entry["type"] = t
        if action.choices is not None:
            try:
                entry["choices"] = [_static(c) for c in action.choices if _static(c) is not None]
            except TypeError:
                pass
        d = _static(action.default)
        if d is not None and action.default is not argparse.SUPPRESS:
            entry["default"] = d
        if getattr(action, "deprecated", False) or action in getattr(parser, "_deprecated", ()):
            entry["deprecated"] = True
        options[name] = entry
    positionals = [a.dest for a in parser._actions if not a.option_strings]
    return {"options": dict(sorted(options.items())), "positionals": positionals,
            "allow_abbrev": parser.allow_abbrev}


def batch_defaults() -> dict | None:
    """Server (OPENAI_API_SERVER) max_num_batched_tokens/max_num_seqs for a few device classes."""
    try:
        from vllm.engine.arg_utils import EngineArgs
        from vllm.platforms import current_platform
        from vllm.usage.usage_lib import UsageContext
    except ImportError:
        return None
    fn = getattr(EngineArgs, "get_batch_defaults", None)
    if fn is None:
        return None
    gib = 1 << 30
    out = {}
    for label, mem, name in (("24GiB", 24, "NVIDIA L4"), ("80GiB-A100", 80, "NVIDIA A100-SXM4-80GB"),
                             ("80GiB", 80, "NVIDIA H100 80GB HBM3"), ("180GiB", 180, "NVIDIA B200")):
        cls = type(current_platform)
        patches = {"get_device_total_memory": lambda *a, m=mem, **k: m * gib,
                   "get_device_name": lambda *a, n=name, **k: n,
                   "is_device_capability": lambda *a, **k: False,
                   "is_tpu": lambda *a, **k: False, "is_cpu": lambda *a, **k: False}
        saved = {k: cls.__dict__.get(k) for k in patches}
        for k, v in patches.items():
            setattr(cls, k, classmethod(v) if isinstance(saved[k], classmethod) else staticmethod(v))
        try:
            try:
                tokens, seqs = fn(world_size=1)
            except TypeError:
                tokens, seqs = fn()
        except Exception as e:  # the probe is best effort; the option defaults still stand
            return {"error": f"{type(e).__name__}: {e}"}
        finally:
            for k, v in saved.items():
                if v is None:
                    delattr(cls, k)
                else:
                    setattr(cls, k, v)
        out[label] = {"max_num_batched_tokens": tokens.get(UsageContext.OPENAI_API_SERVER),
                      "max_num_seqs": seqs.get(UsageContext.OPENAI_API_SERVER)}
    return out


def _cpu_build() -> None:
    """Older releases pick the CPU platform only when the installed vLLM's version says "+cpu"."""
    import importlib.metadata as md
    real = md.version
    md.version = lambda name: real(name) + "+cpu" if name == "vllm" else real(name)


def _tolerant_config_registry() -> None:
    """Older releases register model configs that the probe's newer transformers already has;
    a clash raises at import time, though it only matters when such a model is loaded."""
    try:
        from transformers import AutoConfig
    except ImportError:
        return
    real = AutoConfig.register

    def register(model_type, config, exist_ok=False):
        try:
            return real(model_type, config, exist_ok=exist_ok)
        except ValueError:
            SHIMS.append(f"transformers AutoConfig.register({model_type!r}) clash ignored")
            return None

    AutoConfig.register = register


def _cpu_feature_probes() -> None:
    """Some releases ask the CPU torch build for ISA features (torch._C._cpu._is_*_supported)
    that this torch lacks, only to pick kernels: answer False, and record it when asked."""
    import torch

    cpu = torch._C._cpu

    def missing(name: str):
        if name.startswith("_is_") and name.endswith("_supported"):
            SHIMS.append(f"torch._C._cpu.{name}() answered False")
            return lambda: False
        raise AttributeError(name)

    cpu.__getattr__ = missing


def main() -> None:
    sys.meta_path.append(_StubFinder())
    _cpu_build()
    _tolerant_config_registry()
    _cpu_feature_probes()
    import logging
    logging.disable(logging.CRITICAL)
    serve, serve_how = _serve_parser()
    batch, batch_how = _run_batch_parser()
    import vllm
    result = {
        "imported_version": getattr(vllm, "__version__", None),
        "serve": walk(serve), "run_batch": walk(batch),
        "method": {"serve": serve_how, "run_batch": batch_how},
        "batch_defaults": batch_defaults(),
        "stubbed": sorted(set(STUBBED)),
        "shims": sorted(set(SHIMS)),
    }
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
