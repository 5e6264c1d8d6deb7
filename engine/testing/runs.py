"""Results for tests: hand-made runs, no-cost settings, fills as comparable tuples.

* :func:`make_run` - a :class:`~engine.result.RunResult` from fills written by hand on a price
  frame (equity and position booked from the fills), for chart and report tests;
* :func:`demo_runs` - a swing-like run with levels, a signal run with several trades, and
  buy-and-hold, on :func:`engine.testing.prices.chart_prices`;
* :data:`NO_COSTS` - costs of zero, so hand-computed fills are exact;
* :func:`fills_list` - a run's fills as ``(date, side, size, price, reason)`` tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.analysis.trades import build_trades
from engine.result import FILL_COLUMNS, TRADE_COLUMNS, Costs, RunResult

NO_COSTS = Costs(commission_per_share=0.0, commission_min=0.0, commission_max_pct=0.0, slippage=0.0)

#: The swing plan's levels as the strategy reports them (for charts with levels).
SWING_LEVELS = {
    "ladder": [94.0, 90.0, 86.0],
    "stop": 79.99,
    "targets": [130.0, 150.0],
    "active_from": "2025-08-25",
    "active_to": None,
}


def fills_list(result: RunResult) -> list[tuple[str, str, float, float, str]]:
    """Fills as ``(date, side, size, price, reason)`` tuples, prices rounded to 1e-9."""
    return [
        (d.strftime("%Y-%m-%d"), s, float(n), round(float(p), 9), r)
        for d, s, n, p, r in result.fills[["date", "side", "size", "price", "reason"]].itertuples(
            index=False
        )
    ]


def make_run(
    name: str,
    prices: pd.DataFrame,
    rows: Sequence[tuple[str, str, float, float, str]],
    *,
    levels: dict | None = None,
    cash: float = 10_000.0,
    notes: Sequence[str] = (),
) -> RunResult:
    """A RunResult from ``(date, side, size, price, reason)`` fills on ``prices``.

    Equity is cash after every fill (commissions by the default :class:`Costs`) plus the shares
    held times the close; trades are one round trip per flat-to-flat stretch.
    """
    costs = Costs()
    fills = pd.DataFrame(rows, columns=["date", "side", "size", "price", "reason"])
    fills["date"] = pd.to_datetime(fills["date"])
    fills["size"] = fills["size"].astype(float)
    fills["value"] = fills["size"] * fills["price"]
    fills["commission"] = [
        costs.commission(s, p) for s, p in zip(fills["size"], fills["price"], strict=True)
    ]
    fills["order_type"] = np.where(fills["reason"].str.contains("signal"), "market", "limit")
    fills["resized_from"] = np.nan
    fills["risk_stop"] = np.nan
    fills["risk_budget"] = np.nan
    fills = fills[FILL_COLUMNS]
    sign = np.where(fills["side"] == "buy", 1.0, -1.0)

    def by_day(values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=fills["date"]).groupby(level=0).sum()

    position = by_day(sign * fills["size"].to_numpy()).reindex(prices.index, fill_value=0.0)
    flows = by_day(-sign * fills["value"].to_numpy() - fills["commission"].to_numpy())
    equity = cash + flows.reindex(prices.index, fill_value=0.0).cumsum()
    position = position.cumsum()
    equity = (equity + position * prices["close"]).rename("equity")
    return RunResult(
        strategy=name,
        params={"ladder": (94.0, 90.0, 86.0), "active_from": "2025-08-25", "rearm": False},
        ticker="TEST",
        equity=equity,
        position=position.rename("position"),
        trades=make_trades(fills, prices),
        fills=fills,
        fingerprint={
            "ticker": "TEST",
            "first": f"{prices.index[0]:%Y-%m-%d}",
            "last": f"{prices.index[-1]:%Y-%m-%d}",
            "rows": len(prices),
            "sha256": "0" * 64,
        },
        settings={"cash": cash, "costs": costs.describe(), "fractional": False},
        levels=dict(levels or {}),
        notes=tuple(notes),
    )


def make_trades(fills: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Round trips by the project's own builder (a plain frame with TRADE_COLUMNS)."""
    if len(fills) == 0:
        return pd.DataFrame(columns=TRADE_COLUMNS)
    return build_trades(fills, prices)


def demo_runs(prices: pd.DataFrame) -> list[RunResult]:
    """A swing-like run with levels, a signal run with several trades, and buy-and-hold."""
    d = [f"{t:%Y-%m-%d}" for t in prices.index]
    swing = make_run(
        "swing",
        prices,
        [
            (d[40], "buy", 30, 94.0, "entry"),
            (d[40], "buy", 30, 90.0, "tranche 1"),
            (d[70], "sell", 30, 130.0, "target 1"),
            (d[90], "sell", 30, 78.0, "stop"),
        ],
        levels={**SWING_LEVELS, "active_from": d[38], "active_to": d[90]},
    )
    signal = make_run(
        "ma_trend",
        prices,
        [
            (d[10], "buy", 20, float(prices["open"].iloc[10]), "signal"),
            (d[25], "sell", 20, float(prices["open"].iloc[25]), "signal"),
            (d[60], "buy", 20, float(prices["open"].iloc[60]), "signal"),
        ],
        notes=["1 order resized: a gap-up made it unaffordable"],
    )
    bh = make_run("buy_hold", prices, [(d[1], "buy", 95, float(prices["open"].iloc[1]), "entry")])
    return [swing, signal, bh]
