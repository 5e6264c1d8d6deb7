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


def event_legend_text(placed: pd.DataFrame) -> str:
    """``E earnings, L lock-up expiry, ...``: the labels a chart uses, for its caption."""
    used = list(dict.fromkeys(placed["label"])) if len(placed) else []
    return ", ".join(f"{u} {EVENT_NAMES.get(u, u)}" for u in used)


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
