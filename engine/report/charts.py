"""Charts of a run: each function takes plain results and returns a matplotlib ``Figure``.

* :func:`equity_figure` - account value against buy-and-hold, with the drawdown panel;
* :func:`comparison_figure` - every strategy as the growth of $1;
* :func:`indicator_figure` - price with SMA 20/60, MACD (12, 26, 9) and RSI (14);
* the price chart (levels, labelled fills, volume) is :mod:`engine.report.price_chart`.

Figures come from :func:`engine.report.figures.new_figure` (never ``pyplot``) and ``path=``
saves a PNG atomically. The indicators drawn are the strategies' own definitions
(:mod:`engine.analysis.indicators`: backtrader's SMA-seeded EMA, Wilder RSI with ``safediv``),
so a chart shows the values the strategies traded on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import blended_transform_factory

from engine.analysis.indicators import macd, rsi, sma
from engine.analysis.returns import drawdown_series
from engine.data.events import chart_events
from engine.report.display import is_benchmark
from engine.report.figures import (
    bar_collection,
    date_axis,
    dollar_axis,
    fit_margins,
    new_figure,
    save_png,
)
from engine.report.levels import event_color, event_key
from engine.result import RunResult

STRATEGY_COLOR = "#1f77b4"
BENCH_COLOR = "#7f7f7f"
SMA_COLORS = {20: "#ff7f0e", 60: "#9467bd"}


def window_text(index: pd.Index) -> str:
    """``2025-03-28 to 2026-10-09`` for a DatetimeIndex (empty string if empty)."""
    if len(index) == 0:
        return ""
    return f"{index[0]:%Y-%m-%d} to {index[-1]:%Y-%m-%d}"


def run_title(result: RunResult, what: str) -> str:
    """Figure title: what is shown, strategy, ticker and the run's window."""
    return f"{what}: {result.strategy} on {result.ticker}, {window_text(result.equity.index)}"


def price_window(result: RunResult, prices: pd.DataFrame) -> pd.DataFrame:
    """The price rows inside the run's window (all rows if the equity curve is empty)."""
    if len(result.equity) == 0:
        return prices
    first, last = result.equity.index[0], result.equity.index[-1]
    return prices.loc[(prices.index >= first) & (prices.index <= last)]


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------


def equity_figure(
    result: RunResult,
    buy_hold: RunResult | None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Account value against buy-and-hold, with the underwater (drawdown) panel below.

    Parameters
    ----------
    result : the run to draw
    buy_hold : the buy-and-hold benchmark run (drawn in grey), or None
    path : if given, the PNG is written there atomically
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on their
        reaction sessions; None for none

    Returns
    -------
    Figure with two axes sharing the date axis: equity (dollars) and drawdown (percent).
    """
    fig = new_figure(11, 6.5, margins=(0.95, 0.2, 0.45, 0.45), hspace=0.06)
    ax, dd_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
    eq = result.equity
    curves = [(result, STRATEGY_COLOR, 1.6)]
    if buy_hold is not None and buy_hold is not result and len(buy_hold.equity):
        curves.append((buy_hold, BENCH_COLOR, 1.1))
    handles = []
    for run, color, lw in reversed(curves):  # benchmark first, so the strategy is drawn on top
        label = f"{run.strategy}: ${run.final_equity:,.0f} ({_total_return(run):+.1%})"
        handles += ax.plot(run.equity.index, run.equity.values, color=color, lw=lw, label=label)
        dd = drawdown_series(run.equity) * 100
        if run is result:
            dd_ax.fill_between(dd.index, dd.values, 0, color="#d62728", alpha=0.3, lw=0)
        dd_ax.plot(
            dd.index,
            dd.values,
            color="#d62728" if run is result else color,
            lw=0.9,
            label=run.strategy,
        )
    shade = _shade_in_market(ax, result)
    cash = result.settings.get("cash")
    if cash is not None:
        ax.axhline(float(cash), color="0.55", lw=0.8, ls=":", zorder=0)
    _mark_max_drawdown(dd_ax, drawdown_series(eq) * 100)
    ax.set_ylabel("account value")
    dollar_axis(ax)
    ax.legend(handles=handles[::-1] + shade, loc="best", fontsize=9, framealpha=0.85)
    dd_ax.set_ylabel("drawdown")
    dd_ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    dd_ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
    for a in (ax, dd_ax):
        a.grid(True, alpha=0.3)
    date_axis(dd_ax)
    fig.suptitle(run_title(result, "Equity"), fontsize=12, y=0.985)
    fit_margins(fig, [ax, dd_ax])
    save_png(fig, path)
    return fig


def _shade_in_market(ax: Axes, result: RunResult) -> list[Any]:
    """Light background band over the sessions when the strategy held shares (legend handle)."""
    pos = result.position.reindex(result.equity.index).fillna(0.0)
    if not (pos > 0).any():
        return []
    band = ax.fill_between(
        pos.index,
        0,
        1,
        where=(pos > 0).to_numpy(),
        transform=ax.get_xaxis_transform(),
        color=STRATEGY_COLOR,
        alpha=0.07,
        lw=0,
        step="post",
        label="in the market",
    )
    return [band]


def _mark_max_drawdown(ax: Axes, dd_pct: pd.Series) -> None:
    """Annotate the deepest point of a drawdown series (in percent)."""
    if len(dd_pct) == 0 or not np.isfinite(dd_pct.min()) or dd_pct.min() >= 0:
        return
    when = dd_pct.idxmin()
    ax.annotate(
        f"max {dd_pct.min():.1f}%",
        xy=(when, dd_pct.min()),
        xytext=(6, 4),
        textcoords="offset points",
        fontsize=8,
        color="#8b0000",
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
    )
    ax.set_ylim(top=max(2.0, -dd_pct.min() * 0.05))


def comparison_figure(
    results: list[RunResult], path: str | os.PathLike[str] | None = None
) -> Figure:
    """Every strategy's equity curve on one chart, as the growth of $1 (each divided by its start).

    Parameters
    ----------
    results : the runs to compare (same ticker and window expected)
    path : if given, the PNG is written there atomically
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on their
        reaction sessions; None for none

    Returns
    -------
    Figure with one axes; the legend (with each final return) sits outside, right of the plot.
    """
    fig = new_figure(11.5, 5.8, margins=(0.75, 2.0, 0.45, 0.45))
    ax = fig.add_subplot()
    cmap = colormaps["tab10"]
    ranked = sorted(results, key=lambda r: -_total_return(r))
    colors = iter(cmap(i % 10) for i in range(len(results)))
    for run in ranked:
        if len(run.equity) == 0:
            continue
        norm = run.equity / run.equity.iloc[0]
        bench = is_benchmark(run.strategy)
        ax.plot(
            norm.index,
            norm.values,
            lw=1.3 if bench else 1.5,
            ls="--" if bench else "-",
            color="0.25" if bench else next(colors),
            label=f"{run.strategy} ({_total_return(run):+.1%})",
            zorder=2 if bench else 3,
        )
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_ylabel("growth of $1")
    ax.grid(True, alpha=0.3)
    date_axis(ax)
    legend = ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="total return"
    )
    tickers = sorted({r.ticker for r in results})
    window = window_text(results[0].equity.index) if results else ""
    fig.suptitle(f"All strategies on {', '.join(tickers)}, {window}", fontsize=12, y=0.985)
    fit_margins(fig, [ax], [legend], right_extra=0.25)
    save_png(fig, path)
    return fig


def _total_return(run: RunResult) -> float:
    if len(run.equity) == 0:
        return float("nan")
    return float(run.equity.iloc[-1] / run.equity.iloc[0] - 1)


def indicator_figure(
    result: RunResult,
    prices: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """The article's technical read: price with SMA 20/60, MACD(12, 26, 9) and RSI(14).

    Indicators are computed on the whole ``prices`` frame (so warm-up before the run's window is
    used) and drawn over the run's window.

    Parameters
    ----------
    result : the run whose window, ticker and fills are shown (fills as small markers)
    prices : DatetimeIndex, columns open high low close adj_close volume
    path : if given, the PNG is written there atomically
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on their
        reaction sessions; None for none

    Returns
    -------
    Figure with three axes sharing the date axis: price, MACD, RSI.
    """
    close = prices["close"].astype(float)
    ind = macd(close).join(rsi(close).rename("rsi"))
    for n in SMA_COLORS:
        ind[f"sma{n}"] = sma(close, n)
    ind["close"] = close
    ind = ind.loc[price_window(result, prices).index]
    fig = new_figure(11, 8.5, margins=(0.8, 1.6, 0.4, 0.45), hspace=0.07)
    ax, m_ax, r_ax = fig.subplots(3, 1, sharex=True, height_ratios=[2.3, 1.2, 1.2])
    ax.plot(ind.index, ind["close"], color="black", lw=1.2, label="close")
    for n, color in SMA_COLORS.items():
        ax.plot(ind.index, ind[f"sma{n}"], color=color, lw=1.1, label=f"SMA {n}")
    _small_fill_markers(ax, result)
    if events is not None:
        placed = chart_events(events, pd.DatetimeIndex(ind.index))
        draw_event_markers(ax, placed)
        draw_event_key(ax, placed, 1.01, 0.52)  # below the legend
    ax.set_ylabel("price")
    dollar_axis(ax)
    legends = [ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8.5)]
    legends.append(_draw_macd(m_ax, ind))
    legends.append(_draw_rsi(r_ax, ind["rsi"]))
    for a in (ax, m_ax, r_ax):
        a.grid(True, alpha=0.3)
    date_axis(r_ax)
    fig.suptitle(
        f"Indicators: {result.ticker}, {window_text(ind.index)} (fills of {result.strategy})",
        fontsize=12,
        y=0.985,
    )
    fit_margins(fig, [ax, m_ax, r_ax], legends)
    save_png(fig, path)
    return fig


def _small_fill_markers(ax: Axes, result: RunResult) -> None:
    """Buys as green up-triangles, sells as red down-triangles, no labels."""
    fills = result.fills
    if len(fills) == 0:
        return
    dates = pd.to_datetime(fills["date"])
    for side, marker, color in (("buy", "^", "#2ca02c"), ("sell", "v", "#d62728")):
        sel = (fills["side"] == side).to_numpy()
        if sel.any():
            ax.scatter(
                dates[sel],
                fills["price"][sel],
                marker=marker,
                s=40,
                color=color,
                edgecolors="black",
                linewidths=0.5,
                zorder=5,
                label=side,
            )


def _draw_macd(ax: Axes, ind: pd.DataFrame) -> Any:
    """MACD and signal lines; histogram bars green above zero, red below, pale when shrinking."""
    hist = ind["hist"]
    shrinking = hist.abs() < hist.abs().shift(1)
    colors = [
        ("#f4a6a6" if s else "#d62728") if h < 0 else ("#a8dba8" if s else "#2ca02c")
        for h, s in zip(hist.fillna(0), shrinking, strict=True)
    ]
    bar_collection(
        ax,
        date2num(ind.index),
        hist.fillna(0).to_numpy(),
        width=0.8,
        colors=colors,
        label="histogram",
    )
    ax.plot(ind.index, ind["macd"], color="#1f77b4", lw=1.1, label="MACD (12, 26)")
    ax.plot(ind.index, ind["signal"], color="#ff7f0e", lw=1.1, label="signal (9)")
    ax.axhline(0, color="0.4", lw=0.7)
    ax.set_ylabel("MACD")
    return ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8.5)


def _draw_rsi(ax: Axes, values: pd.Series) -> Any:
    """RSI line with the 30 / 50 / 70 guides; oversold and overbought zones shaded."""
    ax.axhspan(70, 100, color="#d62728", alpha=0.06, lw=0)
    ax.axhspan(0, 30, color="#2ca02c", alpha=0.06, lw=0)
    for level, ls in ((30, "--"), (50, ":"), (70, "--")):
        ax.axhline(level, color="0.45", lw=0.8, ls=ls)
    ax.plot(values.index, values.to_numpy(float), color="#8c564b", lw=1.1, label="RSI (14, Wilder)")
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 30, 50, 70, 100])
    ax.set_ylabel("RSI")
    return ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8.5)


def draw_event_key(ax: Axes, placed: pd.DataFrame, x: float, y: float) -> list[Any]:
    """What the event markers mean (each label drawn as on the chart, then its meaning), one
    line each downwards from ``(x, y)`` in ``ax``'s axes fraction (outside the axes too).
    Returns the texts (none when no event is placed)."""
    key = event_key(placed)
    if not key:
        return []
    style: dict[str, Any] = {
        "xycoords": "axes fraction",
        "textcoords": "offset points",
        "va": "top",
        "ha": "left",
        "annotation_clip": False,
    }
    texts = [ax.annotate("events (dotted lines)", (x, y), xytext=(0, 0), fontsize=8, **style)]
    for k, (label, name, kind) in enumerate(key, start=1):
        dy = -13.0 * k - 2.0
        box = {"boxstyle": "round,pad=0.2", "fc": event_color(kind), "ec": "none", "alpha": 0.9}
        texts.append(
            ax.annotate(label, (x, y), xytext=(2, dy), fontsize=7, color="white", bbox=box, **style)
        )
        texts.append(ax.annotate(name, (x, y), xytext=(24, dy), fontsize=7.5, **style))
    return texts


def draw_event_markers(ax: Axes, placed: pd.DataFrame) -> list[Any]:
    """Dated events on a price axis: a dotted line on each reaction session and its label at
    the top (two rows when markers are a few days apart). ``placed``:
    :func:`engine.data.events.chart_events`. Returns the labels (obstacles for fill labels)."""
    labels: list[Any] = []
    if len(placed) == 0:
        return labels
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    # all the dotted lines as one collection (an axvline each re-autoscales the axes)
    ax.vlines(
        placed["session"].to_numpy(),
        0,
        1,
        colors=[event_color(k) for k in placed["kind"]],
        lw=0.8,
        linestyles=":",
        alpha=0.9,
        zorder=1,
        transform=ax.get_xaxis_transform(),
    )
    last, row_no = None, 0
    for row in placed.itertuples(index=False):
        c = event_color(row.kind)
        near = last is not None and (pd.Timestamp(row.session) - last).days < 10
        row_no = 1 - row_no if near else 0
        last = pd.Timestamp(row.session)
        labels.append(
            ax.annotate(
                row.label,
                (row.session, 0.995 - 0.05 * row_no),
                xycoords=trans,
                ha="center",
                va="top",
                fontsize=7,
                color="white",
                bbox={"boxstyle": "round,pad=0.2", "fc": c, "ec": "none", "alpha": 0.9},
                zorder=6,
            )
        )
    return labels
