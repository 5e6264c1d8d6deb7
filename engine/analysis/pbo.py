"""The Probability of Backtest Overfitting of a sweep, by CSCV (numpy and pandas only).

**Probability of Backtest Overfitting** by Combinatorially Symmetric Cross-Validation (Bailey,
Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting", J. Computational
Finance 20(4), 2017; SSRN 2326253, 2015): how often the configuration that is best in-sample
ranks in the bottom half out-of-sample. The companion statistic, the Deflated Sharpe Ratio of
the chosen configuration, is :mod:`engine.analysis.deflated_sharpe`.

Conventions (the paper's): Sharpe ratios are **per period** (per bar, not annualised), estimated
as ``mean / std`` with the sample standard deviation (``ddof=1``) and no risk-free rate. Returns
are per-period simple returns, one column per configuration (``T x N``: rows are periods,
columns are configurations).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from engine.analysis.deflated_sharpe import ZERO_VAR_RTOL
from engine.errors import ParamError

MIN_BLOCK_ROWS = 2  # rows per CSCV block; fewer makes in-sample Sharpe ratios meaningless
MAX_COMBINATIONS = 1_000_000  # C(22, 11) = 705,432 is allowed; C(24, 12) = 2.7M is refused
_CHUNK_ELEMENTS = 32_768  # combinations x columns per vectorised chunk (256 kB: in cache)

Metric = Callable[[np.ndarray], np.ndarray]
# best IS column, its IS metric, its OOS metric, its OOS rank: one entry per combination
_SplitArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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
    blocks = _is_blocks(n_splits)
    ind = np.zeros((len(blocks), n_splits))
    ind[np.arange(len(blocks))[:, None], blocks] = 1.0
    return ind


def _is_blocks(n_splits: int) -> np.ndarray:
    """The blocks of each combination that contains block 0, ``C/2 x S/2``, ascending along
    each row, rows in ``itertools.combinations`` order."""
    half = n_splits // 2
    # those containing block 0 are block 0 followed by each combination of the others
    rest = np.array(list(combinations(range(1, n_splits), half - 1)), dtype=np.intp)
    return np.hstack([np.zeros((len(rest), 1), dtype=np.intp), rest.reshape(len(rest), -1)])


def _block_sets(n_splits: int) -> tuple[np.ndarray, np.ndarray]:
    """The blocks of each combination that contains block 0 (``C/2 x S/2``, ascending along
    each row, rows in :func:`_half_combinations`' order) and the blocks of its complement."""
    ind = _half_combinations(n_splits)
    rows, cols = np.nonzero(ind == 0.0)  # row-major: each row's blocks in ascending order
    return _is_blocks(n_splits), cols.reshape(len(ind), n_splits - n_splits // 2)


def _set_sums(block_sums: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Per row of ``blocks`` (``k x S/2``), the sum of those blocks' rows of ``block_sums``.

    Added from 0.0 in ascending block order: the additions, in the same order, that the
    product of a 0/1 indicator matrix with ``block_sums`` does (BLAS accumulates along the
    inner dimension in order; equal to the last bit, a test checks), without its multiplies
    by 0 and without BLAS threads, which cost more than they gained on a busy 2-core machine.
    """
    acc = np.add(0.0, block_sums[blocks[:, 0]])
    for j in range(1, blocks.shape[1]):
        acc += block_sums[blocks[:, j]]
    return acc


def _sums_metric(
    blocks: np.ndarray, sums: np.ndarray, sumsq: np.ndarray, n: int, mu: np.ndarray, kind: str
) -> np.ndarray:
    """Sharpe or mean of the row sets made of ``blocks`` (``k x S/2``), from block sums.

    ``sums``/``sumsq`` are block sums of the column-centred returns ``x - mu``: centring keeps
    ``sumsq - sum^2/n`` free of catastrophic cancellation; variance and Sharpe numerator are
    shift-invariant apart from adding ``mu`` back to the mean. The Sharpe ratio is
    ``where(flat, 0, (s1/n + mu) / sqrt(var))`` computed in place, the same operations in the
    same order, on chunks small enough to stay in the CPU cache.
    """
    s1 = _set_sums(sums, blocks)
    mean_c = s1 / n
    if kind == "mean":
        return np.add(mean_c, mu, out=mean_c)
    s2 = _set_sums(sumsq, blocks)
    var = np.multiply(s1, mean_c, out=s1)
    np.subtract(s2, var, out=var)
    var /= n - 1
    floor = np.divide(s2, n, out=s2)
    floor *= ZERO_VAR_RTOL
    flat = var <= floor
    np.copyto(var, 1.0, where=flat)
    np.sqrt(var, out=var)
    mean_c += mu
    mean_c /= var
    np.copyto(mean_c, 0.0, where=flat)
    return mean_c


def _fast_split_metrics(m: np.ndarray, s: int, kind: str) -> _SplitArrays:
    """Chosen column, IS and OOS metric of it, and its OOS rank, for every combination.

    Vectorised: per-block sums (``S x N``) added up over each combination's blocks, a chunk
    of combinations at a time.
    """
    t_block, n_cols = m.shape[0] // s, m.shape[1]
    mu = m.mean(axis=0)
    blocks = (m - mu).reshape(s, t_block, n_cols)
    sums, sumsq = blocks.sum(axis=1), (blocks * blocks).sum(axis=1)
    is_blocks, oos_blocks = _block_sets(s)
    n_half = (s // 2) * t_block
    chunk = max(1, _CHUNK_ELEMENTS // n_cols)
    out = []
    for lo in range(0, is_blocks.shape[0], chunk):
        a = _sums_metric(is_blocks[lo : lo + chunk], sums, sumsq, n_half, mu, kind)
        b = _sums_metric(oos_blocks[lo : lo + chunk], sums, sumsq, n_half, mu, kind)
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
