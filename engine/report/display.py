"""How results are shown: metric titles, value formats and the terminal table (no I/O).

The one mapping from the metrics' snake_case keys to display titles (:data:`TITLES`) and
formats (:data:`FORMATS`), used by the terminal table, the HTML report, the sweep and
walk-forward output; and (re-exported from :mod:`engine.result`) the names the buy-and-hold
benchmark goes by (:func:`is_benchmark`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from engine.analysis.metrics import METRIC_GROUPS, METRIC_KEYS
from engine.result import is_benchmark  # noqa: F401  (the report's modules import it from here)

#: Display title of every metric key: the one mapping used by the table, the CSV-free views
#: and the HTML report.
TITLES: dict[str, str] = {
    "start": "Start",
    "end": "End",
    "bars": "Sessions",
    "exposure": "Exposure (time in market)",
    "final_equity": "Final equity",
    "total_return": "Total return",
    "cagr": "CAGR",
    "volatility": "Volatility (annualised)",
    "buy_hold_return": "Buy & hold return",
    "excess_return": "Excess return vs buy & hold",
    "best_day": "Best day",
    "worst_day": "Worst day",
    "max_drawdown": "Max drawdown",
    "max_drawdown_duration": "Longest drawdown",
    "avg_drawdown": "Avg drawdown",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "alpha": "Alpha (annualised)",
    "beta": "Beta",
    "n_trades": "Closed trades",
    "n_open": "Open positions at end",
    "win_rate": "Win rate (winning trades)",
    "avg_trade_return": "Avg trade return",
    "avg_win": "Avg winning trade",
    "avg_loss": "Avg losing trade",
    "win_loss_ratio": "Avg win / avg loss",
    "best_trade": "Best trade",
    "worst_trade": "Worst trade",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy (per trade)",
    "sqn": "SQN",
    "max_consecutive_wins": "Max consecutive wins",
    "max_consecutive_losses": "Max consecutive losses",
    "avg_bars_held": "Avg sessions held",
    "commission_paid": "Commission paid",
    "exposure_long": "Exposure long",
    "exposure_short": "Exposure short",
    "n_long": "Closed long trades",
    "n_short": "Closed short trades",
    "win_rate_long": "Win rate, long trades",
    "win_rate_short": "Win rate, short trades",
}

#: How each metric is shown: percent, ratio, dollars, int, days, bars or date.
FORMATS: dict[str, str] = {
    **dict.fromkeys(["start", "end"], "date"),
    **dict.fromkeys(["bars", "n_trades", "n_open", "max_consecutive_wins"], "int"),
    "max_consecutive_losses": "int",
    **dict.fromkeys(["n_long", "n_short"], "int"),
    **dict.fromkeys(["final_equity", "expectancy", "commission_paid"], "dollars"),
    **dict.fromkeys(["sharpe", "sortino", "calmar", "beta", "win_loss_ratio"], "ratio"),
    **dict.fromkeys(["profit_factor", "sqn"], "ratio"),
    "max_drawdown_duration": "days",
    "avg_bars_held": "bars",
}
FORMATS.update({k: "percent" for k in METRIC_KEYS if k not in FORMATS})

MISSING = "n/a"


def title(key: str) -> str:
    """Display title of a metric key (unknown keys: the key in words)."""
    return TITLES.get(key, key.replace("_", " ").capitalize())


def format_value(key: str, value: Any) -> str:
    """One metric value as text, by its key's format; NaN / None as ``n/a``."""
    kind = FORMATS.get(key, "ratio")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if kind == "date":
        return str(pd.Timestamp(value).date())
    if isinstance(value, str):  # "inf" / "-inf" from JSON
        value = float(value) if value in ("inf", "-inf") else value
        if isinstance(value, str):
            return value
    if isinstance(value, pd.Timedelta):
        value = value.days
    v = float(value)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return {
        "percent": lambda: f"{v:.2%}",
        "ratio": lambda: f"{v:.2f}",
        "dollars": lambda: f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}",
        "int": lambda: f"{v:,.0f}",
        "days": lambda: f"{v:,.0f} days",
        "bars": lambda: f"{v:,.1f}",
    }.get(kind, lambda: f"{v:g}")()


def metric_rows(metrics: dict[str, pd.Series]) -> list[tuple[str, str]]:
    """``(group, key)`` rows in display order: the metrics module's groups, then unknown keys."""
    rows = [(group, key) for group, keys in METRIC_GROUPS.items() for key in keys]
    known = set(METRIC_KEYS)
    extra = dict.fromkeys(k for s in metrics.values() for k in s.index if k not in known)
    return rows + [("other", k) for k in extra]


def format_table(metrics: dict[str, pd.Series]) -> str:
    """Readable terminal table: one row per metric (by title), one column per strategy.

    Parameters
    ----------
    metrics : strategy name -> metrics Series (keys of :data:`engine.analysis.metrics.METRIC_KEYS`)

    Returns
    -------
    The table as text, metric groups separated by a blank line.
    """
    names = list(metrics)
    rows = metric_rows(metrics)
    cells = {
        key: [
            format_value(key, metrics[n].get(key)) if key in metrics[n] else MISSING for n in names
        ]
        for _g, key in rows
    }
    left = max([len(title(k)) for _g, k in rows] + [6])
    widths = [max([len(n)] + [len(cells[k][i]) for _g, k in rows]) for i, n in enumerate(names)]
    header = "Metric".ljust(left) + "".join(
        f"  {n:>{w}}" for n, w in zip(names, widths, strict=True)
    )
    lines = [header, "-" * len(header)]
    previous = None
    for group, key in rows:
        if previous is not None and group != previous:
            lines.append("")
        previous = group
        vals = "".join(f"  {c:>{w}}" for c, w in zip(cells[key], widths, strict=True))
        lines.append(title(key).ljust(left) + vals)
    return "\n".join(lines)
