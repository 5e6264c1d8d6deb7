"""Standing aside before earnings on the signal kernel: one flag row per distinct setting.

A built-in long/flat strategy (:class:`strategies.base.SignalStrategy`), or a rule with the
``stand_aside`` key (:mod:`strategies.rule`), standing aside asks on each close whether the next
session lies inside a stand-aside window: one of the ``stand_aside`` sessions before an
earnings reaction session (:func:`strategies.base.aside_next`). That reads only dates, so it is
computed here once per distinct ``(stand_aside, earnings)`` pair as a row of 1.0 / 0.0 per bar,
appended to the kernel's function rows; ``ctl[C_ASIDE]`` points each combination at its row
(-1: never aside), and :func:`engine.fast.signals.run_signal` closes out / holds off entries
where it is set.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from strategies.base import earnings_dates

_EPOCH = date(1970, 1, 1)


def aside_row(days: np.ndarray, sessions: int, earnings: str) -> np.ndarray:
    """``out[t]`` = 1.0 when the close of bar ``t`` must see the next session as aside.

    ``days`` are the bars' calendar day numbers (days since 1970-01-01). As backtrader's strategy:
    the sessions ``t + 2 .. t + sessions + 1`` are looked up by their dates, and past the last
    bar the ``k``-th session ahead is taken as the ``k``-th weekday after bar ``t``'s date.
    """
    n = len(days)
    out = np.zeros(n)
    reactions = {(date.fromisoformat(d) - _EPOCH).days for d in earnings_dates(earnings)}
    if sessions <= 0 or not reactions:
        return out
    for t in range(n):
        for k in range(2, sessions + 2):
            day = int(days[t + k]) if t + k < n else _weekday_after(int(days[t]), k)
            if day in reactions:
                out[t] = 1.0
                break
    return out


def aside_rows(
    days: np.ndarray, sessions: np.ndarray, earnings: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of ``(sessions[j], earnings[j])`` and each combination's row (-1 for a
    combination that never stands aside: ``stand_aside`` 0 or no earnings dates)."""
    index = np.full(len(sessions), -1, dtype=np.int64)
    rows: list[np.ndarray] = []
    seen: dict[tuple[int, str], int] = {}
    for j, (n, text) in enumerate(zip(sessions.tolist(), earnings.tolist(), strict=True)):
        key = (int(n), str(text))
        if key not in seen:
            row = aside_row(days, *key)
            seen[key] = -1 if not row.any() else len(rows)
            if row.any():
                rows.append(row)
        index[j] = seen[key]
    return rows, index


def _weekday_after(day: int, k: int) -> int:
    """The ``k``-th weekday after day number ``day`` (1970-01-01, day 0, was a Thursday)."""
    while k > 0:
        day += 1
        if (day + 3) % 7 < 5:  # Monday = 0
            k -= 1
    return day
