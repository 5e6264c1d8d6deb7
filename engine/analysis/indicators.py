"""The strategies' indicators in plain numpy/pandas, defined exactly as backtrader computes them.

Charts draw these (so a chart shows the values the strategies traded on), and
``tests/analysis/test_indicators.py`` checks them against backtrader's own on real CRWV history.

* ``sma(x, n)``: mean of the last ``n`` values; NaN before ``n`` values exist.
* ``ema(x, n)``: seeded with the SMA of the first ``n`` values, then
  ``e_t = e_{t-1} * (1 - a) + x_t * a`` with ``a = 2 / (n + 1)`` (backtrader's
  ``ExponentialSmoothing``; pandas' ``ewm(adjust=False)`` seeds with the first value instead, so
  it differs during the first few dozen bars).
* ``smma(x, n)``: Wilder's smoothing, the same recursion with ``a = 1 / n``.
* ``macd``: ``ema(close, fast) - ema(close, slow)``; signal ``ema(macd, signal)`` seeded on the
  first ``signal`` MACD values; histogram = macd - signal.
* ``rsi(close, n)``: up = max(close_t - close_{t-1}, 0), down = max(close_{t-1} - close_t, 0),
  ``rsi = 100 - 100 / (1 + smma(up) / smma(down))``; with backtrader's ``safediv``: 100 when
  there was no down move, 50 when there was no move at all. First value at bar ``n``.
* ``atr(prices, n)``: Wilder's average true range, ``smma`` of the true range
  ``max(high - low, |high - prev close|, |low - prev close|)`` (none on the first bar, which has
  no previous close); first value at bar ``n`` (``crwv-bt today`` measures order distances in it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sma(x: pd.Series, n: int) -> pd.Series:
    """Simple moving average over ``n`` values (NaN until ``n`` values exist)."""
    return x.rolling(n, min_periods=n).mean()


def _smoothed(x: pd.Series, n: int, alpha: float) -> pd.Series:
    values = x.to_numpy(dtype=float)
    out = np.full(len(values), np.nan)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) < n:
        return pd.Series(out, index=x.index)
    start = valid[0] + n - 1
    prev = values[valid[0] : start + 1].mean()
    out[start] = prev
    keep = 1.0 - alpha
    for i in range(start + 1, len(values)):
        prev = prev * keep + values[i] * alpha
        out[i] = prev
    return pd.Series(out, index=x.index)


def ema(x: pd.Series, n: int) -> pd.Series:
    """Exponential moving average seeded with the SMA of the first ``n`` values."""
    return _smoothed(x, n, 2.0 / (n + 1.0))


def smma(x: pd.Series, n: int) -> pd.Series:
    """Wilder's smoothed moving average (``alpha = 1 / n``), seeded with an SMA."""
    return _smoothed(x, n, 1.0 / n)


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """Columns ``macd``, ``signal``, ``hist``."""
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return pd.DataFrame({"macd": line, "signal": sig, "hist": line - sig}, index=close.index)


def rsi(close: pd.Series, n: int = 14) -> pd.Series:
    """Wilder's RSI with backtrader's ``safediv`` rules (100 with no losses, 50 with no moves)."""
    delta = close.diff()
    up = smma(delta.clip(lower=0.0), n)
    down = smma((-delta).clip(lower=0.0), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + up / down)
    out = out.mask((down == 0) & (up > 0), 100.0).mask((down == 0) & (up == 0), 50.0)
    return out


def atr(prices: pd.DataFrame, n: int = 14) -> pd.Series:
    """Wilder's average true range of a daily frame (``high``, ``low``, ``close``)."""
    high, low, close = (prices[c].astype(float) for c in ("high", "low", "close"))
    prev = close.shift(1)
    tr = pd.concat([high - low, (high - prev).abs(), (low - prev).abs()], axis=1).max(axis=1)
    tr.iloc[:1] = np.nan
    return smma(tr, n).rename("atr")
