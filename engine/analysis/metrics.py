"""Performance metrics of one run: a pure function of an equity curve and a trades table.

This module imports only numpy and pandas (never backtrader, never matplotlib), so any engine's
output can be scored and a test can feed it a hand-computed 5-row frame. Entry point:
:func:`compute_metrics`. Returns and drawdowns are :mod:`engine.analysis.returns`; one-line notes
on edge cases are :mod:`engine.analysis.metric_notes`.

Conventions
-----------
* ``r_t = E_t / E_{t-1} - 1`` are the *daily simple returns* of the equity curve ``E``
  (``n = bars - 1`` of them). ``P = periods_per_year`` (default 252 sessions).
* ``risk_free`` is an *annual* rate; its daily equivalent is ``rf_d = (1 + risk_free)^(1/P) - 1``
  (geometric, as quantstats' ``to_excess_returns``).
* Fractions, not percents (``0.12`` is 12 %); drawdowns are negative.
* A value that cannot be defined is ``NaN`` (``inf`` only for ``profit_factor`` with no loss),
  never a silent 0 and never an exception; :func:`metric_notes` says why.
* "Zero spread": values whose max - min is at most 1e-12 (floating-point residue, e.g. the
  returns of a curve compounded at a constant rate) have standard deviation 0, so a ratio
  over it is NaN (empyrical's ``_zero_dispersion_std`` does the same for exactly equal values).

Keys (in this order, :data:`METRIC_KEYS`)
-----------------------------------------
======================  ========================================================================
**period**
start, end              first / last date of the equity curve, ISO ``YYYY-MM-DD`` strings
bars                    number of equity points (sessions)
exposure                share of bars whose closing position is non-zero (from ``position``;
                        without it, from the trades: a bar is held when
                        ``entry_date <= bar < exit_date``, or ``<= exit_date`` for an open trade)
**returns**
final_equity            last equity value (dollars)
total_return            ``E_last / E_first - 1``
cagr                    ``(E_last / E_first)^(P / n) - 1``: years = *number of daily returns*
                        ``n`` / P (not calendar days: quantstats' ``cagr`` uses calendar days
                        / 365, so it differs slightly); extrapolates when ``n < P``
volatility              ``std(r, ddof=1) * sqrt(P)``
buy_hold_return         ``B_last / B_first - 1`` of the ``buy_hold`` equity curve
excess_return           ``total_return - buy_hold_return``
best_day, worst_day     ``max(r)``, ``min(r)``
**risk**
max_drawdown            ``min(E_t / max_{s<=t} E_s - 1)`` (<= 0; the first bar is the first peak)
max_drawdown_duration   longest drawdown episode, in calendar days from its peak (last bar at
                        the old high) to its recovery (first bar back at or above it), or to
                        the last bar if not recovered; 0 if equity never fell
avg_drawdown            mean of the depths (minimum drawdown) of the distinct episodes (<= 0)
sharpe                  ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(P)``
sortino                 ``mean(r - rf_d) / DD * sqrt(P)`` with downside deviation
                        ``DD = sqrt(mean(min(r - rf_d, 0)^2))`` over *all* days (Sortino & Price /
                        Red Rock; same as empyrical and quantstats)
calmar                  ``cagr / |max_drawdown|``
alpha, beta             CAPM on daily returns over the dates common to equity and ``benchmark``:
                        ``x = m - rf_d``, ``y = r - rf_d``; ``beta = cov(x, y) / var(x)``;
                        daily ``a = mean(y) - beta * mean(x)``; ``alpha = (1 + a)^P - 1``
                        (annualised by compounding, as empyrical)
**trades** (closed round trips, ``is_open`` False, in exit-date order)
n_trades                number of closed round trips
n_open                  positions still open at the end (valued at the last close in the
                        equity curve, left out of every trade statistic below except commission)
win_rate                share of closed *trades* with ``pnl > 0`` (winning trades, not winning
                        days as in quantstats); break-even trades count in the denominator
avg_trade_return        mean ``return`` (``pnl / buy cost``) of closed trades
avg_win, avg_loss       mean ``return`` of winning (``pnl > 0``) / losing (``pnl < 0``) trades
win_loss_ratio          ``avg_win / |avg_loss|``
best_trade, worst_trade max / min ``return`` of closed trades
profit_factor           gross profit / gross loss, in dollars (``sum(pnl > 0) / |sum(pnl < 0)|``)
expectancy              mean ``pnl`` per closed trade (dollars)
sqn                     Van Tharp's System Quality Number over trade returns:
                        ``sqrt(N) * mean(return) / std(return, ddof=1)`` (no cap on N)
max_consecutive_wins    longest run of winning closed trades (a break-even trade ends a run)
max_consecutive_losses  longest run of losing closed trades
avg_bars_held           mean ``bars_held`` of closed trades
commission_paid         sum of ``commission`` over *all* trades, open ones included (dollars)
**sides** (long and short; a trades table without ``side`` is all long)
exposure_long           share of bars whose closing position is > 0 (from ``position``, else
                        the long trades' dates)
exposure_short          share of bars whose closing position is < 0
n_long, n_short         closed long / short round trips
win_rate_long           share of closed long trades with ``pnl > 0`` (NaN with none)
win_rate_short          share of closed short trades with ``pnl > 0`` (NaN with none)
======================  ========================================================================

Compared with other libraries
-----------------------------
``tests/analysis/test_metrics.py`` checks volatility, sharpe, sortino, max_drawdown, cagr, calmar, alpha
and beta against empyrical-reloaded on a seeded random curve (same formulas: agreement to
1e-10). Known differences: with no day below the risk-free rate empyrical's Sortino is ``inf``,
ours NaN (with a note); quantstats' ``cagr`` counts years as calendar days / 365, ours as
daily returns / 252; quantstats' ``win_rate`` counts winning days, ours winning trades.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.returns import daily_returns, daily_risk_free, drawdown_episodes

#: Key groups, in display order; the report may title each group.
METRIC_GROUPS: dict[str, list[str]] = {
    "period": ["start", "end", "bars", "exposure"],
    "returns": ["final_equity", "total_return", "cagr", "volatility", "buy_hold_return"]
    + ["excess_return", "best_day", "worst_day"],
    "risk": ["max_drawdown", "max_drawdown_duration", "avg_drawdown", "sharpe", "sortino"]
    + ["calmar", "alpha", "beta"],
    "trades": ["n_trades", "n_open", "win_rate", "avg_trade_return", "avg_win", "avg_loss"]
    + ["win_loss_ratio", "best_trade", "worst_trade", "profit_factor", "expectancy", "sqn"]
    + ["max_consecutive_wins", "max_consecutive_losses", "avg_bars_held", "commission_paid"],
    "sides": ["exposure_long", "exposure_short", "n_long", "n_short", "win_rate_long"]
    + ["win_rate_short"],
}
#: Every key of :func:`compute_metrics`, in order.
METRIC_KEYS: list[str] = [key for keys in METRIC_GROUPS.values() for key in keys]
#: Keys whose values are integers (:func:`compute_metrics` gives ``int``, NaN when undefined).
INT_KEYS = frozenset(
    {"bars", "max_drawdown_duration", "n_trades", "n_open", "n_long", "n_short"}
    | {"max_consecutive_wins", "max_consecutive_losses"}
)


def plain_columns(columns: dict[str, Any]) -> dict[str, list[Any]]:
    """Metric columns (numpy arrays or lists; :func:`engine.fast.api.metrics_arrays`) as lists
    of Python scalars, as :func:`compute_metrics` gives them (an integer metric's NaN stays a
    float)."""
    out: dict[str, list[Any]] = {}
    for key, values in columns.items():
        if not isinstance(values, np.ndarray):
            out[key] = values
        elif key in INT_KEYS and values.dtype.kind == "f":
            out[key] = [int(v) if v == v else v for v in values.tolist()]  # NaN stays a float
        else:
            out[key] = values.tolist()
    return out


NAN = float("nan")
#: Largest max - min of a set of returns still treated as zero spread (float residue).
ZERO_SPREAD = 1e-12


# --------------------------------------------------------------------------- helpers
def _is_constant(values: np.ndarray) -> bool:
    """True when the values spread by at most 1e-12: their standard deviation is taken as 0.

    Returns of a curve compounded at a constant rate differ only in the last bits after
    ``pct_change``; dividing by that residue would give an arbitrary ratio near 1e15.
    """
    return bool(values.size > 0 and np.ptp(values) <= ZERO_SPREAD)


def _mean(values: np.ndarray) -> float:
    """Mean, or NaN for no values (no numpy warning)."""
    return float(np.mean(values)) if values.size else NAN


def _clean_equity(equity: pd.Series) -> pd.Series:
    """Equity as floats in date order, NaN rows dropped."""
    eq = equity.astype(float).dropna()
    return eq.sort_index() if not eq.index.is_monotonic_increasing else eq


def _iso(stamp: Any) -> str:
    return pd.Timestamp(stamp).date().isoformat()


# --------------------------------------------------------------------------- period
def exposure_from_trades(index: pd.Index, trades: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the bars in ``index`` whose closing position is non-zero, from trades.

    A closed trade is held at the close of ``entry_date <= bar < exit_date`` (its exit fill
    makes it flat by that close); an open trade through its ``exit_date`` (the last bar), or to
    the end when ``exit_date`` is missing. A same-session round trip holds no close.
    """
    held = np.zeros(len(index), dtype=bool)
    if len(trades) == 0 or len(index) == 0:
        return held
    dates = pd.DatetimeIndex(index)
    is_open = _open_mask(trades)
    for entry, exit_, open_ in zip(trades["entry_date"], trades["exit_date"], is_open, strict=True):
        after = np.asarray(dates >= pd.Timestamp(entry))
        if pd.isna(exit_):
            before = np.ones(len(dates), dtype=bool)
        elif open_:
            before = np.asarray(dates <= pd.Timestamp(exit_))
        else:
            before = np.asarray(dates < pd.Timestamp(exit_))
        held |= after & before
    return held


def period_metrics(
    equity: pd.Series, trades: pd.DataFrame, position: pd.Series | None = None
) -> dict[str, Any]:
    """``start``, ``end``, ``bars`` and ``exposure`` (share of bars with a non-zero position).

    ``position`` is reindexed to the equity dates (missing = flat); without it, exposure comes
    from the trades' dates (:func:`exposure_from_trades`). Empty equity gives NaN everywhere.
    """
    bars = len(equity)
    if bars == 0:
        return {"start": NAN, "end": NAN, "bars": 0, "exposure": NAN}
    if position is not None:
        pos = position.reindex(equity.index).astype(float).fillna(0.0).to_numpy()
        held = pos != 0
    else:
        held = exposure_from_trades(equity.index, trades)
    return {
        "start": _iso(equity.index[0]),
        "end": _iso(equity.index[-1]),
        "bars": bars,
        "exposure": float(held.mean()),
    }


# --------------------------------------------------------------------------- returns
def cagr(equity: pd.Series, periods_per_year: int = 252) -> float:
    """``(E_last / E_first)^(P / n) - 1`` with ``n = len(equity) - 1`` daily returns.

    Years are counted as ``n / P`` (sessions, as empyrical), not calendar days. NaN with no
    daily return or a non-positive start; ``-1`` when the account ends at exactly 0.
    """
    n = len(equity) - 1
    if n < 1 or equity.iloc[0] <= 0:
        return NAN
    growth = float(equity.iloc[-1] / equity.iloc[0])
    if growth <= 0:
        return -1.0 if growth == 0 else NAN
    return growth ** (periods_per_year / n) - 1.0


def _total_return(curve: pd.Series | None) -> float:
    """``last / first - 1`` of a curve, NaN when missing, empty or starting at <= 0."""
    if curve is None:
        return NAN
    c = curve.astype(float).dropna()
    if len(c) == 0 or c.iloc[0] <= 0:
        return NAN
    return float(c.iloc[-1] / c.iloc[0] - 1.0)


def returns_metrics(
    equity: pd.Series, buy_hold: pd.Series | None = None, periods_per_year: int = 252
) -> dict[str, float]:
    """Return metrics of the equity curve (see the module docstring for each formula).

    ``volatility`` is ``std(r, ddof=1) * sqrt(P)``: NaN with fewer than 2 daily returns,
    exactly 0 when every daily return is equal. ``buy_hold_return`` is the total return of the
    ``buy_hold`` curve as given (the caller runs it on the same window); NaN when missing.
    """
    r = daily_returns(equity).to_numpy()
    total = _total_return(equity)
    bh = _total_return(buy_hold)
    if r.size >= 2:
        vol = 0.0 if _is_constant(r) else float(np.std(r, ddof=1) * math.sqrt(periods_per_year))
    else:
        vol = NAN
    return {
        "final_equity": float(equity.iloc[-1]) if len(equity) else NAN,
        "total_return": total,
        "cagr": cagr(equity, periods_per_year),
        "volatility": vol,
        "buy_hold_return": bh,
        "excess_return": total - bh,
        "best_day": float(r.max()) if r.size else NAN,
        "worst_day": float(r.min()) if r.size else NAN,
    }


# --------------------------------------------------------------------------- drawdowns
def drawdown_metrics(
    equity: pd.Series, episodes: pd.DataFrame | None = None
) -> dict[str, float | int]:
    """``max_drawdown``, ``max_drawdown_duration`` (days) and ``avg_drawdown``.

    ``max_drawdown_duration`` is the *longest* episode (not necessarily the deepest one's).
    With no drawdown all three are 0 (equity never fell; :func:`metric_notes` says so).
    Empty equity gives NaN.
    """
    if len(equity) == 0:
        return {"max_drawdown": NAN, "max_drawdown_duration": NAN, "avg_drawdown": NAN}
    if episodes is None:
        episodes = drawdown_episodes(equity)
    if len(episodes) == 0:
        return {"max_drawdown": 0.0, "max_drawdown_duration": 0, "avg_drawdown": 0.0}
    return {
        "max_drawdown": float(episodes["depth"].min()),
        "max_drawdown_duration": int(episodes["days"].max()),
        "avg_drawdown": float(episodes["depth"].mean()),
    }


# --------------------------------------------------------------------------- ratios
def sharpe_ratio(returns: np.ndarray, rf_daily: float = 0.0, periods_per_year: int = 252) -> float:
    """``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(P)``; NaN for < 2 returns or zero spread."""
    excess = np.asarray(returns, dtype=float) - rf_daily
    if excess.size < 2 or _is_constant(excess):
        return NAN
    return float(excess.mean() / excess.std(ddof=1) * math.sqrt(periods_per_year))


def sortino_ratio(returns: np.ndarray, rf_daily: float = 0.0, periods_per_year: int = 252) -> float:
    """``mean(r - rf_d) / sqrt(mean(min(r - rf_d, 0)^2)) * sqrt(P)``, the mean over ALL days.

    NaN for < 2 returns, or when no day falls below ``rf_d`` (downside deviation 0; empyrical
    returns ``inf`` there, we prefer an undefined value with a note).
    """
    excess = np.asarray(returns, dtype=float) - rf_daily
    if excess.size < 2:
        return NAN
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside == 0:
        return NAN
    return float(excess.mean() / downside * math.sqrt(periods_per_year))


def calmar_ratio(cagr_value: float, max_drawdown: float) -> float:
    """``cagr / |max_drawdown|``; NaN when either is NaN or there was no drawdown."""
    if math.isnan(cagr_value) or math.isnan(max_drawdown) or max_drawdown == 0:
        return NAN
    return cagr_value / abs(max_drawdown)


def alpha_beta(
    equity: pd.Series,
    benchmark: pd.Series | None,
    rf_daily: float = 0.0,
    periods_per_year: int = 252,
) -> tuple[float, float]:
    """CAPM ``(alpha, beta)`` of the equity's daily returns against a benchmark price series.

    Both series are first restricted to their common dates, then turned into daily returns on
    that common grid (so each pair of returns spans the same sessions). With
    ``x = m - rf_d``, ``y = r - rf_d``: ``beta = cov(x, y) / var(x)``,
    ``a = mean(y) - beta * mean(x)``, ``alpha = (1 + a)^P - 1`` (compounded, as empyrical).
    NaN, NaN without a benchmark, with < 2 common returns, or when the benchmark never moved.
    """
    if benchmark is None:
        return NAN, NAN
    bench = benchmark.astype(float).dropna()
    common = equity.index.intersection(bench.index)
    if len(common) < 3:
        return NAN, NAN
    y = daily_returns(equity.loc[common]).to_numpy() - rf_daily
    x = daily_returns(bench.loc[common]).to_numpy() - rf_daily
    if _is_constant(x):
        return NAN, NAN
    xc = x - x.mean()
    beta = float(np.mean(xc * y) / np.mean(xc**2))
    daily_alpha = float(y.mean() - beta * x.mean())
    return (1.0 + daily_alpha) ** periods_per_year - 1.0, beta


def risk_metrics(
    equity: pd.Series,
    benchmark: pd.Series | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
    episodes: pd.DataFrame | None = None,
) -> dict[str, float | int]:
    """Drawdowns, Sharpe, Sortino, Calmar, alpha and beta (formulas in each helper).

    ``episodes``: :func:`drawdown_episodes` of ``equity`` when the caller has them already.
    """
    rf_d = daily_risk_free(risk_free, periods_per_year)
    r = daily_returns(equity).to_numpy()
    out: dict[str, float | int] = dict(drawdown_metrics(equity, episodes))
    alpha, beta = alpha_beta(equity, benchmark, rf_d, periods_per_year)
    out.update(
        sharpe=sharpe_ratio(r, rf_d, periods_per_year),
        sortino=sortino_ratio(r, rf_d, periods_per_year),
        calmar=calmar_ratio(cagr(equity, periods_per_year), float(out["max_drawdown"])),
        alpha=alpha,
        beta=beta,
    )
    return out


# --------------------------------------------------------------------------- trades
def _open_mask(trades: pd.DataFrame) -> np.ndarray:
    """``is_open`` as a bool array (missing column or value = closed)."""
    if "is_open" not in trades.columns:
        return np.zeros(len(trades), dtype=bool)
    return trades["is_open"].eq(True).to_numpy(dtype=bool)


def closed_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Closed round trips in exit-date order (stable: ties keep their input order)."""
    closed = trades.loc[~_open_mask(trades)]
    if "exit_date" in closed.columns and len(closed):
        closed = closed.sort_values("exit_date", kind="mergesort")
    return closed


def max_streak(flags: np.ndarray) -> int:
    """Length of the longest run of True values (0 for none)."""
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def profit_factor(pnl: np.ndarray) -> float:
    """Gross profit / gross loss; ``inf`` with profit and no loss; NaN with neither."""
    gross_profit = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    if gross_loss > 0:
        return gross_profit / gross_loss
    return math.inf if gross_profit > 0 else NAN


def sqn(returns: np.ndarray) -> float:
    """Van Tharp's SQN ``sqrt(N) * mean / std(ddof=1)``; NaN for N < 2 or zero spread."""
    if returns.size < 2 or _is_constant(returns):
        return NAN
    return float(math.sqrt(returns.size) * returns.mean() / returns.std(ddof=1))


def _short_mask(trades: pd.DataFrame) -> np.ndarray:
    """True for the short round trips (a table without ``side`` is all long)."""
    if "side" not in trades or len(trades) == 0:
        return np.zeros(len(trades), dtype=bool)
    return (trades["side"].astype(str) == "short").to_numpy()


def side_metrics(
    equity: pd.Series, trades: pd.DataFrame, position: pd.Series | None = None
) -> dict[str, float | int]:
    """Exposure, closed-trade counts and win rates of the long and the short side."""
    bars = len(equity)
    short = _short_mask(trades)
    if bars == 0:
        long_x = short_x = NAN
    elif position is not None:
        pos = position.reindex(equity.index).astype(float).fillna(0.0).to_numpy()
        long_x, short_x = float((pos > 0).mean()), float((pos < 0).mean())
    else:
        long_x = float(exposure_from_trades(equity.index, trades[~short]).mean())
        short_x = float(exposure_from_trades(equity.index, trades[short]).mean())
    closed = ~_open_mask(trades) if len(trades) else np.zeros(0, dtype=bool)
    pnl = trades["pnl"].to_numpy(dtype=float) if len(trades) else np.array([])
    out: dict[str, float | int] = {"exposure_long": long_x, "exposure_short": short_x}
    for name, mask in (("long", closed & ~short), ("short", closed & short)):
        won = pnl[mask] > 0
        out[f"n_{name}"] = int(mask.sum())
        out[f"win_rate_{name}"] = float(won.mean()) if won.size else NAN
    return {k: out[k] for k in METRIC_GROUPS["sides"]}


def trade_metrics(trades: pd.DataFrame) -> dict[str, float | int]:
    """Statistics of the closed round trips (open ones only count in ``n_open`` and
    ``commission_paid``). Wins are ``pnl > 0``, losses ``pnl < 0``; ``win_rate`` is the share
    of winning *trades*. Averages over an empty set are NaN (never 0)."""
    closed = closed_trades(trades)
    pnl = closed["pnl"].to_numpy(dtype=float) if len(closed) else np.array([])
    ret = closed["return"].to_numpy(dtype=float) if len(closed) else np.array([])
    bars = closed["bars_held"].to_numpy(dtype=float) if len(closed) else np.array([])
    wins, losses = pnl > 0, pnl < 0
    avg_win, avg_loss = _mean(ret[wins]), _mean(ret[losses])
    commission = trades["commission"].astype(float).sum() if len(trades) else 0.0
    return {
        "n_trades": len(closed),
        "n_open": int(_open_mask(trades).sum()),
        "win_rate": float(wins.mean()) if pnl.size else NAN,
        "avg_trade_return": _mean(ret),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "win_loss_ratio": avg_win / abs(avg_loss) if avg_loss < 0 else NAN,
        "best_trade": float(ret.max()) if ret.size else NAN,
        "worst_trade": float(ret.min()) if ret.size else NAN,
        "profit_factor": profit_factor(pnl) if pnl.size else NAN,
        "expectancy": _mean(pnl),
        "sqn": sqn(ret),
        "max_consecutive_wins": max_streak(wins),
        "max_consecutive_losses": max_streak(losses),
        "avg_bars_held": _mean(bars),
        "commission_paid": float(commission),
    }


# --------------------------------------------------------------------------- public API
def compute_metrics(
    equity: pd.Series,
    trades: pd.DataFrame,
    *,
    position: pd.Series | None = None,
    buy_hold: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
) -> pd.Series:
    """Score one run: every metric of :data:`METRIC_KEYS`, in that order.

    Parameters
    ----------
    equity : account value at each session close, DatetimeIndex (NaN rows are dropped).
    trades : round trips, columns as ``engine.result.TRADE_COLUMNS``.
    position : shares held at each close; used for ``exposure`` (else the trades' dates).
    buy_hold : equity curve of the buy-and-hold run on the same window and costs.
    benchmark : market price series (e.g. SPY adjusted close) for ``alpha`` / ``beta``.
    risk_free : annual risk-free rate (fraction); daily ``(1 + rf)^(1/P) - 1``.
    periods_per_year : sessions per year ``P`` for annualising (252).

    Returns
    -------
    pd.Series (object dtype) keyed by :data:`METRIC_KEYS`; every definition is in the module
    docstring. Undefined values are NaN (``profit_factor`` may be ``inf``). ``attrs`` carries
    the context :func:`metric_notes` needs (``periods_per_year``, ``has_benchmark``,
    ``has_buy_hold``, ``drawdown_recovered``, ``exposure_from``).

    Raises
    ------
    ValueError : ``periods_per_year`` is not positive (a caller error, not a data edge case).
    """
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    eq = _clean_equity(equity)
    values: dict[str, Any] = {}
    values.update(period_metrics(eq, trades, position))
    values.update(returns_metrics(eq, buy_hold, periods_per_year))
    episodes = drawdown_episodes(eq) if len(eq) else pd.DataFrame()
    values.update(
        risk_metrics(eq, benchmark, risk_free, periods_per_year, episodes if len(eq) else None)
    )
    values.update(trade_metrics(trades))
    values.update(side_metrics(eq, trades, position))
    out = pd.Series({key: values[key] for key in METRIC_KEYS}, dtype=object)
    longest = episodes.sort_values("days", kind="mergesort").iloc[-1] if len(episodes) else None
    out.attrs = {
        "periods_per_year": periods_per_year,
        "has_benchmark": benchmark is not None,
        "has_buy_hold": buy_hold is not None,
        "drawdown_recovered": True if longest is None else bool(longest["recovered"]),
        "exposure_from": "position" if position is not None else "trades",
    }
    return out
