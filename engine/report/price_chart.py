"""The price chart of a run (:func:`price_figure`): levels, labelled fills, volume, profile.

Layout: a 2 x 2 grid. Left column: price (close, day range band, SMA 20 / 60, the strategy's
levels, fills) above the volume bars, sharing the date axis. Right column, top: the
price-by-volume profile, sharing the price axis. The figure comes from
:func:`engine.report.figures.new_figure`, as every chart's does.
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
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from engine.analysis.indicators import sma
from engine.data.events import chart_events
from engine.report.charts import SMA_COLORS, draw_event_markers, price_window, run_title
from engine.report.figures import date_axis, dollar_axis, new_figure, save_png
from engine.report.levels import (
    BUY_COLOR,
    LEVEL_LEGEND,
    LEVEL_STYLE,
    STOP_COLOR,
    TARGET_COLOR,
    active_window,
    level_segments,
)
from engine.result import RunResult


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


def price_figure(
    result: RunResult,
    prices: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """Price with SMA 20/60, the strategy's levels, every fill labelled, volume and volume profile.

    See :func:`draw_price_figure` for what is drawn.

    Parameters
    ----------
    result : the run to draw (fills, levels, window)
    prices : DatetimeIndex, columns open high low close adj_close volume
    path : if given, the PNG is written there atomically
    events : the ticker's events (:func:`engine.data.events.load_events`), marked on their
        reaction sessions; None for none

    Returns
    -------
    Figure with three axes: price, volume (sharing the date axis with price) and the
    price-by-volume profile on the right (sharing the price axis).
    """
    fig = new_figure(12.5, 7.5)
    draw_price_figure(fig, result, prices, events)
    save_png(fig, path)
    return fig


def draw_price_figure(
    fig: Figure, result: RunResult, prices: pd.DataFrame, events: pd.DataFrame | None = None
) -> None:
    """Draw the price chart into an empty ``fig`` (see the module docstring for the layout)."""
    close_all = prices["close"].astype(float)
    win = price_window(result, prices)
    smas = {n: sma(close_all, n).loc[win.index] for n in SMA_COLORS}
    gs = fig.add_gridspec(2, 2, height_ratios=[3.2, 1], width_ratios=[5.2, 1])
    ax = fig.add_subplot(gs[0, 0])
    vol_ax = fig.add_subplot(gs[1, 0], sharex=ax)
    prof_ax = fig.add_subplot(gs[0, 1], sharey=ax)
    ax.fill_between(
        win.index, win["low"], win["high"], color="0.6", alpha=0.25, lw=0, label="day range"
    )
    ax.plot(win.index, win["close"], color="black", lw=1.1, label="close")
    for n, color in SMA_COLORS.items():
        ax.plot(win.index, smas[n], color=color, lw=1.1, label=f"SMA {n}")
    level_labels = _draw_levels(ax, result, pd.DatetimeIndex(win.index))
    if events is not None:  # dated events (earnings, lock-up...) on their reaction sessions
        level_labels += draw_event_markers(ax, chart_events(events, pd.DatetimeIndex(win.index)))
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
    _draw_volume(vol_ax, win)
    _draw_profile(prof_ax, win)
    fig.suptitle(run_title(result, "Price, levels and fills"), fontsize=12)
    skipped = label_fills(fig, ax, result, level_labels)
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


def _draw_volume(ax: Axes, win: pd.DataFrame) -> None:
    """Volume bars, green on up days (close >= open), red on down days."""
    up = (win["close"] >= win["open"]).to_numpy()
    colors = np.where(up, "#5aa05a", "#d06060")
    ax.bar(win.index, win["volume"], width=0.8, color=colors, alpha=0.8)
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
    ax.barh(centers, vol, height=(edges[1] - edges[0]) * 0.9, color=colors, alpha=0.85)
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


def _draw_levels(ax: Axes, result: RunResult, index: pd.DatetimeIndex) -> list[Any]:
    """Each level as a dashed horizontal segment over its active window, labelled at its end.

    Returns the label artists (the fill labels are placed around them).
    """
    window = active_window(result.levels, index)
    if window is None:
        return []
    start, end = window
    if end == index[-1]:
        # room right of the last bar for the labels of levels still active at the end
        ax.set_xlim(right=date2num(index[-1] + (index[-1] - index[0]) * 0.1))
    labels, seen = [], set()
    for key, price, label in level_segments(result.levels):
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
        labels.append(
            ax.annotate(
                label,
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
    return labels


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


def _draw_fills(ax: Axes, result: RunResult) -> None:
    """Mark every fill at its price, buys ^ and sells v (see :func:`fill_style`)."""
    fills = result.fills
    if len(fills) == 0:
        return
    dates = pd.to_datetime(fills["date"])
    styles = [fill_style(s, r) for s, r in zip(fills["side"], fills["reason"], strict=True)]
    for style in dict.fromkeys(styles):
        sel = np.array([s == style for s in styles])
        ax.scatter(
            dates[sel],
            fills["price"][sel],
            marker=style.marker,
            s=80,
            color=style.color,
            edgecolors="black",
            linewidths=0.7,
            zorder=6,
            label=style.label,
        )


def label_fills(fig: Figure, ax: Axes, result: RunResult, obstacles: list[Any]) -> int:
    """Label each (date, side) group of fills with ``reason $price``, never overlapping.

    The figure is laid out first (so display positions are final), then each label tries a few
    offsets, on its preferred side first (buys below, sells above); a label that would overlap a
    marker, another label or the axes edge at every offset is left out. Labels are excluded from
    the layout, so placing them does not move the axes.

    Returns
    -------
    How many labels were left out.
    """
    if len(result.fills) == 0:
        return 0
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    taken = [_text_box(a, renderer).padded(3) for a in obstacles]
    taken += _marker_boxes(ax, result.fills)
    skipped = 0
    for when, side, text, price in _label_groups(result.fills):
        color = BUY_COLOR if side == "buy" else (STOP_COLOR if "stop" in text else "#b35900")
        for offset in _OFFSETS[side]:
            ann = ax.annotate(
                text,
                xy=(when, price),
                xytext=(0, offset),
                textcoords="offset points",
                ha="center",
                va="top" if offset < 0 else "bottom",
                fontsize=7.5,
                color=color,
                zorder=7,
                bbox={
                    "boxstyle": "round,pad=0.2",
                    "fc": "white",
                    "ec": color,
                    "lw": 0.6,
                    "alpha": 0.9,
                },
                arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6},
            )
            ann.set_in_layout(False)
            box = _text_box(ann, renderer).padded(4)
            if _inside(box, frame) and not any(box.overlaps(t) for t in taken):
                taken.append(box)
                break
            ann.remove()
        else:
            skipped += 1
    return skipped


# offsets in points, preferred side first: buy labels hang below the marker, sell labels stand above
_OFFSETS = {"buy": (-16, -34, -52, 16, 34), "sell": (16, 34, 52, -16, -34)}


def _text_box(ann: Any, renderer: Any) -> Any:
    """Display box of an annotation's text alone (``get_window_extent`` adds the leader line)."""
    ann.update_positions(renderer)  # the text position is only resolved at draw time
    return Text.get_window_extent(ann, renderer)


def _marker_boxes(ax: Axes, fills: pd.DataFrame) -> list[Any]:
    """Display-space boxes (about the marker size) around every fill marker."""
    xs = date2num(pd.to_datetime(fills["date"]).to_numpy())
    pts = ax.transData.transform(np.column_stack([xs, fills["price"].to_numpy(float)]))
    r = 7.0 * ax.figure.dpi / 72
    return [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in pts]


def _inside(box: Any, frame: Any) -> bool:
    return bool(
        box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1
    )


def _label_groups(fills: pd.DataFrame) -> list[tuple[pd.Timestamp, str, str, float]]:
    """One label per (date, side): ``reason $price`` lines joined; anchored at the group's price.

    Buy labels anchor at the lowest price of the group (they hang below), sell labels at the
    highest (they stand above), so the leader line never crosses another marker of the group.
    """
    f = fills.assign(date=pd.to_datetime(fills["date"]))
    out = []
    for (when, side), g in f.groupby(["date", "side"], sort=True):
        lines = [f"{r} ${p:,.2f}" for r, p in zip(g["reason"], g["price"], strict=True)]
        anchor = float(g["price"].min() if side == "buy" else g["price"].max())
        out.append((pd.Timestamp(str(when)), str(side), "\n".join(lines), anchor))
    return out
