"""Metric notes: one line of plain English for each edge case behind an undefined or odd value.

:func:`metric_notes` reads a metrics Series (from :func:`engine.analysis.metrics.compute_metrics`,
or rebuilt from ``metrics.json``) and says why, e.g., ``sortino`` is NaN or ``profit_factor`` is
``inf``. The report shows these notes under the metrics table.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

NAN = math.nan


def _num(value: Any) -> float:
    """A metric value as float: None (JSON null) -> NaN, "inf"/"-inf" -> +/-inf."""
    return NAN if value is None else float(value)


def _curve_notes(m: pd.Series) -> list[str]:
    """Notes on the equity curve, returns and risk metrics."""
    attrs, n = m.attrs, int(_num(m["bars"])) - 1  # n: number of daily returns
    ppy = int(attrs.get("periods_per_year", 252))
    if n < 0:
        return ["empty equity curve: every equity metric is NaN"]
    notes, mdd = [], _num(m["max_drawdown"])
    if n == 0:
        notes.append("single bar, no daily return: cagr, volatility, ratios, alpha, beta are NaN")
    elif n == 1:
        notes.append("one daily return: volatility, sharpe, sortino, alpha, beta need 2 (NaN)")
    if 0 < n < ppy:
        notes.append(f"{n} daily returns (< {ppy}): cagr and calmar extrapolate to a full year")
    if _num(m["volatility"]) == 0:
        notes.append("daily returns never varied (volatility 0): sharpe is NaN")
    if n >= 2 and math.isnan(_num(m["sortino"])):
        notes.append("no day below the risk-free rate (downside deviation 0): sortino is NaN")
    if mdd == 0:
        notes.append("equity never fell below a previous peak: drawdowns 0, calmar NaN")
    elif mdd < 0 and not attrs.get("drawdown_recovered", True):
        notes.append("longest drawdown not recovered: max_drawdown_duration runs to the end")
    if math.isnan(_num(m["buy_hold_return"])):
        why = "no buy-and-hold curve" if not attrs.get("has_buy_hold", True) else "empty buy_hold"
        notes.append(f"{why}: buy_hold_return and excess_return are NaN")
    if n >= 2 and math.isnan(_num(m["alpha"])):
        if not attrs.get("has_benchmark", True):
            notes.append("no benchmark: alpha and beta are NaN")
        else:
            notes.append("benchmark: < 2 common daily returns or no move; alpha, beta NaN")
    return notes


def _trade_notes(m: pd.Series) -> list[str]:
    """Notes on the trade statistics."""
    n, n_open = int(_num(m["n_trades"])), int(_num(m["n_open"]))
    pf, notes = _num(m["profit_factor"]), []
    if n == 0:
        notes.append("no closed trades: win_rate, trade averages, profit_factor, sqn are NaN")
    elif n == 1:
        notes.append("one closed trade: sqn is NaN (needs at least 2 trades)")
    elif math.isnan(_num(m["sqn"])):
        notes.append("every closed trade returned the same: sqn is NaN (zero spread)")
    if n > 0 and pf == math.inf:
        notes.append("no losing trade: profit_factor is inf; avg_loss, win_loss_ratio NaN")
    elif n > 0 and math.isnan(pf):
        notes.append("every closed trade broke even: profit_factor is NaN")
    if n > 0 and _num(m["win_rate"]) == 0:
        notes.append("no winning trade: avg_win and win_loss_ratio are NaN")
    if n_open > 0:
        notes.append(
            f"{n_open} position(s) open at the end: valued at the last close, left out of "
            "trade statistics except commission_paid"
        )
    if m.attrs.get("exposure_from") == "trades" and n_open + n > 0:
        notes.append("exposure derived from trade dates (no position series given)")
    return notes


def metric_notes(metrics: pd.Series) -> list[str]:
    """One-line human notes on the edge cases behind undefined or unusual values.

    Parameters
    ----------
    metrics : the Series from :func:`compute_metrics`. Its ``attrs`` refine some notes (why
        alpha is NaN, the year length); without them (e.g. a Series rebuilt from JSON) the
        notes still follow from the values, assuming 252 sessions a year.

    Returns
    -------
    list of str, curve notes first, then trade notes; empty when nothing needs saying.
    """
    return _curve_notes(metrics) + _trade_notes(metrics)
