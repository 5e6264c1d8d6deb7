"""How lucky was it? Monte Carlo statistics of one run: pure numpy/pandas, seeded, vectorised.

Every function here is a pure function of an equity curve (and a trades table), like
:mod:`engine.analysis.metrics`, so any engine's output can be resampled and a test can feed it a
hand-made path. The execution-noise replays, which need the engine itself, live with the
engine; they report through the same :class:`MonteCarloResult` and :func:`summarize`.

Methods
-------
``trades``: bootstrap of the round trips. Each round trip is the run's own stretch of daily
    equity returns from its entry session to its exit session (costs included). A path draws
    ``K`` round trips with replacement and in random order; ``K`` is itself drawn, Poisson with
    mean the observed count (``count="poisson"``, the default: how many trades a rule triggers
    is luck too), or kept at the observed count (``count="fixed"``). The days the run was flat
    earn nothing, wherever they fall, so total return, the daily Sharpe ratio and the maximum
    drawdown of the resampled daily path follow exactly from per-trade aggregates (see
    :func:`trade_segments`); drawing the observed trades in their observed order gives back
    the run's own figures.
``block``: stationary bootstrap (Politis & Romano 1994) of the run's daily equity returns.
    Blocks start at random sessions, their lengths are geometric with mean ``block_length``
    (default: the Politis-White 2004 automatic choice with the Patton-Politis-White 2009
    correction, :func:`optimal_block_length`), and the series wraps around its end. Each path
    has as many days as the run; its equity path also feeds the fan chart.

Statistics
----------
Per path: ``total_return`` (``E_last / E_first - 1``), ``max_drawdown`` (``min E_t /
max_{s<=t} E_s - 1``, <= 0) and ``sharpe`` (daily, annualised with ``sqrt(P)``, ``ddof=1``,
NaN for a path with zero spread): the definitions of :mod:`engine.analysis.metrics`.
:func:`summarize` reports the 5 / 50 / 95 % quantiles of each, the share of paths that lose
money (``prob_loss``: total return < 0), the share whose drawdown is deeper than a threshold
(``prob_drawdown``: max drawdown < -threshold, default 25 %) and, for each statistic, the share
of paths at or below the run's own value (``observed_rank``: 0.95 = luckier than 95 % of paths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: The statistics computed for every path, in display order.
STATS = ("total_return", "max_drawdown", "sharpe")
#: Default quantiles of :func:`summarize` (the 5 / 50 / 95 % bands).
QUANTILES = (0.05, 0.5, 0.95)
#: Quantiles of the fan chart.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Default drawdown threshold of ``prob_drawdown`` (a fraction: 0.25 = deeper than -25 %).
DD_THRESHOLD = 0.25
COUNT_MODES = ("poisson", "fixed")
_ZERO_SPREAD = 1e-12  # as engine.analysis.metrics: returns spread by less than this have std 0


@dataclass(frozen=True)
class MonteCarloResult:
    """The paths of one Monte Carlo method, as plain data.

    Attributes
    ----------
    method : ``"trades"``, ``"block"`` or ``"execution"``
    seed : the seed every draw came from
    paths : one row per path, columns :data:`STATS`
    observed : the run's own value of each statistic
    settings : the method's settings (count mode, block length, ...)
    fan : equity quantiles by date (columns ``p5``, ``p25``, ``p50``, ``p75``, ``p95``; the
        run's starting equity on the first date), or None when the method has no calendar
    notes : what a reader should know (e.g. "one trade: the bootstrap repeats it")
    """

    method: str
    seed: int
    paths: pd.DataFrame
    observed: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)
    fan: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_paths(self) -> int:
        return len(self.paths)


# --------------------------------------------------------------------------- path statistics
def path_stats(
    returns: np.ndarray, risk_free: float = 0.0, periods_per_year: int = 252
) -> pd.DataFrame:
    """:data:`STATS` of each row of a ``(paths, days)`` array of daily returns.

    Equity starts at 1 before the first return; ``risk_free`` is annual (as
    :func:`engine.analysis.metrics.compute_metrics`).
    """
    r = np.atleast_2d(np.asarray(returns, dtype=float))
    growth = np.cumprod(1.0 + r, axis=1)
    curve = np.concatenate([np.ones((r.shape[0], 1)), growth], axis=1)
    peak = np.maximum.accumulate(curve, axis=1)
    rf_d = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    excess = r - rf_d
    spread = np.ptp(excess, axis=1) if r.shape[1] else np.zeros(r.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        std = excess.std(axis=1, ddof=1) if r.shape[1] > 1 else np.full(r.shape[0], np.nan)
        sharpe = excess.mean(axis=1) / std * math.sqrt(periods_per_year)
    sharpe = np.where(spread <= _ZERO_SPREAD, np.nan, sharpe)
    return pd.DataFrame(
        {
            "total_return": curve[:, -1] - 1.0,
            "max_drawdown": (curve / peak - 1.0).min(axis=1),
            "sharpe": sharpe,
        }
    )


def _equity_returns(equity: pd.Series) -> np.ndarray:
    eq = equity.astype(float).dropna().to_numpy()
    if eq.size < 2 or not np.all(np.isfinite(eq)) or np.any(eq <= 0):
        raise ValueError("the equity curve needs at least 2 positive, finite values")
    return eq[1:] / eq[:-1] - 1.0


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    return np.random.default_rng(int(seed))


# --------------------------------------------------------------------------- trade bootstrap
def trade_segments(equity: pd.Series, trades: pd.DataFrame) -> pd.DataFrame:
    """Per round trip, the aggregates of its stretch of daily returns that a bootstrap needs.

    A round trip owns the daily returns ``r_i = E_i / E_{i-1} - 1`` of the sessions from its
    entry fill to its exit fill, both included (an open trade: to the last session); a session
    shared with the previous round trip stays with that one. Columns: ``start``, ``stop`` (equity
    positions, inclusive), ``days``, ``growth`` (product of ``1 + r``), ``high`` and ``low`` (the
    highest and lowest cumulative growth inside, with 1 = the equity before entry), ``inner_dd``
    (the deepest drawdown measured from peaks inside the trade, <= 0), ``sum_r``, ``sum_r2``,
    ``r_min``, ``r_max``. The days outside every round trip are the flat days (``r = 0``).
    """
    eq = equity.astype(float)
    r = np.concatenate([[0.0], _equity_returns(eq)])
    index = pd.DatetimeIndex(eq.index)
    rows = []
    last_stop = 0
    for entry, exit_ in zip(trades["entry_date"], trades["exit_date"], strict=True):
        start = max(int(index.searchsorted(pd.Timestamp(entry))), last_stop + 1)
        stop = len(index) - 1 if pd.isna(exit_) else int(index.searchsorted(pd.Timestamp(exit_)))
        stop = min(stop, len(index) - 1)
        if stop < start:
            continue
        seg = r[start : stop + 1]
        cum = np.cumprod(1.0 + seg)
        run_peak = np.maximum.accumulate(np.concatenate([[1.0], cum]))[1:]
        rows.append(
            {
                "start": start,
                "stop": stop,
                "days": stop - start + 1,
                "growth": float(cum[-1]),
                "high": float(max(1.0, cum.max())),
                "low": float(min(1.0, cum.min())),
                "inner_dd": float(min(0.0, (cum / run_peak - 1.0).min())),
                "sum_r": float(seg.sum()),
                "sum_r2": float((seg**2).sum()),
                "r_min": float(seg.min()),
                "r_max": float(seg.max()),
            }
        )
        last_stop = stop
    cols = ["start", "stop", "days", "growth", "high", "low", "inner_dd"]
    return pd.DataFrame(rows, columns=cols + ["sum_r", "sum_r2", "r_min", "r_max"])


def draw_trades(
    n_trades: int, n_paths: int, rng: np.random.Generator, count: str = "poisson"
) -> np.ndarray:
    """``(n_paths, K_max)`` trade numbers drawn with replacement; ``-1`` pads a shorter path."""
    if count not in COUNT_MODES:
        raise ValueError(f"count={count!r}; choose one of {', '.join(COUNT_MODES)}")
    counts = (
        rng.poisson(n_trades, size=n_paths) if count == "poisson" else np.full(n_paths, n_trades)
    )
    width = max(int(counts.max()), 1)
    picks = rng.integers(0, n_trades, size=(n_paths, width))
    return np.where(np.arange(width)[None, :] < counts[:, None], picks, -1)


def _gather(seg: pd.DataFrame, picks: np.ndarray, col: str, pad: float) -> np.ndarray:
    values = np.append(seg[col].to_numpy(dtype=float), pad)  # index -1 -> the pad
    return values[picks]


def _trade_path_stats(
    seg: pd.DataFrame, picks: np.ndarray, n_returns: int, rf_d: float, periods_per_year: int
) -> pd.DataFrame:
    """Exact daily statistics of trade sequences (``picks``) from the per-trade aggregates."""
    growth = _gather(seg, picks, "growth", 1.0)
    # equity before each trade (start = 1) and the running peak before it
    before = np.cumprod(np.concatenate([np.ones((len(picks), 1)), growth[:, :-1]], axis=1), axis=1)
    top = before * _gather(seg, picks, "high", 1.0)
    peak = np.maximum.accumulate(
        np.concatenate([np.ones((len(picks), 1)), top[:, :-1]], axis=1), axis=1
    )
    # within a trade the drawdown is min(E_before * low / peak_before, the trade's own drawdown)
    dd = np.minimum(
        before * _gather(seg, picks, "low", 1.0) / peak - 1.0, _gather(seg, picks, "inner_dd", 0.0)
    )
    held = _gather(seg, picks, "days", 0.0).sum(axis=1)
    # flat days fill the run's length (none when the drawn trades overflow it)
    n = np.maximum(held, n_returns)
    s1 = _gather(seg, picks, "sum_r", 0.0).sum(axis=1) - n * rf_d
    s2 = _gather(seg, picks, "sum_r2", 0.0).sum(axis=1)
    s2 = s2 - 2 * rf_d * (s1 + n * rf_d) + n * rf_d**2
    flat = n > held
    lo = np.where(flat, 0.0, np.inf)
    hi = np.where(flat, 0.0, -np.inf)
    lo = np.minimum(lo, _gather(seg, picks, "r_min", np.inf).min(axis=1)) - rf_d
    hi = np.maximum(hi, _gather(seg, picks, "r_max", -np.inf).max(axis=1)) - rf_d
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1**2 / n) / (n - 1)
        sharpe = (s1 / n) / np.sqrt(np.maximum(var, 0.0)) * math.sqrt(periods_per_year)
    sharpe = np.where((hi - lo <= _ZERO_SPREAD) | (n < 2), np.nan, sharpe)
    return pd.DataFrame(
        {
            "total_return": growth.prod(axis=1) - 1.0,
            "max_drawdown": np.minimum(dd.min(axis=1), 0.0),
            "sharpe": sharpe,
        }
    )


def trade_bootstrap(
    equity: pd.Series,
    trades: pd.DataFrame,
    n_paths: int = 10_000,
    seed: int = 0,
    *,
    count: str = "poisson",
    include_open: bool = False,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
) -> MonteCarloResult:
    """Bootstrap of the closed round trips (order and count resampled); see the module docstring.

    A position still open at the end is left out unless ``include_open`` (its P&L is only marked
    at the last close): its sessions then count as flat days.
    """
    rng = _rng(seed)
    _check_paths(n_paths)
    is_open = trades["is_open"].fillna(False).astype(bool) if "is_open" in trades else None
    if is_open is not None and is_open.any() and not include_open:
        trades = trades[~is_open.to_numpy()]
    seg = trade_segments(equity, trades)
    n_returns = len(equity) - 1
    rf_d = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    observed = path_stats(_equity_returns(equity)[None, :], risk_free, periods_per_year)
    notes = []
    if len(seg) == 0:
        flat = {"total_return": 0.0, "max_drawdown": 0.0, "sharpe": math.nan}
        paths = pd.DataFrame({k: np.full(n_paths, v) for k, v in flat.items()})
        notes.append("no closed trade: every path is the flat account")
    else:
        picks = draw_trades(len(seg), n_paths, rng, count)
        paths = _trade_path_stats(seg, picks, n_returns, rf_d, periods_per_year)
        if len(seg) < 5:
            notes.append(
                f"only {len(seg)} trade(s): the bootstrap can only repeat or drop them; "
                "read the bands as 'how much rested on these few trades'"
            )
    return MonteCarloResult(
        method="trades",
        seed=int(seed),
        paths=paths,
        observed=observed.iloc[0].to_dict(),
        settings={
            "count": count,
            "n_trades": int(len(seg)),
            "include_open": include_open,
            "risk_free": risk_free,
        },
        notes=tuple(notes),
    )


def _check_paths(n_paths: int) -> None:
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 1:
        raise ValueError(f"n_paths={n_paths!r} must be a positive integer")


# --------------------------------------------------------------------------- block bootstrap
def optimal_block_length(returns: np.ndarray) -> float:
    """Politis-White (2004) mean block length for the stationary bootstrap, with the
    Patton-Politis-White (2009) correction; at least 1, at most ``min(3 sqrt(n), n / 3)``.

    With ``K = max(5, int(log10 n))``, ``m`` is the first lag that starts ``K`` autocorrelations
    in a row below ``2 sqrt(log10(n) / n)`` (as the authors' code and ``arch``: ``m >= 1``),
    ``M = min(2m, ceil(sqrt n) + K)`` (that cap when no such run exists), ``w(t)`` the flat-top
    window (1 up to ``|t| = 1/2``, then ``2 (1 - |t|)``), ``R(k)`` the autocovariances (divided by
    ``n``), ``G = sum w(k/M) |k| R(k)`` and ``g = sum w(k/M) R(k)`` over ``|k| <= M``; then
    ``b = (2 G^2 / (2 g^2))^(1/3) n^(1/3)``. ``tests`` check it against ``arch`` and against the
    closed form for an AR(1) process.
    """
    x = np.asarray(returns, dtype=float)
    n = x.size
    if n < 3:
        return 1.0
    x = x - x.mean()
    kn = max(5, int(math.log10(n)))
    m_max = int(math.ceil(math.sqrt(n))) + kn
    b_max = math.ceil(min(3 * math.sqrt(n), n / 3))
    acov = np.array([x[: n - k] @ x[k:] / n for k in range(min(m_max, n - 1) + 1)])
    if acov[0] <= 0:
        return 1.0
    crit = 2.0 * math.sqrt(math.log10(n) / n)
    m = _first_quiet_lag(np.abs(acov[1:] / acov[0]) < crit, kn)
    big_m = min(2 * m if m else m_max, len(acov) - 1)
    k = np.arange(-big_m, big_m + 1)
    t = np.abs(k) / big_m
    w = np.where(t <= 0.5, 1.0, 2.0 * (1.0 - t))
    r_k = acov[np.abs(k)]
    g_big = float(np.sum(w * np.abs(k) * r_k))
    g0 = float(np.sum(w * r_k))
    if g0 <= 0:
        return 1.0
    b = (2.0 * g_big**2 / (2.0 * g0**2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return float(min(max(b, 1.0), b_max))


def _first_quiet_lag(quiet: np.ndarray, kn: int) -> int:
    """First lag ``m`` (1-based) with ``quiet`` at lags ``m .. m+kn-1``; 0 when there is none."""
    for pos in range(len(quiet) - kn + 1):
        if quiet[pos : pos + kn].all():
            return pos + 1
    return 0


def stationary_indices(
    n: int, n_paths: int, block_length: float, rng: np.random.Generator
) -> np.ndarray:
    """``(n_paths, n)`` positions into a series of length ``n`` for the stationary bootstrap.

    Each position starts a new block with probability ``1 / block_length`` (always at the first
    position); a new block starts at a uniform random position, and a block runs on, wrapping
    from the end of the series to its start.
    """
    if block_length < 1:
        raise ValueError(f"block_length={block_length} must be >= 1 (sessions)")
    new = rng.random((n_paths, n)) < 1.0 / block_length
    new[:, 0] = True
    starts = rng.integers(0, n, size=(n_paths, n))
    col = np.arange(n)
    # position of the latest block start at or before each column, then offset from it
    last = np.maximum.accumulate(np.where(new, col[None, :], 0), axis=1)
    first = np.take_along_axis(starts, last, axis=1)
    return (first + (col[None, :] - last)) % n


def block_bootstrap(
    equity: pd.Series,
    n_paths: int = 10_000,
    seed: int = 0,
    *,
    block_length: float | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
) -> MonteCarloResult:
    """Stationary block bootstrap of the daily equity returns; see the module docstring."""
    rng = _rng(seed)
    _check_paths(n_paths)
    r = _equity_returns(equity)
    auto = block_length is None
    length = optimal_block_length(r) if block_length is None else float(block_length)
    idx = stationary_indices(r.size, n_paths, length, rng)
    sampled = r[idx]
    paths = path_stats(sampled, risk_free, periods_per_year)
    observed = path_stats(r[None, :], risk_free, periods_per_year).iloc[0].to_dict()
    start = float(equity.astype(float).dropna().iloc[0])
    curves = start * np.cumprod(1.0 + sampled, axis=1)
    dates = pd.DatetimeIndex(equity.dropna().index)
    notes = []
    if np.mean(r == 0.0) > 0.5:
        notes.append(
            f"the run is flat on {np.mean(r == 0.0):.0%} of sessions: blocks mix its few "
            "invested stretches with cash days"
        )
    return MonteCarloResult(
        method="block",
        seed=int(seed),
        paths=paths,
        observed=observed,
        settings={
            "block_length": round(length, 3),
            "block_length_rule": "Politis-White (auto)" if auto else "given",
            "risk_free": risk_free,
        },
        fan=fan_frame(curves, dates, start),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- summaries
def fan_frame(
    curves: np.ndarray, dates: pd.DatetimeIndex, start: float, quantiles=FAN_QUANTILES
) -> pd.DataFrame:
    """Quantiles across paths of ``(paths, days)`` equity curves that follow ``dates[0]``.

    The first row is ``start`` (every path begins at the run's first equity value).
    """
    q = np.quantile(curves, quantiles, axis=0).T
    body = np.vstack([np.full(len(quantiles), start), q])
    cols = [f"p{round(x * 100):d}" for x in quantiles]
    return pd.DataFrame(body, index=pd.DatetimeIndex(dates[: len(body)], name="date"), columns=cols)


def summarize(
    result: MonteCarloResult,
    quantiles: tuple[float, ...] = QUANTILES,
    dd_threshold: float = DD_THRESHOLD,
) -> dict[str, Any]:
    """Bands, probabilities and the run's rank among its paths, as plain JSON-ready data.

    ``bands[stat][pN]`` is the N % quantile of ``stat`` over the paths (NaN paths left out);
    ``prob_loss`` the share of paths with ``total_return < 0``; ``prob_drawdown`` the share with
    ``max_drawdown < -dd_threshold``; ``observed_rank[stat]`` the share of paths at or below the
    run's own value.
    """
    if not 0 < dd_threshold < 1:
        raise ValueError(f"dd_threshold={dd_threshold} must be a fraction in (0, 1), e.g. 0.25")
    p = result.paths
    bands: dict[str, dict[str, float]] = {}
    rank: dict[str, float] = {}
    for stat in STATS:
        col = p[stat].to_numpy(dtype=float)
        ok = col[~np.isnan(col)]
        bands[stat] = {
            f"p{round(q * 100):d}": float(np.quantile(ok, q)) if ok.size else math.nan
            for q in quantiles
        }
        obs = result.observed.get(stat, math.nan)
        rank[stat] = float(np.mean(ok <= obs)) if ok.size and not math.isnan(obs) else math.nan
    return {
        "method": result.method,
        "n_paths": result.n_paths,
        "seed": result.seed,
        "settings": dict(result.settings),
        "observed": {k: float(v) for k, v in result.observed.items()},
        "bands": bands,
        "prob_loss": float(np.mean(p["total_return"].to_numpy() < 0)),
        "prob_drawdown": float(np.mean(p["max_drawdown"].to_numpy() < -dd_threshold)),
        "dd_threshold": dd_threshold,
        "observed_rank": rank,
        "notes": list(result.notes),
    }
