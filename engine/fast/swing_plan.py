"""The parameter-only part of the swing plan: arming bar and dollar levels, once per combination.

``SwingPlan`` arms on the close of the last session before ``active_from`` (or on the first
bar when the window starts on or after it), reading only the calendar; a relative plan takes its
reference from ``ref_price`` or, when that is 0, the close of that arming session, and rounds its
levels with :func:`strategies.swing.relative_levels` (Python's ``round``, reused here so the
fast engine's levels are the strategy's to the cent). Tranches at or below the stop are never
sent; the re-arm threshold is the top of the whole ladder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from strategies.swing import relative_levels

_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Plan:
    arm_bar: int  # bar whose close sends the ladder (-1: never)
    ladder: tuple[float, ...]  # tranche prices above the stop, in order
    zone_top: float  # highest tranche (re-arm threshold)
    stop: float
    targets: tuple[float, ...]
    weights: tuple[float, ...]  # scale_out


def plan(params: dict[str, Any], days: np.ndarray, close: np.ndarray) -> Plan:
    """The :class:`Plan` of one resolved parameter dict on bars ``days`` / ``close``."""
    start = date.fromisoformat(str(params["active_from"])).toordinal() - _EPOCH
    first = int(np.searchsorted(days, start, side="left"))
    arm = -1 if first >= days.shape[0] else max(first - 1, 0)
    if params["levels"] == "relative":
        ref_price = params["ref_price"] or (float(close[arm]) if arm >= 0 else 0.0)
        ladder, stop, targets = relative_levels(ref_price, params)
    else:
        ladder = tuple(float(x) for x in params["ladder"])
        stop = float(params["stop"])
        targets = tuple(float(x) for x in params["targets"])
    return Plan(
        arm_bar=arm,
        ladder=tuple(x for x in ladder if x > stop),
        zone_top=max(ladder),
        stop=stop,
        targets=tuple(targets),
        weights=tuple(float(w) for w in params["scale_out"]),
    )


def plans(cols: dict[str, np.ndarray], days: np.ndarray, close: np.ndarray) -> list[Plan]:
    """:func:`plan` for every row of parameter columns (each distinct row computed once)."""
    keys = list(cols)
    memo: dict[tuple, Plan] = {}
    out = []
    for row in zip(*(cols[k].tolist() for k in keys), strict=True):
        frozen = tuple(tuple(v) if isinstance(v, list) else v for v in row)
        if frozen not in memo:
            memo[frozen] = plan(dict(zip(keys, frozen, strict=True)), days, close)
        out.append(memo[frozen])
    return out
