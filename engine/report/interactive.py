"""The interactive chart of one run: a plotly figure written as plain data, drawn by plotly.js.

One chart per strategy, four panels sharing one date axis (zoom or pan one, all follow):

1. price: candlesticks, SMA 20 / 60, the strategy's levels over their active window, every fill
   (hover: date, side, shares, price, reason, order type);
2. volume, green on up sessions, red on down sessions;
3. account value, with buy & hold over the same window;
4. drawdown of the account (percent below its running high).

Weekends and exchange holidays are left out of the date axis (plotly ``rangebreaks``), so the
candles sit side by side. After a zoom or a pan, the price and volume panels rescale to the
candles in view (a few lines of JavaScript: plotly.js autoranges over all the data otherwise).

The figure is built as a plotly *dict* (the documented JSON schema) and rendered with
``plotly.io.to_html(..., validate=False)``: building ``graph_objects`` would validate every
property in Python, which costs about 0.1 s per chart; the dict path costs milliseconds.
plotly.js itself is inlined once per page (:func:`plotly_js`), so a report opens offline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from engine.analysis.indicators import sma
from engine.data.events import chart_events
from engine.report.levels import (
    BUY_COLOR,
    LEVEL_STYLE,
    STOP_COLOR,
    TARGET_COLOR,
    event_color,
    level_segments,
    plan_range,
)
from engine.report.levels import active_window as level_window
from engine.result import RunResult

SMA_COLORS = {20: "#ff7f0e", 60: "#9467bd"}
UP, DOWN = "#26a69a", "#ef5350"
STRATEGY_COLOR = "#1f77b4"
BENCH_COLOR = "#7f7f7f"
HEIGHT = 860
# panel domains (fractions of the plot height, bottom = 0): price, volume, equity, drawdown
DOMAINS = {"y": (0.52, 1.0), "y2": (0.39, 0.49), "y3": (0.15, 0.36), "y4": (0.0, 0.12)}

FILL_HOVER = (
    "%{customdata[0]}<br><b>%{customdata[1]}</b> %{customdata[2]} shares "
    "at $%{customdata[3]}<br>%{customdata[4]} (%{customdata[5]} order)<extra></extra>"
)

# After a zoom, a pan or a button: fit every panel's y range to what is in view (plotly.js
# autoranges over all the data otherwise). Candles count by their low and high, two-point
# traces (the levels) when their segment overlaps the view, other traces by their points.
# plotly.io.to_html replaces {plot_id} with the chart's element id.
RESCALE_JS = """
(function () {
  var gd = document.getElementById('{plot_id}');
  if (!gd) { return; }
  var busy = false;
  function fit() {
    var r = gd.layout.xaxis.range, a = String(r[0]).slice(0, 10), b = String(r[1]).slice(0, 10);
    var lo = {}, hi = {};
    function add(ax, v) {
      if (v === null || !isFinite(v)) { return; }
      lo[ax] = Math.min(lo[ax] === undefined ? v : lo[ax], v);
      hi[ax] = Math.max(hi[ax] === undefined ? v : hi[ax], v);
    }
    gd.data.forEach(function (t) {
      var ax = t.yaxis || 'y', x = t.x || [];
      if (t.type === 'scatter' && x.length === 2 && t.mode === 'lines') {
        if (x[0] <= b && x[1] >= a) { add(ax, t.y[0]); add(ax, t.y[1]); }
        return;
      }
      for (var i = 0; i < x.length; i++) {
        if (x[i] < a || x[i] > b) { continue; }
        if (t.type === 'candlestick') { add(ax, t.low[i]); add(ax, t.high[i]); }
        else { add(ax, t.y[i]); }
      }
    });
    var upd = {};
    Object.keys(lo).forEach(function (ax) {
      var l = lo[ax], h = hi[ax];
      if (ax === 'y2' || ax === 'y4') { l = Math.min(l, 0); h = Math.max(h, 0); }
      var pad = (h - l) * 0.06 || Math.abs(h) * 0.05 || 1;
      if (ax === 'y2') { l = 0; }
      if (ax === 'y4') { h = 0; }
      upd[(ax === 'y' ? 'yaxis' : 'yaxis' + ax.slice(1)) + '.range'] = [l - (ax === 'y2' ? 0 : pad), h + (ax === 'y4' ? pad * 0.2 : pad)];
    });
    busy = true;
    Plotly.relayout(gd, upd).then(function () { busy = false; }, function () { busy = false; });
  }
  gd.on('plotly_relayout', function (ev) {
    if (busy || !ev) { return; }
    if (Object.keys(ev).some(function (k) { return k.indexOf('xaxis.') === 0; })) { fit(); }
  });
  fit();
})();
"""


def _dates(index: pd.Index) -> list[str]:
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d"))


def _rounded(values: Any, decimals: int) -> list[float | None]:
    """Floats rounded for a compact page; NaN becomes None (a gap in the line)."""
    arr = np.round(np.asarray(values, dtype=float), decimals)
    return [None if not np.isfinite(v) else float(v) for v in arr]


def holidays(index: pd.DatetimeIndex) -> list[str]:
    """Weekdays between the first and last session that have no bar (exchange holidays).

    Parameters
    ----------
    index : the sessions of the price window, ascending

    Returns
    -------
    ISO dates to hide on the axis (weekends are hidden by a separate rule).
    """
    if len(index) < 2:
        return []
    weekdays = pd.bdate_range(index[0], index[-1])
    return _dates(weekdays.difference(pd.DatetimeIndex(index).normalize()))


def _price_traces(win: pd.DataFrame, close_all: pd.Series, ticker: str) -> list[dict[str, Any]]:
    """Candlesticks (trace 0) and volume (trace 1, read by the rescale script), then the SMAs."""
    x = _dates(win.index)
    up = (win["close"] >= win["open"]).to_numpy()
    traces: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "name": ticker,
            "x": x,
            "open": _rounded(win["open"], 4),
            "high": _rounded(win["high"], 4),
            "low": _rounded(win["low"], 4),
            "close": _rounded(win["close"], 4),
            "increasing": {"line": {"color": UP, "width": 1}, "fillcolor": UP},
            "decreasing": {"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
            "yaxis": "y",
        },
        {
            "type": "bar",
            "name": "volume",
            "x": x,
            "y": [int(v) for v in win["volume"].fillna(0)],
            "marker": {"color": [UP if u else DOWN for u in up], "opacity": 0.7},
            "yaxis": "y2",
            "showlegend": False,
            "hovertemplate": "%{x}<br>volume %{y:,.0f}<extra></extra>",
        },
    ]
    for n, color in SMA_COLORS.items():
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"SMA {n}",
                "x": x,
                "y": _rounded(sma(close_all, n).loc[win.index], 4),
                "line": {"color": color, "width": 1.3},
                "yaxis": "y",
                "hovertemplate": f"SMA {n} $%{{y:,.2f}}<extra></extra>",
            }
        )
    return traces


def _level_traces(result: RunResult, index: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """Each of the strategy's levels as a dashed segment over the window in which it was active."""
    window = level_window(result.levels, index)
    if window is None:
        return []
    start, end = (d.strftime("%Y-%m-%d") for d in window)
    traces, seen = [], set()
    for key, price, label in level_segments(result.levels):
        color = LEVEL_STYLE.get(key, ("#17becf", key))[0]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": {"ladder": "entry ladder", "stop": "stop", "targets": "targets"}.get(
                    key, key
                ),
                "legendgroup": key,
                "showlegend": key not in seen,
                "x": [start, end],
                "y": [price, price],
                "line": {"color": color, "width": 1.2, "dash": "dash"},
                "yaxis": "y",
                "hovertemplate": f"{label}<br>active {start} to {end}<extra></extra>",
            }
        )
        seen.add(key)
    return traces


def _fill_traces(result: RunResult) -> list[dict[str, Any]]:
    """Every fill as a marker: buys green up, stop sells red down, other sells orange down."""
    fills = result.fills
    if len(fills) == 0:
        return []
    reason = fills["reason"].astype(str)
    is_buy = (fills["side"] == "buy").to_numpy()
    is_stop = reason.str.contains("stop", case=False).to_numpy()
    groups = (
        ("buy fills", is_buy, "triangle-up", BUY_COLOR),
        ("stop sells", ~is_buy & is_stop, "triangle-down", STOP_COLOR),
        ("sell fills", ~is_buy & ~is_stop, "triangle-down", TARGET_COLOR),
    )
    traces = []
    for name, sel, symbol, color in groups:
        if not sel.any():
            continue
        f = fills.loc[sel]
        custom = [
            [
                pd.Timestamp(d).strftime("%Y-%m-%d"),
                str(side),
                f"{size:,.4f}".rstrip("0").rstrip("."),
                f"{price:,.2f}",
                str(why),
                str(kind),
            ]
            for d, side, size, price, why, kind in zip(
                f["date"],
                f["side"],
                f["size"],
                f["price"],
                f["reason"],
                f["order_type"],
                strict=True,
            )
        ]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": _dates(pd.to_datetime(f["date"])),
                "y": _rounded(f["price"], 4),
                "customdata": custom,
                "hovertemplate": FILL_HOVER,
                "marker": {
                    "symbol": symbol,
                    "size": 12,
                    "color": color,
                    "line": {"color": "#1d2329", "width": 1},
                },
                "yaxis": "y",
            }
        )
    return traces


def _equity_traces(result: RunResult, bench: RunResult | None) -> list[dict[str, Any]]:
    """Account value (with buy & hold when given) and the drawdown of the account."""
    eq = result.equity.astype(float)
    traces: list[dict[str, Any]] = []
    if bench is not None and bench is not result and len(bench.equity):
        b = bench.equity.astype(float).reindex(eq.index)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{bench.strategy} (same window)",
                "x": _dates(b.index),
                "y": _rounded(b, 2),
                "line": {"color": BENCH_COLOR, "width": 1.2, "dash": "dot"},
                "yaxis": "y3",
                "hovertemplate": f"{bench.strategy} $%{{y:,.0f}}<extra></extra>",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{result.strategy} account",
            "x": _dates(eq.index),
            "y": _rounded(eq, 2),
            "line": {"color": STRATEGY_COLOR, "width": 1.6},
            "yaxis": "y3",
            "hovertemplate": f"{result.strategy} $%{{y:,.0f}}<extra></extra>",
        }
    )
    dd = (eq / eq.cummax() - 1.0) * 100
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "drawdown",
            "x": _dates(dd.index),
            "y": _rounded(dd, 2),
            "fill": "tozeroy",
            "line": {"color": STOP_COLOR, "width": 1},
            "fillcolor": "rgba(214,39,40,0.25)",
            "yaxis": "y4",
            "showlegend": False,
            "hovertemplate": "drawdown %{y:.1f}%<extra></extra>",
        }
    )
    return traces


def _layout(result: RunResult, index: pd.DatetimeIndex) -> dict[str, Any]:
    axis = {"gridcolor": "#e3e8ec", "zeroline": False, "automargin": True}
    titles = {"y": "price ($)", "y2": "volume", "y3": "account ($)", "y4": "drawdown (%)"}
    layout: dict[str, Any] = {
        "height": HEIGHT,
        "margin": {"l": 70, "r": 20, "t": 40, "b": 40},
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "dragmode": "pan",
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.04,
            "yanchor": "bottom",
            "font": {"size": 11},
        },
        "font": {"family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 12},
        "xaxis": {
            **axis,
            "type": "date",
            "anchor": "y4",
            "rangeslider": {"visible": False},
            "rangebreaks": [{"bounds": ["sat", "mon"]}, {"values": holidays(index)}],
            "showspikes": True,
            "spikemode": "across",
            "spikesnap": "cursor",
            "spikethickness": 1,
            "spikecolor": "#8a96a3",
            "rangeselector": {
                "x": 0,
                "y": -0.07,
                "yanchor": "top",
                "buttons": [
                    {"count": 1, "label": "1m", "step": "month", "stepmode": "backward"},
                    {"count": 3, "label": "3m", "step": "month", "stepmode": "backward"},
                    {"count": 6, "label": "6m", "step": "month", "stepmode": "backward"},
                    {"step": "all", "label": "all"},
                ],
            },
        },
    }
    for i, (name, domain) in enumerate(DOMAINS.items()):
        key = "yaxis" if i == 0 else f"yaxis{i + 1}"
        layout[key] = {
            **axis,
            "domain": list(domain),
            "title": {"text": titles[name], "font": {"size": 11}},
            "fixedrange": True,  # wheel and drag zoom the dates; the script fits the y ranges
        }
    focus = plan_range(result, index)
    if focus is not None:
        layout["xaxis"]["range"] = list(focus)
        layout["updatemenus"] = [
            {
                "type": "buttons",
                "direction": "right",
                "showactive": False,
                "x": 0.25,
                "y": -0.07,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 0, "r": 4},
                "font": {"size": 11},
                "buttons": [
                    {
                        "label": "plan window",
                        "method": "relayout",
                        "args": [{"xaxis.range": list(focus)}],
                    },
                    {
                        "label": "whole history",
                        "method": "relayout",
                        "args": [{"xaxis.autorange": True}],
                    },
                ],
            }
        ]
    layout["yaxis"]["tickprefix"] = "$"
    layout["yaxis3"]["tickprefix"] = "$"
    layout["yaxis3"]["tickformat"] = ",.0f"
    layout["yaxis4"]["ticksuffix"] = "%"
    return layout


def chart_figure(
    result: RunResult,
    prices: pd.DataFrame,
    bench: RunResult | None = None,
    events: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The interactive chart of one run as a plotly figure dict (``data`` and ``layout``).

    Parameters
    ----------
    result : the run to draw (window, fills, levels, equity)
    prices : DatetimeIndex, columns open high low close adj_close volume; the SMAs use the rows
        before the run's window too, as the strategies' indicators did
    bench : the buy-and-hold run over the same window, drawn in the account panel
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on the price
        panel at their reaction sessions (hover: date, timing, source); None for none

    Returns
    -------
    A dict ready for ``plotly.io.to_html(fig, validate=False)``.
    """
    close_all = prices["close"].astype(float)
    if len(result.equity):
        win = prices.loc[result.equity.index[0] : result.equity.index[-1]]
    else:
        win = prices
    index = pd.DatetimeIndex(win.index)
    data = [
        *_price_traces(win, close_all, result.ticker),
        *_level_traces(result, index),
        *_fill_traces(result),
        *_equity_traces(result, bench),
    ]
    layout = _layout(result, index)
    if events is not None and len(events):
        shapes, notes = event_shapes(chart_events(events, index))
        layout["shapes"] = [*layout.get("shapes", []), *shapes]
        layout["annotations"] = [*layout.get("annotations", []), *notes]
    return {"data": data, "layout": layout}


def event_shapes(placed: pd.DataFrame, yref: str = "y domain") -> tuple[list, list]:
    """``(shapes, annotations)``: a dotted line per event over the price panel and its label;
    the title, timing and source on hover. ``placed``: :func:`engine.data.events.chart_events`
    (the PNG charts draw the same placement, :func:`engine.report.charts.draw_event_markers`)."""
    shapes, notes = [], []
    for row in placed.itertuples(index=False):
        day = pd.Timestamp(row.session).strftime("%Y-%m-%d")
        c = event_color(row.kind)
        line = {"color": c, "width": 1, "dash": "dot"}
        shapes.append(
            {"type": "line", "xref": "x", "yref": yref, "x0": day, "x1": day, "y0": 0, "y1": 1}
            | {"line": line, "layer": "below"}
        )
        when = pd.Timestamp(row.date).strftime("%Y-%m-%d")
        timing = str(row.timing).replace("_", " ")
        notes.append(
            {"xref": "x", "yref": yref, "x": day, "y": 1, "yanchor": "top", "text": row.label}
            | {"showarrow": False, "font": {"size": 10, "color": "white"}, "bgcolor": c}
            | {"hovertext": f"{when}: {row.title} ({timing})<br>source: {row.source}"}
        )
    return shapes, notes


FAN_COLOR = "31, 119, 180"  # rgb of the strategy colour, for the translucent bands
FAN_TITLES = {"block": "block bootstrap of daily returns", "execution": "execution noise"}


def fan_figure(equity: pd.Series, methods: dict[str, Any]) -> dict[str, Any]:
    """The run's account over the Monte Carlo fan of each method that has one (5-95 % and
    25-75 % bands, the median path), one panel per method sharing the date axis."""
    fans = [(m, r) for m, r in methods.items() if getattr(r, "fan", None) is not None]
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": 260 * max(len(fans), 1),
        "margin": {"l": 70, "r": 20, "t": 30, "b": 40},
        "hovermode": "x unified",
        "showlegend": False,
        "annotations": [],
    }
    step = 1.0 / max(len(fans), 1)
    for k, (method, res) in enumerate(fans):
        axis = "" if k == 0 else str(k + 1)
        fan, x = res.fan, _dates(res.fan.index)
        band = {"type": "scatter", "mode": "lines", "x": x, "xaxis": "x", "yaxis": f"y{axis}"}
        for lo, hi, alpha in (("p5", "p95", 0.15), ("p25", "p75", 0.3)):
            data.append(
                band | {"y": _rounded(fan[lo], 0), "line": {"width": 0}, "hoverinfo": "skip"}
            )
            data.append(
                band
                | {"y": _rounded(fan[hi], 0), "line": {"width": 0}, "fill": "tonexty"}
                | {"fillcolor": f"rgba({FAN_COLOR}, {alpha})", "name": f"{lo}-{hi}"}
            )
        data.append(
            band
            | {"y": _rounded(fan["p50"], 0), "name": "median path"}
            | {"line": {"dash": "dash", "color": f"rgb({FAN_COLOR})", "width": 1}}
        )
        data.append(
            band
            | {
                "x": _dates(equity.index),
                "y": _rounded(equity, 0),
                "name": "the run",
                "line": {"color": STOP_COLOR, "width": 1.6},
            }
        )
        top = 1.0 - k * step
        layout[f"yaxis{axis}"] = {"domain": [top - step + 0.08, top - 0.02], "tickprefix": "$"}
        layout["annotations"].append(
            {
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": top,
                "xanchor": "left",
                "showarrow": False,
            }
            | {
                "text": f"{FAN_TITLES.get(method, method)}: {res.n_paths:,} paths",
                "yanchor": "bottom",
            }
        )
    layout["xaxis"] = {"type": "date", "anchor": f"y{'' if len(fans) < 2 else len(fans)}"}
    return {"data": data, "layout": layout}


def chart_html(figure: dict[str, Any], div_id: str, *, rescale: bool = True) -> str:
    """A ``<div>`` and the script that draws ``figure`` in it (plotly.js must already be loaded).

    Parameters
    ----------
    figure : a dict from :func:`chart_figure` or :func:`comparison_figure`
    div_id : the element id (distinct per chart on a page)
    rescale : fit the y ranges to the dates in view after a zoom (the stacked price chart)
    """
    return str(
        pio.to_html(
            figure,
            validate=False,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            div_id=div_id,
            default_width="100%",
            default_height=f"{figure['layout'].get('height', HEIGHT)}px",
            post_script=RESCALE_JS if rescale else None,
            config={
                "displaylogo": False,
                "scrollZoom": True,
                "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                "toImageButtonOptions": {"filename": div_id},
            },
        )
    )


def plotly_js() -> str:
    """plotly.js (minified) as shipped in the plotly package, to inline once in a page."""
    return str(get_plotlyjs())


def comparison_figure(results: list[RunResult], bench: RunResult | None) -> dict[str, Any]:
    """Every run's account as the growth of $1 on one chart; buy & hold dashed grey.

    Parameters
    ----------
    results : the runs (same window expected), drawn in this order
    bench : the buy-and-hold run, drawn dashed (added when not among ``results``)

    Returns
    -------
    A plotly figure dict (one panel, hover shows every line's value on the hovered day).
    """
    palette = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    runs = list(results)
    if bench is not None and all(r.strategy != bench.strategy for r in runs):
        runs.append(bench)
    colors = iter(palette * (len(runs) // len(palette) + 1))
    data = []
    for run in runs:
        if len(run.equity) == 0:
            continue
        eq = run.equity.astype(float)
        is_bench = bench is not None and run.strategy == bench.strategy
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{run.strategy} ({eq.iloc[-1] / eq.iloc[0] - 1:+.1%})",
                "x": _dates(eq.index),
                "y": _rounded(eq / eq.iloc[0], 4),
                "line": {
                    "color": BENCH_COLOR if is_bench else next(colors),
                    "width": 1.4 if is_bench else 1.8,
                    "dash": "dash" if is_bench else "solid",
                },
                "hovertemplate": f"{run.strategy} %{{y:.3f}}<extra></extra>",
            }
        )
    layout = {
        "height": 420,
        "margin": {"l": 60, "r": 20, "t": 10, "b": 40},
        "plot_bgcolor": "white",
        "hovermode": "x unified",
        "dragmode": "pan",
        "legend": {"x": 1.0, "xanchor": "right", "y": 1.0, "bgcolor": "rgba(255,255,255,0.8)"},
        "xaxis": {"type": "date", "gridcolor": "#e3e8ec"},
        "yaxis": {
            "title": {"text": "growth of $1", "font": {"size": 11}},
            "gridcolor": "#e3e8ec",
            "fixedrange": True,
        },
        "shapes": [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 1,
                "y1": 1,
                "line": {"color": "#8a96a3", "width": 1, "dash": "dot"},
            }
        ],
    }
    return {"data": data, "layout": layout}
