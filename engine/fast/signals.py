"""Compiled ``next`` logic of the long/flat strategies (buy-and-hold, MA trend, MACD, RSI, confluence).

Each ``run_*`` kernel walks the bars as backtrader does: :func:`engine.fast.broker.broker_next`
(fills of the orders sent on earlier closes), the notifications, then the strategy's ``next``
from the bar on which backtrader first calls it (the strategy's minimum period: the longest
indicator warm-up; ``CrossOver`` adds one bar to its inputs'), then the close is recorded.
The ``SignalStrategy`` skeleton (one market order at a time, entry only when flat, sized with all
the cash at the signal close) is shared; the comments name the strategy method each block
mirrors. Indicator arrays come precomputed from :mod:`engine.fast.indicators`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast.indicators import cross_step
from engine.fast.ledger import finish

REASON_SIGNAL, REASON_ENTRY, REASON_STOP = 0, 1, 2
MA_RECLAIM, MA_CROSS = 0, 1


@njit(cache=True)
def notified(events: np.ndarray, meta: np.ndarray, ref: int) -> int:
    """``SignalStrategy.notify_order``: 0 once order ``ref`` is no longer alive, else ``ref``."""
    if ref == 0:
        return 0
    for e in range(meta[L.M_NEVENTS]):
        if events[e, L.E_REF] == ref and events[e, L.E_STATUS] >= L.COMPLETED:
            return 0
    return ref


@njit(cache=True)
def buy_all(sim: tuple, bar: int, close: float, costs: np.ndarray, reason: int) -> int:
    """``ArticleStrategy.buy_all``: market buy with all the cash, sized at this close (0: none)."""
    size = B.affordable(close, sim[2][L.A_CASH], costs)
    if size <= 0:
        return 0
    return B.submit(sim, L.MARKET, 1.0, close, size, 0, reason, bar)


@njit(cache=True)
def sell_all(sim: tuple, bar: int, close: float, reason: int) -> int:
    """``ArticleStrategy.sell_all``: market sell of the whole position (0: nothing held)."""
    size = sim[2][L.A_POS]
    if size <= 0:
        return 0
    return B.submit(sim, L.MARKET, -1.0, close, size, 0, reason, bar)


@njit(cache=True)
def close_bar(acct: np.ndarray, bar: int, close: float, eq: np.ndarray, pos: np.ndarray) -> None:
    """Record the bar (the harness's ``_Recorder``): account value and shares at the close."""
    eq[bar] = B.account_value(acct, close)
    pos[bar] = acct[L.A_POS]


@njit(cache=True)
def run_buy_hold(o, h, lo, c, costs, sim, eq, pos) -> None:  # noqa: ANN001
    """``BuyAndHold``: buy all on the first close that affords a share, hold to the end."""
    sent = False
    meta, acct = sim[1], sim[2]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        meta[L.M_NEVENTS] = 0
        if not sent:
            sent = buy_all(sim, i, c[i], costs, REASON_ENTRY) != 0
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True)
def run_ma_trend(
    o, h, lo, c, fast_sma, slow_sma, slow, hold_bars, mode, exit_fast, costs, sim, eq, pos
) -> None:  # noqa: ANN001
    """``MATrend``: reclaim-and-hold of the slow SMA (mode 0) or the golden/death cross (mode 1)."""
    first = slow - 1 if mode == MA_RECLAIM else slow  # backtrader's first next()
    run = -1  # closes above the slow SMA in the current run; -1 = None (no close below seen yet)
    run_traded = False
    nzd = 0.0
    pending = 0
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        pending = notified(events, meta, pending)
        meta[L.M_NEVENTS] = 0
        cross = 0.0
        if mode == MA_CROSS:
            if i == slow - 1:
                nzd = fast_sma[i] - slow_sma[i]  # NonZeroDifference seed
            elif i >= slow:
                cross, nzd = cross_step(fast_sma[i], slow_sma[i], nzd)
        if i >= first:
            held = acct[L.A_POS]
            if mode == MA_RECLAIM:  # MATrend._update_run
                if c[i] > slow_sma[i]:
                    if run >= 0:
                        run += 1
                    if held > 0:
                        run_traded = True
                else:
                    run = 0
                    run_traded = False
            if pending == 0:
                line = fast_sma[i] if exit_fast else slow_sma[i]
                if held <= 0:
                    if mode == MA_CROSS:
                        entry = cross > 0
                    else:
                        entry = run >= hold_bars and not run_traded and c[i] > line
                        if entry:
                            run_traded = True
                    if entry:
                        pending = buy_all(sim, i, c[i], costs, REASON_SIGNAL)
                elif (cross < 0) if mode == MA_CROSS else (c[i] < line):
                    pending = sell_all(sim, i, c[i], REASON_SIGNAL)
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True)
def _macd_early(macd, sig, i, k) -> bool:  # noqa: ANN001
    """``MACDMomentum._early``: histogram negative and rising on each of the last ``k`` bars."""
    if k <= 0 or i + 1 <= k:
        return False
    for j in range(k + 1):
        if np.isnan(macd[i - j] - sig[i - j]):
            return False
    if not macd[i] - sig[i] < 0:
        return False
    for j in range(k):
        if not (macd[i - j] - sig[i - j]) > (macd[i - j - 1] - sig[i - j - 1]):
            return False
    return True


@njit(cache=True)
def run_macd(
    o, h, lo, c, macd, sig, slow, signal, early_bars, above_zero, costs, sim, eq, pos
) -> None:  # noqa: ANN001
    """``MACDMomentum``: golden cross (or early histogram entry) in, death cross out."""
    seed = slow + signal - 2  # first signal-line value: CrossOver's NonZeroDifference seed
    nzd = 0.0
    pending = 0
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        pending = notified(events, meta, pending)
        meta[L.M_NEVENTS] = 0
        cross = 0.0
        if i == seed:
            nzd = macd[i] - sig[i]
        elif i > seed:
            cross, nzd = cross_step(macd[i], sig[i], nzd)
        if i > seed and pending == 0:
            if acct[L.A_POS] <= 0:
                if above_zero and not macd[i] > 0:
                    entry = False
                else:
                    entry = cross > 0 or _macd_early(macd, sig, i, early_bars)
                if entry:
                    pending = buy_all(sim, i, c[i], costs, REASON_SIGNAL)
            elif cross < 0:
                pending = sell_all(sim, i, c[i], REASON_SIGNAL)
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True)
def run_confluence(
    o, h, lo, c, sma, macd, sig, rsi, first, rsi_mid, fail_count, costs, sim, eq, pos
) -> None:  # noqa: ANN001
    """``Confluence``: long while close > SMA, MACD > signal and RSI > mid; out on ``fail_count`` fails."""
    pending = 0
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        pending = notified(events, meta, pending)
        meta[L.M_NEVENTS] = 0
        if i >= first and pending == 0:
            fails = 0
            if not c[i] > sma[i]:
                fails += 1
            if not macd[i] > sig[i]:
                fails += 1
            if not rsi[i] > rsi_mid:
                fails += 1
            if acct[L.A_POS] <= 0:
                if fails == 0:
                    pending = buy_all(sim, i, c[i], costs, REASON_SIGNAL)
            elif fails >= fail_count:
                pending = sell_all(sim, i, c[i], REASON_SIGNAL)
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True)
def _rsi_exit(sim, bar, close, stop_ref) -> int:  # noqa: ANN001
    """``RSIRebound._signal_exit``: cancel the resting stop, then sell everything."""
    if stop_ref == 0 or not B.alive(sim, stop_ref):
        return sell_all(sim, bar, close, REASON_SIGNAL)
    B.cancel(sim, stop_ref)
    if not B.alive(sim, stop_ref):
        return sell_all(sim, bar, close, REASON_SIGNAL)
    k = B.find(sim, stop_ref)
    leader = int(sim[0][k, L.O_OCO])
    return B.submit(sim, L.MARKET, -1.0, close, sim[2][L.A_POS], leader, REASON_SIGNAL, bar)


@njit(cache=True)
def run_rsi(
    o,
    h,
    lo,
    c,
    rsi,
    period,
    oversold,
    overbought,
    exit_below_mid,
    mid,
    stop_pct,
    costs,
    sim,
    eq,
    pos,
) -> None:  # noqa: ANN001
    """``RSIRebound``: RSI back above oversold in; overbought / below-mid / stop out."""
    nzd = 0.0
    pending = 0
    stop_ref = 0
    was_strong = False
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        pending = notified(events, meta, pending)
        stop_ref = notified(events, meta, stop_ref)
        meta[L.M_NEVENTS] = 0
        cross = 0.0
        if i == period:
            nzd = rsi[i] - oversold
        elif i > period:
            cross, nzd = cross_step(rsi[i], oversold, nzd)
        if i > period and pending == 0:
            held = acct[L.A_POS]
            if held <= 0:
                if cross > 0:
                    was_strong = False
                    pending = buy_all(sim, i, c[i], costs, REASON_SIGNAL)
            else:
                exit_now = False
                if rsi[i] >= overbought:
                    exit_now = True
                elif exit_below_mid:
                    if was_strong and rsi[i] < mid:
                        exit_now = True
                    else:
                        was_strong = was_strong or rsi[i] > mid
                if exit_now:
                    old, stop_ref = stop_ref, 0
                    pending = _rsi_exit(sim, i, c[i], old)
                elif stop_pct > 0 and stop_ref == 0:
                    price = acct[L.A_PPRICE] * (1.0 - stop_pct)
                    stop_ref = B.submit(sim, L.STOP, -1.0, price, held, 0, REASON_STOP, i)
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)
