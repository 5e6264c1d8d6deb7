"""The price chart of a run (:func:`price_figure`): levels, labelled fills, volume, profile.

Layout: a 2 x 2 grid. Left column: price (close, day range band, SMA 20 / 60, the strategy's
levels, fills) above the volume bars, sharing the date axis. Right column, top: the
price-by-volume profile, sharing the price axis. A dated plan active on a short stretch gets a
zoomed panel of its window below (:func:`zoom_range`). The figure comes from
:func:`engine.report.figures.new_figure` with a fixed layout, and the fill labels are placed
without a draw pass (:mod:`engine.report.labels`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from engine.analysis.indicators import sma
from engine.data.events import chart_events
from engine.report.charts import (
    SMA_COLORS,
    draw_event_key,
    draw_event_markers,
    price_window,
    run_title,
)
from engine.report.figures import (
    bar_collection,
    date_axis,
    dollar_axis,
    fit_margins,
    new_figure,
    save_png,
)
from engine.report.labels import Label, marker_boxes, place_labels, renderer_of, text_box
from engine.report.levels import (
    BUY_COLOR,
    LEVEL_LEGEND,
    LEVEL_STYLE,
    STOP_COLOR,
    TARGET_COLOR,
    active_window,
    filled_label,
    level_fills,
    level_segments,
    plan_range,
)
from engine.result import RunResult

UP_COLOR, DOWN_COLOR = "#5aa05a", "#d06060"
ZOOM_SHADE = "#fde9a9"


def volume_profile(prices: pd.DataFrame, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Volume traded in each price bin, each bar's volume spread evenly over its low-high range.

    Parameters
    ----------
    prices : columns ``low``, ``high``, ``volume``
    bins : number of equal-width bins between the lowest low and the highest high

    Returns
    -------
    (edges, volume): ``bins + 1`` bin edges and ``bins`` volumes; the volumes sum to the total
    volume (a bar with ``high == low`` puts all of it in its one bin).
    """
    low = prices["low"].to_numpy(float)
    high = prices["high"].to_numpy(float)
    vol = prices["volume"].to_numpy(float)
    ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(vol)
    low, high, vol = low[ok], high[ok], vol[ok]
    if len(low) == 0:
        return np.linspace(0.0, 1.0, bins + 1), np.zeros(bins)
    lo, hi = float(low.min()), float(high.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    # overlap of [low, high] with each bin, as a share of the bar's range
    overlap = np.clip(
        np.minimum(high[:, None], edges[None, 1:]) - np.maximum(low[:, None], edges[None, :-1]),
        0.0,
        None,
    )
    span = high - low
    share = np.where(span[:, None] > 0, overlap / np.where(span > 0, span, 1.0)[:, None], 0.0)
    flat = span <= 0
    if flat.any():
        idx = np.clip(np.searchsorted(edges, low[flat], side="right") - 1, 0, bins - 1)
        share[np.flatnonzero(flat), idx] = 1.0
    return edges, (share * vol[:, None]).sum(axis=0)


ZOOM_SHARE = 0.4  # a plan active on less than this share of the sessions gets a zoomed panel
MAIN_HEIGHT, ZOOM_HEIGHT = 7.5, 4.4  # inches: the full-history chart, the zoomed panel


def zoom_range(
    result: RunResult, index: pd.DatetimeIndex
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The sessions of the zoomed panel: a dated plan's window with 15 sessions each side
    (:func:`engine.report.levels.plan_range`), or None when the plan covers much of the chart
    (or there is no plan)."""
    window = active_window(result.levels, index) if result.levels else None
    span = plan_range(result, index)
    if window is None or span is None:
        return None
    sessions = int(index.searchsorted(window[1])) - int(index.searchsorted(window[0])) + 1
    if sessions >= ZOOM_SHARE * len(index):
        return None
    return pd.Timestamp(span[0]), pd.Timestamp(span[1])


def price_figure(
    result: RunResult,
    prices: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """Price with SMA 20/60, the strategy's levels, every fill labelled, volume and volume profile.

    Layout: price (close, day range band, SMA 20 / 60, the strategy's levels, fills) above the
    volume bars, sharing the date axis; the price-by-volume profile on the right, sharing the
    price axis. A dated plan active on a short stretch of the chart (the swing plan's seven
    weeks of an 18-month chart) gets a fourth panel below: its window zoomed, as candlesticks,
    with its levels and fills labelled; the full chart shades the window.

    Labels: each (date, side) group of fills is labelled ``reason $price`` (just the price when
    every fill of that side has the same reason: the legend names it), placed where it overlaps
    no marker, level or other label (:mod:`engine.report.labels`). A fill exactly at one of the
    drawn levels is named on the level's label instead ("target 1 $130.00, filled Sep 22").

    Parameters
    ----------
    result : the run to draw (fills, levels, window)
    prices : DatetimeIndex, columns open high low close adj_close volume
    path : if given, the PNG is written there atomically
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on their
        reaction sessions; None for none

    Returns
    -------
    Figure whose axes are: price, volume (sharing the date axis with price), the price-by-volume
    profile (sharing the price axis) and, with a zoomed plan, the zoomed panel.
    """
    win = price_window(result, prices)
    index = pd.DatetimeIndex(win.index)
    zoom = zoom_range(result, index)
    height = MAIN_HEIGHT + (ZOOM_HEIGHT if zoom else 0.0)
    fig = new_figure(12.5, height, margins=(0.85, 0.15, 0.0, 0.0), wspace=0.03)
    below = ZOOM_HEIGHT if zoom else 0.0
    gs = fig.add_gridspec(
        2,
        2,
        height_ratios=[3.2, 1],
        width_ratios=[5.2, 1],
        top=1 - 0.8 / height,
        bottom=(below + (0.3 if zoom else 0.45)) / height,
        hspace=0.12,
    )
    ax = fig.add_subplot(gs[0, 0])
    vol_ax = fig.add_subplot(gs[1, 0], sharex=ax)
    prof_ax = fig.add_subplot(gs[0, 1], sharey=ax)
    close_all = prices["close"].astype(float)
    smas = {n: sma(close_all, n) for n in SMA_COLORS}
    skipped = _draw_price(ax, result, win, smas, events, zoom)
    _draw_volume(vol_ax, win)
    _draw_profile(prof_ax, win)
    if events is not None:  # the markers' key, in the free cell right of the volume bars
        key_ax = fig.add_subplot(gs[1, 1])
        key_ax.axis("off")
        draw_event_key(key_ax, chart_events(events, index), 0.04, 0.92)
    fig.suptitle(run_title(result, "Price, levels and fills"), fontsize=12, y=1 - 0.08 / height)
    left = [ax, vol_ax]
    if zoom is not None:
        zgs = fig.add_gridspec(1, 1, top=(ZOOM_HEIGHT - 0.45) / height, bottom=0.45 / height)
        zoom_ax = fig.add_subplot(zgs[0, 0])
        zwin = win.loc[(win.index >= zoom[0]) & (win.index <= zoom[1])]
        skipped += _draw_zoom(zoom_ax, result, zwin, smas, events)
        left.append(zoom_ax)
    if skipped:
        ax.text(
            0.995,
            0.005,
            f"{skipped} fill labels left out to avoid overlap (see the fills list)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.35",
        )
    fit_margins(fig, left)
    save_png(fig, path)
    return fig


def _draw_price(
    ax: Axes,
    result: RunResult,
    win: pd.DataFrame,
    smas: dict[int, pd.Series],
    events: pd.DataFrame | None,
    zoom: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> int:
    """The full-history price panel; returns the number of fill labels left out."""
    index = pd.DatetimeIndex(win.index)
    ax.fill_between(
        win.index, win["low"], win["high"], color="0.6", alpha=0.25, lw=0, label="day range"
    )
    ax.plot(win.index, win["close"], color="black", lw=1.1, label="close")
    for n, color in SMA_COLORS.items():
        ax.plot(win.index, smas[n].loc[win.index], color=color, lw=1.1, label=f"SMA {n}")
    # with a zoomed panel the levels are labelled there, not in the full chart's narrow window
    obstacles = _draw_levels(ax, result, index, labels=zoom is None)
    if zoom is not None:
        ax.axvspan(
            date2num(zoom[0]),
            date2num(zoom[1]),
            color=ZOOM_SHADE,
            alpha=0.5,
            lw=0,
            zorder=0,
            label="zoomed below",
        )
    if events is not None:  # dated events (earnings, lock-up...) on their reaction sessions
        obstacles += draw_event_markers(ax, chart_events(events, index))
    _draw_fills(ax, result)
    ax.set_ylabel("price")
    dollar_axis(ax)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelbottom=False)
    n_entries = len(ax.get_legend_handles_labels()[1])
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=n_entries,
        fontsize=8,
        frameon=False,
        borderaxespad=0.2,
        columnspacing=1.1,
        handlelength=1.6,
    )
    skip = None
    if zoom is not None:  # fills inside the zoomed stretch are labelled there only
        dates = pd.to_datetime(result.fills["date"])
        inside = ((dates >= zoom[0]) & (dates <= zoom[1])).to_numpy()
        skip = {int(i) for i in np.flatnonzero(inside)}
    return label_fills(ax, result, obstacles, index, skip=skip)


def _draw_zoom(
    ax: Axes,
    result: RunResult,
    zwin: pd.DataFrame,
    smas: dict[int, pd.Series],
    events: pd.DataFrame | None,
) -> int:
    """The plan's window zoomed: candlesticks, SMAs, levels, fills; returns labels left out."""
    index = pd.DatetimeIndex(zwin.index)
    _draw_candles(ax, zwin)
    for n, color in SMA_COLORS.items():
        ax.plot(zwin.index, smas[n].loc[zwin.index], color=color, lw=1.1, label=f"SMA {n}")
    obstacles = _draw_levels(ax, result, index, labels=True, room=0.3)
    if events is not None:
        obstacles += draw_event_markers(ax, chart_events(events, index))
    fills = result.fills
    dates = pd.to_datetime(fills["date"])
    inside = ((dates >= index[0]) & (dates <= index[-1])).to_numpy()
    _draw_fills(ax, result, inside)
    window = active_window(result.levels, index)
    when = f", levels active {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}" if window else ""
    ax.set_title(
        f"The plan's window, zoomed: {index[0]:%Y-%m-%d} to {index[-1]:%Y-%m-%d}{when}",
        fontsize=10,
        loc="left",
    )
    ax.set_ylabel("price")
    dollar_axis(ax)
    ax.grid(True, alpha=0.3)
    date_axis(ax)
    return label_fills(ax, result, obstacles, index, skip={int(i) for i in np.flatnonzero(~inside)})


def _draw_candles(ax: Axes, win: pd.DataFrame, width: float = 0.6) -> None:
    """Candlesticks: high-low wicks and open-close bodies, green up, red down (two artists)."""
    x = date2num(pd.DatetimeIndex(win.index))
    o, h, lo, c = (win[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    up = c >= o
    colors = np.where(up, UP_COLOR, DOWN_COLOR)
    ax.vlines(x, lo, h, colors=colors.tolist(), lw=0.9, zorder=2)
    bottom, top = np.minimum(o, c), np.maximum(o, c)
    top = np.where(top - bottom < 1e-9, bottom + 1e-9, top)  # a doji still shows a line
    bar_collection(
        ax,
        x,
        top,
        bottom=bottom,
        width=width,
        colors=colors,
        edgecolors=colors,
        linewidths=0.6,
        zorder=3,
    )


def _draw_volume(ax: Axes, win: pd.DataFrame) -> None:
    """Volume bars, green on up days (close >= open), red on down days."""
    up = (win["close"] >= win["open"]).to_numpy()
    colors = np.where(up, UP_COLOR, DOWN_COLOR)
    x = date2num(pd.DatetimeIndex(win.index))
    bar_collection(ax, x, win["volume"].to_numpy(float), width=0.8, colors=colors, alpha=0.8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _short_number(v)))
    ax.set_ylabel("volume")
    ax.grid(True, alpha=0.3)
    date_axis(ax)


def _draw_profile(ax: Axes, win: pd.DataFrame) -> None:
    """Horizontal histogram of volume by price; the busiest bin (point of control) is labelled."""
    edges, vol = volume_profile(win)
    centers = (edges[:-1] + edges[1:]) / 2
    colors = ["#4a6fa5"] * len(vol)
    title = "volume profile"
    if vol.sum() > 0:
        poc = int(np.argmax(vol))
        colors[poc] = "#1a3b6e"
        title += f"\nmost traded ${edges[poc]:,.0f}-{edges[poc + 1]:,.0f}"
    bar_collection(
        ax,
        centers,
        vol,
        width=(edges[1] - edges[0]) * 0.9,
        colors=colors,
        alpha=0.85,
        horizontal=True,
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _short_number(v)))
    ax.tick_params(labelleft=False, labelsize=8)
    ax.set_xlabel("volume at price")
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)


def _short_number(v: float) -> str:
    """12_300_000 -> '12.3M'; 450_000 -> '450K'."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.0f}"


# ----------------------------------------------------------------------------------------------
# levels
# ----------------------------------------------------------------------------------------------


def _draw_levels(
    ax: Axes, result: RunResult, index: pd.DatetimeIndex, *, labels: bool, room: float = 0.1
) -> list[Any]:
    """Each level as a dashed horizontal segment over its active window, labelled at its end
    (``labels``) with the sessions it filled on (:func:`engine.report.levels.level_fills`).

    Returns the label artists (the fill labels are placed around them). ``room``: share of the
    panel's span added right of the last session when a labelled level runs to it.
    """
    window = active_window(result.levels, index)
    if window is None:
        return []
    start, end = window
    if labels and end == index[-1]:
        # room right of the last bar for the labels of levels still active at the end
        ax.set_xlim(right=date2num(index[-1] + (index[-1] - index[0]) * room))
    filled, _matched = level_fills(result.levels, result.fills, index)
    out, seen = [], set()
    for (key, price, label), dates in zip(level_segments(result.levels), filled, strict=True):
        color, _prefix = LEVEL_STYLE.get(key, ("#17becf", key))
        legend = "_nolegend_" if key in seen else LEVEL_LEGEND.get(key, f"{key} level")
        seen.add(key)
        ax.hlines(
            price,
            date2num(start),
            date2num(end),
            colors=color,
            linestyles="--",
            lw=1.1,
            alpha=0.9,
            label=legend,
        )
        if not labels:
            continue
        out.append(
            ax.annotate(
                filled_label(label, dates),
                xy=(end, price),
                xytext=(9, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=7.5,
                color=color,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# fills
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FillStyle:
    marker: str
    color: str
    label: str


def fill_style(side: str, reason: str) -> _FillStyle:
    """Marker for a fill: buys ^ green, stop sells v red, other sells (targets, signals) v orange."""
    if side == "buy":
        return _FillStyle("^", BUY_COLOR, "buy fill")
    if "stop" in str(reason).lower():
        return _FillStyle("v", STOP_COLOR, "stop sell")
    return _FillStyle("v", TARGET_COLOR, "sell fill")


def common_reason(fills: pd.DataFrame, side: str) -> str | None:
    """The one reason every fill of ``side`` has, or None (the labels then name each reason)."""
    reasons = set(fills.loc[fills["side"] == side, "reason"].astype(str))
    return reasons.pop() if len(reasons) == 1 else None


def _draw_fills(ax: Axes, result: RunResult, rows: np.ndarray | None = None) -> None:
    """Mark every fill (or those where ``rows`` is True) at its price, buys ^ and sells v (see
    :func:`fill_style`); a side whose fills share one reason shows it in the legend."""
    fills = result.fills
    if len(fills) == 0:
        return
    if rows is not None:
        fills = fills.loc[rows]
    dates = pd.to_datetime(fills["date"])
    styles = [fill_style(s, r) for s, r in zip(fills["side"], fills["reason"], strict=True)]
    for style in dict.fromkeys(styles):
        sel = np.array([s == style for s in styles])
        side = "buy" if style.marker == "^" else "sell"
        reason = common_reason(result.fills, side)
        label = (
            f"{style.label} ({reason})" if reason and style.label != "stop sell" else style.label
        )
        ax.scatter(
            dates[sel],
            fills["price"][sel],
            marker=style.marker,
            s=80,
            color=style.color,
            edgecolors="black",
            linewidths=0.7,
            zorder=6,
            label=label,
        )


def label_fills(
    ax: Axes,
    result: RunResult,
    obstacles: list[Any],
    index: pd.DatetimeIndex,
    *,
    skip: set[int] | None = None,
) -> int:
    """Label each (date, side) group of fills on ``ax`` (:mod:`engine.report.labels`): buys
    below their marker, sells above, ``reason $price``; fills at a drawn level are named on the
    level's label and get none; rows in ``skip`` (0-based positions) are not labelled here.

    Returns
    -------
    How many labels were left out (no free spot near them).
    """
    fills = result.fills
    if len(fills) == 0:
        return 0
    renderer = renderer_of(ax)
    ax.get_xlim(), ax.get_ylim()  # settle the view: boxes below are in display space
    boxes = [text_box(a, renderer).padded(3) for a in obstacles]
    boxes += marker_boxes(
        ax, date2num(pd.to_datetime(fills["date"]).to_numpy()), fills["price"].to_numpy(float)
    )
    _dates, matched = level_fills(result.levels, fills, index)
    keep = np.ones(len(fills), dtype=bool)
    keep[list(matched | (skip or set()))] = False
    if not keep.any():
        return 0
    reasons = {side: common_reason(fills, side) for side in ("buy", "sell")}
    labels = []
    for when, side, text, price in _label_groups(fills.loc[keep], reasons):
        color = BUY_COLOR if side == "buy" else (STOP_COLOR if "stop" in text else "#b35900")
        labels.append(Label(float(date2num(when)), price, text, color, below=side == "buy"))
    return place_labels(ax, labels, boxes)


def _label_groups(
    fills: pd.DataFrame, reasons: dict[str, str | None] | None = None
) -> list[tuple[pd.Timestamp, str, str, float]]:
    """One label per (date, side): ``reason $price`` lines joined; anchored at the group's price.

    ``reasons``: side -> the reason all its fills share (left out of the text: the legend says
    it), or None. Buy labels anchor at the lowest price of the group (they hang below), sell
    labels at the highest (they stand above), so the leader line never crosses another marker
    of the group.
    """
    reasons = reasons or {}
    f = fills.assign(date=pd.to_datetime(fills["date"]))
    out = []
    for (when, side), g in f.groupby(["date", "side"], sort=True):
        common = reasons.get(str(side))
        lines = [
            f"${p:,.2f}" if r == common else f"{r} ${p:,.2f}"
            for r, p in zip(g["reason"], g["price"], strict=True)
        ]
        anchor = float(g["price"].min() if side == "buy" else g["price"].max())
        out.append((pd.Timestamp(str(when)), str(side), "\n".join(lines), anchor))
    return out
