"""The cumulative-return chart beside a strategy's key metrics (plotly figure as a plain dict).

One panel, shared hover: the account's cumulative return and buy & hold's over the same
window, in percent from the first session; for a dated plan, a dotted line at its start and
buy & hold bought at that session's open, so the plan and the stock can be read from the day
the plan could first act. Drawn by plotly.js (inlined once per page by the results page).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.report.interactive import BENCH_COLOR, STRATEGY_COLOR, _dates, _rounded
from engine.result import RunResult

SINCE_COLOR = "#d08c00"
HEIGHT = 330


def _line(name: str, series: pd.Series, color: str, dash: str = "solid") -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": _dates(series.index),
        "y": _rounded(series, 2),
        "line": {"color": color, "width": 1.4 if dash != "solid" else 1.9, "dash": dash},
        "hovertemplate": f"{name} %{{y:+.1f}}%<extra></extra>",
    }


def returns_figure(
    result: RunResult,
    bench: RunResult | None,
    prices: pd.DataFrame | None = None,
    since: str | None = None,
) -> dict[str, Any]:
    """Cumulative return (percent) of ``result`` and of buy & hold over the same window.

    Parameters
    ----------
    result : the run (its ``equity``)
    bench : buy & hold over the same window (left out when None or ``result`` itself)
    prices : the price window (``open``, ``close``), for buy & hold from ``since``
    since : a dated plan's first session (ISO date) or None

    Returns
    -------
    A plotly figure dict for :func:`engine.report.interactive.chart_html` (``rescale=False``).
    """
    eq = result.equity.astype(float)
    data: list[dict[str, Any]] = []
    if len(eq) == 0:
        return {"data": data, "layout": {"height": HEIGHT}}
    if bench is not None and bench.strategy != result.strategy and len(bench.equity):
        b = bench.equity.astype(float).reindex(eq.index).dropna()
        if len(b):
            data.append(
                _line("buy & hold, same window", (b / b.iloc[0] - 1) * 100, BENCH_COLOR, "dash")
            )
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if since and prices is not None:
        win = prices.loc[pd.Timestamp(since) : eq.index[-1]]
        if len(win):
            held = win["close"].astype(float) / float(win["open"].iloc[0])
            data.append(
                _line(f"buy & hold from {since}'s open", (held - 1) * 100, SINCE_COLOR, "dot")
            )
            day = win.index[0].strftime("%Y-%m-%d")
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": day,
                    "x1": day,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": SINCE_COLOR, "width": 1, "dash": "dot"},
                }
            )
            notes.append(
                {
                    "x": day,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "text": "plan start",
                    "showarrow": False,
                    "xanchor": "left",
                    "yanchor": "top",
                    "font": {"size": 10, "color": SINCE_COLOR},
                }
            )
    data.append(_line(f"{result.strategy} account", (eq / eq.iloc[0] - 1) * 100, STRATEGY_COLOR))
    shapes.append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"color": "#8a96a3", "width": 1},
        }
    )
    layout = {
        "height": HEIGHT,
        "margin": {"l": 55, "r": 10, "t": 8, "b": 30},
        "plot_bgcolor": "white",
        "hovermode": "x unified",
        "dragmode": "pan",
        "font": {"family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 11},
        "legend": {"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.85)"},
        "xaxis": {"type": "date", "gridcolor": "#e3e8ec"},
        "yaxis": {
            "title": {"text": "cumulative return (%)", "font": {"size": 11}},
            "ticksuffix": "%",
            "gridcolor": "#e3e8ec",
            "zeroline": False,
        },
        "shapes": shapes,
        "annotations": notes,
    }
    return {"data": data, "layout": layout}
