"""The round-trip ledger: :func:`engine.analysis.trades.build_trades` updated fill by fill.

A round trip opens with the fill that takes the position off zero and closes with the fill
that brings it back within 1e-9 of zero; its buy and sell sizes and values and its commissions
are summed in fill order, as ``build_trades`` sums them, so ``pnl = sells - buys - commission``
and ``return = pnl / entries`` (the buys of a long round trip, the sales of a short one) are
the reference's to the last bit. Only what the metrics need is kept per round trip (pnl, return, bars held, commission, open flag); with recording on, every
fill is also written out (``fills`` rows) for the tests.
"""

from __future__ import annotations

import numpy as np

from engine.fast.jit import njit
from engine.fast.layout import (
    A_FIELDS,
    EPS_TRADE,
    F_BAR,
    F_BUDGET,
    F_COMM,
    F_PRICE,
    F_REASON,
    F_RESIZED,
    F_RSTOP,
    F_SIDE,
    F_SIZE,
    F_TYPE,
    F_VALUE,
    M_NFILLS,
    M_NTRADES,
    M_OVERFLOW,
    O_BUDGET,
    O_RATR,
    O_RDIST,
    O_REASON,
    O_RESIZED,
    O_RSTOP,
    O_SIDE,
    O_TYPE,
    R_BARS,
    R_COMM,
    R_OPEN,
    R_PNL,
    R_RET,
    R_SIDE,
    T_ACTIVE,
    T_BUYSIZE,
    T_BUYVAL,
    T_COMM,
    T_ENTRY,
    T_POS,
    T_SELLSIZE,
    T_SELLVAL,
    T_SIDE,
)

assert A_FIELDS > T_SIDE


@njit(cache=True)
def book_fill(
    sim: tuple, row: np.ndarray, bar: int, size: float, price: float, comm: float
) -> None:
    """Record the fill (when recording) and update the round-trip ledger (``build_trades``)."""
    meta, acct, trades, fills = sim[1], sim[2], sim[3], sim[4]
    value = size * price
    if fills.shape[0] > 0:
        f = meta[M_NFILLS]
        if f < fills.shape[0]:
            fills[f, F_BAR] = bar
            fills[f, F_SIDE] = row[O_SIDE]
            fills[f, F_SIZE] = size
            fills[f, F_PRICE] = price
            fills[f, F_VALUE] = value
            fills[f, F_COMM] = comm
            fills[f, F_TYPE] = row[O_TYPE]
            fills[f, F_REASON] = row[O_REASON]
            fills[f, F_RESIZED] = row[O_RESIZED]
            rstop = row[O_RSTOP]
            if rstop != rstop and row[O_RDIST] > 0:  # the harness's _risk_stop (long or short)
                rstop = price * (1.0 - row[O_SIDE] * row[O_RDIST])
            ratr = row[O_RATR]
            if ratr > 0 and (rstop != rstop or ratr < price * row[O_RDIST]):
                rstop = price - row[O_SIDE] * ratr  # an ATR stop closer than the fraction
            fills[f, F_RSTOP] = rstop
            fills[f, F_BUDGET] = row[O_BUDGET]
            meta[M_NFILLS] = f + 1
        else:
            meta[M_OVERFLOW] = 1
    if acct[T_ACTIVE] == 0.0:
        acct[T_ACTIVE] = 1.0
        acct[T_SIDE] = row[O_SIDE]  # the first fill's side: 1 a long round trip, -1 a short
        acct[T_ENTRY] = bar
        acct[T_BUYSIZE] = acct[T_BUYVAL] = acct[T_SELLSIZE] = acct[T_SELLVAL] = acct[T_COMM] = 0.0
    if row[O_SIDE] > 0:
        acct[T_BUYSIZE] += size
        acct[T_BUYVAL] += value
        acct[T_POS] += size
    else:
        acct[T_SELLSIZE] += size
        acct[T_SELLVAL] += value
        acct[T_POS] += -size
    acct[T_COMM] += comm
    if abs(acct[T_POS]) < EPS_TRADE:
        t = meta[M_NTRADES]
        buy_value = acct[T_BUYVAL]
        pnl = acct[T_SELLVAL] - buy_value - acct[T_COMM]
        trades[t, R_PNL] = pnl
        entry_value = buy_value if acct[T_SIDE] > 0 else acct[T_SELLVAL]
        trades[t, R_RET] = pnl / entry_value if entry_value != 0 else np.nan
        trades[t, R_BARS] = bar - acct[T_ENTRY]
        trades[t, R_COMM] = acct[T_COMM]
        trades[t, R_OPEN] = 0.0
        trades[t, R_SIDE] = acct[T_SIDE]
        meta[M_NTRADES] = t + 1
        acct[T_ACTIVE] = 0.0
        acct[T_POS] = 0.0


@njit(cache=True)
def finish(sim: tuple) -> None:
    """Append the round trip still open at the end (``is_open``; only its commission is scored)."""
    meta, acct, trades = sim[1], sim[2], sim[3]
    if acct[T_ACTIVE] != 0.0:
        t = meta[M_NTRADES]
        trades[t, R_PNL] = np.nan
        trades[t, R_RET] = np.nan
        trades[t, R_BARS] = np.nan
        trades[t, R_COMM] = acct[T_COMM]
        trades[t, R_OPEN] = 1.0
        trades[t, R_SIDE] = acct[T_SIDE]
        meta[M_NTRADES] = t + 1
