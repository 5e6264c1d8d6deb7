"""Price paths for tests and benchmarks: hand-made bars and seeded synthetic histories.

Every frame has the engine's layout (``DatetimeIndex`` named ``date`` on business days, columns
``open high low close adj_close volume``) and passes :func:`engine.data.validate.find_problems`.

* :func:`bars` - rows written by hand: ``(open, high, low, close)`` per session, for fixtures
  with exact expected fills (a stop that gaps through, a path that touches $90 then $130);
* :func:`random_path` - a seeded random walk with overnight gaps (look-ahead tests, indicators);
* :func:`walk_prices` - a seeded walk with 3% daily moves (the regression-check fixtures);
* :func:`chart_prices` - a seeded walk with varying volume, 4 decimals (charts and reports);
* :func:`synthetic_prices` - seeded paths that exercise the fill rules' edge cases (the fast
  engine's equivalence tests and benchmark), of three kinds:

  - ``"gbm"``: lognormal closes rounded to cents, overnight gaps (a few of +-8-15 %, so stops
    and targets are gapped through), highs / lows around the open-close range;
  - ``"ties"``: closes on a coarse grid with flat stretches, so moving averages tie, crossovers
    see equal values on consecutive bars and RSI meets its 0/0 and x/0 cases;
  - ``"levels"``: like ``gbm`` but with lows and highs snapped to round levels (multiples of 2
    dollars) now and then, so limit and stop prices are touched exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]


def bars(
    rows: Sequence[Sequence[float]], start: str = "2025-08-18", volume: float = 1_000_000.0
) -> pd.DataFrame:
    """A price frame from ``(open, high, low, close)`` rows on consecutive business days.

    A row of a single number ``x`` is a flat bar at ``x``.
    """
    full = [tuple(r) * 4 if len(r) == 1 else tuple(r) for r in rows]
    index = pd.bdate_range(start, periods=len(full), name="date")
    frame = pd.DataFrame(full, index=index, columns=["open", "high", "low", "close"], dtype=float)
    frame["adj_close"] = frame["close"]
    frame["volume"] = volume
    return frame[COLUMNS]


def random_path(seed: int, n: int) -> pd.DataFrame:
    """A seeded random walk with gaps: open = previous close x gap, intrabar range around it."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.04, n)))
    prev = np.concatenate([[100.0], close[:-1]])
    open_ = prev * np.exp(rng.normal(0, 0.02, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.03, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.03, n))
    idx = pd.bdate_range("2025-01-02", periods=n, name="date")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=idx)
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1e6
    return frame.round(4)


def walk_prices(
    n: int = 260, seed: int = 7, start: str = "2025-03-28", level: float = 100.0
) -> pd.DataFrame:
    """A valid daily frame: a seeded random walk (3% daily moves) with consistent OHLC bars."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, 0.03, n)))
    open_ = np.r_[level, close[:-1]] * np.exp(rng.normal(0.0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.0, 0.02, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.0, 0.02, n))
    index = pd.bdate_range(start, periods=n, name="date")
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close}, index=index
    ).round(4)
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1_000_000.0
    return frame


def chart_prices(n: int = 120, seed: int = 7, start: str = "2025-06-02") -> pd.DataFrame:
    """A seeded random-walk OHLCV frame around $100 on business days, volume varying."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    open_ = close * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.03, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.03, n))
    volume = rng.integers(1_000_000, 5_000_000, n).astype(float)
    index = pd.bdate_range(start, periods=n, name="date")
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "adj_close": close},
        index=index,
    )
    frame["volume"] = volume
    # 4 decimals like real quotes: prices.csv stores 6, so a rebuilt report redraws the same values
    return frame.round(4)


KINDS = ("gbm", "ties", "levels")


def synthetic_prices(
    seed: int,
    bars: int = 100,
    kind: str = "gbm",
    start: str = "2025-06-02",
    price: float = 100.0,
    vol: float | None = None,
) -> pd.DataFrame:
    """A seeded OHLC path of ``bars`` sessions (``kind``: see the module docstring).

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
