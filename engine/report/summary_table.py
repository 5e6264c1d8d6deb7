"""The terminal summary: one row per run, the headline metrics, at most 100 columns wide.

Every metric of every run is in ``metrics.csv`` and the HTML report; the terminal shows what
decides between runs (return, buy & hold over the same window, drawdown, Sharpe, CAGR, trade
counts, win rate, exposure) so that ten variants still fit an ordinary terminal: names longer
than the name column are shortened with an ellipsis, and the width is checked against
:data:`MAX_WIDTH` by construction (the columns are fixed, only the name column adapts).
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import pandas as pd

MAX_WIDTH = 100
NAME_MIN, NAME_MAX = 8, 24

#: (heading, metric key or special, format, width)
COLUMNS: list[tuple[str, str, str, int]] = [
    ("Return", "total_return", "pct", 8),
    ("B&H same", "buy_hold_return", "pct", 9),
    ("Max DD", "max_drawdown", "pct", 8),
    ("Sharpe", "sharpe", "ratio", 7),
    ("CAGR", "cagr", "pct", 8),
    ("Trades", "trades", "trades", 13),
    ("Win", "win_rate", "pct0", 6),
    ("In mkt", "exposure", "pct0", 7),
]
FOOTNOTE = (
    "Return: account, start to end. B&H same: buy & hold on the same window and costs. "
    "Trades: closed + open at the end. Win: winning closed trades. In mkt: sessions holding "
    "shares. Every metric: metrics.csv and report.html."
)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def cell(metrics: pd.Series, key: str, kind: str) -> str:
    """One cell's text (``n/a`` for an undefined value)."""
    if kind == "trades":
        closed, opened = _num(metrics.get("n_trades")), _num(metrics.get("n_open"))
        closed = 0 if math.isnan(closed) else int(closed)
        opened = 0 if math.isnan(opened) else int(opened)
        return f"{closed} + {opened} open" if opened else f"{closed}"
    v = _num(metrics.get(key))
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if kind == "pct":
        return f"{v:+.1%}"
    if kind == "pct0":
        return f"{v:.0%}"
    return f"{v:.2f}"


def shorten(name: str, width: int) -> str:
    """``name`` cut to ``width`` characters with an ellipsis when longer."""
    return name if len(name) <= width else name[: width - 1] + "…"


def summary_table(metrics: dict[str, pd.Series], marks: dict[str, str] | None = None) -> str:
    """The runs (in the given order) as rows of headline metrics, at most 100 columns wide.

    Parameters
    ----------
    metrics : run name -> metrics Series, in display order
    marks : run name -> a one-character mark shown before the name (e.g. ``=`` for a group
        of identical runs, ``*`` for the benchmark); explained by the caller

    Returns
    -------
    The table and its footnote, as text.
    """
    marks = marks or {}
    fixed = sum(w + 1 for _h, _k, _f, w in COLUMNS)
    longest = max([len(n) for n in metrics] + [NAME_MIN])
    name_w = max(NAME_MIN, min(NAME_MAX, longest, MAX_WIDTH - fixed - 2))
    head = "  " + "Run".ljust(name_w) + "".join(f" {h:>{w}}" for h, _k, _f, w in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, m in metrics.items():
        mark = marks.get(name, " ")[:1] or " "
        row = f"{mark} {shorten(name, name_w):<{name_w}}"
        row += "".join(f" {cell(m, k, f):>{w}}" for _h, k, f, w in COLUMNS)
        lines.append(row)
    lines.append(_wrap(FOOTNOTE, len(head)))
    return "\n".join(lines)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=max(width, 40)))
