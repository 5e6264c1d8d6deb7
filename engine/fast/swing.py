"""The article's swing plan (``strategies.swing.SwingPlan``), compiled.

The kernel follows ``SwingPlan.next`` / ``notify_order`` / ``_manage`` / ``_rebuild_exits`` line by
line (each block names the method it mirrors) on top of the shared fill simulator: a ladder of
limit buys sized from the account value, one OCO group of a sell stop and limit targets rebuilt
after every fill, the close-mode stop, break-even after target 1, re-arming and the maximum
wait. Everything that depends only on the parameters and the dates (the arming bar, the dollar
levels of a relative plan, the tranches above the stop) is computed once in Python by
:func:`plan_levels` with the strategy's own :func:`strategies.swing.relative_levels`, so the
rounding of the levels is the strategy's.
"""

from __future__ import annotations

import numpy as np

from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast.batch import score
from engine.fast.jit import njit
from engine.fast.signals import REASON_STOP, close_bar, finish

STOP_INTRADAY, STOP_CLOSE = 0, 1
# plan state (float64 vector): flags, counters and the running entry cost
P_ARMED, P_SPENT, P_WAIT_REARM, P_ARMED_BAR, P_TARGETS_HIT = 0, 1, 2, 3, 4
P_REBUILD, P_STOPPED, P_ENTRY_COST, P_ENTRY_SIZE, P_MARKET_EXIT = 5, 6, 7, 8, 9
P_N_LADDER, P_N_EXIT = 10, 11
P_FIELDS = 12


@njit(cache=True)
def _cancel_all(sim, refs, n) -> None:  # noqa: ANN001
    """``SwingPlan._cancel``: cancel the live ones (the caller then forgets them all)."""
    for k in range(n):
        if B.alive(sim, refs[k]):
            B.cancel(sim, refs[k])


@njit(cache=True)
def tranche_want(k, lp, n_lp, stop, value, costs) -> float:  # noqa: ANN001
    """``engine.sizing.tranche_sizes`` for tranche ``k`` (whole shares; not ``all_in``)."""
    kind = int(costs[L.C_SIZING])
    split = int(costs[L.C_SPLIT])
    v = costs[L.C_SIZE_VALUE]
    if kind == L.SZ_SHARES:
        base = np.floor(v / n_lp / 1.0) * 1.0
        extra = round((v - base * n_lp) / 1.0)
        return base + (1.0 if k < extra else 0.0)
    if kind == L.SZ_RISK:
        budget = v * value
        if split == L.SPLIT_SHARES:
            per = 0.0
            for j in range(n_lp):
                per += lp[j] - stop
            return np.floor(budget / per / 1.0) * 1.0
        return np.floor(budget / n_lp / (lp[k] - stop) / 1.0) * 1.0
    dollars = v * value if kind == L.SZ_FRACTION else v
    if split == L.SPLIT_SHARES:
        total = 0.0
        for j in range(n_lp):
            total += lp[j]
        return np.floor(dollars / total / 1.0) * 1.0
    return B.affordable(lp[k], dollars / n_lp, costs)


@njit(cache=True)
def _send_ladder(sim, st, ladder_refs, bar, close, lp, n_lp, stop, costs) -> None:  # noqa: ANN001
    """``SwingPlan._send_ladder``: one limit buy per tranche, each an equal share of the value
    (``all_in``), or the sizing's share of its budget cut to the cash left."""
    st[P_ARMED] = 1.0
    st[P_ARMED_BAR] = bar + 1  # len(self)
    st[P_TARGETS_HIT] = 0.0
    st[P_ENTRY_COST] = 0.0
    st[P_ENTRY_SIZE] = 0.0
    st[P_STOPPED] = 0.0
    value = B.value(sim, close)
    budget = value / n_lp
    cash_left = sim[2][L.A_CASH]
    n = int(st[P_N_LADDER])
    kind = int(costs[L.C_SIZING])
    risk_budget = costs[L.C_SIZE_VALUE] * value if kind == L.SZ_RISK else np.nan
    for k in range(n_lp):
        if kind == L.SZ_ALL_IN:
            size = B.affordable(lp[k], cash_left if cash_left < budget else budget, costs)
        else:
            want = tranche_want(k, lp, n_lp, stop, value, costs)
            cover = B.affordable(lp[k], cash_left, costs)
            size = want if want <= cover else cover
        if size <= 0:
            continue
        cash_left -= size * lp[k]
        ladder_refs[n] = B.submit(sim, L.LIMIT, 1.0, lp[k], size, 0, 10 + k + 1, bar)
        B.tag_risk(sim, ladder_refs[n], stop, 0.0, risk_budget, 0.0)
        n += 1
    st[P_N_LADDER] = n


@njit(cache=True)
def _stop_level(st, stop, breakeven) -> float:  # noqa: ANN001
    if breakeven and st[P_TARGETS_HIT] >= 1 and st[P_ENTRY_SIZE] > 0:
        avg = st[P_ENTRY_COST] / st[P_ENTRY_SIZE]
        return avg if avg > stop else stop
    return stop


@njit(cache=True)
def _rebuild_exits(
    sim, st, exit_refs, bar, held, stop, breakeven, stop_mode, targets, weights, n_t
) -> None:  # noqa: ANN001
    """``SwingPlan._rebuild_exits``: the stop (intraday mode) and the remaining targets, one OCO group."""
    _cancel_all(sim, exit_refs, int(st[P_N_EXIT]))
    n = 0
    if stop_mode == STOP_INTRADAY:
        exit_refs[0] = B.submit(
            sim, L.STOP, -1.0, _stop_level(st, stop, breakeven), held, 0, REASON_STOP, bar
        )
        n = 1
    first = int(st[P_TARGETS_HIT])
    wsum = 0.0
    for r in range(first, n_t):
        wsum += weights[r]
    left = held
    for r in range(first, n_t):
        if r == n_t - 1:
            size = left
        else:
            size = float(int(held * weights[r] / wsum))
        if size <= 0:
            continue
        left -= size
        oco = exit_refs[0] if n > 0 else 0
        exit_refs[n] = B.submit(sim, L.LIMIT, -1.0, targets[r], size, oco, 100 + r + 1, bar)
        n += 1
    st[P_N_EXIT] = n


@njit(cache=True)
def _finish_cycle(sim, st, ladder_refs, exit_refs, rearm) -> None:  # noqa: ANN001
    _cancel_all(sim, ladder_refs, int(st[P_N_LADDER]))
    st[P_N_LADDER] = 0
    _cancel_all(sim, exit_refs, int(st[P_N_EXIT]))
    st[P_N_EXIT] = 0
    st[P_ARMED] = 0.0
    if rearm:
        st[P_WAIT_REARM] = 1.0
    else:
        st[P_SPENT] = 1.0


@njit(cache=True)
def _notify(sim, st) -> None:  # noqa: ANN001
    """``SwingPlan.notify_order`` for this bar's completed orders."""
    events = sim[5]
    for e in range(sim[1][L.M_NEVENTS]):
        if events[e, L.E_STATUS] != L.COMPLETED:
            continue
        reason = int(events[e, L.E_REASON])
        if events[e, L.E_SIDE] > 0:
            st[P_ENTRY_COST] += events[e, L.E_SIZE] * events[e, L.E_PRICE]
            st[P_ENTRY_SIZE] += events[e, L.E_SIZE]
            st[P_REBUILD] = 1.0
        elif reason == REASON_STOP:
            st[P_STOPPED] = 1.0
            st[P_REBUILD] = 1.0
        elif reason >= 100:
            st[P_TARGETS_HIT] = reason - 100
            st[P_REBUILD] = 1.0
        if events[e, L.E_REF] == st[P_MARKET_EXIT]:
            st[P_MARKET_EXIT] = 0.0
    sim[1][L.M_NEVENTS] = 0


@njit(cache=True)
def _manage(
    sim,
    st,
    ladder_refs,
    exit_refs,
    bar,
    close,
    stop,
    targets,
    weights,
    n_t,
    stop_mode,
    breakeven,
    rearm,
    max_wait,
) -> None:  # noqa: ANN001
    """``SwingPlan._manage``: wait limit, stop handling, cycle end, close-mode stop, exit rebuild."""
    held = sim[2][L.A_POS]
    if max_wait and (bar + 1) - st[P_ARMED_BAR] >= max_wait:
        _cancel_all(sim, ladder_refs, int(st[P_N_LADDER]))
        st[P_N_LADDER] = 0
    if st[P_MARKET_EXIT] != 0:
        return
    if st[P_STOPPED] != 0:
        _cancel_all(sim, ladder_refs, int(st[P_N_LADDER]))
        st[P_N_LADDER] = 0
        _cancel_all(sim, exit_refs, int(st[P_N_EXIT]))
        st[P_N_EXIT] = 0
        if held > 0:  # shares bought in the session the stop filled
            st[P_MARKET_EXIT] = B.submit(sim, L.MARKET, -1.0, close, held, 0, REASON_STOP, bar)
            return
    if held <= 0 and (st[P_STOPPED] != 0 or st[P_TARGETS_HIT] != 0):
        _finish_cycle(sim, st, ladder_refs, exit_refs, rearm)
        return
    if stop_mode == STOP_CLOSE and held > 0 and close < _stop_level(st, stop, breakeven):
        _cancel_all(sim, ladder_refs, int(st[P_N_LADDER]))
        st[P_N_LADDER] = 0
        _cancel_all(sim, exit_refs, int(st[P_N_EXIT]))
        st[P_N_EXIT] = 0
        st[P_STOPPED] = 1.0
        st[P_MARKET_EXIT] = B.submit(sim, L.MARKET, -1.0, close, held, 0, REASON_STOP, bar)
        return
    if st[P_REBUILD] != 0 and held > 0:
        _rebuild_exits(
            sim, st, exit_refs, bar, held, stop, breakeven, stop_mode, targets, weights, n_t
        )
    st[P_REBUILD] = 0.0
    if held <= 0 and st[P_N_EXIT] == 0:
        for k in range(int(st[P_N_LADDER])):
            if B.alive(sim, ladder_refs[k]):
                return
        _finish_cycle(sim, st, ladder_refs, exit_refs, rearm)  # ladder expired unfilled


@njit(cache=True)
def run_swing(
    o,
    h,
    lo,
    c,
    arm_bar,
    lp,
    n_lp,
    zone_top,
    stop,
    targets,
    weights,
    n_t,
    stop_mode,
    breakeven,
    rearm,
    max_wait,
    costs,
    sim,
    eq,
    pos,
) -> None:  # noqa: ANN001
    """``SwingPlan`` over the bars; ``lp`` holds the ``n_lp`` tranche prices above the stop."""
    st = np.zeros(P_FIELDS)
    ladder_refs = np.zeros(sim[0].shape[0], dtype=np.int64)
    exit_refs = np.zeros(sim[0].shape[0], dtype=np.int64)
    meta, acct = sim[1], sim[2]
    for i in range(c.shape[0]):
        if meta[L.M_NB] != 0:  # no call on a bar without orders (see broker_next)
            B.broker_next(sim, i, o[i], h[i], lo[i], costs)
        if meta[L.M_NEVENTS] != 0:
            _notify(sim, st)
        if st[P_SPENT] != 0:
            pass
        elif st[P_ARMED] == 0 and st[P_WAIT_REARM] == 0:
            if arm_bar >= 0 and i >= arm_bar:
                _send_ladder(sim, st, ladder_refs, i, c[i], lp, n_lp, stop, costs)
        elif st[P_WAIT_REARM] != 0:
            if c[i] > zone_top:
                st[P_WAIT_REARM] = 0.0
                _send_ladder(sim, st, ladder_refs, i, c[i], lp, n_lp, stop, costs)
        else:
            _manage(
                sim,
                st,
                ladder_refs,
                exit_refs,
                i,
                c[i],
                stop,
                targets,
                weights,
                n_t,
                stop_mode,
                breakeven,
                rearm,
                max_wait,
            )
        close_bar(acct, i, c[i], eq, pos)
    finish(sim)


@njit(cache=True, nogil=True)
def batch_swing(
    o,
    h,
    lo,
    c,
    lo_row,
    hi_row,
    book_cap,
    arm_bar,
    lp,
    n_lp,
    zone_top,
    stop,
    targets,
    weights,
    n_t,
    stop_mode,
    breakeven,
    rearm,
    max_wait,
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
        sim = B.new_sim(n, cash, False, book_cap)
        eq = np.empty(n)
        pos = np.empty(n)
        run_swing(
            o,
            h,
            lo,
            c,
            arm_bar[j],
            lp[j],
            n_lp[j],
            zone_top[j],
            stop[j],
            targets[j],
            weights[j],
            n_t[j],
            stop_mode[j],
            breakeven[j],
            rearm[j],
            max_wait[j],
            costs.copy(),
            sim,
            eq,
            pos,
        )
        score(j, sim, eq, pos, env, out, rets, want_returns, status)
