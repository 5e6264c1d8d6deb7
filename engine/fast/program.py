"""Conditions -> signal programs and rows: the Python side of the signal kernel.

A :class:`Signal` is what :func:`engine.fast.signals.run_signal` runs for one combination: its
conditions (checked rule expressions, :mod:`engine.rules.expr`) and switches. :class:`Program`
compiles a list of signals (a rule has one; a built-in strategy one per text-parameter variant)
into one instruction table (:mod:`engine.fast.interp`): every function call at the top of a
condition becomes a *slot*, whose row (values per bar) is computed once per distinct setting
of the parameters it reads, by :class:`Rows`, and shared by every combination with that
setting. :meth:`Program.prepare` turns parameter columns into the kernel's arrays.

The warm-up of a combination (the kernel's ``first`` bar) is the largest warm-up of the rows it
reads, computed with the rows (the same algebra as :func:`engine.rules.series_warmup`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.fast import interp as I
from engine.fast import rows as R
from engine.fast import signals as K
from engine.rules import FUNCTIONS, Function, Node, Rule, RuleError, scalar
from engine.rules.functions import SERIES

#: Internal functions of the built-in strategies (not part of the language).
INTERNAL: dict[str, Function] = {
    "_run_above": Function(
        "_run_above",
        ("x", "y"),
        (SERIES, SERIES),
        "num",
        "closes of x above y since the last one at or below (MATrend's reclaim run)",
        "",
        "max(w(x), w(y))",
        lambda w, v: max(w[0], w[1]),
    ),
    "_early": Function(
        "_early",
        ("hist", "k"),
        (SERIES, "number"),
        "num",
        "1 when the histogram is negative and rose on each of the last k bars (MACD early entry)",
        "",
        "w(hist)",
        lambda w, v: w[0],
    ),
}
ALL_FUNCTIONS: Mapping[str, Function] = {**FUNCTIONS, **INTERNAL}
ROLES = ("entry", "exit", "rearm", "mark", "exit2")
_ROLE_COL = {
    "entry": K.C_ENTRY,
    "exit": K.C_EXIT,
    "rearm": K.C_REARM,
    "mark": K.C_MARK,
    "exit2": K.C_EXIT2,
}
_CMP = {"<": I.OP_LT, "<=": I.OP_LE, ">": I.OP_GT, ">=": I.OP_GE, "==": I.OP_EQ, "!=": I.OP_NE}
_ARITH = {"+": I.OP_ADD, "-": I.OP_SUB, "*": I.OP_MUL, "/": I.OP_DIV}


@dataclass(frozen=True)
class Signal:
    """Conditions and switches of one strategy variant (see :mod:`engine.fast.signals`).

    ``orders`` maps protective-order keys (:data:`engine.rules.PROTECTIVE`) to a number or a
    parameter name, as :attr:`engine.rules.Rule.orders`; ``reasons`` are the fill reasons of
    entries, exits and a stop at its stop-loss level.
    """

    entry: Node
    exit: Node | None = None
    rearm: Node | None = None
    mark: Node | None = None
    exit2: Node | None = None
    arm: int = K.ARM_NONE
    reasons: tuple[int, int, int] = (K.REASON_ENTRY, K.REASON_EXIT, K.REASON_STOP_LOSS)
    orders: dict[str, float | str] = field(default_factory=dict)
    side: int = 1  # 1 long, -1 short

    def conditions(self) -> dict[str, Node]:
        return {r: getattr(self, r) for r in ROLES if getattr(self, r) is not None}


def rule_signal(rule: Rule) -> Signal:
    """The signal of a user's rule: entry, exit, protective orders, no arming."""
    return Signal(
        rule.entry, rule.exit, orders=dict(rule.orders), side=-1 if rule.side == "short" else 1
    )


class Program:
    """Signals compiled into one instruction table (one program per condition)."""

    def __init__(self, signals: list[Signal], params: list[str]) -> None:
        self.signals = signals
        self.params = list(params)
        self.slots: dict[str, Node] = {}
        self.consts: list[float] = []
        programs: list[list[tuple[int, int]]] = []
        self.crosses: dict[str, int] = {}  # cross key -> its index (a column of ``xseed``)
        self.cross_reads: list[tuple[list[int], bool]] = []  # slots and prices each cross reads
        self.roles: list[dict[str, int]] = []
        self.uses: list[list[int]] = []  # slots each signal reads
        self.cross_uses: list[list[int]] = []  # crosses each signal reads
        for sig in signals:
            self._reads: tuple[set[int], set[int]] = (set(), set())
            role_prog = {}
            for role, node in sig.conditions().items():
                ins: list[tuple[int, int]] = []
                self._emit(node, ins)
                role_prog[role] = len(programs)
                programs.append(ins)
            self.roles.append(role_prog)
            self.uses.append(sorted(self._reads[0]))
            self.cross_uses.append(sorted(self._reads[1]))
        depth = max((_depth(p) for p in programs), default=1)
        if depth > K.STACK:
            raise RuleError(f"expression too deeply nested ({depth} levels, max {K.STACK})")
        self.depth = max(depth, 1)
        width = 1 + 2 * max((len(p) for p in programs), default=0)
        self.code = np.zeros((max(len(programs), 1), width), dtype=np.int64)
        for p, ins in enumerate(programs):
            self.code[p, 0] = len(ins)
            for k, (op, arg) in enumerate(ins):
                self.code[p, 1 + 2 * k] = op
                self.code[p, 2 + 2 * k] = arg
        self.const_array = np.array(self.consts or [0.0], dtype=np.float64)

    def params_read(self, programs: Iterable[int]) -> set[int]:
        """Columns of ``fp`` (the combination's parameters) that these programs depend on: the
        arguments of their ``PARAM`` instructions and the parameters of the function rows their
        ``ROW`` instructions read (``sma(close, fast)`` reads ``fast``). The kernel reads ``fp``
        nowhere else, and a function row is a function of its parameters (:class:`Rows`)."""
        slots = list(self.slots.values())
        read: set[int] = set()
        for p in programs:
            if p < 0:
                continue
            for k in range(int(self.code[p, 0])):
                op, arg = int(self.code[p, 1 + 2 * k]), int(self.code[p, 2 + 2 * k])
                if op == I.OP_PARAM:
                    read.add(arg)
                elif op == I.OP_ROW:
                    read.update(self.params.index(q) for q in slots[arg].params())
        return read

    # ---------------------------------------------------------------- compile
    def _emit(self, node: Node, out: list[tuple[int, int]]) -> None:
        k = node.kind
        if k == "call" and node.value in ("crosses_above", "crosses_below"):
            self._cross(node, out)
        elif k == "call":
            key = node.key()
            if key not in self.slots:
                self.slots[key] = node
            slot = list(self.slots).index(key)
            self._reads[0].add(slot)
            out.append((I.OP_ROW, slot))
        elif k == "price":
            out.append((I.OP_PRICE, I.PRICE_INDEX[str(node.value)]))
        elif k in ("num", "bool"):
            self.consts.append(float(node.value))  # type: ignore[arg-type]
            out.append((I.OP_CONST, len(self.consts) - 1))
        elif k == "param":
            out.append((I.OP_PARAM, self.params.index(str(node.value))))
        elif k == "neg":
            self._emit(node.args[0], out)
            out.append((I.OP_NEG, 0))
        elif k == "not":
            self._emit(node.args[0], out)
            out.append((I.OP_NOT, 0))
        elif k in ("and", "or"):
            op = I.OP_AND if k == "and" else I.OP_OR
            self._emit(node.args[0], out)
            for arg in node.args[1:]:
                self._emit(arg, out)
                out.append((op, 0))
        else:
            self._emit(node.args[0], out)
            self._emit(node.args[1], out)
            out.append(((_ARITH if k == "arith" else _CMP)[str(node.value)], 0))

    def _cross(self, node: Node, out: list[tuple[int, int]]) -> None:
        """Both sides, then the cross: a two-operand instruction with a memory (its first bar,
        per combination, is column ``c`` of ``xseed``)."""
        outer = self._reads[0]
        self._reads = (set(), self._reads[1])
        self._emit(node.args[0], out)
        self._emit(node.args[1], out)
        key = node.key()
        if key not in self.crosses:
            prices = any(n.kind == "price" for a in node.args for n in a.walk())
            self.crosses[key] = len(self.cross_reads)
            self.cross_reads.append((sorted(self._reads[0]), prices))
        c = self.crosses[key]
        self._reads = (outer | self._reads[0], self._reads[1] | {c})
        out.append((I.OP_XUP if node.value == "crosses_above" else I.OP_XDOWN, c))

    # ---------------------------------------------------------------- per chunk
    def prepare(self, rows: Rows, variant: np.ndarray, fp: np.ndarray) -> Prepared:
        """The kernel's arrays for ``m`` combinations.

        ``variant[j]`` is the signal of combination ``j``; ``fp[j]`` its parameters in
        :attr:`params` order (floats; true/false as 1/0).
        """
        m = len(variant)
        n_slots = max(len(self.slots), 1)
        srows = np.zeros((m, n_slots), dtype=np.int64)
        warm = np.zeros(m, dtype=np.int64)
        mats: list[np.ndarray] = []
        mps: list[int] = []
        for s, node in enumerate(self.slots.values()):
            users = np.flatnonzero(np.isin(variant, [v for v, u in enumerate(self.uses) if s in u]))
            if len(users) == 0:
                continue
            cols = np.array([self.params.index(p) for p in node.params()], dtype=np.int64)
            if len(cols) == 1:  # (np.unique of one column, without the row view's sort)
                values, inverse = np.unique(fp[users, cols[0]], return_inverse=True)
                keys = values.reshape(-1, 1)
            else:
                keys, inverse = np.unique(fp[np.ix_(users, cols)], axis=0, return_inverse=True)
            base = len(mps)
            for key in keys.tolist():
                arr, mp = rows.series(node, dict(zip(node.params(), key, strict=True)))
                mats.append(arr)
                mps.append(mp)
            idx = base + inverse.reshape(-1)
            srows[users, s] = idx
            warm[users] = np.maximum(warm[users], np.asarray(mps, dtype=np.int64)[idx])
        xseed = self._cross_seeds(variant, srows, np.asarray(mps, dtype=np.int64))
        if self.crosses:  # a cross needs its sides' first common bar and the bar before it
            warm = np.maximum(warm, xseed.max(axis=1) + 2)
        ctl = np.zeros((m, K.C_FIELDS), dtype=np.int64)
        lev = np.zeros((m, K.V_FIELDS), dtype=np.float64)
        for v, sig in enumerate(self.signals):
            sel = variant == v
            if not sel.any():
                continue
            for role in ROLES:
                ctl[sel, _ROLE_COL[role]] = self.roles[v].get(role, -1)
            ctl[sel, K.C_ARM] = sig.arm
            ctl[sel, K.C_SIDE] = sig.side
            ctl[sel, K.C_R_ENTRY], ctl[sel, K.C_R_EXIT], ctl[sel, K.C_R_STOP] = sig.reasons
            ctl[sel, K.C_MAX_BARS] = self._order(sig, "max_bars", fp[sel]).astype(np.int64)
            lev[sel, K.V_STOP_LOSS] = self._order(sig, "stop_loss", fp[sel])
            lev[sel, K.V_TAKE_PROFIT] = self._order(sig, "take_profit", fp[sel])
            lev[sel, K.V_TRAIL] = self._order(sig, "trailing_stop", fp[sel])
            lev[sel, K.V_ATR] = self._order(sig, "atr_stop", fp[sel])
            # a price-only condition has a warm-up of 1, a constant one of 0: both start on bar 0
        ctl[:, K.C_FIRST] = np.maximum(warm, 1) - 1
        ctl[:, K.C_DEPTH] = self.depth
        ctl[:, K.C_ASIDE] = -1  # engine.fast.specs.SignalSpec sets it for a rule standing aside
        ctl[:, K.C_ATR_ROW] = -1  # and this one for an ATR stop
        matrix = np.ascontiguousarray(np.stack(mats)) if mats else np.zeros((1, rows.n))
        fp = np.ascontiguousarray(fp, dtype=np.float64)
        return Prepared(matrix, srows, fp, ctl, lev, xseed)

    def _cross_seeds(self, variant: np.ndarray, srows: np.ndarray, mps: np.ndarray) -> np.ndarray:
        """Per combination and cross, the first bar on which both sides have a value
        (NonZeroDifference's seed); -2 for a cross the combination does not read."""
        xseed = np.full((len(variant), max(len(self.crosses), 1)), -2, dtype=np.int64)
        for c, (slots, prices) in enumerate(self.cross_reads):
            users = np.isin(variant, [v for v, u in enumerate(self.cross_uses) if c in u])
            first = np.full(len(variant), 1 if prices else 0, dtype=np.int64)
            for s in slots:
                first = np.maximum(first, mps[srows[:, s]])
            xseed[users, c] = np.maximum(first[users], 1) - 1
        return xseed

    def _order(self, sig: Signal, key: str, fp: np.ndarray) -> np.ndarray:
        raw = sig.orders.get(key, 0)
        if isinstance(raw, str):
            return fp[:, self.params.index(raw)]
        return np.full(len(fp), float(raw))


@dataclass(frozen=True)
class Prepared:
    """The kernel's arrays for a chunk of combinations (see :func:`engine.fast.batch.batch_signal`)."""

    rows: np.ndarray
    srows: np.ndarray
    fp: np.ndarray
    ctl: np.ndarray
    lev: np.ndarray
    xseed: np.ndarray


def _depth(ins: list[tuple[int, int]]) -> int:
    sp = best = 0
    for op, _ in ins:
        if op in (I.OP_ROW, I.OP_PRICE, I.OP_CONST, I.OP_PARAM):
            sp += 1
        elif op not in (I.OP_NEG, I.OP_NOT):
            sp -= 1
        best = max(best, sp)
    return best


class Rows:
    """Values of series expressions over one price window, memoised per distinct setting.

    ``series(node, params)`` returns ``(values, warm-up)``; values before the warm-up are NaN.
    The memo holds at most ``budget_bytes`` of rows (least recently used first out).
    """

    def __init__(self, px: np.ndarray, budget_bytes: int = 256 * 2**20) -> None:
        self.px = np.ascontiguousarray(px, dtype=np.float64)
        self.n = self.px.shape[1]
        self._memo: OrderedDict[tuple, tuple[np.ndarray, int]] = OrderedDict()
        self._max = max(64, budget_bytes // max(8 * self.n, 1))

    def series(self, node: Node, params: dict[str, Any]) -> tuple[np.ndarray, int]:
        key = (node.key(), tuple((p, params[p]) for p in node.params()))
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        value = self._make(node, params)
        self._memo[key] = value
        while len(self._memo) > self._max:
            self._memo.popitem(last=False)
        return value

    def _arg(self, node: Node, params: dict[str, Any]) -> tuple[np.ndarray, int] | float:
        if node.series:
            return self.series(node, params)
        return float(scalar(node, params))

    def _make(self, node: Node, params: dict[str, Any]) -> tuple[np.ndarray, int]:
        k = node.kind
        if k == "price":
            return self.px[I.PRICE_INDEX[str(node.value)]], 1
        if k == "call":
            return self._call(node, params)
        args = [self._arg(a, params) for a in node.args]
        arrays = [a[0] if isinstance(a, tuple) else a for a in args]
        mp = max(a[1] for a in args if isinstance(a, tuple))
        if k == "neg":
            out = -np.asarray(arrays[0])
        elif k == "arith":
            a = np.broadcast_to(np.asarray(arrays[0], dtype=np.float64), (self.n,))
            b = np.broadcast_to(np.asarray(arrays[1], dtype=np.float64), (self.n,))
            op = node.value
            if op == "+":
                out = a + b
            elif op == "-":
                out = a - b
            elif op == "*":
                out = a * b
            else:
                out = np.full(self.n, np.nan)
                np.divide(a, b, out=out, where=b != 0.0)
        else:  # conditions never reach a row: functions take numbers (expr.py checks it)
            raise AssertionError(f"{k} inside a function argument")
        out = np.array(out, dtype=np.float64)
        out[: mp - 1] = np.nan
        return out, mp

    def _call(self, node: Node, params: dict[str, Any]) -> tuple[np.ndarray, int]:
        name = str(node.value)
        args = [self._arg(a, params) for a in node.args]
        w = [a[1] if isinstance(a, tuple) else 0 for a in args]
        v = [math.nan if isinstance(a, tuple) else a for a in args]
        mp = ALL_FUNCTIONS[name].warmup(w, v)
        out = _ROWS[name](self, args, w, v)
        return np.ascontiguousarray(out, dtype=np.float64), mp


def _bb(rows: Rows, x: np.ndarray, start: int, n: int, k: float, upper: bool) -> np.ndarray:
    """``BollingerBands(x, n, k).top`` / ``.bot`` with backtrader's ``pow`` (see rows.py)."""
    mid = R.sma(x, n, start)
    sq = np.array([v**2 for v in x.tolist()])
    meansq = R.sma(sq, n, start)
    out = np.full(rows.n, np.nan)
    m, ms = mid.tolist(), meansq.tolist()
    for i in range(start + n - 1, rows.n):
        dev = k * abs(ms[i] - m[i] ** 2) ** 0.5
        out[i] = m[i] + dev if upper else m[i] - dev
    return out


# name -> (rows, args, warm-ups, numbers) -> values; args[i] is (values, warm-up) or a number
_ROWS: dict[str, Any] = {
    "sma": lambda r, a, w, v: R.sma(a[0][0], int(v[1]), w[0] - 1),
    "ema": lambda r, a, w, v: R.ema(a[0][0], int(v[1]), w[0] - 1),
    "rsi": lambda r, a, w, v: R.rsi(a[0][0], int(v[1]), w[0] - 1),
    "macd": lambda r, a, w, v: R.macd(a[0][0], int(v[1]), int(v[2]), w[0] - 1),
    "macd_signal": lambda r, a, w, v: R.macd_signal(
        a[0][0], int(v[1]), int(v[2]), int(v[3]), w[0] - 1
    ),
    "macd_hist": lambda r, a, w, v: R.macd_hist(a[0][0], int(v[1]), int(v[2]), int(v[3]), w[0] - 1),
    "bb_upper": lambda r, a, w, v: _bb(r, a[0][0], w[0] - 1, int(v[1]), v[2], True),
    "bb_lower": lambda r, a, w, v: _bb(r, a[0][0], w[0] - 1, int(v[1]), v[2], False),
    "atr": lambda r, a, w, v: R.atr(r.px[1], r.px[2], r.px[3], int(v[0])),
    "highest": lambda r, a, w, v: R.extreme(a[0][0], int(v[1]), w[0] - 1, True),
    "lowest": lambda r, a, w, v: R.extreme(a[0][0], int(v[1]), w[0] - 1, False),
    "roc": lambda r, a, w, v: R.roc(a[0][0], int(v[1]), w[0] - 1),
    "shift": lambda r, a, w, v: R.shift(a[0][0], int(v[1]), w[0] - 1),
    "_run_above": lambda r, a, w, v: R.run_above(a[0][0], a[1][0], max(w) - 1),
    "_early": lambda r, a, w, v: R.early(a[0][0], int(v[1])),
}
