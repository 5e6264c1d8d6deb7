"""Round trips from fills: a pure function of the fills table and the prices.

A round trip starts with the buy that takes the position off zero and ends with the sell that
brings it back to zero; scale-ins and scale-outs in between belong to the same round trip. A
position still open at the last bar is one more row with ``is_open=True``, marked at the last
close with exit reason ``end of data`` (it is reported, never dropped; no exit commission is
assumed for it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.result import TRADE_COLUMNS

_EPS = 1e-9


def build_trades(fills: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Round trips (schema: :data:`engine.result.TRADE_COLUMNS`) from a long-only fills table."""
    rows: list[dict[str, object]] = []
    pos = 0.0
    current: list[dict] = []
    for fill in fills.to_dict("records"):
        current.append(fill)
        pos += fill["size"] if fill["side"] == "buy" else -fill["size"]
        if abs(pos) < _EPS:
            rows.append(_round_trip(current, prices, is_open=False))
            current = []
            pos = 0.0
    if current:
        rows.append(_round_trip(current, prices, is_open=True))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in TRADE_COLUMNS})
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)


def _dtype(col: str) -> str:
    if col in ("entry_date", "exit_date"):
        return "datetime64[ns]"
    if col == "exit_reason":
        return "object"
    if col == "is_open":
        return "bool"
    if col == "bars_held":
        return "int64"
    return "float64"


def _round_trip(
    fills: list[pd.Series], prices: pd.DataFrame, *, is_open: bool
) -> dict[str, object]:
    buys = [f for f in fills if f["side"] == "buy"]
    sells = [f for f in fills if f["side"] == "sell"]
    buy_size = sum(f["size"] for f in buys)
    buy_value = sum(f["value"] for f in buys)
    sell_size = sum(f["size"] for f in sells)
    sell_value = sum(f["value"] for f in sells)
    commission = float(sum(f["commission"] for f in fills))
    entry_price = buy_value / buy_size
    entry_date = pd.Timestamp(buys[0]["date"])
    if is_open:
        exit_date = pd.Timestamp(prices.index[-1])
        last_close = float(prices["close"].iloc[-1])
        held = buy_size - sell_size
        exit_value = sell_value + held * last_close
        exit_price = exit_value / buy_size
        reason = "end of data"
    else:
        exit_date = pd.Timestamp(sells[-1]["date"])
        exit_value = sell_value
        exit_price = sell_value / sell_size
        reason = str(sells[-1]["reason"])
    pnl = exit_value - buy_value - commission
    budgets = [float(f.get("risk_budget", np.nan)) for f in buys]
    budget = max((b for b in budgets if b == b), default=np.nan)  # the plan's, on every tranche
    at_risk = _sum_or_nan(f["size"] * (f["price"] - f.get("risk_stop", np.nan)) for f in buys)
    idx = prices.index
    lo, hi = idx.get_loc(entry_date), idx.get_loc(exit_date)
    pos = 0.0
    peak = 0.0
    for f in fills:
        pos += f["size"] if f["side"] == "buy" else -f["size"]
        peak = max(peak, pos)
    bars = int(hi - lo)
    return {
        "entry_date": entry_date,
        "exit_date": exit_date,
        "entry_price": float(entry_price),
        "exit_price": float(exit_price),
        "size": float(peak),
        "pnl": float(pnl),
        "return": float(pnl / buy_value) if buy_value else np.nan,
        "bars_held": bars,
        "exit_reason": reason,
        "mae": float(prices["low"].to_numpy()[lo : hi + 1].min() / entry_price - 1.0),
        "mfe": float(prices["high"].to_numpy()[lo : hi + 1].max() / entry_price - 1.0),
        "commission": commission,
        "is_open": bool(is_open),
        "risk_budget": budget,
        "risk_at_entry": at_risk,
        "r_multiple": float(pnl / budget) if budget == budget and budget > 0 else np.nan,
    }


def _sum_or_nan(values: object) -> float:
    """Sum of the numbers that are not NaN; NaN when every one is (no stop, no budget)."""
    got = [float(v) for v in values if v == v]  # type: ignore[attr-defined]
    return float(sum(got)) if got else np.nan
