"""``compute_metrics`` (:mod:`engine.analysis.metrics`) on arrays, compiled: a row per combination.

Every formula is the reference's (the :mod:`engine.analysis.metrics` docstring), with the same
order of operations and the same reductions (NumPy's pairwise sums, see :mod:`engine.fast.numeric`),
so the two agree to the last bit on the same equity curve and trades. Powers are taken as
``float ** float`` (C ``pow``), as Python does for ``growth ** (252 / n)``; NumPy and numba would
otherwise use repeated multiplication for an integer exponent.

The output row holds :data:`NUM_KEYS` (``METRIC_KEYS`` without the ``start``
and ``end`` date strings, which are the same for every combination) in that order.
"""

from __future__ import annotations

import math

import numpy as np

from engine.analysis.metrics import METRIC_KEYS
from engine.fast.jit import njit
from engine.fast.layout import R_BARS, R_COMM, R_OPEN, R_PNL, R_RET, R_SIDE
from engine.fast.numeric import is_constant, np_extreme, np_mean, np_std1, np_sum

#: Numeric metric keys, in :data:`engine.analysis.metrics.METRIC_KEYS` order.
NUM_KEYS: list[str] = [k for k in METRIC_KEYS if k not in ("start", "end")]
N_METRICS = len(NUM_KEYS)
(
    K_BARS,
    K_EXPOSURE,
    K_FINAL,
    K_TOTAL,
    K_CAGR,
    K_VOL,
    K_BH,
    K_EXCESS,
    K_BEST_DAY,
    K_WORST_DAY,
    K_MDD,
    K_MDD_DAYS,
    K_AVG_DD,
    K_SHARPE,
    K_SORTINO,
    K_CALMAR,
    K_ALPHA,
    K_BETA,
    K_NTRADES,
    K_NOPEN,
    K_WINRATE,
    K_AVG_RET,
    K_AVG_WIN,
    K_AVG_LOSS,
    K_WL,
    K_BEST_TRADE,
    K_WORST_TRADE,
    K_PF,
    K_EXPECTANCY,
    K_SQN,
    K_MAX_WINS,
    K_MAX_LOSSES,
    K_AVG_BARS,
    K_COMM,
    K_EXP_LONG,
    K_EXP_SHORT,
    K_N_LONG,
    K_N_SHORT,
    K_WR_LONG,
    K_WR_SHORT,
) = range(40)
assert N_METRICS == 40


@njit(cache=True)
def _cagr(first: float, last: float, n_ret: int, ppy: float) -> float:
    if n_ret < 1 or first <= 0:
        return np.nan
    growth = last / first
    if growth <= 0:
        return -1.0 if growth == 0 else np.nan
    return growth ** (ppy / n_ret) - 1.0


@njit(cache=True)
def _returns_block(
    out: np.ndarray, eq: np.ndarray, r: np.ndarray, bh_total: float, ppy: float
) -> None:
    n = eq.shape[0]
    m = n - 1
    total = eq[n - 1] / eq[0] - 1.0 if eq[0] > 0 else np.nan
    out[K_FINAL] = eq[n - 1]
    out[K_TOTAL] = total
    out[K_CAGR] = _cagr(eq[0], eq[n - 1], m, ppy)
    if m >= 2:
        out[K_VOL] = 0.0 if is_constant(r, m) else np_std1(r, m) * math.sqrt(ppy)
    else:
        out[K_VOL] = np.nan
    out[K_BH] = bh_total
    out[K_EXCESS] = total - bh_total
    out[K_BEST_DAY] = np_extreme(r, m, True) if m > 0 else np.nan
    out[K_WORST_DAY] = np_extreme(r, m, False) if m > 0 else np.nan


@njit(cache=True)
def _drawdown_block(out: np.ndarray, eq: np.ndarray, days: np.ndarray) -> None:
    """Episodes as ``engine.analysis.returns.drawdown_episodes``: depth, calendar days, mean."""
    n = eq.shape[0]
    peak = eq[0]
    depths = np.empty(n)
    n_ep = 0
    longest = 0
    in_dd = False
    start = 0
    trough = 0.0
    for t in range(n + 1):
        if t < n:
            if eq[t] > peak:
                peak = eq[t]
            dd = eq[t] / peak - 1.0
            under = dd < 0
        else:
            dd = 0.0
            under = False
        if under and not in_dd:
            in_dd = True
            start = t
            trough = dd
        elif under and dd < trough:
            trough = dd
        elif not under and in_dd:
            in_dd = False
            recovery = t if t < n else n - 1
            depths[n_ep] = trough
            n_ep += 1
            span = days[recovery] - days[start - 1]
            if span > longest:
                longest = span
    if n_ep == 0:
        out[K_MDD] = 0.0
        out[K_MDD_DAYS] = 0.0
        out[K_AVG_DD] = 0.0
        return
    out[K_MDD] = np_extreme(depths, n_ep, False)
    out[K_MDD_DAYS] = longest
    out[K_AVG_DD] = np_mean(depths, n_ep)


@njit(cache=True)
def _ratio_block(out: np.ndarray, r: np.ndarray, rf_d: float, ppy: float) -> None:
    m = r.shape[0]
    excess = r - rf_d
    if m < 2 or is_constant(excess, m):
        out[K_SHARPE] = np.nan
    else:
        out[K_SHARPE] = np_mean(excess, m) / np_std1(excess, m) * math.sqrt(ppy)
    out[K_SORTINO] = np.nan
    if m >= 2:
        down = np.empty(m)
        for i in range(m):
            e = excess[i] if excess[i] < 0.0 else 0.0
            down[i] = e * e
        dd = math.sqrt(np_mean(down, m))
        if dd != 0:
            out[K_SORTINO] = np_mean(excess, m) / dd * math.sqrt(ppy)
    mdd = out[K_MDD]
    cagr = out[K_CAGR]
    out[K_CALMAR] = np.nan if (np.isnan(cagr) or np.isnan(mdd) or mdd == 0) else cagr / abs(mdd)


@njit(cache=True)
def _alpha_beta(
    out: np.ndarray,
    eq: np.ndarray,
    common: np.ndarray,
    x: np.ndarray,
    x_ok: bool,
    rf_d: float,
    ppy: float,
) -> None:
    """CAPM alpha/beta against benchmark returns ``x`` on the common dates ``common``."""
    out[K_ALPHA] = np.nan
    out[K_BETA] = np.nan
    k = common.shape[0]
    if k < 3 or not x_ok:
        return
    y = np.empty(k - 1)
    for j in range(k - 1):
        y[j] = (eq[common[j + 1]] / eq[common[j]] - 1.0) - rf_d
    mx = np_mean(x, k - 1)
    xc = x - mx
    prod = xc * y
    sq = xc * xc
    beta = np_mean(prod, k - 1) / np_mean(sq, k - 1)
    daily_alpha = np_mean(y, k - 1) - beta * mx
    out[K_ALPHA] = (1.0 + daily_alpha) ** ppy - 1.0
    out[K_BETA] = beta


@njit(cache=True)
def _trade_block(out: np.ndarray, trades: np.ndarray, n_tr: int) -> None:
    pnl = np.empty(n_tr)
    ret = np.empty(n_tr)
    bars = np.empty(n_tr)
    wins_r = np.empty(n_tr)
    loss_r = np.empty(n_tr)
    comm = np.empty(n_tr)
    n = nw = nl = n_open = 0
    n_short = w_long = w_short = 0
    run_w = run_l = best_w = best_l = 0
    for t in range(n_tr):
        comm[t] = trades[t, R_COMM]
        if trades[t, R_OPEN] != 0.0:
            n_open += 1
            continue
        p = trades[t, R_PNL]
        if trades[t, R_SIDE] < 0:
            n_short += 1
            w_short += 1 if p > 0 else 0
        else:
            w_long += 1 if p > 0 else 0
        pnl[n] = p
        ret[n] = trades[t, R_RET]
        bars[n] = trades[t, R_BARS]
        if p > 0:
            wins_r[nw] = ret[n]
            nw += 1
        elif p < 0:
            loss_r[nl] = ret[n]
            nl += 1
        run_w = run_w + 1 if p > 0 else 0
        run_l = run_l + 1 if p < 0 else 0
        best_w = max(best_w, run_w)
        best_l = max(best_l, run_l)
        n += 1
    avg_win = np_mean(wins_r, nw)
    avg_loss = np_mean(loss_r, nl)
    out[K_NTRADES] = n
    out[K_NOPEN] = n_open
    out[K_WINRATE] = nw / n if n else np.nan
    out[K_AVG_RET] = np_mean(ret, n)
    out[K_AVG_WIN] = avg_win
    out[K_AVG_LOSS] = avg_loss
    out[K_WL] = avg_win / abs(avg_loss) if avg_loss < 0 else np.nan
    out[K_BEST_TRADE] = np_extreme(ret, n, True) if n else np.nan
    out[K_WORST_TRADE] = np_extreme(ret, n, False) if n else np.nan
    out[K_PF] = _profit_factor(pnl, n) if n else np.nan
    out[K_EXPECTANCY] = np_mean(pnl, n)
    if n < 2 or is_constant(ret, n):
        out[K_SQN] = np.nan
    else:
        out[K_SQN] = math.sqrt(n) * np_mean(ret, n) / np_std1(ret, n)
    out[K_MAX_WINS] = best_w
    out[K_MAX_LOSSES] = best_l
    out[K_AVG_BARS] = np_mean(bars, n)
    out[K_COMM] = np_sum(comm, n_tr) if n_tr else 0.0
    n_long = n - n_short
    out[K_N_LONG] = n_long
    out[K_N_SHORT] = n_short
    out[K_WR_LONG] = w_long / n_long if n_long else np.nan
    out[K_WR_SHORT] = w_short / n_short if n_short else np.nan


@njit(cache=True)
def _profit_factor(pnl: np.ndarray, n: int) -> float:
    gains = np.empty(n)
    losses = np.empty(n)
    ng = nl = 0
    for i in range(n):
        if pnl[i] > 0:
            gains[ng] = pnl[i]
            ng += 1
        elif pnl[i] < 0:
            losses[nl] = pnl[i]
            nl += 1
    gross_profit = np_sum(gains, ng)
    gross_loss = -np_sum(losses, nl)
    if gross_loss > 0:
        return gross_profit / gross_loss
    return np.inf if gross_profit > 0 else np.nan


@njit(cache=True)
def daily_returns_nb(eq: np.ndarray) -> np.ndarray:
    """``engine.analysis.returns.daily_returns`` compiled: ``E_t / E_{t-1} - 1``, n - 1 values."""
    n = eq.shape[0]
    r = np.empty(max(n - 1, 0))
    for t in range(1, n):
        r[t - 1] = eq[t] / eq[t - 1] - 1.0
    return r


@njit(cache=True)
def metrics_row(
    out: np.ndarray,
    eq: np.ndarray,
    pos: np.ndarray,
    days: np.ndarray,
    trades: np.ndarray,
    n_tr: int,
    bh_total: float,
    common: np.ndarray,
    bench_x: np.ndarray,
    bench_ok: bool,
    rf_d: float,
    ppy: float,
) -> None:
    """Fill ``out`` (:data:`NUM_KEYS`) for one run: equity and position per bar, calendar day
    numbers per bar, the round trips (``R_*`` rows), buy-and-hold total return, benchmark."""
    n = eq.shape[0]
    held = longs = 0
    for t in range(n):
        if pos[t] != 0:
            held += 1
            if pos[t] > 0:
                longs += 1
    out[K_BARS] = n
    out[K_EXPOSURE] = held / n
    out[K_EXP_LONG] = longs / n
    out[K_EXP_SHORT] = (held - longs) / n
    r = daily_returns_nb(eq)
    _returns_block(out, eq, r, bh_total, ppy)
    _drawdown_block(out, eq, days)
    _ratio_block(out, r, rf_d, ppy)
    _alpha_beta(out, eq, common, bench_x, bench_ok, rf_d, ppy)
    _trade_block(out, trades, n_tr)
