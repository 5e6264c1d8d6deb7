"""Test helpers: hand-made daily price paths."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.result import Costs

NO_COSTS = Costs(commission_per_share=0.0, commission_min=0.0, commission_max_pct=0.0, slippage=0.0)


def bars(
    rows: Sequence[Sequence[float]], start: str = "2025-08-18", volume: float = 1_000_000.0
) -> pd.DataFrame:
    """A price frame from ``(open, high, low, close)`` rows on consecutive business days.

    A row of a single number ``x`` is a flat bar at ``x``.
    """
    full = [tuple(r) * 4 if len(r) == 1 else tuple(r) for r in rows]
    index = pd.bdate_range(start, periods=len(full), name="date")
    frame = pd.DataFrame(full, index=index, columns=["open", "high", "low", "close"], dtype=float)
    frame["adj_close"] = frame["close"]
    frame["volume"] = volume
    return frame[["open", "high", "low", "close", "adj_close", "volume"]]


def fills_list(result) -> list[tuple[str, str, float, float, str]]:  # noqa: ANN001
    """Fills as ``(date, side, size, price, reason)`` tuples, prices rounded to 1e-9."""
    return [
        (d.strftime("%Y-%m-%d"), s, float(n), round(float(p), 9), r)
        for d, s, n, p, r in result.fills[["date", "side", "size", "price", "reason"]].itertuples(
            index=False
        )
    ]
