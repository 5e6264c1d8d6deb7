"""Round trips from fills: a pure function of the fills table and the prices.

A round trip starts with the fill that takes the position off zero and ends with the fill that
brings it back to zero; scale-ins and scale-outs in between belong to the same round trip. A
round trip that starts with a buy is ``long``; one that starts with a sell (a short sale) is
``short``: its entries are the sells and its exits the buys that cover them. A
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
    """Round trips (schema: :data:`engine.result.TRADE_COLUMNS`) from a fills table."""
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
    if col in ("exit_reason", "side"):
        return "object"
    if col == "is_open":
        return "bool"
    if col == "bars_held":
        return "int64"
    return "float64"


def _round_trip(
    fills: list[pd.Series], prices: pd.DataFrame, *, is_open: bool
) -> dict[str, object]:
    long = fills[0]["side"] == "buy"
    buys = [f for f in fills if f["side"] == "buy"]
    sells = [f for f in fills if f["side"] == "sell"]
    entries, exits = (buys, sells) if long else (sells, buys)
    buy_value = sum(f["value"] for f in buys)
    sell_value = sum(f["value"] for f in sells)
    entry_size = sum(f["size"] for f in entries)
    entry_value = buy_value if long else sell_value
    exit_size = sum(f["size"] for f in exits)
    commission = float(sum(f["commission"] for f in fills))
    entry_price = entry_value / entry_size
    entry_date = pd.Timestamp(entries[0]["date"])
    if is_open:
        exit_date = pd.Timestamp(prices.index[-1])
        last_close = float(prices["close"].iloc[-1])
        held = entry_size - exit_size
        exit_value = (sell_value if long else buy_value) + held * last_close
        exit_price = exit_value / entry_size
        reason = "end of data"
        pnl = exit_value - buy_value - commission if long else sell_value - exit_value - commission
    else:
        exit_date = pd.Timestamp(exits[-1]["date"])
        exit_value = sell_value if long else buy_value
        exit_price = exit_value / exit_size
        reason = str(exits[-1]["reason"])
        pnl = sell_value - buy_value - commission
    budgets = [float(f.get("risk_budget", np.nan)) for f in entries]
    budget = max((b for b in budgets if b == b), default=np.nan)  # the plan's, on every tranche
    sign = 1.0 if long else -1.0
    at_risk = _sum_or_nan(
        sign * f["size"] * (f["price"] - f.get("risk_stop", np.nan)) for f in entries
    )
    idx = prices.index
    lo, hi = idx.get_loc(entry_date), idx.get_loc(exit_date)
    pos = 0.0
    peak = 0.0
    for f in fills:
        pos += f["size"] if f["side"] == "buy" else -f["size"]
        peak = max(peak, abs(pos))
    bars = int(hi - lo)
    low = prices["low"].to_numpy()[lo : hi + 1].min() / entry_price - 1.0
    high = prices["high"].to_numpy()[lo : hi + 1].max() / entry_price - 1.0
    return {
        "entry_date": entry_date,
        "exit_date": exit_date,
        "entry_price": float(entry_price),
        "exit_price": float(exit_price),
        "size": float(peak),
        "pnl": float(pnl),
        "return": float(pnl / entry_value) if entry_value else np.nan,
        "bars_held": bars,
        "exit_reason": reason,
        "mae": float(low if long else -high),
        "mfe": float(high if long else -low),
        "commission": commission,
        "is_open": bool(is_open),
        "risk_budget": budget,
        "risk_at_entry": at_risk,
        "r_multiple": float(pnl / budget) if budget == budget and budget > 0 else np.nan,
        "side": "long" if long else "short",
    }


def _sum_or_nan(values: object) -> float:
    """Sum of the numbers that are not NaN; NaN when every one is (no stop, no budget)."""
    got = [float(v) for v in values if v == v]  # type: ignore[attr-defined]
    return float(sum(got)) if got else np.nan
