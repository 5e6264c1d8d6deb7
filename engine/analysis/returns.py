"""Returns and drawdowns of an equity curve (numpy and pandas only).

One definition each, used by the metrics, the charts and the sweep engines:

* :func:`daily_returns` - ``r_t = E_t / E_{t-1} - 1``, ``len(equity) - 1`` values;
* :func:`daily_risk_free` - the daily equivalent of an annual rate, ``(1 + rf)^(1/P) - 1``;
* :func:`drawdown_series` - ``E_t / max_{s<=t} E_s - 1`` at every bar (<= 0);
* :func:`drawdown_episodes` - one row per distinct drawdown (peak, trough, recovery, depth, days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def daily_risk_free(risk_free: float, periods_per_year: int = 252) -> float:
    """Daily equivalent of an annual risk-free rate: ``(1 + risk_free)^(1/P) - 1``."""
    return float((1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0)


def daily_returns(equity: pd.Series) -> pd.Series:
    """Daily simple returns ``E_t / E_{t-1} - 1`` (``len(equity) - 1`` values)."""
    return equity.astype(float).pct_change().iloc[1:]


def drawdown_series(equity: pd.Series) -> pd.Series:
    """``E_t / max_{s<=t} E_s - 1`` at every bar (<= 0)."""
    return equity / equity.cummax() - 1.0


def drawdown_episodes(equity: pd.Series) -> pd.DataFrame:
    """One row per distinct drawdown: a maximal run of bars below the running peak.

    Columns: ``peak`` (last bar at the old high), ``trough`` (deepest bar), ``recovery``
    (first bar back at or above the peak, else the last bar), ``depth`` (<= 0), ``days``
    (calendar days from peak to recovery) and ``recovered`` (bool).
    """
    dd = drawdown_series(equity).to_numpy()
    under = dd < 0
    if not under.any():
        return pd.DataFrame(columns=["peak", "trough", "recovery", "depth", "days", "recovered"])
    # underwater runs are [start, end) in bar positions; bar start-1 is the peak
    edges = np.diff(np.concatenate(([0], under.astype(int), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    recovered = ends < len(dd)
    recovery = np.where(recovered, ends, len(dd) - 1)
    troughs = np.array([s + int(np.argmin(dd[s:e])) for s, e in zip(starts, ends, strict=True)])
    dates = pd.DatetimeIndex(equity.index)
    peaks = dates[starts - 1]
    return pd.DataFrame(
        {
            "peak": peaks,
            "trough": dates[troughs],
            "recovery": dates[recovery],
            "depth": dd[troughs],
            "days": (dates[recovery] - peaks).days,
            "recovered": recovered,
        }
    )
