"""Batch kernels: many parameter combinations in one compiled call, and their scoring.

:func:`batch_signal` runs the signal kernel (:func:`engine.fast.signals.run_signal`) for the
rows ``lo_row`` to ``hi_row - 1`` of its per-combination arrays in a plain ``range`` loop (one
fresh simulation per row, nothing shared between rows) and :func:`score` writes one row of
:data:`engine.fast.kmetrics.NUM_KEYS` per combination into ``out``; with ``want_returns`` also
the daily returns (float32, as the sweep store keeps them) into ``rets``. The swing plan's
driver is :func:`engine.fast.swing.batch_swing`. The parallelism is not numba's ``prange``: the
kernels release the GIL (``nogil``) and :func:`engine.fast.api.run_rows` runs slices of rows on
a thread pool. ``status`` is non-zero for a row whose order book or event buffer overflowed
(never expected; the caller raises). The function rows are computed once per distinct setting
(:class:`engine.fast.program.Rows`); ``srows`` index them.

``env`` is ``(days, common, bench_x, bench_ok, bh_total, rf_daily, periods_per_year)``: calendar
day numbers of the bars, the benchmark's common bar positions and returns (alpha / beta), the
buy-and-hold total return, the daily risk-free rate and the year length.
"""

from __future__ import annotations

import numpy as np

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast.jit import njit
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
def batch_signal(
    px,
    lo_row,
    hi_row,
    rows,
    srows,
    fps,
    ctls,
    levs,
    code,
    consts,
    xseeds,
    costs,
    cash,
    env,
    out,
    rets,
    want_returns,
    status,
) -> None:  # noqa: ANN001
    """Score combinations ``lo_row:hi_row`` (one fresh simulation each) into ``out``.

    Per combination ``j``: ``srows[j]`` (row of each slot in ``rows``), ``fps[j]`` (parameters),
    ``ctls[j]`` / ``levs[j]`` (switches and protective levels, :mod:`engine.fast.signals`),
    ``xseeds[j]`` (each cross's first bar); the programs ``code`` and their constants ``consts``
    are shared (:mod:`engine.fast.interp`).
    """
    n = px.shape[1]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        eq = np.empty(n)
        pos = np.empty(n)
        S.run_signal(
            px,
            rows,
            srows[j],
            fps[j],
            ctls[j],
            levs[j],
            code,
            consts,
            xseeds[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)
