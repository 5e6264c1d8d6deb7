"""Seeded synthetic daily price paths that exercise the fill rules' edge cases.

Used by the equivalence tests and the benchmark. Each path is a validated-looking frame
(``open, high, low, close, adj_close, volume`` on business days) with, depending on ``kind``:

* ``"gbm"``: lognormal closes rounded to cents, overnight gaps (a few of +-8-15 %, so stops and
  targets are gapped through), highs / lows around the open-close range;
* ``"ties"``: closes on a coarse grid with flat stretches, so moving averages tie, crossovers
  see equal values on consecutive bars and RSI meets its 0/0 and x/0 cases;
* ``"levels"``: like ``gbm`` but with lows and highs snapped to round levels (multiples of 2
  dollars) now and then, so limit and stop prices are touched exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("gbm", "ties", "levels")


def synthetic_prices(
    seed: int,
    bars: int = 100,
    kind: str = "gbm",
    start: str = "2025-06-02",
    price: float = 100.0,
    vol: float | None = None,
) -> pd.DataFrame:
    """A seeded OHLC path of ``bars`` sessions (see the module docstring for ``kind``).

    ``vol`` is the daily volatility of the closes (default: drawn between 1.5 % and 6 %).
    """
    rng = np.random.default_rng(seed)
    drawn = rng.uniform(0.015, 0.06)
    vol = drawn if vol is None else vol
    drift = rng.normal(0.0, 0.002)
    rets = rng.normal(drift, vol, bars)
    close = price * np.exp(np.cumsum(rets))
    if kind == "ties":
        flat = rng.random(bars) < 0.35
        for i in range(1, bars):
            if flat[i]:
                close[i] = close[i - 1]
        close = np.maximum(np.round(close / 2.0) * 2.0, 2.0)
    else:
        close = np.maximum(np.round(close, 2), 0.5)
    gaps = rng.normal(0.0, vol / 3, bars)
    big = rng.random(bars) < 0.06
    gaps[big] = rng.choice([-1.0, 1.0], big.sum()) * rng.uniform(0.08, 0.15, big.sum())
    prev = np.concatenate([[close[0]], close[:-1]])
    opn = np.maximum(np.round(prev * (1.0 + gaps), 2), 0.5)
    if kind == "ties":
        opn = np.where(rng.random(bars) < 0.5, prev, close)
    top = np.maximum(opn, close)
    bottom = np.minimum(opn, close)
    high = np.round(top * (1.0 + np.abs(rng.normal(0, vol / 2, bars))), 2)
    low = np.maximum(np.round(bottom * (1.0 - np.abs(rng.normal(0, vol / 2, bars))), 2), 0.01)
    if kind == "levels":
        snap = rng.random(bars) < 0.3
        low = np.where(snap, np.minimum(np.floor(bottom / 2.0) * 2.0, bottom), low)
        snap = rng.random(bars) < 0.3
        high = np.where(snap, np.maximum(np.ceil(top / 2.0) * 2.0, top), high)
        low = np.maximum(low, 0.01)
    index = pd.bdate_range(start, periods=bars, name="date")
    frame = pd.DataFrame({"open": opn, "high": high, "low": low, "close": close}, index=index)
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1_000_000.0
    return frame
