"""The signal kernel: the one bar loop and order logic of every long/flat strategy and rule.

:func:`run_signal` walks the bars as backtrader does: :func:`engine.fast.broker.broker_next`
(fills of the orders sent on earlier closes), the notifications, then the strategy's ``next``
from bar ``first`` (backtrader's minimum period), then the close is recorded. What differs
between strategies is *data*: the programs of their conditions (:mod:`engine.fast.interp`,
over rows computed once per distinct setting by :mod:`engine.fast.program`; each condition is
evaluated over every bar before the loop, which then reads one flag per bar) and a few
integer-coded switches, one row of ``ctl`` / ``lev`` per combination. It mirrors
:class:`strategies.rule.RuleStrategy` line by line (and, with the switches, the built-in
classes: ``SignalStrategy``, ``MATrend``'s one entry per reclaim, ``RSIRebound``'s strong-zone
exit and stop, ``BuyAndHold``'s single order).

Per bar from ``first``, in this order:

1. *arming* (``ARM_REARM``): ``rearm`` true re-arms the entry, else holding disarms it
   (``MATrend``: one entry per reclaim; a filled stand-aside exit re-arms it, as
   ``MATrend.stood_aside``: the reclaim may be taken again after the report). ``ARM_ONCE``: the
   first order sent disarms for good;
2. with no market order pending, when flat: ``entry`` (armed, and the next session not a
   stand-aside session, ``C_ASIDE``) sends a market order sized at the close;
3. when holding: the next session a stand-aside session (:mod:`engine.fast.aside`), or ``exit``
   true, or (with ``mark`` / ``exit2``) ``exit2`` after ``mark`` was true on an earlier close of
   the trade, or the ``max_bars``-th close in the market, cancels the protective group and sends
   a market order that closes the position;
4. else the protective group (stop at the higher of the stop-loss and trailing levels, take-profit
   limit, one OCO group) is sent after the entry, and sent again when the trailing level rises.

Sizing and side: entries go through :func:`buy_all` (the sizing of the cost vector,
:mod:`engine.sizing`) and every price of the protective group through :func:`protect`. A rule's
``side = "short"`` sells short on its entry condition and covers on its exit (``C_SIDE``
``SIDE_SHORT``). The built-in classes' ``side`` parameter (``C_MIRROR`` set) mirrors
``SignalStrategy.next``: ``short`` sells short on the *exit* condition and covers on the
(armed) entry condition; ``both`` takes either side when flat (the entry condition first) and
reverses on the opposite one: the close-out, then the new side sized from the cash the close-out
leaves (:func:`cash_after_close`), both at the next open. A short under the maintenance margin
on a close is covered (``margin call``).
"""

from __future__ import annotations

import numpy as np

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast.interp import condition
from engine.fast.jit import njit
from engine.fast.ledger import finish

# ctl columns (int64 per combination); the five condition programs are consecutive
C_FIRST, C_ENTRY, C_EXIT, C_REARM, C_MARK, C_EXIT2 = 0, 1, 2, 3, 4, 5
C_ARM, C_MAX_BARS, C_R_ENTRY, C_R_EXIT, C_R_STOP, C_DEPTH = 6, 7, 8, 9, 10, 11
C_ASIDE = 12  # row of ``rows`` flagging the closes before a stand-aside session (-1: none)
C_SIDE = 13  # SIDE_LONG, SIDE_SHORT or SIDE_BOTH
C_MIRROR = 14  # 1: a short opens on the exit condition, covers on the entry (built-in classes)
C_ATR_ROW = 15  # row of ``rows`` holding ATR(14), for an ATR stop (-1: none)
C_FIELDS = 16
# sides (ctl[C_SIDE]): a rule's side = "long" / "short", a built-in class's side parameter
SIDE_LONG, SIDE_SHORT, SIDE_BOTH = 1, -1, 2
# lev columns (float64 per combination)
V_STOP_LOSS, V_TAKE_PROFIT, V_TRAIL = 0, 1, 2
V_ATR = 3  # atr_stop: the stop's distance from the fill in ATR(14) of the entry signal's close
V_FIELDS = 4
# arming switch
ARM_NONE, ARM_REARM, ARM_ONCE = 0, 1, 2
# fill reasons (engine.fast.trace.reason_label; the swing plan's tranches and targets are 10+ / 100+)
REASON_SIGNAL, REASON_ENTRY, REASON_STOP, REASON_EXIT = 0, 1, 2, 3
REASON_STOP_LOSS, REASON_TRAIL, REASON_TAKE_PROFIT, REASON_MAX_BARS = 4, 5, 6, 7
REASON_ASIDE = 8
REASON_MARGIN = 9  # a short covered under the maintenance margin
REASON_ATR_STOP = -1  # a rule's stop at its atr_stop level (10+ and 100+ are the swing plan's)
MAINTENANCE = 0.3  # engine.rules.rule.MAINTENANCE (checked equal by the tests)
STACK = 64  # deepest condition, in stack levels (program.py refuses deeper expressions)


@njit(cache=True)
def notified(events: np.ndarray, meta: np.ndarray, ref: int) -> int:
    """``notify_order``: 0 once order ``ref`` is no longer alive, else ``ref``."""
    if ref == 0:
        return 0
    for e in range(meta[L.M_NEVENTS]):
        if events[e, L.E_REF] == ref and events[e, L.E_STATUS] >= L.COMPLETED:
            return 0
    return ref


@njit(cache=True)
def completed(events: np.ndarray, meta: np.ndarray, ref: int) -> bool:
    """True when order ``ref`` filled on this bar (not cancelled or rejected)."""
    if ref == 0:
        return False
    for e in range(meta[L.M_NEVENTS]):
        if events[e, L.E_REF] == ref and events[e, L.E_STATUS] == L.COMPLETED:
            return True
    return False


@njit(cache=True)
def buy_all(
    sim: tuple,
    bar: int,
    close: float,
    costs: np.ndarray,
    reason: int,
    dist: float,
    side: float,
    cash: float,
    atr_d: float,
) -> int:
    """``ArticleStrategy.enter``: market buy (``side`` 1) or short sale (-1) sized by the run's
    sizing at this close (0: none).

    The one place an entry is sized and sent. ``dist`` is the stop's distance from the fill
    (0: no stop), ``atr_d`` an ATR stop's in dollars (0: none); ``cash`` the cash to size from
    (NaN: the account's); a size the cash cannot cover is cut to what it covers.
    """
    acct = sim[2]
    if cash != cash:
        cash = acct[L.A_CASH]
    want, cover = B.signal_size(close, B.account_value(acct, close), cash, dist, atr_d, costs)
    size = want if want <= cover else cover
    if size <= 0:
        return 0
    ref = B.submit(sim, L.MARKET, side, close, size, 0, reason, bar)
    if dist > 0 or atr_d > 0 or costs[L.C_SIZING] == L.SZ_RISK:
        budget = np.nan
        if costs[L.C_SIZING] == L.SZ_RISK:
            budget = costs[L.C_SIZE_VALUE] * B.account_value(acct, close)
        B.tag_risk(sim, ref, np.nan, dist, budget, atr_d)
    return ref


@njit(cache=True)
def cash_after_close(acct: np.ndarray, close: float, costs: np.ndarray) -> float:
    """``ArticleStrategy.cash_after_close``: the cash once the position is closed at ``close``
    (``value - shares x close x slippage - commission``), what a reversal is sized from."""
    size = abs(acct[L.A_POS])
    slip = costs[L.C_SLIP]
    out = close * (1.0 - slip) if acct[L.A_POS] > 0 else close * (1.0 + slip)
    return B.account_value(acct, close) - size * close * slip - B.commission(size, out, costs)


@njit(cache=True)
def sell_all(sim: tuple, bar: int, close: float, reason: int) -> int:
    """``ArticleStrategy.close_all``: market sell of a long, or buy back of a short (0: flat)."""
    size = sim[2][L.A_POS]
    if size < 0:
        return B.submit(sim, L.MARKET, 1.0, close, -size, 0, reason, bar)
    if size <= 0:
        return 0
    return B.submit(sim, L.MARKET, -1.0, close, size, 0, reason, bar)


@njit(cache=True)
def close_bar(acct: np.ndarray, bar: int, close: float, eq: np.ndarray, pos: np.ndarray) -> None:
    """Record the bar (the harness's ``_Recorder``): account value and shares at the close."""
    eq[bar] = B.account_value(acct, close)
    pos[bar] = acct[L.A_POS]


@njit(cache=True)
def close_out(sim: tuple, bar: int, close: float, stop_ref: int, tp_ref: int, reason: int) -> int:
    """Cancel the protective group (its OCO goes with it), then sell everything at market."""
    leader = stop_ref if stop_ref != 0 else tp_ref
    size = sim[2][L.A_POS]
    if leader != 0 and B.alive(sim, leader):
        B.cancel(sim, leader)
        if B.alive(sim, leader):  # not accepted yet: the closing order joins its group
            k = B.find(sim, leader)
            group = int(sim[0][k, L.O_OCO])
            out = 1.0 if size < 0 else -1.0
            return B.submit(sim, L.MARKET, out, close, abs(size), group, reason, bar)
    return sell_all(sim, bar, close, reason)


@njit(cache=True)
def send_group(sim: tuple, bar: int, level: float, reason: int, take_profit: float) -> tuple:
    """The protective group: a stop at ``level`` (if > 0), then the take-profit limit (sells
    for a long, buys for a short)."""
    acct = sim[2]
    size = acct[L.A_POS]
    out = -1.0
    if size < 0:
        out = 1.0
        size = -size
        take_profit = -take_profit
    stop_ref = 0
    tp_ref = 0
    if level > 0:
        stop_ref = B.submit(sim, L.STOP, out, level, size, 0, reason, bar)
    if take_profit != 0:
        price = acct[L.A_PPRICE] * (1.0 + take_profit)
        tp_ref = B.submit(sim, L.LIMIT, out, price, size, stop_ref, REASON_TAKE_PROFIT, bar)
    return stop_ref, tp_ref


@njit(cache=True)
def protect(
    sim: tuple,
    bar: int,
    lev: np.ndarray,
    r_stop: int,
    high: float,
    placed: bool,
    group: tuple,
    atr_d: float,
) -> tuple:
    """``RuleStrategy.protect`` (and ``SignalStrategy.while_holding``): (placed, stop_ref,
    tp_ref, stop_price) after this close. ``atr_d``: the ATR stop's distance (0: none)."""
    stop_ref, tp_ref, stop_price = group
    ppr = sim[2][L.A_PPRICE]
    short = sim[2][L.A_POS] < 0
    # a rule tags a stop at its ATR level "atr stop"; a built-in class tags every stop "stop"
    r_atr = REASON_ATR_STOP if r_stop == REASON_STOP_LOSS else r_stop
    if short:
        loss = ppr * (1.0 + lev[V_STOP_LOSS]) if lev[V_STOP_LOSS] > 0 else 0.0
        trail = high * (1.0 + lev[V_TRAIL]) if lev[V_TRAIL] > 0 else 0.0
        tighter = trail > 0 and (loss == 0 or trail < loss)
        level, reason = (trail, REASON_TRAIL) if tighter else (loss, r_stop)
        if atr_d > 0 and (level == 0 or ppr + atr_d < level):
            level, reason = ppr + atr_d, r_atr
    else:
        loss = ppr * (1.0 - lev[V_STOP_LOSS]) if lev[V_STOP_LOSS] > 0 else 0.0
        trail = high * (1.0 - lev[V_TRAIL]) if lev[V_TRAIL] > 0 else 0.0
        tighter = trail > loss
        level, reason = (trail, REASON_TRAIL) if tighter else (loss, r_stop)
        if atr_d > 0 and ppr - atr_d > level:
            level, reason = ppr - atr_d, r_atr
    if not placed:
        stop_ref, tp_ref = send_group(sim, bar, level, reason, lev[V_TAKE_PROFIT])
        return True, stop_ref, tp_ref, level if stop_ref != 0 else stop_price
    if stop_ref != 0 and (level < stop_price if short else level > stop_price):
        B.cancel(sim, stop_ref)
        stop_ref, tp_ref = send_group(sim, bar, level, reason, lev[V_TAKE_PROFIT])
        return True, stop_ref, tp_ref, level
    return True, stop_ref, tp_ref, stop_price


@njit(cache=True)
def run_signal(px, rows, srow, fp, ctl, lev, code, consts, xseed, costs, sim, eq, pos) -> None:  # noqa: ANN001
    """One combination over every bar (see the module docstring for the order of things)."""
    o, h, lo, c = px[0], px[1], px[2], px[3]
    first = ctl[C_FIRST]
    arm = ctl[C_ARM]
    side = ctl[C_SIDE]
    longs = side != SIDE_SHORT
    shorts = side != SIDE_LONG
    mirror = ctl[C_MIRROR] != 0
    max_bars = ctl[C_MAX_BARS]
    aside_row = ctl[C_ASIDE]
    protective = lev[V_STOP_LOSS] > 0 or lev[V_TAKE_PROFIT] > 0 or lev[V_TRAIL] > 0
    protective = protective or lev[V_ATR] > 0
    atr_m = lev[V_ATR]
    atr_row = ctl[C_ATR_ROW]
    atr_d = 0.0  # the ATR stop's distance, set on each entry's close (ArticleStrategy.enter)
    # the stop's distance below the fill (RuleStrategy.stop_distance): the tighter of the two
    dist = lev[V_STOP_LOSS] if lev[V_STOP_LOSS] > 0 else 0.0
    if lev[V_TRAIL] > 0 and (dist == 0.0 or lev[V_TRAIL] < dist):
        dist = lev[V_TRAIL]
    # every condition over every bar, once, before the loop (the loop reads one flag a bar)
    n = c.shape[0]
    work = np.empty((ctl[C_DEPTH], n))
    sig = np.zeros((5, n), dtype=np.bool_)
    for role in range(5):
        prog = ctl[C_ENTRY + role]
        if prog >= 0:
            condition(code, prog, first, rows, srow, px, fp, consts, xseed, work, sig[role])
    # the condition that opens a short: a rule's entry, a built-in class's exit (mirror)
    short_in = 1 if mirror else 0
    pending = 0
    stop_ref = 0
    tp_ref = 0
    stop_price = 0.0
    placed = False
    armed = True
    latched = False
    held_n = 0
    high = 0.0
    aside_ref = 0  # the stand-aside exit in flight (its fill re-arms an ARM_REARM entry)
    meta, acct, events = sim[1], sim[2], sim[5]
    for i in range(c.shape[0]):
        if shorts:
            acct[L.A_TODAY] = px[L.PX_DAY, i]
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        elif shorts and costs[L.C_BORROW] > 0:  # broker_next charges the borrow fee
            B.charge_borrow(acct, px[L.PX_DAY, i], costs)
        if meta[L.M_NEVENTS] != 0:  # most bars have no fills, cancels or rejections
            if arm == ARM_REARM and aside_ref != 0 and completed(events, meta, aside_ref):
                armed = True  # MATrend.stood_aside: the reclaim may be taken again after it
            aside_ref = notified(events, meta, aside_ref)
            pending = notified(events, meta, pending)
            stop_ref = notified(events, meta, stop_ref)
            tp_ref = notified(events, meta, tp_ref)
            meta[L.M_NEVENTS] = 0
        if i >= first:
            pos_i = acct[L.A_POS]
            held = pos_i != 0
            held_n = held_n + 1 if held else 0
            if not held:
                placed = False
            if arm == ARM_REARM:
                if sig[2, i]:
                    armed = True
                elif pos_i > 0:
                    armed = False
            aside = aside_row >= 0 and rows[aside_row, i] != 0.0
            if pending == 0:
                if not held:
                    if aside:
                        pass
                    elif longs and armed and sig[0, i]:
                        latched = False
                        if arm == ARM_REARM:
                            armed = False  # MATrend: the signal spends the reclaim, sent or not
                        atr_d = atr_m * rows[atr_row, i] if atr_m > 0 else 0.0
                        pending = buy_all(
                            sim, i, c[i], costs, ctl[C_R_ENTRY], dist, 1.0, np.nan, atr_d
                        )
                        if arm == ARM_ONCE and pending != 0:
                            armed = False
                    elif shorts and sig[short_in, i]:
                        latched = False
                        atr_d = atr_m * rows[atr_row, i] if atr_m > 0 else 0.0
                        pending = buy_all(
                            sim, i, c[i], costs, ctl[C_R_ENTRY], dist, -1.0, np.nan, atr_d
                        )
                else:
                    if held_n == 1:
                        high = acct[L.A_PPRICE]  # the extreme close: highest long, lowest short
                    if (c[i] < high) if pos_i < 0 else (c[i] > high):
                        high = c[i]
                    reason = ctl[C_R_EXIT]
                    signal_out = False
                    if aside:
                        out = True
                        reason = REASON_ASIDE
                    elif mirror and pos_i < 0:  # the entry condition covers (and spends a reclaim)
                        out = armed and sig[0, i]
                        if out and arm == ARM_REARM:
                            armed = False
                        signal_out = out
                    else:
                        out = sig[1, i]
                        signal_out = out
                    if not out and ctl[C_MARK] >= 0:
                        if latched and sig[4, i]:
                            out = True
                        elif sig[3, i]:
                            latched = True
                    if not out and max_bars > 0 and held_n >= max_bars:
                        out = True
                        reason = REASON_MAX_BARS
                    if not out and pos_i < 0:
                        if B.account_value(acct, c[i]) < MAINTENANCE * (-pos_i * c[i]):
                            out = True
                            reason = REASON_MARGIN
                    if out:
                        cash = cash_after_close(acct, c[i], costs)
                        pending = close_out(sim, i, c[i], stop_ref, tp_ref, reason)
                        if reason == REASON_ASIDE:
                            aside_ref = pending
                        stop_ref = 0
                        tp_ref = 0
                        if signal_out and side == SIDE_BOTH:  # reverse: the other side
                            turn = -1.0 if pos_i > 0 else 1.0
                            atr_d = atr_m * rows[atr_row, i] if atr_m > 0 else 0.0
                            ref = buy_all(
                                sim, i, c[i], costs, ctl[C_R_ENTRY], dist, turn, cash, atr_d
                            )
                            if ref != 0:
                                pending = ref
                            placed = False
                            held_n = 0
                            latched = False
                    elif protective:
                        placed, stop_ref, tp_ref, stop_price = protect(
                            sim,
                            i,
                            lev,
                            ctl[C_R_STOP],
                            high,
                            placed,
                            (stop_ref, tp_ref, stop_price),
                            atr_d,
                        )
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)
