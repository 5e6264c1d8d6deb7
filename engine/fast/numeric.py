"""Float kernels that reproduce, bit for bit, the reductions the reference path uses.

The equivalence suite compares every metric of the fast path with the backtrader harness plus
:func:`engine.analysis.metrics.compute_metrics` to 1e-9 relative. Near-cancelling sums (an
average trade return close to zero, a Sharpe ratio of a nearly flat curve) would break that
bound if the two paths merely agreed "to rounding", so each reduction here follows the
reference's exact order of operations:

* :func:`fsum` is Python's ``math.fsum`` (correctly rounded), which backtrader's ``Average``
  (SMA, and the seed of every EMA / Wilder average) uses for each window;
* :func:`np_sum` is NumPy's pairwise summation of a contiguous float64 array (blocks of 8
  partial sums, halving above 128 values), behind ``np.sum``, ``np.mean``, ``np.std`` and
  pandas' ``Series.sum`` / ``Series.mean``;
* :func:`np_mean`, :func:`np_std1` are ``np.mean`` and ``np.std(ddof=1)`` built on it.
"""

from __future__ import annotations

import numpy as np

from engine.fast.jit import njit

ZERO_SPREAD = 1e-12  # engine.analysis.metrics.ZERO_SPREAD (asserted equal in the tests)


@njit(cache=True)
def msum_add(partials: np.ndarray, n: int, x: float) -> int:
    """Add ``x`` to Shewchuk's non-overlapping partials ``partials[:n]`` (exactly); new count."""
    i = 0
    for j in range(n):
        y = partials[j]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        yr = hi - x
        lo = y - yr
        if lo != 0.0:
            partials[i] = lo
            i += 1
        x = hi
    n = i
    if x != 0.0:
        partials[n] = x
        n += 1
    return n


@njit(cache=True)
def msum_round(partials: np.ndarray, n: int) -> float:
    """The correctly rounded value of the exact sum held by ``partials[:n]`` (CPython's last step)."""
    total = 0.0
    lo = 0.0
    if n > 0:
        n -= 1
        total = partials[n]
        while n > 0:
            x = total
            n -= 1
            y = partials[n]
            total = x + y
            yr = total - x
            lo = y - yr
            if lo != 0.0:
                break
        # half-even rounding across partials, as CPython
        if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
            y = lo * 2.0
            x = total + y
            yr = x - total
            if y == yr:
                total = x
    return total


@njit(cache=True)
def fsum(a: np.ndarray, lo: int, hi: int) -> float:
    """Correctly rounded sum of ``a[lo:hi]`` (CPython's ``math.fsum``, Shewchuk's partials).

    Inputs must be finite (NaN windows are never summed by the callers).
    """
    partials = np.empty(hi - lo + 1, dtype=np.float64)
    n = 0
    for k in range(lo, hi):
        n = msum_add(partials, n, a[k])
    return msum_round(partials, n)


@njit(cache=True)
def rolling_fsum(x: np.ndarray, period: int, start: int, out: np.ndarray) -> None:
    """``out[i] = math.fsum(x[i - period + 1 : i + 1])`` for ``i >= start + period - 1``.

    The partials hold the window's sum *exactly*, so adding the new value and the negated old
    one keeps it exact and each window costs a few operations instead of ``period``; the rounded
    value is the one ``math.fsum`` returns (correct rounding is unique).
    """
    partials = np.empty(256, dtype=np.float64)
    n = 0
    first = start + period - 1
    for k in range(start, min(first + 1, x.shape[0])):
        n = msum_add(partials, n, x[k])
    if first < x.shape[0]:
        out[first] = msum_round(partials, n)
    for i in range(first + 1, x.shape[0]):
        n = msum_add(partials, n, x[i])
        n = msum_add(partials, n, -x[i - period])
        if n > 200:  # cannot happen with finite doubles (about 40 partials at most); stay safe
            n = 0
            for k in range(i - period + 1, i + 1):
                n = msum_add(partials, n, x[k])
        out[i] = msum_round(partials, n)


@njit(cache=True)
def _block(a: np.ndarray, lo: int, n: int) -> float:
    """NumPy's pairwise-sum leaf (``n <= 128``): 8 running partial sums, then the tail."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise(a: np.ndarray, lo: int, n: int) -> float:
    """NumPy's recursive pairwise sum, walked with an explicit stack (numba's on-disk cache
    cannot link a recursive function): a segment above 128 values is split at
    ``n // 2`` rounded down to a multiple of 8 and the halves are added left + right."""
    if n <= 128:
        return _block(a, lo, n)
    seg_lo = np.empty(64, dtype=np.int64)
    seg_n = np.empty(64, dtype=np.int64)
    stage = np.empty(64, dtype=np.int64)
    vals = np.empty(64)
    top = 0
    nv = 0
    seg_lo[0], seg_n[0], stage[0] = lo, n, 0
    while top >= 0:
        s_lo, s_n = seg_lo[top], seg_n[top]
        if s_n <= 128:
            vals[nv] = _block(a, s_lo, s_n)
            nv += 1
            top -= 1
            continue
        half = s_n // 2
        half -= half % 8
        if stage[top] == 0:
            stage[top] = 1
            top += 1
            seg_lo[top], seg_n[top], stage[top] = s_lo, half, 0
        elif stage[top] == 1:
            stage[top] = 2
            top += 1
            seg_lo[top], seg_n[top], stage[top] = s_lo + half, s_n - half, 0
        else:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
            top -= 1
    return vals[0]


@njit(cache=True)
def np_sum(a: np.ndarray, n: int) -> float:
    """``np.sum(a[:n])`` with NumPy's pairwise order (bit-identical)."""
    return _pairwise(a, 0, n)


@njit(cache=True)
def np_mean(a: np.ndarray, n: int) -> float:
    """``np.mean(a[:n])``; NaN for ``n == 0``."""
    if n == 0:
        return np.nan
    return _pairwise(a, 0, n) / n


@njit(cache=True)
def np_std1(a: np.ndarray, n: int) -> float:
    """``np.std(a[:n], ddof=1)``: pairwise mean, squared deviations, pairwise sum."""
    mean = _pairwise(a, 0, n) / n
    dev = np.empty(n, dtype=np.float64)
    for i in range(n):
        d = a[i] - mean
        dev[i] = d * d
    return np.sqrt(_pairwise(dev, 0, n) / (n - 1))


@njit(cache=True)
def np_extreme(a: np.ndarray, n: int, largest: bool) -> float:
    """``np.max(a[:n])`` (``largest``) or ``np.min(a[:n])`` for ``n > 0``: NaN when a value is
    NaN, as NumPy; a loop, because numba compiles ``np.max``'s empty-array error path (and its
    message formatting) into every caller."""
    best = a[0]
    for i in range(n):
        v = a[i]
        if v != v:
            return v
        if (v > best) if largest else (v < best):
            best = v
    return best


@njit(cache=True)
def is_constant(a: np.ndarray, n: int) -> bool:
    """``np.ptp(a[:n]) <= 1e-12`` for ``n > 0`` (engine.analysis.metrics._is_constant)."""
    if n == 0:
        return False
    lo = a[0]
    hi = a[0]
    for i in range(1, n):
        if a[i] < lo:
            lo = a[i]
        if a[i] > hi:
            hi = a[i]
    return hi - lo <= ZERO_SPREAD
