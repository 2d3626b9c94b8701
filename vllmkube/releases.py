"""What each vLLM release accepts and exports, read from data extracted from its own wheel.

``vllmkube/data/vllm/<version>.json`` is written by ``tools/extract_vllm.py``
(docs/vllm-versions.md): the options of vLLM's own ``vllm serve`` / ``vllm run-batch``
argparse parsers (every option string they accept: aliases, ``--no-``/``--disable-`` forms),
the ``vllm:*`` metrics declared in the wheel's sources, and defaults sizing reads. Each file
names the wheel and its sha256. Nothing here is written by hand.
"""
from __future__ import annotations

from typing import NamedTuple
import bisect
import json
from dataclasses import dataclass, field
from functools import cache, cached_property

from . import versions
from .versions import VllmVersion


class Option(NamedTuple):
    name: str  # the option's first long spelling in the parser
    aliases: tuple[str, ...]  # other spellings that set it (e.g. -tp)
    negative: tuple[str, ...]  # spellings that turn a boolean off (--no-x, --disable-x)
    takes_value: bool
    nargs: str | int | None = None
    choices: tuple | None = None
    default: object = None
    deprecated: bool = False
    type: str | None = None  # int, float, str, bool or a vLLM converter's name; None when not static

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.negative)


@dataclass(frozen=True, eq=False)  # one object per release (load is cached): identity is equality
class Parser:
    """One vLLM argparse parser, as accepted option strings."""
    options: dict[str, Option]  # canonical name -> option
    positionals: tuple[str, ...]
    allow_abbrev: bool
    by_spelling: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_spelling", {s: o for o in self.options.values() for s in o.spellings})

    def lookup(self, flag: str) -> Option | list[Option] | None:
        """The option ``flag`` (without ``=value``) sets, as vLLM's parser resolves it.

        Underscores read as dashes (vLLM's FlexibleArgumentParser); ``--json-arg.key`` sets
        ``--json-arg``; a unique prefix of a long option sets it when the parser allows
        abbreviations (argparse's default). A list means the prefix is ambiguous.
        """
        table = self.by_spelling
        if flag.startswith("--"):
            flag = flag.replace("_", "-")
            if flag not in table and "." in flag:
                flag = flag.split(".", 1)[0]
        if flag in table:
            return table[flag]
        if self.allow_abbrev and flag.startswith("--") and len(flag) > 2:
            hits = {id(o): o for s, o in table.items() if s.startswith(flag)}
            if len(hits) == 1:
                return next(iter(hits.values()))
            if hits:
                return sorted(hits.values(), key=lambda o: o.name)
        return None

    def accepts(self, flag: str) -> bool:
        return isinstance(self.lookup(flag.split("=", 1)[0]), Option)


class Metric(NamedTuple):
    name: str  # as scraped: counters with _total, histograms without _bucket/_sum/_count
    kind: str  # gauge | counter | histogram
    hidden: bool = False  # declared only for --show-hidden-metrics-for-version
    v0: bool = False  # declared only by the V0 engine (not the default from 0.8, gone in 0.11)

    @property
    def exported(self) -> bool:
        """Visible on /metrics of a default V1 server."""
        return not (self.hidden or self.v0)


class Release:
    """One extracted release. Its parser is built on first use: lint and metrics read every
    release's metric names, but the option tables only of the releases they judge."""

    def __init__(self, data: dict) -> None:
        self.version = VllmVersion.parse_plain(data["vllm"])
        self.raw_options: dict[str, dict] = data["serve"]["options"]
        self._serve = data["serve"]
        serve_strings = {s for n, e in self.raw_options.items() for s in (n, *e.get("aliases", ()), *e.get("negative", ()))}
        rb = data["run_batch"]  # stored as its difference from serve
        # every option string `vllm run-batch` accepts
        self.run_batch = frozenset((serve_strings - set(rb["missing"])) | set(rb["extra"]))
        self.metrics = {n: Metric(n, e["type"], bool(e.get("hidden")), bool(e.get("v0")))
                        for n, e in data["metrics"].items()}
        self.batch_defaults: dict | None = data.get("batch_defaults")  # device class -> server defaults
        self.provenance: dict = data["provenance"]

    @cached_property
    def serve(self) -> Parser:
        """`vllm serve`'s parser, as the options it accepts."""
        return Parser({n: _option(n, e) for n, e in self.raw_options.items()}, tuple(self._serve["positionals"]),
                      bool(self._serve["allow_abbrev"]))

    def exports(self, metric: str) -> bool:
        m = self.metrics.get(metric)
        return m is not None and m.exported

    def __repr__(self) -> str:
        return f"Release({self.version})"


def _option(name: str, e: dict) -> Option:
    choices = e.get("choices")
    return Option(name, tuple(e.get("aliases", ())), tuple(e.get("negative", ())), e["takes_value"], e.get("nargs"),
                  tuple(choices) if choices else None, e.get("default"), bool(e.get("deprecated")),
                  e.get("type"))


@cache
def load(version: str) -> Release:
    """The release ``version`` (exactly one of ``versions.RELEASES``)."""
    if version not in versions.RELEASES:
        raise KeyError(f"no data for vLLM {version}")
    return Release(json.loads(versions.data_dir().joinpath(f"{version}.json").read_text(encoding="utf-8")))


def all_releases() -> list[Release]:
    return [load(v) for v in versions.RELEASES]


def exact(v: VllmVersion) -> Release | None:
    return load(str(v)) if str(v) in versions.RELEASES else None


@cache
def _parts() -> tuple[tuple[int, int, int], ...]:
    return tuple(VllmVersion.parse_plain(r).parts for r in versions.RELEASES)


@cache
def around(v: VllmVersion) -> tuple[Release | None, Release | None]:
    """The extracted releases at or just below ``v`` and at or just above it (the same one when ``v``
    was extracted). A release between two extracted ones is judged by both: see flags.accepts."""
    parts = _parts()
    hi = bisect.bisect_right(parts, v.parts)  # parts[:hi] <= v
    lo = bisect.bisect_left(parts, v.parts)  # parts[lo:] >= v
    below = load(versions.RELEASES[hi - 1]) if hi else None
    above = load(versions.RELEASES[lo]) if lo < len(parts) else None
    return below, above


def default_batching(v: VllmVersion, gpu_memory_gib: float, architecture: str) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) vLLM's OpenAI server picks by default.

    The values per device class come from the release's data (its own
    EngineArgs.get_batch_defaults, called by tools/extract_vllm.py with a faked device);
    the classes are that function's tests: >= 160 GiB; >= 70 GiB and not an A100;
    otherwise. Releases without that function (before 0.11.2) use the oldest table that was
    read, from 0.10 on (assumed, UNCONFIRMED), and 2048/256 before.
    """
    if gpu_memory_gib >= 160:
        tier = "180GiB"
    elif gpu_memory_gib >= 70:
        tier = "80GiB" if architecture != "ampere" else "80GiB-A100"
    else:
        tier = "24GiB"
    table = _batch_table(str(v)) if v.at_least("0.10.0") else None
    if table is None:
        return 2048, 256
    return table[tier]["max_num_batched_tokens"], table[tier]["max_num_seqs"]


def _has_table(r: Release) -> bool:
    return bool(r.batch_defaults) and "error" not in r.batch_defaults


@cache
def _batch_table(version: str) -> dict | None:
    """The defaults table of the newest release at or below ``version`` that has one, else the oldest
    release's that has one. Reads release files one at a time, newest first: a render of a current
    release loads one file, not all of them (they are a third of render's own start-up time)."""
    v = VllmVersion.parse_plain(version)
    hi = bisect.bisect_right(_parts(), v.parts)
    for name in reversed(versions.RELEASES[:hi]):
        if _has_table(r := load(name)):
            return r.batch_defaults
    return next((r.batch_defaults for name in versions.RELEASES[hi:] if _has_table(r := load(name))), None)
