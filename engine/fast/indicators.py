"""backtrader's built-in indicators, reproduced bit for bit (runonce mode), plus a per-period cache.

Every array has one value per bar; bars before an indicator's first value hold NaN, as in
backtrader's preloaded line buffers. Index ``i`` is the 0-based bar.

* ``SMA(period)`` (``bt.ind.SMA`` -> ``Average``): ``math.fsum`` of the window / period, first
  value on bar ``period - 1``.
* ``EMA(period)`` (``ExponentialSmoothing``, alpha = 2 / (1 + period)): seeded on its first bar
  with the SMA of the first ``period`` inputs, then ``prev * (1 - alpha) + x * alpha`` (in that
  order of operations, as backtrader's ``once``).
* ``MACD(fast, slow, signal)``: ``EMA(fast) - EMA(slow)`` from bar ``slow - 1``; the signal line
  is the EMA of the MACD line seeded on its first ``signal`` values (first value on bar
  ``slow + signal - 2``); histogram = MACD - signal.
* ``RSI(period)`` with ``SmoothedMovingAverage`` and ``safediv``: up/down moves
  ``max(+-(close - prev close), 0)`` from bar 1, Wilder averages (alpha = 1 / period, seeded with
  the SMA of the first ``period`` moves, first value on bar ``period``), ``RS = up / down`` and
  ``RSI = 100 - 100 / (1 + RS)``; ``down == 0`` gives RS = inf (RSI 100), or RS = 1 (RSI 50)
  when ``up == 0`` too (backtrader's ``DivZeroByZero`` with ``safehigh=100``, ``safelow=50``).
* ``CrossOver(a, b)`` is evaluated inside the kernels (see :func:`cross_step`): it keeps the last
  non-zero difference (``NonZeroDifference``) so that a tie on the previous bar is read as the
  side last seen.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fast.numeric import fsum, rolling_fsum


@njit(cache=True)
def sma(x: np.ndarray, period: int, start: int = 0) -> np.ndarray:
    """Simple moving average of ``x[start:]`` (``bt.ind.SMA``), NaN before bar ``start + period - 1``."""
    n = x.shape[0]
    sums = np.full(n, np.nan)
    rolling_fsum(x, period, start, sums)
    out = np.full(n, np.nan)
    for i in range(start + period - 1, n):
        out[i] = sums[i] / period
    return out


@njit(cache=True)
def smoothing(x: np.ndarray, period: int, start: int, alpha: float) -> np.ndarray:
    """backtrader's ``ExponentialSmoothing`` of ``x[start:]`` with factor ``alpha``."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    first = start + period - 1
    if first >= n:
        return out
    alpha1 = 1.0 - alpha
    prev = fsum(x, start, first + 1) / period
    out[first] = prev
    for i in range(first + 1, n):
        prev = prev * alpha1 + x[i] * alpha
        out[i] = prev
    return out


@njit(cache=True)
def ema(x: np.ndarray, period: int, start: int = 0) -> np.ndarray:
    """``bt.ind.EMA`` of ``x[start:]`` (alpha = 2 / (1 + period), SMA seed)."""
    return smoothing(x, period, start, 2.0 / (1.0 + period))


@njit(cache=True)
def macd_from_emas(
    me1: np.ndarray, me2: np.ndarray, start: int, signal: int
) -> tuple[np.ndarray, np.ndarray]:
    """(MACD line, signal line) from the two EMAs; the line starts on bar ``start`` (slow - 1)."""
    n = me1.shape[0]
    line = np.full(n, np.nan)
    for i in range(start, n):
        line[i] = me1[i] - me2[i]
    return line, ema(line, signal, start)


@njit(cache=True)
def macd_lines(
    close: np.ndarray, fast: int, slow: int, signal: int
) -> tuple[np.ndarray, np.ndarray]:
    """(MACD line, signal line) of ``bt.ind.MACD(period_me1=fast, period_me2=slow, period_signal=signal)``."""
    return macd_from_emas(ema(close, fast, 0), ema(close, slow, 0), max(fast, slow) - 1, signal)


@njit(cache=True)
def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """``bt.ind.RSI(period, movav=SmoothedMovingAverage, safediv=True)``; first value on bar ``period``."""
    n = close.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    for i in range(1, n):
        d = close[i] - close[i - 1]
        # Python's max([d, 0.0]) keeps d unless 0.0 > d
        up[i] = 0.0 if 0.0 > d else d
        e = close[i - 1] - close[i]
        down[i] = 0.0 if 0.0 > e else e
    alpha = 1.0 / period
    maup = smoothing(up, period, 1, alpha)
    madown = smoothing(down, period, 1, alpha)
    out = np.full(n, np.nan)
    for i in range(period, n):
        a = maup[i]
        b = madown[i]
        if b == 0.0:
            rs = 1.0 if a == 0.0 else np.inf
        else:
            rs = a / b
        out[i] = 100.0 - 100.0 / (1.0 + rs)
    return out


@njit(cache=True)
def cross_step(a_now: float, b_now: float, nzd_prev: float) -> tuple[float, float]:
    """One bar of ``bt.ind.CrossOver(a, b)`` after its first bar.

    Returns ``(cross, nzd)``: ``+1`` when the last non-zero ``a - b`` before this bar was
    negative and ``a > b`` now, ``-1`` for the mirror case, else 0; ``nzd`` is this bar's last
    non-zero difference (the previous one when ``a == b``).
    """
    cross = 0.0
    if nzd_prev < 0.0 and a_now > b_now:
        cross = 1.0
    elif nzd_prev > 0.0 and a_now < b_now:
        cross = -1.0
    d = a_now - b_now
    return cross, (d if d != 0.0 else nzd_prev)


class IndicatorCache:
    """Indicator arrays of one close series, computed once per distinct period and reused.

    SMA, EMA and RSI rows are kept (one per period; a few kilobytes each); MACD pairs are built
    on demand from the cached EMAs (an O(bars) step), so a sweep over many (fast, slow, signal)
    triples never holds them all.

    Parameters
    ----------
    close : the closes (float64, one per bar)
    """

    def __init__(self, close: np.ndarray) -> None:
        self.close = np.ascontiguousarray(close, dtype=np.float64)
        self._memo: dict[tuple[str, int], np.ndarray] = {}

    def line(self, kind: str, period: int) -> np.ndarray:
        """The ``kind`` ("sma", "ema" or "rsi") line of ``period``."""
        key = (kind, int(period))
        if key not in self._memo:
            if kind == "rsi":
                self._memo[key] = rsi(self.close, int(period))
            elif kind == "ema":
                self._memo[key] = ema(self.close, int(period), 0)
            else:
                self._memo[key] = sma(self.close, int(period), 0)
        return self._memo[key]

    def matrix(self, kind: str, periods: np.ndarray) -> np.ndarray:
        """One row of ``kind`` per period in ``periods``."""
        out = np.empty((len(periods), self.close.shape[0]), dtype=np.float64)
        for row, period in enumerate(periods):
            out[row] = self.line(kind, int(period))
        return out

    def macd_matrices(self, triples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(MACD lines, signal lines), one row per ``(fast, slow, signal)`` row of ``triples``."""
        n = self.close.shape[0]
        lines = np.empty((len(triples), n), dtype=np.float64)
        sigs = np.empty((len(triples), n), dtype=np.float64)
        for row, (fast, slow, signal) in enumerate(triples):
            start = max(int(fast), int(slow)) - 1
            lines[row], sigs[row] = macd_from_emas(
                self.line("ema", fast), self.line("ema", slow), start, int(signal)
            )
        return lines, sigs
