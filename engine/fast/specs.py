"""Per-strategy glue: parameter columns -> typed arrays + indicator matrices -> a kernel call.

A :class:`Spec` knows one registered strategy's parameters (names and defaults are read from the
backtrader class through :mod:`engine.params`, never repeated here), which indicators it needs
(built once per distinct period by :class:`engine.fast.indicators.IndicatorCache`), and which
kernels run it: ``batch`` (many rows, metrics only) and ``single`` (one row, fills recorded).
Text parameters are turned into the small integer codes the kernels use.

The bar on which backtrader first calls a strategy's ``next`` (its minimum period) is computed
here or in the kernels from backtrader's rules: an indicator's first value comes after its
warm-up (SMA/EMA ``period - 1``, MACD signal ``slow + signal - 2``, RSI ``period``) and a
``CrossOver`` needs one bar more than its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.fast import batch as K
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast import swing as SW
from engine.fast.indicators import IndicatorCache
from engine.fast.swing_plan import plans as swing_plans

Prepared = dict[str, Any]


@dataclass(frozen=True)
class Market:
    """One price window with its costs: OHLC arrays, cost vector, cash and the indicator cache."""

    o: np.ndarray
    h: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    costs: np.ndarray
    cash: float
    cache: IndicatorCache
    days: np.ndarray  # calendar day number of each bar (numpy datetime64[D] as int64)


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


def rows_of(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, row of each value among them)."""
    uniq, inverse = np.unique(np.asarray(values), return_inverse=True, axis=0)
    return uniq, inverse.reshape(-1).astype(np.int64)


def ints(cols: dict[str, np.ndarray], name: str) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(cols[name]).astype(np.int64))


def floats(cols: dict[str, np.ndarray], name: str) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(cols[name]).astype(np.float64))


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


class BuyHoldSpec(Spec):
    name = "buy_hold"

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        return {"m": len(next(iter(cols.values()))) if cols else 1}

    def batch(self, mk, prep, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_buy_hold(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, prep, j, sim, eq, pos) -> None:  # noqa: ANN001
        S.run_buy_hold(mk.o, mk.h, mk.lo, mk.c, mk.costs, sim, eq, pos)


class MATrendSpec(Spec):
    name = "ma_trend"
    MODES = {"reclaim": S.MA_RECLAIM, "cross": S.MA_CROSS}
    EXITS = {"slow": 0, "fast": 1}

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        fast, slow = ints(cols, "fast"), ints(cols, "slow")
        periods, inverse = rows_of(np.concatenate([fast, slow]))
        return {
            "smas": mk.cache.matrix("sma", periods),
            "fast_row": inverse[: len(fast)],
            "slow_row": inverse[len(fast) :],
            "slow": slow,
            "hold_bars": ints(cols, "hold_bars"),
            "mode": codes(cols["mode"], self.MODES, "mode"),
            "exit_fast": codes(cols["exit_on"], self.EXITS, "exit_on") == 1,
        }

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_ma_trend(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            p["smas"],
            p["fast_row"],
            p["slow_row"],
            p["slow"],
            p["hold_bars"],
            p["mode"],
            p["exit_fast"],
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        S.run_ma_trend(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            p["smas"][p["fast_row"][j]],
            p["smas"][p["slow_row"][j]],
            p["slow"][j],
            p["hold_bars"][j],
            p["mode"][j],
            p["exit_fast"][j],
            mk.costs,
            sim,
            eq,
            pos,
        )


class MACDSpec(Spec):
    name = "macd"

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        triples = np.stack([ints(cols, "fast"), ints(cols, "slow"), ints(cols, "signal")], axis=1)
        uniq, row = rows_of(triples)
        macds, sigs = mk.cache.macd_matrices(uniq)
        return {
            "macds": macds,
            "sigs": sigs,
            "row": row,
            "slow": np.ascontiguousarray(triples[:, 1]),
            "signal": np.ascontiguousarray(triples[:, 2]),
            "early_bars": ints(cols, "early_bars"),
            "above_zero": bools(cols, "above_zero"),
        }

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_macd(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            p["macds"],
            p["sigs"],
            p["row"],
            p["slow"],
            p["signal"],
            p["early_bars"],
            p["above_zero"],
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        r = p["row"][j]
        S.run_macd(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            p["macds"][r],
            p["sigs"][r],
            p["slow"][j],
            p["signal"][j],
            p["early_bars"][j],
            p["above_zero"][j],
            mk.costs,
            sim,
            eq,
            pos,
        )


class RSISpec(Spec):
    name = "rsi"

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        period = ints(cols, "period")
        periods, row = rows_of(period)
        return {
            "rsis": mk.cache.matrix("rsi", periods),
            "row": row,
            "period": period,
            "oversold": floats(cols, "oversold"),
            "overbought": floats(cols, "overbought"),
            "exit_below_mid": bools(cols, "exit_below_mid"),
            "mid": floats(cols, "mid"),
            "stop_pct": floats(cols, "stop_pct"),
        }

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_rsi(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            p["rsis"],
            p["row"],
            p["period"],
            p["oversold"],
            p["overbought"],
            p["exit_below_mid"],
            p["mid"],
            p["stop_pct"],
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        S.run_rsi(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            p["rsis"][p["row"][j]],
            p["period"][j],
            p["oversold"][j],
            p["overbought"][j],
            p["exit_below_mid"][j],
            p["mid"][j],
            p["stop_pct"][j],
            mk.costs,
            sim,
            eq,
            pos,
        )


class ConfluenceSpec(Spec):
    name = "confluence"

    def prepare(self, mk: Market, cols: dict[str, np.ndarray]) -> Prepared:
        sma_p, rsi_p = ints(cols, "sma_period"), ints(cols, "rsi_period")
        triples = np.stack(
            [ints(cols, "macd_fast"), ints(cols, "macd_slow"), ints(cols, "macd_signal")], axis=1
        )
        sma_u, sma_row = rows_of(sma_p)
        rsi_u, rsi_row = rows_of(rsi_p)
        mac_u, mac_row = rows_of(triples)
        macds, sigs = mk.cache.macd_matrices(mac_u)
        # first next(): the longest minimum period of SMA, MACD signal line and RSI, minus one
        macd_first = np.maximum(triples[:, 0], triples[:, 1]) + triples[:, 2] - 1
        first = np.maximum(np.maximum(sma_p, macd_first), rsi_p + 1) - 1
        return {
            "smas": mk.cache.matrix("sma", sma_u),
            "sma_row": sma_row,
            "macds": macds,
            "sigs": sigs,
            "macd_row": mac_row,
            "rsis": mk.cache.matrix("rsi", rsi_u),
            "rsi_row": rsi_row,
            "first": np.ascontiguousarray(first.astype(np.int64)),
            "rsi_mid": floats(cols, "rsi_mid"),
            "fail_count": ints(cols, "fail_count"),
        }

    def batch(self, mk, p, env, out, rets, want, status, rows) -> None:  # noqa: ANN001
        K.batch_confluence(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            rows[0],
            rows[1],
            p["smas"],
            p["sma_row"],
            p["macds"],
            p["sigs"],
            p["macd_row"],
            p["rsis"],
            p["rsi_row"],
            p["first"],
            p["rsi_mid"],
            p["fail_count"],
            mk.costs,
            mk.cash,
            env,
            out,
            rets,
            want,
            status,
        )

    def single(self, mk, p, j, sim, eq, pos) -> None:  # noqa: ANN001
        m = p["macd_row"][j]
        S.run_confluence(
            mk.o,
            mk.h,
            mk.lo,
            mk.c,
            p["smas"][p["sma_row"][j]],
            p["macds"][m],
            p["sigs"][m],
            p["rsis"][p["rsi_row"][j]],
            p["first"][j],
            p["rsi_mid"][j],
            p["fail_count"][j],
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


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (BuyHoldSpec(), MATrendSpec(), MACDSpec(), RSISpec(), ConfluenceSpec(), SwingSpec())
}
