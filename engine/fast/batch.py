"""Parallel batch kernels: many parameter combinations of one strategy in one compiled call.

Each ``batch_*`` function runs its strategy kernel for the rows ``lo_row`` to ``hi_row - 1`` of
its parameter arrays in a plain ``range`` loop (one fresh simulation per row, nothing shared
between rows) and writes one row of :data:`engine.fast.kmetrics.NUM_KEYS` per combination into
``out``; with ``want_returns`` it also writes the daily returns (float32, as the sweep store keeps
them) into ``rets``. The parallelism is not numba's ``prange``: the kernels release the GIL
(``nogil``) and :func:`engine.fast.api.run_rows` runs slices of rows on a thread pool. ``status``
is non-zero for a row whose order book or event buffer overflowed (never expected; the caller
raises). Indicator matrices hold one row per distinct period (see
:class:`engine.fast.indicators.IndicatorCache`); the ``*_row`` arrays index them.

``env`` is ``(days, common, bench_x, bench_ok, bh_total, rf_daily, periods_per_year)``: calendar
day numbers of the bars, the benchmark's common bar positions and returns (alpha / beta), the
buy-and-hold total return, the daily risk-free rate and the year length.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast.kmetrics import metrics_row


@njit(cache=True)
def score(j, sim, eq, pos, env, out, rets, want_returns, status) -> None:  # noqa: ANN001
    """Metrics (and daily returns) of row ``j`` from its finished simulation."""
    days, common, bench_x, bench_ok, bh_total, rf_d, ppy = env
    metrics_row(
        out[j],
        eq,
        pos,
        days,
        sim[3],
        sim[1][L.M_NTRADES],
        bh_total,
        common,
        bench_x,
        bench_ok,
        rf_d,
        ppy,
    )
    if want_returns:
        for t in range(eq.shape[0] - 1):
            rets[j, t] = eq[t + 1] / eq[t] - 1.0
    status[j] = sim[1][L.M_OVERFLOW]


@njit(cache=True, nogil=True)
def batch_buy_hold(
    o, h, lo, c, lo_row, hi_row, costs, cash, env, out, rets, want_returns, status
) -> None:  # noqa: ANN001
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_buy_hold(o, h, lo, c, costs.copy(), sim, eq, pos)
        score(j, sim, eq, pos, env, out, rets, want_returns, status)


@njit(cache=True, nogil=True)
def batch_ma_trend(
    o,
    h,
    lo,
    c,
    lo_row,
    hi_row,
    smas,
    fast_row,
    slow_row,
    slow,
    hold_bars,
    mode,
    exit_fast,
    costs,
    cash,
    env,
    out,
    rets,
    want_returns,
    status,
) -> None:  # noqa: ANN001
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_ma_trend(
            o,
            h,
            lo,
            c,
            smas[fast_row[j]],
            smas[slow_row[j]],
            slow[j],
            hold_bars[j],
            mode[j],
            exit_fast[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)


@njit(cache=True, nogil=True)
def batch_macd(
    o,
    h,
    lo,
    c,
    lo_row,
    hi_row,
    macds,
    sigs,
    row,
    slow,
    signal,
    early_bars,
    above_zero,
    costs,
    cash,
    env,
    out,
    rets,
    want_returns,
    status,
) -> None:  # noqa: ANN001
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_macd(
            o,
            h,
            lo,
            c,
            macds[row[j]],
            sigs[row[j]],
            slow[j],
            signal[j],
            early_bars[j],
            above_zero[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)


@njit(cache=True, nogil=True)
def batch_rsi(
    o,
    h,
    lo,
    c,
    lo_row,
    hi_row,
    rsis,
    row,
    period,
    oversold,
    overbought,
    exit_below_mid,
    mid,
    stop_pct,
    costs,
    cash,
    env,
    out,
    rets,
    want_returns,
    status,
) -> None:  # noqa: ANN001
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_rsi(
            o,
            h,
            lo,
            c,
            rsis[row[j]],
            period[j],
            oversold[j],
            overbought[j],
            exit_below_mid[j],
            mid[j],
            stop_pct[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)


@njit(cache=True, nogil=True)
def batch_confluence(
    o,
    h,
    lo,
    c,
    lo_row,
    hi_row,
    smas,
    sma_row,
    macds,
    sigs,
    macd_row,
    rsis,
    rsi_row,
    first,
    rsi_mid,
    fail_count,
    costs,
    cash,
    env,
    out,
    rets,
    want_returns,
    status,
) -> None:  # noqa: ANN001
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_confluence(
            o,
            h,
            lo,
            c,
            smas[sma_row[j]],
            macds[macd_row[j]],
            sigs[macd_row[j]],
            rsis[rsi_row[j]],
            first[j],
            rsi_mid[j],
            fail_count[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)
