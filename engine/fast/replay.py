"""Compiled replays of a fixed order schedule: the execution-noise runs of the Monte Carlo.

A long/flat strategy's decisions are a schedule: on these closes buy with all the cash, on
those sell everything. :func:`replay_batch` sends such schedules through the fast engine's
broker (the harness's fill rules, sizing, commission and slippage) once per row, each row with
its own schedule and its own slippage, and records each row's equity at every close. The
schedule of the unperturbed run with the run's own slippage gives back the run's equity
exactly (``tests/test_montecarlo_exec.py``).
"""

from __future__ import annotations

import numpy as np

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast import signals as S
from engine.fast.jit import njit
from engine.fast.ledger import finish


@njit(cache=True)
def replay_one(o, h, lo, c, costs, sends, sim, eq, pos) -> None:  # noqa: ANN001
    """One schedule: ``sends[i]`` is +1 (buy all at close ``i``), -1 (sell all) or 0.

    As ``SignalStrategy``: one market order at a time, a buy only when flat and a sell only
    when holding; the order fills at the next session's open.
    """
    pending = 0
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        pending = S.notified(events, meta, pending)
        meta[L.M_NEVENTS] = 0
        if pending == 0:
            if sends[i] > 0 and acct[L.A_POS] <= 0:
                pending = S.buy_all(
                    sim, i, c[i], costs, S.REASON_SIGNAL, 0.0, 1.0, np.nan, 0.0
                )  # long
            elif sends[i] < 0 and acct[L.A_POS] > 0:
                pending = S.sell_all(sim, i, c[i], S.REASON_SIGNAL)
        S.close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True, nogil=True)
def replay_batch(o, h, lo, c, costs, cash, sends, lo_row, hi_row, eq_out, status) -> None:  # noqa: ANN001
    """Rows ``lo_row .. hi_row - 1``: schedule ``sends[j]`` with cost vector ``costs[j]``."""
    n = c.shape[0]
    for j in range(lo_row, hi_row):
        sim = B.new_sim(n, cash, False, L.BOOK_CAP)
        pos = np.empty(n)
        replay_one(o, h, lo, c, costs[j].copy(), sends[j], sim, eq_out[j], pos)
        status[j] = sim[1][L.M_OVERFLOW]
