"""The chain from a validated spec to plans, shared by the commands. No printing."""
from __future__ import annotations

from .sizing import RuleOfThumb, SizingPlan, rule_of_thumb, size
from .spec import RenderSpec, SizeSpec, resolve_gpu, resolve_model


def plan_size(spec: SizeSpec) -> SizingPlan | RuleOfThumb:
    model = resolve_model(spec)
    if model is None:  # --params-b alone
        gpu = resolve_gpu(spec) if (spec.gpu or spec.gpu_memory_gib) else None
        precision = {"fp8": "fp8", "int8": "int8", "awq": "awq", "gptq": "gptq"}.get(spec.quantization or "", "16bit")
        return rule_of_thumb(spec.params_b, precision, gpu, spec.gpu_memory_gib, spec.gpu_memory_utilization)
    gpu = resolve_gpu(spec)
    return size(model, gpu, spec.sizing_options(), spec.gpu_memory_gib)


def serving_for(spec: SizeSpec, sizing: SizingPlan | RuleOfThumb):
    """The serving plan (with the nearest layout that meets unmet SLOs) for a SizeSpec's workload
    keys; None without any, or for a model that does not fit."""
    from .compare import plan_with_nearest
    from .errors import InputError

    workload = spec.workload()
    if workload is None or not isinstance(sizing, SizingPlan):
        if workload is not None:
            raise InputError("--model", "workload flags need a model (--params-b is a rule of thumb only)",
                             "pass --model or --model-config")
        return None
    if not sizing.fits:
        return None  # nothing to serve; the sizing table says why
    return plan_with_nearest(resolve_model(spec), resolve_gpu(spec), sizing, workload,
                             server=(spec.max_num_batched_tokens, spec.max_num_seqs))


def plan_render(spec: "RenderSpec"):
    """Spec -> (Plan, documents). Raises InputError before anything is written.

    With workload or SLO keys, the serving plan picks the batch limits; the model is then sized
    again with them (same layout), so the KV budget and the engine flags come from one sizing.
    """
    from .compose import build
    from .render import render_documents

    model = resolve_model(spec)
    gpu = resolve_gpu(spec)
    options = spec.sizing_options()
    sizing = size(model, gpu, options, spec.gpu_memory_gib)
    serving = None
    workload = spec.workload()
    if workload is not None and sizing.fits:
        from . import serving as serving_mod  # the performance model, only when a workload is given

        serving = serving_mod.plan(model, gpu, sizing, workload)
        pinned = options.model_copy(update={
            "tensor_parallel_size": sizing.tensor_parallel_size,
            "pipeline_parallel_size": sizing.pipeline_parallel_size,
            "quantization": _quantization_choice(sizing.quantization),
            "max_num_seqs": spec.max_num_seqs or serving.max_num_seqs,
            "max_num_batched_tokens": spec.max_num_batched_tokens or serving.max_num_batched_tokens,
        })
        sizing = size(model, gpu, pinned, spec.gpu_memory_gib)
    plan = build(spec, model, gpu, sizing, serving)
    return plan, render_documents(plan)


def _quantization_choice(quantization: str | None) -> str | None:
    """The --quantization value that reproduces a plan's weight format (None: the checkpoint's own)."""
    return {None: "none", "fp8": "fp8", "int8": "int8", "awq": "awq", "gptq": "gptq"}.get(quantization)


def load_config(path: str) -> dict:
    """Read vllmkube.yaml into a plain dict (validated later, with the flags on top)."""
    from pathlib import Path

    from .errors import InputError
    from .yamlio import load_plain_one

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("-f", f"cannot read {path}: {exc.strerror or exc}", "pass an existing vllmkube.yaml") from None
    try:
        data = load_plain_one(text)
    except Exception as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise InputError("-f", f"{path} is not valid YAML{where}", "fix the file (duplicate keys are errors)") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("-f", f"{path} must be a mapping of option: value", "see `vllmkube init`")
    from .spec import config_key

    values: dict = {}
    spelled: dict[str, str] = {}
    for k, v in data.items():
        key = config_key(str(k))
        if key in values:
            raise InputError("-f", f"{path} sets {key} twice (as {spelled[key]} and {k})", "keep one of them")
        values[key], spelled[key] = _plain(v), str(k)
    return values


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
