"""One combination through the fast engine with everything recorded (for tests and debugging).

:func:`simulate` returns the same tables as the harness's :class:`engine.result.RunResult`
(fills in :data:`engine.result.FILL_COLUMNS`, round trips from
:func:`engine.analysis.trades.build_trades`)
plus the metrics row the batch kernels would produce, so a test can compare the two engines
fill by fill and metric by metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine import params as params_mod
from engine.analysis.trades import build_trades
from engine.fast import api
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast.batch import score
from engine.fast.kmetrics import N_METRICS
from engine.result import FILL_COLUMNS, Costs
from engine.sizing import sized_costs

_TYPES = {L.MARKET: "market", L.LIMIT: "limit", L.STOP: "stop"}


_REASONS = {
    S.REASON_SIGNAL: "signal",
    S.REASON_ENTRY: "entry",
    S.REASON_STOP: "stop",
    S.REASON_EXIT: "exit",
    S.REASON_STOP_LOSS: "stop loss",
    S.REASON_TRAIL: "trailing stop",
    S.REASON_TAKE_PROFIT: "take profit",
    S.REASON_MAX_BARS: "max bars",
    S.REASON_ASIDE: "stand aside",
    S.REASON_ATR_STOP: "atr stop",
    S.REASON_MARGIN: "margin call",
}


def reason_label(code: int) -> str:
    """Kernel reason code -> the harness's ``reason`` text."""
    if code >= 100:
        return f"target {code - 100}"
    if code >= 10:
        return f"tranche {code - 10}"
    return _REASONS[code]


@dataclass(frozen=True)
class FastRun:
    """One fast-engine run: equity and position per bar, fills, round trips and metrics."""

    strategy: str
    params: dict[str, Any]
    equity: pd.Series
    position: pd.Series
    fills: pd.DataFrame
    trades: pd.DataFrame
    metrics: dict[str, Any]


def fills_frame(fills: np.ndarray, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Recorded fill rows -> the harness's fills table."""
    rows = [
        {
            "date": dates[int(f[L.F_BAR])],
            "side": "buy" if f[L.F_SIDE] > 0 else "sell",
            "size": float(f[L.F_SIZE]),
            "price": float(f[L.F_PRICE]),
            "value": float(f[L.F_VALUE]),
            "commission": float(f[L.F_COMM]),
            "order_type": _TYPES[int(f[L.F_TYPE])],
            "reason": reason_label(int(f[L.F_REASON])),
            "resized_from": float(f[L.F_RESIZED]),
            "risk_stop": float(f[L.F_RSTOP]),
            "risk_budget": float(f[L.F_BUDGET]),
        }
        for f in fills
    ]
    frame = pd.DataFrame(rows, columns=FILL_COLUMNS)
    if len(frame):
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def simulate(
    strategy: str,
    prices: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    costs: Costs | None = None,
    cash: float = 100_000.0,
    benchmark: pd.Series | None = None,
) -> FastRun:
    """Run one combination (``params`` resolved against the class like the harness does)."""
    costs = sized_costs(api.strategy_class(strategy), costs or Costs())
    resolved = params_mod.resolve(api.strategy_class(strategy), params)
    cols, m = api.full_columns(
        strategy, {k: [v] if not isinstance(v, tuple) else _obj(v) for k, v in resolved.items()}
    )
    api.check_warmup(strategy, cols, m, len(prices))
    api.refuse_unsized(strategy, cols, m, costs)
    mk = api.market(prices, costs, cash)
    sim, eq, pos = api._run_single(strategy, mk, cols, True)
    bh_mk = api.market(prices, costs.benchmark(), cash) if costs.sizing != "all_in" else mk
    env = api._env(prices, mk, benchmark, 0.0, 252, bh_mk)
    # the batch path's own scoring kernel, on a one-row table (same dtypes as the batch)
    out = np.empty((1, N_METRICS))
    status = np.zeros(1, dtype=np.int64)
    score(
        0,
        sim,
        eq,
        pos,
        env,
        out,
        np.empty((0, max(len(eq) - 1, 0)), dtype=np.float32),
        False,
        status,
    )
    row = out[0]
    dates = api.bar_dates(prices)
    fills = fills_frame(sim[4][: sim[1][L.M_NFILLS]], dates)
    return FastRun(
        strategy=strategy,
        params=resolved,
        equity=pd.Series(eq, index=dates, name="equity"),
        position=pd.Series(pos, index=dates, name="position"),
        fills=fills,
        trades=build_trades(fills, prices.set_axis(dates)),
        metrics=api.metrics_dicts(row[None, :], prices)[0],
    )


def _obj(value: tuple) -> np.ndarray:
    arr = np.empty(1, dtype=object)
    arr[0] = value
    return arr
