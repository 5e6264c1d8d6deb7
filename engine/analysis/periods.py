"""Period tables of an equity curve: monthly returns, the worst drawdowns, returns from a date.

Pure functions (numpy and pandas only) of an account-value Series indexed by session date, like
:mod:`engine.analysis.metrics`; the report turns their frames into HTML. Fractions, not percents;
drawdowns negative.

Definitions
-----------
* **Monthly return** of month *m*: ``E(last session of m) / E(last session before m) - 1``.
  The first month is measured from the curve's first value (a partial month); a month with no
  session has no value (NaN). The **year** column compounds the months of that year, so it is
  ``E(last session of the year) / E(last session before the year) - 1``.
* **Drawdown episode**: a maximal run of sessions below the running high
  (:func:`engine.analysis.returns.drawdown_episodes`): *start* is the last session at the old high,
  *trough* the deepest session, *recovery* the first session back at or above the old high
  (none while still under water). *Length* counts calendar days and sessions from the start to
  the recovery, or to the last session for an episode not recovered.
* **Return since** a date *d*: ``E_last / E(last session before d) - 1``: what the account
  made from the close before *d*, the moment a plan dated *d* could first act.
* **Hold from the open** of a date *d*: the stock bought at the open of the first session on or
  after *d* and held to the last close (``close_last / open_d - 1``), before costs: buy & hold
  measured from a dated plan's start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analysis.returns import drawdown_episodes, drawdown_series

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DRAWDOWN_COLUMNS = ["start", "trough", "recovery", "depth", "days", "sessions", "recovered"]


def _curve(equity: pd.Series) -> pd.Series:
    out = equity.dropna().astype(float)
    out.index = pd.DatetimeIndex(out.index)
    return out.sort_index()


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Return of every calendar month, one row per year, ``Jan`` .. ``Dec`` then ``Year``.

    Parameters
    ----------
    equity : account value at each session's close, DatetimeIndex

    Returns
    -------
    DataFrame indexed by year (int), columns :data:`MONTHS` + ``["Year"]``; NaN where a month
    has no session. Empty (same columns) for fewer than two values.
    """
    eq = _curve(equity)
    columns = [*MONTHS, "Year"]
    if len(eq) < 2:
        return pd.DataFrame(columns=columns, dtype=float)
    month_end = eq.groupby([eq.index.year, eq.index.month]).last()
    before = month_end.shift(1)
    before.iloc[0] = eq.iloc[0]
    rets = month_end / before - 1.0
    table = pd.DataFrame(np.nan, index=sorted(set(eq.index.year)), columns=columns)
    for (year, month), value in rets.items():
        table.loc[year, MONTHS[month - 1]] = value
    year_end = eq.groupby(eq.index.year).last()
    year_before = year_end.shift(1)
    year_before.iloc[0] = eq.iloc[0]
    table["Year"] = (year_end / year_before - 1.0).to_numpy()
    table.index.name = "year"
    return table


def worst_drawdowns(equity: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` deepest drawdown episodes, deepest first.

    Parameters
    ----------
    equity : account value at each session's close, DatetimeIndex
    n : how many episodes to keep

    Returns
    -------
    DataFrame with :data:`DRAWDOWN_COLUMNS`: ``start``, ``trough``, ``recovery`` (NaT while not
    recovered), ``depth`` (<= 0), ``days`` (calendar days), ``sessions`` (bars from the start to
    the recovery or the last bar) and ``recovered``. No rows when the curve never fell.
    """
    eq = _curve(equity)
    episodes = drawdown_episodes(eq)
    if len(episodes) == 0:
        return pd.DataFrame(columns=DRAWDOWN_COLUMNS)
    pos = pd.Series(np.arange(len(eq)), index=eq.index)
    worst = episodes.sort_values("depth", kind="stable").head(n).reset_index(drop=True)
    return pd.DataFrame(
        {
            "start": worst["peak"],
            "trough": worst["trough"],
            "recovery": worst["recovery"].where(worst["recovered"].astype(bool)),
            "depth": worst["depth"].astype(float),
            "days": worst["days"].astype(int),
            "sessions": (
                pos.loc[worst["recovery"]].to_numpy() - pos.loc[worst["peak"]].to_numpy()
            ).astype(int),
            "recovered": worst["recovered"].astype(bool),
        }
    )


def return_since(equity: pd.Series, start: str | pd.Timestamp) -> tuple[float, float]:
    """``(return, max drawdown)`` of the account from the close before ``start`` to the end.

    Parameters
    ----------
    equity : account value at each session's close, DatetimeIndex
    start : the first session that counts (e.g. a dated plan's first active session)

    Returns
    -------
    ``(E_last / E_base - 1, min drawdown over [base, last])``, where ``base`` is the last session
    before ``start`` (the first session when ``start`` is on or before it). NaN for both when
    ``start`` is after the last session.
    """
    eq = _curve(equity)
    when = pd.Timestamp(start)
    if len(eq) == 0 or when > eq.index[-1]:
        return float("nan"), float("nan")
    base = max(int(eq.index.searchsorted(when)) - 1, 0)
    part = eq.iloc[base:]
    return float(part.iloc[-1] / part.iloc[0] - 1.0), float(drawdown_series(part).min())


def hold_from_open(prices: pd.DataFrame, start: str | pd.Timestamp) -> tuple[float, float]:
    """``(return, max drawdown)`` of the stock bought at the open of the first session on or
    after ``start`` and held to the last close (the price move, before any cost).

    The drawdown path is that open followed by every close; a dated plan's "buy & hold from the
    plan's start" is this: what a trader who simply bought on the plan's first day would see.

    Parameters
    ----------
    prices : ``open`` and ``close`` columns, DatetimeIndex of sessions
    start : the first session that counts

    Returns
    -------
    ``(close_last / open_first - 1, min over the path of value / running high - 1)``; NaN for
    both when no session is on or after ``start``.
    """
    frame = prices.sort_index()
    frame = frame.loc[pd.DatetimeIndex(frame.index) >= pd.Timestamp(start)]
    if len(frame) == 0:
        return float("nan"), float("nan")
    first_open = float(frame["open"].iloc[0])
    path = pd.Series([first_open, *frame["close"].astype(float)])
    return float(path.iloc[-1] / first_open - 1.0), float(drawdown_series(path).min())
