"""Just enough PromQL to judge a KEDA query: a small parser and the two questions lint asks.

* ``single_series``: can the result hold more than one series? KEDA's Prometheus scaler errors
  with "returned multiple elements" when it does (shared reference facts section 1.4).
* ``form``: is the value a TOTAL over replicas (``sum``, ``count``), a PER-REPLICA figure
  (``avg``, or a total divided by a count of pods/replicas), or neither? The HPA wants a total
  under ``AverageValue`` and a per-replica value under ``Value`` (facts section 1.5).

Unparseable text raises ``PromQLError``; callers then skip the shape checks.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterator

AGGREGATIONS = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "limitk", "limit_ratio"}
MANY_SERIES_AGGS = {"topk", "bottomk", "count_values", "limitk", "limit_ratio"}
SCALAR_FUNCS = {"scalar", "time", "vector", "pi", "absent", "absent_over_time"}
SET_OPS = {"and", "or", "unless"}
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
REPLICA_COUNT_METRIC = re.compile(r"^kube_\w*(replicas|ready)\w*$|^kube_pod_\w+$")


class PromQLError(ValueError):
    pass


@dataclass
class Node:
    kind: str  # num | str | sel | agg | call | bin | unary | paren
    name: str = ""  # metric, aggregation op, function, binary op
    args: list["Node"] = field(default_factory=list)
    matchers: list[tuple[str, str, str]] = field(default_factory=list)  # (label, op, value)
    grouping: list[str] | None = None
    without: bool = False
    value: str = ""


_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<range>\[[^\]]*\])
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*(?![\w:]))
  | (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){},@])
""", re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise PromQLError(f"unexpected {text[pos:pos + 10]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof" or (value is not None and tok[1] != value):
            raise PromQLError(f"expected {value or 'a token'}, found {tok[1] or 'the end'}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr(0)
        if self.peek()[0] != "eof":
            raise PromQLError(f"unexpected {self.peek()[1]!r}")
        return node

    def _binop(self) -> str | None:
        kind, val = self.peek()
        if kind == "op" and val in PRECEDENCE:
            return val
        if kind == "ident" and val.lower() in ("and", "or", "unless", "atan2"):
            return val.lower()
        return None

    def expr(self, min_prec: int) -> Node:
        lhs = self.unary()
        while True:
            op = self._binop()
            if op is None or PRECEDENCE[op] < min_prec:
                return lhs
            self.take()
            if self.peek() == ("ident", "bool"):
                self.take()
            if self.peek()[1] in ("on", "ignoring"):
                self.take()
                self.labels()
            if self.peek()[1] in ("group_left", "group_right"):
                self.take()
                if self.peek()[1] == "(":
                    self.labels()
            nxt = PRECEDENCE[op] + (0 if op == "^" else 1)
            rhs = self.expr(nxt)
            lhs = Node("bin", op, [lhs, rhs])

    def unary(self) -> Node:
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            return Node("unary", op, [self.unary()])
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            kind, val = self.peek()
            if kind == "range":
                self.take()
            elif kind == "ident" and val == "offset":
                self.take()
                if self.peek()[1] == "-":
                    self.take()
                self.take()
            elif val == "@":
                self.take()
                if self.peek()[0] == "ident":
                    self.take()
                    self.take("(")
                    self.take(")")
                else:
                    self.take()
            else:
                return node

    def labels(self) -> list[str]:
        self.take("(")
        out = []
        while self.peek()[1] != ")":
            out.append(self.take()[1].strip("\"'"))
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return out

    def matchers(self) -> list[tuple[str, str, str]]:
        self.take("{")
        out = []
        while self.peek()[1] != "}":
            label = self.take()[1].strip("\"'")
            op = self.take()[1]
            if op not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"bad matcher operator {op!r}")
            kind, raw = self.take()
            if kind != "str":
                raise PromQLError("label values are strings")
            out.append((label, op, _unquote(raw)))
            if self.peek()[1] == ",":
                self.take()
        self.take("}")
        return out

    def primary(self) -> Node:
        kind, val = self.peek()
        if kind in ("num", "dur"):
            self.take()
            return Node("num", value=val)
        if kind == "str":
            self.take()
            return Node("str", value=_unquote(val))
        if val == "(":
            self.take()
            inner = self.expr(0)
            self.take(")")
            return Node("paren", args=[inner])
        if val == "{":
            return Node("sel", matchers=self.matchers())
        if kind != "ident":
            raise PromQLError(f"unexpected {val!r}")
        self.take()
        low = val.lower()
        if low in AGGREGATIONS and self.peek()[1] in ("(", "by", "without"):
            node = Node("agg", low)
            if self.peek()[1] in ("by", "without"):
                node.without = self.take()[1] == "without"
                node.grouping = self.labels()
            node.args = self.call_args()
            if self.peek()[1] in ("by", "without"):
                node.without = self.take()[1] == "without"
                node.grouping = self.labels()
            return node
        if self.peek()[1] == "(":
            return Node("call", low, self.call_args())
        node = Node("sel", val)
        if self.peek()[1] == "{":
            node.matchers = self.matchers()
        return node

    def call_args(self) -> list[Node]:
        self.take("(")
        args = []
        while self.peek()[1] != ")":
            args.append(self.expr(0))
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return args


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return body if raw[0] == "`" else re.sub(r"\\(.)", r"\1", body)


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """The parse tree of a query (cached: several rules read each query; nobody mutates a tree)."""
    return _Parser(text).parse()


def selectors(node: Node) -> Iterator[Node]:
    if node.kind == "sel":
        yield node
    for a in node.args:
        yield from selectors(a)


def metric_name(sel: Node) -> str:
    if sel.name:
        return sel.name
    found = next((v for label, op, v in sel.matchers if label == "__name__" and op == "="), "")
    # {__name__=~"name"} with a regex that is just a name selects that name
    return found or next((v for label, op, v in sel.matchers if label == "__name__" and op == "=~"
                          and re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", v)), "")


def _vector_arg(node: Node) -> Node | None:
    return next((a for a in node.args if a.kind not in ("num", "str")), None)


def _strip(node: Node) -> Node:
    while node.kind in ("paren", "unary"):
        node = node.args[0]
    return node


def single_series(node: Node, ignore: frozenset[str] = frozenset()) -> tuple[bool, str]:
    """(True, "") when the result is at most one series; else (False, why)."""
    node = _strip(node)
    if node.kind in ("num", "str"):
        return True, ""
    if node.kind == "sel":
        return False, f"{metric_name(node) or 'the selector'} is not aggregated: one series per pod and engine"
    if node.kind == "agg":
        if node.name in MANY_SERIES_AGGS:
            return False, f"{node.name}() returns several series"
        if node.without:
            return False, f"{node.name} without (...) keeps every other label"
        kept = [g for g in (node.grouping or []) if g not in ignore]
        if kept:
            return False, f"{node.name} by ({', '.join(kept)}) returns one series per {', '.join(kept)}"
        return True, ""
    if node.kind == "call":
        if node.name in SCALAR_FUNCS:
            return True, ""
        if node.name == "histogram_quantile" and len(node.args) == 2:
            return single_series(node.args[1], ignore | {"le"})
        arg = _vector_arg(node)
        return single_series(arg, ignore) if arg is not None else (True, "")
    if node.kind == "bin":
        for side in node.args:
            ok, why = single_series(side, ignore)
            if not ok:
                return ok, why
        return True, ""
    return True, ""


def _is_replica_count(node: Node) -> bool:
    node = _strip(node)
    if node.kind == "agg" and node.name == "count":
        return True
    if node.kind == "call" and node.name == "scalar" and node.args:
        return _is_replica_count(node.args[0])
    return any(REPLICA_COUNT_METRIC.match(metric_name(s)) for s in selectors(node))


def form(node: Node) -> tuple[str, str]:
    """("total" | "average" | "other", what made it so)."""
    node = _strip(node)
    if node.kind == "agg":
        if node.name in ("sum", "count"):
            return "total", f"{node.name}(...)"
        if node.name == "avg":
            return "average", "avg(...)"
        return "other", node.name
    if node.kind == "bin":
        lhs, rhs = node.args
        if node.name == "/" and _strip(rhs).kind != "num" and _is_replica_count(rhs):
            return "average", "a total divided by a count of replicas or pods"
        if node.name in ("*", "/") and _strip(rhs).kind == "num":
            return form(lhs)
        if node.name == "*" and _strip(lhs).kind == "num":
            return form(rhs)
        return "other", node.name
    if node.kind == "call":
        arg = _vector_arg(node)
        if arg is not None and node.name in ("ceil", "floor", "round", "abs", "clamp", "clamp_min", "clamp_max"):
            return form(arg)
    return "other", node.kind
