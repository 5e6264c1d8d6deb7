"""Backtest-overfitting statistics for parameter sweeps: Deflated Sharpe Ratio and PBO.

Two questions a sweep over many configurations must answer before its best row is believed:

* **Deflated Sharpe Ratio** (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio: Correcting
  for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio Management 40(5),
  2014): the probability that the best configuration's true Sharpe ratio exceeds the Sharpe
  ratio that the *best of N worthless trials* would show by luck.
* **Probability of Backtest Overfitting** by Combinatorially Symmetric Cross-Validation (Bailey,
  Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting", J. Computational
  Finance 20(4), 2017; SSRN 2326253, 2015): how often the configuration that is best in-sample
  ranks in the bottom half out-of-sample.

Conventions (both papers): Sharpe ratios are **per period** (per bar, not annualised), estimated
as ``mean / std`` with the sample standard deviation (``ddof=1``) and no risk-free rate; kurtosis
is the non-excess kind (normal = 3). Returns are per-period simple returns, one column per
configuration (``T x N``: rows are periods, columns are configurations).

Only numpy, pandas and the standard library (``statistics.NormalDist``) are used: no scipy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pandas as pd

from engine.errors import ParamError

EULER_GAMMA = 0.5772156649015329  # Euler-Mascheroni constant
# A variance at most this fraction of the mean square is numerically zero (constant returns,
# e.g. a configuration that never trades): its Sharpe ratio is defined as 0, not +-inf.
ZERO_VAR_RTOL = 1e-10
MIN_BLOCK_ROWS = 2  # rows per CSCV block; fewer makes in-sample Sharpe ratios meaningless
MAX_COMBINATIONS = 1_000_000  # C(22, 11) = 705,432 is allowed; C(24, 12) = 2.7M is refused
_CHUNK_ELEMENTS = 2_000_000  # combinations x columns per vectorised chunk (~16 MB per array)
_NORMAL = NormalDist()

Metric = Callable[[np.ndarray], np.ndarray]
# best IS column, its IS metric, its OOS metric, its OOS rank: one entry per combination
_SplitArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def sharpe_ratio(returns: np.ndarray | pd.Series | pd.DataFrame) -> np.ndarray | float:
    """Per-period Sharpe ratio of each column: ``mean / std`` (``ddof=1``, no risk-free rate).

    Parameters
    ----------
    returns : array-like
        1-D (one series) or 2-D ``T x N`` (one column per configuration) per-period returns.

    Returns
    -------
    float or np.ndarray
        A float for 1-D input, an array of ``N`` values for 2-D input. A column whose variance
        is at most ``ZERO_VAR_RTOL`` times its mean square (constant returns) has Sharpe 0;
        fewer than 2 rows gives NaN.
    """
    x = np.asarray(returns, dtype=float)
    if x.shape[0] < 2:
        out = np.full(x.shape[1:], np.nan)
    else:
        mean = x.mean(axis=0)
        var = x.var(axis=0, ddof=1)
        flat = var <= ZERO_VAR_RTOL * np.mean(x * x, axis=0)
        out = np.where(flat, 0.0, mean / np.sqrt(np.where(flat, 1.0, var)))
    return float(out) if x.ndim == 1 else out


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """Probabilistic Sharpe Ratio (Bailey & Lopez de Prado 2012, eq. used in DSR 2014).

    .. math::

        PSR(SR^*) = \\Phi\\left( \\frac{(\\widehat{SR} - SR^*)\\sqrt{T - 1}}
                    {\\sqrt{1 - \\hat\\gamma_3 \\widehat{SR}
                    + \\frac{\\hat\\gamma_4 - 1}{4}\\widehat{SR}^2}} \\right)

    Parameters
    ----------
    sr, sr_benchmark : float
        Observed Sharpe ratio and benchmark ``SR*``, both per period (not annualised).
    n_obs : int
        Number of return observations ``T``.
    skew, kurtosis : float
        Skewness ``gamma_3`` and non-excess kurtosis ``gamma_4`` (normal = 3) of the returns.

    Returns
    -------
    float
        Probability that the true Sharpe ratio exceeds ``sr_benchmark``; NaN when
        ``n_obs < 2`` or the estimator variance term (the square root's argument) is <= 0.
    """
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if n_obs < 2 or not denom > 0.0:
        return math.nan
    z = (sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return _NORMAL.cdf(z)


def expected_max_sharpe(n_trials: int, var_sr: float) -> float:
    """Expected maximum Sharpe ratio of ``N`` independent trials whose true Sharpe is 0.

    .. math::

        SR_0 = \\sqrt{V[\\{\\widehat{SR}_n\\}]}\\left( (1 - \\gamma)\\Phi^{-1}[1 - 1/N]
               + \\gamma \\Phi^{-1}[1 - 1/(N e)] \\right)

    with ``gamma`` the Euler-Mascheroni constant (DSR paper, the deflated benchmark ``SR_0``:
    an approximation of ``E[max]`` of ``N`` independent normal Sharpe estimates).

    Parameters
    ----------
    n_trials, var_sr : int, float
        Number of independent trials ``N`` (>= 1); variance of their per-period Sharpe ratios.

    Returns
    -------
    float
        ``SR_0``, per period. ``N == 1`` gives 0 (one trial carries no selection bias; the
        formula's ``Phi^-1(0)`` is ``-inf``), as does ``var_sr == 0``.
    """
    if n_trials < 1:
        raise ParamError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0  # var_sr is not needed (nor estimable from one trial)
    if not var_sr >= 0.0:
        raise ParamError(f"var_sr must be >= 0, got {var_sr}")
    if var_sr == 0.0:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(var_sr) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


@dataclass(frozen=True)
class DeflatedSharpe:
    """Result of :func:`deflated_sharpe`; all Sharpe ratios per period.

    Attributes
    ----------
    sr : observed Sharpe ratio of the selected configuration.
    sr0 : expected maximum Sharpe ratio of ``n_trials`` worthless trials (the deflated benchmark).
    dsr : ``PSR(sr0)``, the Deflated Sharpe Ratio, in [0, 1] (NaN when undefined, see ``reason``).
    n_trials, var_sr : trials counted and the variance of their Sharpe ratios.
    skew, kurtosis : skewness and non-excess kurtosis of the selected returns.
    n_obs : number of return observations.
    reason : ``None`` when ``dsr`` is defined, else why it is NaN.
    """

    sr: float
    sr0: float
    dsr: float
    n_trials: int
    var_sr: float
    skew: float
    kurtosis: float
    n_obs: int
    reason: str | None = None


def _moments(x: np.ndarray) -> tuple[float, float]:
    """Sample skewness ``m3 / m2^1.5`` and non-excess kurtosis ``m4 / m2^2``.

    Biased (population-moment) estimators, as in the DSR paper and scipy's default.
    """
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def deflated_sharpe(
    best_returns: np.ndarray | pd.Series,
    trial_sharpes: np.ndarray | pd.Series,
    n_trials: int | None = None,
) -> DeflatedSharpe:
    """Deflated Sharpe Ratio of the selected configuration (Bailey & Lopez de Prado 2014).

    ``DSR = PSR(SR_0)`` where ``SR_0 = expected_max_sharpe(N, V)`` and ``V`` is the sample
    variance (``ddof=1``) of the trials' per-period Sharpe ratios.

    Parameters
    ----------
    best_returns : array-like, 1-D
        Per-period returns of the selected (best) configuration; NaNs are dropped.
    trial_sharpes : array-like, 1-D
        Per-period Sharpe ratios of all trials (the selected one included), e.g.
        ``sharpe_ratio(returns_matrix)``; used for ``V``.
    n_trials : int, optional
        Number of *independent* trials ``N``; defaults to ``len(trial_sharpes)``. Pass a
        smaller effective number when configurations are strongly correlated.

    Returns
    -------
    DeflatedSharpe
        ``dsr`` is NaN, with ``reason`` set, when there are fewer than 3 observations, the
        selected returns are constant (skewness undefined), fewer than 2 trial Sharpe ratios
        are given for ``N > 1``, or the PSR denominator is not positive. ``N == 1`` gives
        ``sr0 = 0`` (DSR = PSR against 0); identical trial Sharpe ratios (``V = 0``) also
        give ``sr0 = 0``.
    """
    x = np.asarray(best_returns, dtype=float).ravel()
    x = x[~np.isnan(x)]
    trials = np.asarray(trial_sharpes, dtype=float).ravel()
    trials = trials[~np.isnan(trials)]
    n = int(n_trials) if n_trials is not None else int(trials.size)
    if n < 1:
        raise ParamError("deflated_sharpe needs at least one trial")
    var_sr = float(np.var(trials, ddof=1)) if trials.size >= 2 else math.nan
    sr0 = expected_max_sharpe(n, var_sr) if n == 1 or not math.isnan(var_sr) else math.nan
    sr = float(sharpe_ratio(x)) if x.size >= 2 else math.nan
    reason: str | None = None
    skew = kurt = dsr = math.nan
    if x.size < 3:
        reason = f"need at least 3 return observations, got {x.size}"
    elif np.var(x) <= ZERO_VAR_RTOL * np.mean(x * x):
        reason = "selected returns are constant: skewness and kurtosis are undefined"
    else:
        skew, kurt = _moments(x)
        if math.isnan(sr0):
            reason = f"need at least 2 trial Sharpe ratios to estimate their variance for N={n}"
        else:
            dsr = probabilistic_sharpe_ratio(sr, sr0, x.size, skew, kurt)
            if math.isnan(dsr):
                reason = "1 - skew*sr + (kurtosis-1)/4*sr^2 <= 0: degenerate estimator variance"
    return DeflatedSharpe(sr, sr0, dsr, n, var_sr, skew, kurt, x.size, reason)


def deflated_sharpe_of_best(
    returns: np.ndarray | pd.DataFrame, n_trials: int | None = None
) -> tuple[int, DeflatedSharpe]:
    """DSR of the highest-Sharpe column of a ``T x N`` sweep matrix, all columns as trials.

    Returns
    -------
    (int, DeflatedSharpe)
        Position of the best column (first one on ties) and its :class:`DeflatedSharpe`.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 1:
        raise ValueError(f"returns must be a T x N matrix, got shape {m.shape}")
    srs = np.asarray(sharpe_ratio(m))
    best = int(np.nanargmax(srs))
    return best, deflated_sharpe(m[:, best], srs, n_trials)


@dataclass(frozen=True)
class Degradation:
    """Least-squares fit ``R_oos = intercept + slope * R_is`` across CSCV combinations."""

    slope: float
    intercept: float
    r_squared: float


@dataclass(frozen=True)
class PBOResult:
    """Result of :func:`pbo`; one entry per CSCV combination ``c`` in the arrays.

    Entry ``c`` belongs to the ``c``-th combination of ``itertools.combinations(range(S), S//2)``
    (the in-sample blocks, numbered from the first rows).

    Attributes
    ----------
    pbo : share of combinations whose logit ``lambda_c <= 0``.
    logits : ``lambda_c = ln(omega_c / (1 - omega_c))``.
    oos_relative_rank : ``omega_c = rank_oos(n*) / (N + 1)``, ascending ranks (1 = worst).
    best_is_column : ``n*``, position of the in-sample best column.
    is_performance, oos_performance : metric of ``n*`` in-sample and out-of-sample (the
        pairs behind the performance-degradation regression).
    degradation : :func:`performance_degradation` of those pairs.
    prob_oos_loss : :func:`prob_oos_loss` of ``oos_performance``.
    n_combinations, n_splits, n_splits_requested : ``C(S, S/2)``, ``S`` used and asked for.
    rows_used, rows_dropped : rows in the ``S`` blocks and trailing rows left out.
    columns : column labels (positions for an ndarray).
    metric : name of the performance metric.
    """

    pbo: float
    logits: np.ndarray
    oos_relative_rank: np.ndarray
    best_is_column: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    degradation: Degradation
    prob_oos_loss: float
    n_combinations: int
    n_splits: int
    n_splits_requested: int
    rows_used: int
    rows_dropped: int
    columns: tuple[object, ...]
    metric: str


def performance_degradation(is_performance: np.ndarray, oos_performance: np.ndarray) -> Degradation:
    """The PBO paper's performance degradation: OOS on IS performance of the chosen config.

    .. math:: \\bar R_{n^*,c} = \\alpha + \\beta R_{n^*,c} + \\varepsilon_c

    A negative ``beta`` means that the better a configuration looked in-sample, the worse it
    did out-of-sample: the signature of overfitting.

    Returns
    -------
    Degradation
        NaN slope and R^2 when the IS values do not vary (the slope is undefined).
    """
    x = np.asarray(is_performance, dtype=float)
    y = np.asarray(oos_performance, dtype=float)
    dx, dy = x - x.mean(), y - y.mean()
    sxx = float(dx @ dx)
    if x.size < 2 or sxx <= ZERO_VAR_RTOL * float(x @ x):
        return Degradation(math.nan, math.nan, math.nan)
    slope = float(dx @ dy) / sxx
    syy = float(dy @ dy)
    r2 = (float(dx @ dy) ** 2 / (sxx * syy)) if syy > 0 else math.nan
    return Degradation(slope, float(y.mean()) - slope * float(x.mean()), r2)


def prob_oos_loss(oos_performance: np.ndarray) -> float:
    """Probability of loss (PBO paper): share of combinations with ``R_oos(n*) < 0``."""
    y = np.asarray(oos_performance, dtype=float)
    return float(np.mean(y < 0.0)) if y.size else math.nan


def _as_matrix(returns: np.ndarray | pd.DataFrame) -> tuple[np.ndarray, tuple[object, ...]]:
    """Validate a ``T x N`` returns matrix: 2-D, finite, at least 2 columns."""
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"returns must be a T x N matrix (rows = periods), got shape {m.shape}")
    if isinstance(returns, pd.DataFrame):
        labels: tuple[object, ...] = tuple(returns.columns)
    else:
        labels = tuple(range(m.shape[1]))
    if m.shape[1] < 2:
        raise ValueError("PBO ranks configurations against each other: need at least 2 columns")
    if not np.isfinite(m).all():
        raise ValueError("returns contain NaN or inf: fill or drop them before computing PBO")
    return m, labels


def _resolve_splits(n_rows: int, n_splits: int) -> int:
    """Validate ``S`` (even, >= 2) and reduce it, with a warning, if blocks would be too short."""
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)):
        raise ParamError(f"n_splits must be an integer, got {n_splits!r}")
    if n_splits < 2 or n_splits % 2:
        raise ParamError(f"n_splits must be even and >= 2 (CSCV halves the blocks), got {n_splits}")
    if n_rows < 2 * MIN_BLOCK_ROWS:
        raise ValueError(f"PBO needs at least {2 * MIN_BLOCK_ROWS} rows, got {n_rows}")
    s = int(n_splits)
    while n_rows // s < MIN_BLOCK_ROWS:
        s -= 2
    if s != n_splits:
        warnings.warn(
            f"n_splits={n_splits} leaves fewer than {MIN_BLOCK_ROWS} rows per block for "
            f"{n_rows} rows; using n_splits={s}",
            stacklevel=3,
        )
    if math.comb(s, s // 2) > MAX_COMBINATIONS:
        raise ParamError(
            f"n_splits={s} gives {math.comb(s, s // 2):,} combinations (max "
            f"{MAX_COMBINATIONS:,}); use n_splits <= 22"
        )
    return s


def _half_combinations(n_splits: int) -> np.ndarray:
    """Indicator matrix of the combinations that contain block 0, shape ``(C/2, S)``.

    Each of the ``C(S, S/2)`` combinations is either one of these or the complement of one,
    so computing the metric on these sets and on their complements covers all of them once.
    """
    rows = [c for c in combinations(range(n_splits), n_splits // 2) if c[0] == 0]
    ind = np.zeros((len(rows), n_splits))
    for i, c in enumerate(rows):
        ind[i, list(c)] = 1.0
    return ind


def _sums_metric(
    sel: np.ndarray, sums: np.ndarray, sumsq: np.ndarray, n: int, mu: np.ndarray, kind: str
) -> np.ndarray:
    """Sharpe or mean of the row sets selected by ``sel`` (``k x S``), from block sums.

    ``sums``/``sumsq`` are block sums of the column-centred returns ``x - mu``: centring keeps
    ``sumsq - sum^2/n`` free of catastrophic cancellation; variance and Sharpe numerator are
    shift-invariant apart from adding ``mu`` back to the mean.
    """
    s1 = sel @ sums
    mean_c = s1 / n
    if kind == "mean":
        return mean_c + mu
    s2 = sel @ sumsq
    var = (s2 - s1 * mean_c) / (n - 1)
    flat = var <= ZERO_VAR_RTOL * (s2 / n)
    return np.where(flat, 0.0, (mean_c + mu) / np.sqrt(np.where(flat, 1.0, var)))


def _fast_split_metrics(m: np.ndarray, s: int, kind: str) -> _SplitArrays:
    """Chosen column, IS and OOS metric of it, and its OOS rank, for every combination.

    Vectorised: per-block sums (``S x N``) times combination indicators (``k x S``) give each
    row set's sums with one matrix product per chunk of combinations.
    """
    t_block, n_cols = m.shape[0] // s, m.shape[1]
    mu = m.mean(axis=0)
    blocks = (m - mu).reshape(s, t_block, n_cols)
    sums, sumsq = blocks.sum(axis=1), (blocks * blocks).sum(axis=1)
    ind = _half_combinations(s)
    n_half = (s // 2) * t_block
    chunk = max(1, _CHUNK_ELEMENTS // n_cols)
    out = []
    for lo in range(0, ind.shape[0], chunk):
        sel = ind[lo : lo + chunk]
        a = _sums_metric(sel, sums, sumsq, n_half, mu, kind)
        b = _sums_metric(1.0 - sel, sums, sumsq, n_half, mu, kind)
        out.append((_select_and_rank(a, b), _select_and_rank(b, a)))
    return _assemble(out)


def _callable_split_metrics(m: np.ndarray, s: int, metric: Metric) -> _SplitArrays:
    """As :func:`_fast_split_metrics` for any metric: one call per row set, rows in order."""
    t_block = m.shape[0] // s
    block_of_row = np.arange(s * t_block) // t_block
    out = []
    for sel in _half_combinations(s):
        is_rows = sel[block_of_row] == 1.0  # IS and OOS rows kept in original order (paper)
        a = np.asarray(metric(m[is_rows]), dtype=float).reshape(1, -1)
        b = np.asarray(metric(m[~is_rows]), dtype=float).reshape(1, -1)
        if a.shape != b.shape or a.shape[1] != m.shape[1] or not np.isfinite([a, b]).all():
            raise ValueError("metric must return one finite value per column")
        out.append((_select_and_rank(a, b), _select_and_rank(b, a)))
    return _assemble(out)


def _select_and_rank(perf_is: np.ndarray, perf_oos: np.ndarray) -> np.ndarray:
    """Per row: ``n* = argmax IS`` (first on ties), its IS and OOS metric, its OOS rank.

    The OOS rank is ascending (1 = worst, N = best), ties get their average rank (the paper
    does not specify ties; average ranks keep ``omega`` symmetric).
    """
    rows = np.arange(perf_is.shape[0])
    best = perf_is.argmax(axis=1)
    v = perf_oos[rows, best][:, None]
    below = (perf_oos < v).sum(axis=1)
    equal = (perf_oos == v).sum(axis=1)
    rank = below + (equal + 1) / 2.0
    return np.stack([best, perf_is[rows, best], v[:, 0], rank])


def _assemble(parts: list[tuple[np.ndarray, np.ndarray]]) -> _SplitArrays:
    """Stack chunk results in ``itertools.combinations(range(S), S // 2)`` order.

    In that (lexicographic) order the combinations containing block 0 come first, and the
    complement of the ``i``-th combination is the ``(C - 1 - i)``-th: so the complements'
    results are appended in reverse.
    """
    first = np.concatenate([p[0] for p in parts], axis=1)
    second = np.concatenate([p[1] for p in parts], axis=1)[:, ::-1]
    stacked = np.concatenate([first, second], axis=1)
    return stacked[0].astype(int), stacked[1].copy(), stacked[2].copy(), stacked[3].copy()


def pbo(
    returns: np.ndarray | pd.DataFrame,
    n_splits: int = 16,
    metric: str | Metric = "sharpe",
) -> PBOResult:
    """Probability of Backtest Overfitting by CSCV (Bailey, Borwein, Lopez de Prado & Zhu).

    Steps (the paper's CSCV procedure):

    1. ``M`` is the ``T x N`` matrix of per-period returns, one column per configuration.
    2. Split the rows into ``S`` contiguous blocks of ``T // S`` rows; the last ``T mod S``
       rows are **dropped** (reported as ``rows_dropped``).
    3. For each of the ``C(S, S/2)`` combinations ``c`` of ``S/2`` blocks: the training set
       ``J`` is those blocks, the test set ``J_bar`` the other ``S/2`` (rows in original order).
    4. ``n* = argmax_n R_n(J)``; ``omega_c = rank of R_{n*}(J_bar) / (N + 1)`` with ascending
       ranks (1 = worst); ``lambda_c = ln(omega_c / (1 - omega_c))``.
    5. ``PBO = #{c : lambda_c <= 0} / C(S, S/2)``: the share of combinations where the IS
       winner is at or below the OOS median.

    Parameters
    ----------
    returns : np.ndarray or pd.DataFrame
        ``T x N`` per-period returns, finite, ``N >= 2``.
    n_splits : int, default 16
        ``S``: even, >= 2. Reduced (with a ``UserWarning``) to the largest even value leaving at
        least ``MIN_BLOCK_ROWS`` rows per block; ``C(S, S/2)`` may not exceed ``MAX_COMBINATIONS``.
    metric : {"sharpe", "mean"} or callable, default "sharpe"
        Performance statistic ``R``. ``"sharpe"`` is the per-period Sharpe (``ddof=1``; a
        column with zero variance in a row set scores 0, see ``ZERO_VAR_RTOL``) and ``"mean"``
        the mean return, both vectorised over combinations. A callable takes a ``rows x N``
        array and returns ``N`` finite values (looped, slower).

    Returns
    -------
    PBOResult
        PBO, logits, relative ranks, and the IS/OOS pairs with the paper's performance
        degradation and probability of (OOS) loss. Ties: the first best IS column is chosen;
        OOS ties take their average rank.
    """
    m, labels = _as_matrix(returns)
    s = _resolve_splits(m.shape[0], n_splits)
    rows_used = (m.shape[0] // s) * s
    rows_dropped = m.shape[0] - rows_used
    m = m[:rows_used]
    if callable(metric):
        name = getattr(metric, "__name__", "custom")
        best, perf_is, perf_oos, rank = _callable_split_metrics(m, s, metric)
    elif metric in ("sharpe", "mean"):
        name = metric
        best, perf_is, perf_oos, rank = _fast_split_metrics(m, s, metric)
    else:
        raise ParamError(f"unknown metric {metric!r}: use 'sharpe', 'mean' or a callable")
    omega = rank / (m.shape[1] + 1)
    logits = np.log(omega / (1.0 - omega))
    for a in (logits, omega, best, perf_is, perf_oos):
        a.setflags(write=False)  # frozen result: arrays are read-only too
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        oos_relative_rank=omega,
        best_is_column=best,
        is_performance=perf_is,
        oos_performance=perf_oos,
        degradation=performance_degradation(perf_is, perf_oos),
        prob_oos_loss=prob_oos_loss(perf_oos),
        n_combinations=int(logits.size),
        n_splits=s,
        n_splits_requested=int(n_splits),
        rows_used=rows_used,
        rows_dropped=rows_dropped,
        columns=labels,
        metric=name,
    )
