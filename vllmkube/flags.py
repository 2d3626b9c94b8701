"""vLLM engine flags by version: which flags a release accepts, and the argument list.

Which release accepts which option comes from the releases' own parsers (``releases.py``,
data extracted by tools/extract_vllm.py). Written by hand here is only what a wheel cannot
say: why a flag matters and where it changed (sources: shared reference
kubernetes-vllm-facts.md section 3.2 and the vLLM PRs named below).
"""
from __future__ import annotations

from typing import NamedTuple

from . import releases, versions
from .versions import VllmVersion

_INF = "999.0.0"

NOTES = {
    # PR #21739 (0.10) added --enable-log-requests and deprecated --disable-log-requests; PR #29402
    # removed it for 0.12. Later releases accept it again as the negative form of
    # --enable-log-requests (vllm's EnableDisableAction), which is off by default anyway.
    "--disable-log-requests": "requests are not logged by default in releases with --enable-log-requests",
    "--shutdown-timeout": "drains in-flight requests on SIGTERM",  # PR #34730/#36666
    "--disable-log-stats": "also disables the Prometheus metrics: breaks autoscaling and alerts",
    # mp multi-node without Ray: PR #23691.
    "--nnodes": "multi-node without Ray (mp backend)",
    # PR #21489 added it as --kv-cache-memory; later spelled --kv-cache-memory-bytes.
    "--kv-cache-memory-bytes": "a KV-cache size in bytes instead of --gpu-memory-utilization",
}


class Flag(NamedTuple):
    name: str
    since: str | None  # first extracted release of the run that matters (None: no release accepts it)
    until: str = _INF  # first extracted release after that run that rejects it
    note: str = ""


def _key(flag: str) -> str:
    return flag.split("=", 1)[0]


def accepts(flag: str, v: VllmVersion) -> bool | None:
    """Whether vLLM ``v``'s ``vllm serve`` parser accepts ``flag`` (``--flag=value`` allowed).

    Exact for an extracted release. A version between two extracted releases accepts a flag
    either of them accepts, and rejects it only when both do (a miss is better than a false
    alarm). Outside the extracted range: True when the nearest release accepts it, else None.
    """
    below, above = releases.around(v)
    said = [r.serve.accepts(_key(flag)) for r in (below, above) if r is not None]
    if any(said):
        return True
    if below is None or above is None:
        return None
    return False


def describe(flag: str, v: VllmVersion | None = None) -> Flag:
    """When ``flag`` was accepted: the run of releases nearest to ``v`` (default: the newest).

    If ``v`` rejects it, ``until`` is where the last run before ``v`` ended (removed), or
    ``since`` where the next run after ``v`` starts (added).
    """
    name = _key(flag)
    v = v or versions.newest()
    rows = [(r.version, r.serve.accepts(name)) for r in releases.all_releases()]
    runs: list[list] = []  # [first, end] of each run of accepting releases
    for i, (ver, ok) in enumerate(rows):
        if ok and (i == 0 or not rows[i - 1][1]):
            runs.append([ver, None])
        if not ok and runs and runs[-1][1] is None and i > 0 and rows[i - 1][1]:
            runs[-1][1] = ver
    note = NOTES.get(name, "")
    if not runs:
        return Flag(name, None, _INF, note)
    before = [r for r in runs if r[0] <= v]
    first, end = before[-1] if before else runs[0]  # the run v is in or left; else the next one
    return Flag(name, str(first), str(end) if end else _INF, note)


def build_args(v: VllmVersion, values: dict[str, object]) -> list[str]:
    """``--flag value`` pairs for every non-empty value the version accepts; True -> bare flag.

    Refusing (rather than silently dropping) a flag the version rejects is the caller's job:
    a plan that needs one is a bug, so we raise.
    """
    args: list[str] = []
    for flag, value in values.items():
        if value is None or value is False:
            continue
        if accepts(flag, v) is False:
            raise ValueError(f"vLLM {v} does not accept {flag}")
        if value is True:
            args.append(flag)
        else:
            args += [flag, str(value)]
    return args
