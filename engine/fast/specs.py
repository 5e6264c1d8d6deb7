"""Strategy glue: parameter columns -> the arrays of a kernel call.

A :class:`Spec` knows which kernels run a strategy: ``batch`` (many rows, metrics only) and
``single`` (one row, fills recorded), and how its parameter columns become their arrays
(parameter names and defaults are read from the backtrader class through :mod:`engine.params`,
never repeated here). Two kinds:

* :class:`SignalSpec` - the long/flat strategies and every rule: the one signal kernel
  (:mod:`engine.fast.signals`) running compiled conditions (:mod:`engine.fast.program`); the
  built-in classes' conditions are in :mod:`engine.fast.builtins`, a rule's are its own;
* :class:`SwingSpec` - the swing plan's ladder of resting orders (:mod:`engine.fast.swing`).

:func:`spec_for` is the one place a strategy name (or a rule's ref) becomes its spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

from engine import params as params_mod
from engine.distinct import distinct_rows
from engine.errors import ParamError
from engine.fast import batch as K
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast import swing as SW
from engine.fast.aside import aside_rows
from engine.fast.builtins import MAKERS, builtin
from engine.fast.program import Program, Rows, rule_signal
from engine.fast.swing_plan import plans as swing_plans
from engine.rules import FUNCTIONS, parse
from engine.sizing import STOP_ATR_PERIOD
from strategies import STRATEGIES, lookup

Prepared = Any


@dataclass(frozen=True)
class Market:
    """One price window with its costs: prices, cost vector, cash and the rows' memo.

    ``px`` holds open, high, low, close and volume (one row each); ``o``, ``h``, ``lo``, ``c``
    are views of its first four rows.
    """

    px: np.ndarray
    costs: np.ndarray
    cash: float
    rows: Rows
    days: np.ndarray  # calendar day number of each bar (numpy datetime64[D] as int64)

    @property
    def o(self) -> np.ndarray:
        return self.px[0]

    @property
    def h(self) -> np.ndarray:
        return self.px[1]

    @property
    def lo(self) -> np.ndarray:
        return self.px[2]

    @property
    def c(self) -> np.ndarray:
        return self.px[3]


def codes(values: np.ndarray, choices: dict[str, int], name: str) -> np.ndarray:
    """Text values -> kernel codes (ints already coded pass through)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    unknown = [u for u in uniq if u not in choices]
    if unknown:
        raise ValueError(f"{name}={unknown[0]!r}; choose one of {', '.join(choices)}")
    lookup = np.array([choices[u] for u in uniq], dtype=np.int64)
    return lookup[inverse]


def ints(cols: dict[str, np.ndarray], name: str) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(cols[name]).astype(np.int64))


def bools(cols: dict[str, np.ndarray], name: str) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(cols[name]).astype(np.bool_))


class Spec:
    """Base: ``prepare`` builds arrays, ``batch`` scores rows, ``single`` runs one row."""

    name = ""

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:  # pragma: no cover
        raise NotImplementedError

    def batch(
        self,
        mk: Market,
        prep: Prepared,
        env: tuple,
        out: np.ndarray,
        rets: np.ndarray,
        want: bool,
        status: np.ndarray,
        rows: tuple[int, int],
    ) -> None:  # pragma: no cover
        """Score rows ``rows[0]:rows[1]`` of the prepared arrays into ``out`` (releases the GIL)."""
        raise NotImplementedError

    def single(
        self, mk: Market, prep: Prepared, j: int, sim: tuple, eq: np.ndarray, pos: np.ndarray
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def book_cap(self, prep: Prepared) -> int:
        """Orders the simulation must be able to hold at once."""
        return L.BOOK_CAP

    def distinct(self, prep: Prepared) -> tuple[list[bytes], np.ndarray, np.ndarray] | None:
        """The distinct kernel inputs of the rows of ``prep``: each one's bytes, its first row
        and, per row, which one it is (``np.unique``'s index and inverse); None when the spec
        does not tell."""
        return None

    def take(self, prep: Prepared, rows: np.ndarray) -> Prepared:  # pragma: no cover
        """The prepared arrays of ``rows`` only (those :meth:`distinct` returns)."""
        raise NotImplementedError


SIDES = {"long": S.SIDE_LONG, "short": S.SIDE_SHORT, "both": S.SIDE_BOTH}
STOP_ATR = parse(f"atr({STOP_ATR_PERIOD})", {}, "atr_stop", FUNCTIONS)


def with_atr_row(mk: Market, prep: Prepared) -> Prepared:
    """An ATR stop's ATR(14) as one more row (``signals.C_ATR_ROW``), when a combination has
    one; its warm-up becomes the combination's when longer (backtrader's minimum period of
    the strategy's ATR indicator)."""
    users = prep.lev[:, S.V_ATR] > 0
    if not users.any():
        return prep
    row, mp = mk.rows.series(STOP_ATR, {})
    ctl = prep.ctl.copy()
    ctl[users, S.C_ATR_ROW] = prep.rows.shape[0]
    ctl[users, S.C_FIRST] = np.maximum(ctl[users, S.C_FIRST], mp - 1)
    rows = np.ascontiguousarray(np.vstack([prep.rows, row[None, :]]))
    return replace(prep, rows=rows, ctl=ctl)


class SignalSpec(Spec):
    """A signal strategy or a rule on the signal kernel: one :class:`Program` and a rule that
    picks each combination's variant (the built-ins' text parameters). ``sided``: the class has
    the ``side`` parameter of :class:`strategies.base.SignalStrategy` (its column sets each
    combination's side, traded as the class mirrors it: ``signals.C_MIRROR``)."""

    def __init__(
        self,
        name: str,
        program: Program,
        variant: Callable[[dict[str, np.ndarray]], np.ndarray],
        sided: bool = False,
    ) -> None:
        self.name = name
        self.program = program
        self.variant = variant
        self.sided = sided

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        m = len(next(iter(cols.values()))) if cols else 1
        fp = np.zeros((m, len(self.program.params)))
        for i, p in enumerate(self.program.params):
            fp[:, i] = np.asarray(cols[p]).astype(np.float64)
        prep = self.program.prepare(mk.rows, self.variant(cols), fp)
        if self.sided:
            prep.ctl[:, S.C_SIDE] = codes(cols["side"], SIDES, "side")
            prep.ctl[:, S.C_MIRROR] = 1
        prep = with_atr_row(mk, prep)
        if "stand_aside" not in cols or not np.any(np.asarray(cols["stand_aside"]) != 0):
            return prep
        # standing aside before earnings: one flag row per distinct (sessions, dates), after
        # the function rows (engine.fast.aside); ctl[C_ASIDE] points at it
        extra, index = aside_rows(mk.days, np.asarray(cols["stand_aside"]), cols["earnings"])
        if not extra:
            return prep
        base = prep.rows.shape[0]
        ctl = prep.ctl.copy()
        ctl[:, S.C_ASIDE] = np.where(index >= 0, index + base, -1)
        rows = np.ascontiguousarray(np.vstack([prep.rows, *extra]))
        return replace(prep, rows=rows, ctl=ctl)

    def distinct(self, prep: Prepared) -> tuple[list[bytes], np.ndarray, np.ndarray] | None:
        """What the signal kernel reads of row ``j`` is its ``ctl``, ``lev`` and ``xseed`` rows,
        the columns of ``fp`` its programs (named in ``ctl``) read, and the function rows
        ``srows[j]`` points at, each a function of some of those columns
        (:meth:`Program.params_read`). A parameter that none of them reads is no input
        (``hold_bars`` and ``exit_on`` in ``ma_trend``'s cross mode; ``fast`` with
        ``exit_on=slow``): rows equal in all the rest get the same fills, equity and metrics.

        The bytes of an input hold no index of this chunk's row matrix (the ATR row is kept as
        there or not; it is ATR(14) in every chunk), so they name the same input in another
        chunk of the same market, except for a stand-aside row (its rows differ by chunk):
        with one, None."""
        ctl = prep.ctl.copy()
        if (ctl[:, S.C_ASIDE] >= 0).any():
            return None
        ctl[:, S.C_ATR_ROW] = np.where(ctl[:, S.C_ATR_ROW] >= 0, 1, -1)
        fp = prep.fp.copy()
        progs = np.ascontiguousarray(ctl[:, S.C_ENTRY : S.C_EXIT2 + 1])
        sets, which = distinct_rows(progs.view(np.uint64))
        for i, programs in enumerate(progs[sets].tolist()):
            read = self.program.params_read(programs)
            unread = [c for c in range(fp.shape[1]) if c not in read]
            if unread:
                fp[np.ix_(which == i, unread)] = 0.0
        words = np.hstack([ctl, prep.lev.view(np.int64), prep.xseed, fp.view(np.int64)])
        first, inverse = distinct_rows(np.ascontiguousarray(words).view(np.uint64))
        return [words[i].tobytes() for i in first.tolist()], first, inverse

    def take(self, prep: Prepared, rows: np.ndarray) -> Prepared:
        return replace(
            prep,
            srows=prep.srows[rows],
            fp=prep.fp[rows],
            ctl=prep.ctl[rows],
            lev=prep.lev[rows],
            xseed=prep.xseed[rows],
        )

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_signal(
            mk.px,
            rows[0],
            rows[1],
            p.rows,
            p.srows,
            p.fp,
            p.ctl,
            p.lev,
            self.program.code,
            self.program.const_array,
            p.xseed,
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        S.run_signal(
            mk.px,
            p.rows,
            p.srows[j],
            p.fp[j],
            p.ctl[j],
            p.lev[j],
            self.program.code,
            self.program.const_array,
            p.xseed[j],
            mk.costs,
            sim,
            eq,
            pos,
        )


class SwingSpec(Spec):
    name = "swing"
    STOP_MODES = {"intraday": SW.STOP_INTRADAY, "close": SW.STOP_CLOSE}

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        plans = swing_plans(cols, mk.days, mk.c)
        m = len(plans)
        width_l = max([1] + [len(p.ladder) for p in plans])
        width_t = max([1] + [len(p.targets) for p in plans])
        lp = np.zeros((m, width_l))
        targets = np.zeros((m, width_t))
        weights = np.zeros((m, width_t))
        for j, plan in enumerate(plans):
            lp[j, : len(plan.ladder)] = plan.ladder
            targets[j, : len(plan.targets)] = plan.targets
            weights[j, : len(plan.weights)] = plan.weights
        return {
            "arm_bar": np.array([p.arm_bar for p in plans], dtype=np.int64),
            "lp": lp,
            "n_lp": np.array([len(p.ladder) for p in plans], dtype=np.int64),
            "zone_top": np.array([p.zone_top for p in plans], dtype=np.float64),
            "stop": np.array([p.stop for p in plans], dtype=np.float64),
            "targets": targets,
            "weights": weights,
            "n_t": np.array([len(p.targets) for p in plans], dtype=np.int64),
            "stop_mode": codes(cols["stop_mode"], self.STOP_MODES, "stop_mode"),
            "breakeven": bools(cols, "breakeven_after_t1"),
            "rearm": bools(cols, "rearm"),
            "max_wait": ints(cols, "max_wait_days"),
            # ladder + a rebuilt exit group next to the cancelled one + the market exit
            "book_cap": 2 * (lp.shape[1] + targets.shape[1] + 2) + 8,
        }

    def book_cap(self, prep: Prepared) -> int:
        return int(prep["book_cap"])

    _ROW = (
        "arm_bar",
        "lp",
        "n_lp",
        "zone_top",
        "stop",
        "targets",
        "weights",
        "n_t",
        "stop_mode",
        "breakeven",
        "rearm",
        "max_wait",
    )

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        SW.batch_swing(  # type: ignore[call-arg]
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            p["book_cap"],
            *(p[k] for k in self._ROW),
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        row = (p[k][j] for k in self._ROW)
        SW.run_swing(mk.o, mk.h, mk.lo, mk.c, *row, mk.costs, sim, eq, pos)  # type: ignore[call-arg]


SWING = SwingSpec()
_RULE_SPECS: dict[str, SignalSpec] = {}  # by rule ref: a ref names one rule's exact conditions


def spec_for(strategy: str) -> Spec:
    """The spec of a built-in strategy or of a loaded rule (by its ref)."""
    if strategy == SWING.name:
        return SWING
    if strategy in MAKERS:
        return _builtin_spec(strategy)
    rule = getattr(lookup(strategy), "rule", None)
    if rule is None:
        raise ParamError(f"the fast engine does not cover {strategy!r}; use --engine backtrader")
    if strategy not in _RULE_SPECS:
        program = Program([rule_signal(rule)], list(rule.params))
        _RULE_SPECS[strategy] = SignalSpec(strategy, program, _zeros)
    return _RULE_SPECS[strategy]


@cache
def _builtin_spec(name: str) -> SignalSpec:
    made = builtin(name)
    sided = "side" in params_mod.declared(STRATEGIES[name])
    return SignalSpec(name, made.program, made.variant, sided)


def _zeros(cols: dict[str, np.ndarray]) -> np.ndarray:
    m = len(next(iter(cols.values()))) if cols else 1
    return np.zeros(m, dtype=np.int64)
