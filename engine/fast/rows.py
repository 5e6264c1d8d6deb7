"""The rule language's functions as compiled rows, bit for bit backtrader's (runonce mode).

A *row* is one value per bar; bars before the function's first value hold NaN, as backtrader's
line buffers. ``start`` is the bar of the input's first value (its warm-up minus one): every
function starts counting its window there, as backtrader's indicators do on a line that starts
late (an EMA of a MACD line is seeded on the first ``n`` MACD values). Definitions are in
:mod:`engine.rules.functions`; the notes here say how the last bit is kept:

* windows are summed with ``math.fsum``'s correctly rounded sum (:mod:`engine.fast.numeric`),
  a window that holds a NaN gives NaN (``math.fsum`` does), and an EMA seeded on one stays NaN;
* ``highest`` / ``lowest`` keep Python's ``max`` / ``min`` rule: the first value is kept unless
  a later one is strictly greater (smaller), which decides what a NaN in the window does;
* crosses are not rows: the conditions compute them (:func:`engine.fast.interp.condition`), so
  that a sweep over both sides' periods needs one row per period, not one per pair.

Bollinger bands use ``pow`` (backtrader's ``x ** 2`` and ``** 0.5``), which the C library
rounds differently from ``x * x`` and ``sqrt`` in about 0.1% of cases; they are computed in
Python in :mod:`engine.fast.program` for that reason.
"""

from __future__ import annotations

import math

import numpy as np

from engine.fast.jit import njit
from engine.fast.numeric import fsum, rolling_fsum


@njit(cache=True)
def _clean(x: np.ndarray, lo: int, hi: int) -> bool:
    """True when ``x[lo:hi]`` is all finite (the exact rolling sum may be used)."""
    for i in range(lo, hi):
        if not math.isfinite(x[i]):
            return False
    return True


@njit(cache=True)
def _window_sum(x: np.ndarray, lo: int, hi: int) -> float:
    """``math.fsum(x[lo:hi])`` including its NaN / inf results."""
    pos = False
    neg = False
    for i in range(lo, hi):
        v = x[i]
        if v != v:
            return np.nan
        if v == np.inf:
            pos = True
        elif v == -np.inf:
            neg = True
    if pos and neg:
        return np.nan  # math.fsum raises here; backtrader would stop
    if pos:
        return np.inf
    if neg:
        return -np.inf
    return fsum(x, lo, hi)


@njit(cache=True)
def sma(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """``bt.ind.SMA(x, period=n)``: first value on bar ``start + n - 1``."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    first = start + n - 1
    if first >= size:
        return out
    if _clean(x, start, size):
        sums = np.full(size, np.nan)
        rolling_fsum(x, n, start, sums)
        for i in range(first, size):
            out[i] = sums[i] / n
        return out
    for i in range(first, size):
        out[i] = _window_sum(x, i - n + 1, i + 1) / n
    return out


@njit(cache=True)
def smooth(x: np.ndarray, n: int, start: int, alpha: float) -> np.ndarray:
    """backtrader's ``ExponentialSmoothing`` of ``x[start:]``: seeded with the SMA of its first
    ``n`` values on bar ``start + n - 1``, then ``prev * (1 - alpha) + x * alpha`` (in that
    order of operations, as backtrader's ``once``); a NaN in the seed window gives NaN on."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    first = start + n - 1
    if first >= size:
        return out
    if _clean(x, start, first + 1):
        prev = fsum(x, start, first + 1) / n
    else:
        prev = _window_sum(x, start, first + 1) / n
    out[first] = prev
    alpha1 = 1.0 - alpha
    for i in range(first + 1, size):
        prev = prev * alpha1 + x[i] * alpha
        out[i] = prev
    return out


@njit(cache=True)
def ema(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """``bt.ind.EMA(x, period=n)``."""
    return smooth(x, n, start, 2.0 / (1.0 + n))


@njit(cache=True)
def macd(x: np.ndarray, fast: int, slow: int, start: int) -> np.ndarray:
    """MACD line ``ema(x, fast) - ema(x, slow)``, from bar ``start + max(fast, slow) - 1``."""
    me1 = ema(x, fast, start)
    me2 = ema(x, slow, start)
    out = np.full(x.shape[0], np.nan)
    for i in range(start + max(fast, slow) - 1, x.shape[0]):
        out[i] = me1[i] - me2[i]
    return out


@njit(cache=True)
def macd_signal(x: np.ndarray, fast: int, slow: int, signal: int, start: int) -> np.ndarray:
    """Signal line: the EMA of the MACD line seeded on its first ``signal`` values."""
    return ema(macd(x, fast, slow, start), signal, start + max(fast, slow) - 1)


@njit(cache=True)
def macd_hist(x: np.ndarray, fast: int, slow: int, signal: int, start: int) -> np.ndarray:
    """``macd - macd_signal`` (backtrader's ``MACDHisto``)."""
    line = macd(x, fast, slow, start)
    sig = ema(line, signal, start + max(fast, slow) - 1)
    return line - sig


@njit(cache=True)
def rsi(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """``bt.ind.RSI(x, period=n, movav=SmoothedMovingAverage, safediv=True)``.

    First value on bar ``start + n``: the up / down moves start one bar after ``x``.
    """
    size = x.shape[0]
    up = np.full(size, np.nan)
    down = np.full(size, np.nan)
    for i in range(start + 1, size):
        d = x[i] - x[i - 1]
        up[i] = 0.0 if 0.0 > d else d  # Python's max(d, 0.0) keeps d unless 0.0 > d
        e = x[i - 1] - x[i]
        down[i] = 0.0 if 0.0 > e else e
    maup = smooth(up, n, start + 1, 1.0 / n)
    madown = smooth(down, n, start + 1, 1.0 / n)
    out = np.full(size, np.nan)
    for i in range(start + n, size):
        a = maup[i]
        b = madown[i]
        if b == 0.0:
            rs = 1.0 if a == 0.0 else np.inf
        else:
            rs = a / b
        out[i] = 100.0 - 100.0 / (1.0 + rs)
    return out


@njit(cache=True)
def extreme(x: np.ndarray, n: int, start: int, highest: bool) -> np.ndarray:
    """``bt.ind.Highest`` / ``bt.ind.Lowest``: Python ``max`` / ``min`` over the window."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    for i in range(start + n - 1, size):
        best = x[i - n + 1]
        for k in range(i - n + 2, i + 1):
            v = x[k]
            if (v > best) if highest else (v < best):
                best = v
        out[i] = best
    return out


@njit(cache=True)
def atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """``bt.ind.ATR(period=n)``: Wilder's average of the true range, first value on bar ``n``."""
    size = c.shape[0]
    tr = np.full(size, np.nan)
    for i in range(1, size):
        pc = c[i - 1]
        top = pc if pc > h[i] else h[i]  # Python's max(high, close(-1)): first unless greater
        bottom = pc if pc < lo[i] else lo[i]
        tr[i] = top - bottom
    return smooth(tr, n, 1, 1.0 / n)


@njit(cache=True)
def shift(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """``x(-n)``: the value ``n`` bars ago, first on bar ``start + n``."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    for i in range(start + n, size):
        out[i] = x[i - n]
    return out


@njit(cache=True)
def roc(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """``(x - x(-n)) / x(-n)``, NaN where ``x(-n)`` is 0."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    for i in range(start + n, size):
        past = x[i - n]
        diff = x[i] - past
        out[i] = diff / past if past != 0.0 else np.nan
    return out


@njit(cache=True)
def run_above(x: np.ndarray, y: np.ndarray, start: int) -> np.ndarray:
    """Closes of ``x`` above ``y`` since the last one at or below (NaN until one is seen).

    Internal (``MATrend``'s reclaim run): counts from bar ``start``.
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    run = -1
    for i in range(start, size):
        if x[i] > y[i]:
            if run >= 0:
                run += 1
        else:
            run = 0
        out[i] = run if run >= 0 else np.nan
    return out


@njit(cache=True)
def early(hist: np.ndarray, k: int) -> np.ndarray:
    """``MACDMomentum._early``: the histogram negative and rising on each of the last ``k`` bars.

    Internal; 1.0 / 0.0 on every bar (0 where a value in the window is missing, or ``k <= 0``).
    """
    size = hist.shape[0]
    out = np.zeros(size)
    if k <= 0:
        return out
    for i in range(k, size):
        ok = True
        for j in range(k + 1):
            if hist[i - j] != hist[i - j]:
                ok = False
                break
        if not ok or not hist[i] < 0:
            continue
        for j in range(k):
            if not hist[i - j] > hist[i - j - 1]:
                ok = False
                break
        out[i] = 1.0 if ok else 0.0
    return out
