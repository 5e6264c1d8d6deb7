"""A strategy's price levels on a chart: which to draw, in what colour, over which sessions.

Shared by the PNG price chart (:mod:`engine.report.price_chart`) and the interactive chart
(:mod:`engine.report.interactive`); no plotting library here. Also the colours and legend of the
dated events both charts mark (:func:`engine.data.events.chart_events` places them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

BUY_COLOR = "#2ca02c"
TARGET_COLOR = "#ff7f0e"
STOP_COLOR = "#d62728"
LEVEL_STYLE = {  # level key -> (colour, label prefix)
    "ladder": (BUY_COLOR, "buy"),
    "stop": (STOP_COLOR, "stop"),
    "targets": (TARGET_COLOR, "target"),
}
LEVEL_LEGEND = {"ladder": "entry ladder", "stop": "stop", "targets": "targets"}
EVENT_COLORS = {  # event kind -> marker colour
    "earnings": "#ff7f0e",
    "lockup": "#d62728",
    "ipo": "#7f7f7f",
    "article": "#17becf",
    "price": "#8c564b",
}
EVENT_NAMES = {  # marker label -> what it means (chart captions)
    "E": "earnings",
    "L": "lock-up expiry",
    "IPO": "IPO",
    "A": "article's plan date",
    "H": "all-time high",
    "I": "index event",
    "*": "other event",
}


def event_color(kind: str) -> str:
    """Marker colour of an event kind (grey for the kinds without one)."""
    return EVENT_COLORS.get(kind, "#7f7f7f")


def event_key(placed: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``[(label, meaning, kind), ...]``: the markers a chart uses, once each in order of first
    appearance, for its key (``("E", "earnings", "earnings")``)."""
    if len(placed) == 0:
        return []
    first = placed.drop_duplicates("label")
    return [
        (str(label), EVENT_NAMES.get(str(label), str(kind)), str(kind))
        for label, kind in zip(first["label"], first["kind"], strict=True)
    ]


def event_legend_text(placed: pd.DataFrame) -> str:
    """``E earnings, L lock-up expiry, ...``: the key of :func:`event_key` as one line."""
    return ", ".join(f"{u} {name}" for u, name, _ in event_key(placed))


def level_segments(levels: dict[str, Any]) -> list[tuple[str, float, str]]:
    """The price levels to draw as ``(key, price, label)``.

    Lists (``ladder``, ``targets``) give one entry per price, numbered from 1; scalars give one.
    Order: ladder, stop, targets, then any other key by name.
    Keys that are not prices (``active_from``, ``active_to``, text) are skipped.
    """
    out: list[tuple[str, float, str]] = []
    # known kinds first, then the others by name: the same chart whatever the dict's order
    keys = [k for k in LEVEL_STYLE if k in levels] + sorted(
        k for k in levels if k not in LEVEL_STYLE
    )
    for key in keys:
        value = levels[key]
        if key in ("active_from", "active_to"):
            continue
        prefix = LEVEL_STYLE.get(key, ("", key))[1]
        values = value if isinstance(value, list | tuple) else [value]
        nums = [float(v) for v in values if _is_number(v)]
        for i, v in enumerate(nums, start=1):
            label = f"{prefix} {i}" if len(nums) > 1 else prefix
            out.append((key, v, f"{label} ${v:,.2f}"))
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool) and np.isfinite(v)


def active_window(
    levels: dict[str, Any], index: pd.DatetimeIndex
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last session (inside ``index``) on which the levels are active, or None."""
    if len(index) == 0:
        return None
    start = pd.Timestamp(levels["active_from"]) if levels.get("active_from") else index[0]
    end = pd.Timestamp(levels["active_to"]) if levels.get("active_to") else index[-1]
    inside = index[(index >= start) & (index <= end)]
    if len(inside) == 0:
        return None
    return inside[0], inside[-1]


def plan_range(result: Any, index: pd.DatetimeIndex, margin: int = 15) -> tuple[str, str] | None:
    """The dates a dated plan's chart opens on: its active window, ``margin`` sessions each side.

    None for a strategy without levels (its chart opens on the whole window). ``result``: a
    :class:`~engine.result.RunResult` (its ``levels``). The interactive chart opens on this
    range; the PNG price chart zooms on it in a panel of its own.
    """
    window = active_window(result.levels, index) if result.levels else None
    if window is None or not level_segments(result.levels):
        return None
    first = max(int(index.searchsorted(window[0])) - margin, 0)
    last = min(int(index.searchsorted(window[1])) + margin, len(index) - 1)
    return index[first].strftime("%Y-%m-%d"), index[last].strftime("%Y-%m-%d")


_LEVEL_SIDE = {"ladder": "buy", "stop": "sell", "targets": "sell"}


def level_fills(
    levels: dict[str, Any], fills: pd.DataFrame, index: pd.DatetimeIndex
) -> tuple[list[list[pd.Timestamp]], set[int]]:
    """Which fills happened exactly at a drawn level (a limit or stop order resting there).

    A fill matches a level when its price equals the level's to the cent, its side is the
    level's (the ladder buys, the stop and the targets sell; other keys either side) and its
    date lies in the levels' active window. A chart then names such a fill once, on the level's
    label ("target 1 $130.00, filled Sep 22"), instead of a second label saying the same.

    Returns
    -------
    (dates, matched): for each entry of :func:`level_segments`, the dates of its fills; and the
    positions (0-based rows of ``fills``) of every matched fill.
    """
    segments = level_segments(levels)
    dates: list[list[pd.Timestamp]] = [[] for _ in segments]
    matched: set[int] = set()
    window = active_window(levels, index)
    if window is None or len(fills) == 0:
        return dates, matched
    when = pd.to_datetime(fills["date"]).to_numpy()
    price = fills["price"].to_numpy(float)
    side = fills["side"].astype(str).to_numpy()
    inside = (when >= window[0].to_datetime64()) & (when <= window[1].to_datetime64())
    for i, (key, level, _label) in enumerate(segments):
        want = _LEVEL_SIDE.get(key)
        hit = inside & (np.abs(price - level) < 0.005) & ((side == want) if want else True)
        for pos in np.flatnonzero(hit):
            dates[i].append(pd.Timestamp(when[pos]))
            matched.add(int(pos))
    return dates, matched


def filled_label(label: str, dates: list[pd.Timestamp]) -> str:
    """A level's label with the sessions it filled on: ``target 1 $130.00, filled Sep 22``."""
    if not dates:
        return label
    days = ", ".join(dict.fromkeys(f"{d:%b} {d.day}" for d in dates))
    return f"{label}, filled {days}"
