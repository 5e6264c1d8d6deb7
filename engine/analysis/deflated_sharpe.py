"""The Deflated Sharpe Ratio of a sweep's chosen configuration (numpy, pandas, stdlib only).

**Deflated Sharpe Ratio** (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio Management 40(5), 2014):
the probability that the best configuration's true Sharpe ratio exceeds the Sharpe ratio that
the *best of N worthless trials* would show by luck.

Conventions (the paper's, and :mod:`engine.analysis.pbo`'s): Sharpe ratios are **per period**
(per bar, not annualised), estimated as ``mean / std`` with the sample standard deviation
(``ddof=1``) and no risk-free rate: :func:`per_period_sharpe`, distinct from the annualised
``sharpe`` metric (:func:`engine.analysis.metrics.sharpe_ratio`, with a risk-free rate).
Kurtosis is the non-excess kind (normal = 3). Returns are per-period simple returns, one column
per configuration (``T x N``: rows are periods, columns are configurations).

No scipy: the normal distribution is the standard library's ``statistics.NormalDist``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from engine.errors import ParamError

EULER_GAMMA = 0.5772156649015329  # Euler-Mascheroni constant
# A variance at most this fraction of the mean square is numerically zero (constant returns,
# e.g. a configuration that never trades): its Sharpe ratio is defined as 0, not +-inf.
ZERO_VAR_RTOL = 1e-10
_NORMAL = NormalDist()


def per_period_sharpe(returns: np.ndarray | pd.Series | pd.DataFrame) -> np.ndarray | float:
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
        ``per_period_sharpe(returns_matrix)``; used for ``V``.
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
    sr = float(per_period_sharpe(x)) if x.size >= 2 else math.nan
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
    srs = np.asarray(per_period_sharpe(m))
    best = int(np.nanargmax(srs))
    return best, deflated_sharpe(m[:, best], srs, n_trials)
