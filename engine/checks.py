"""The one check of a number or a date a user gives: a real, finite value inside its range.

Every cost (:func:`engine.api.backtests.make_costs`), every strategy or rule parameter
(:func:`engine.params.coerce`, which the CLI's ``--param``, variant files, the API and sweep
grids all go through), every ``--start`` / ``--end`` and every price file
(:mod:`engine.data.validate`) is checked here or against the ranges defined here. A comparison
such as ``value < 0`` is False for NaN, so a check written as one lets NaN through; these
functions test finiteness first, then the range.

Plausible ranges (documented in the README's data section):

* :data:`LIMIT`: no parameter, cost or amount of cash may exceed 1e15 in magnitude (past it a
  number no longer fits the engines' 64-bit arithmetic exactly, and no daily backtest needs it);
* :data:`PRICE_RANGE`: a price is between $0.0001 (the tick of a sub-dollar US share) and
  $10,000,000 (the dearest US share, Berkshire Hathaway's class A, has stayed under $1,000,000);
* :data:`VOLUME_MAX`: a session's volume is at most 1e13 shares;
* :data:`DATE_RANGE`: a date is between 1900-01-01 and 2100-12-31.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from engine.errors import ParamError

LIMIT = 1e15
PRICE_RANGE = (1e-4, 1e7)
VOLUME_MAX = 1e13
DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def number(
    value: Any,
    what: str,
    *,
    low: float = -LIMIT,
    high: float = LIMIT,
    low_open: bool = False,
    high_open: bool = False,
    whole: bool = False,
    need: str = "",
) -> float:
    """``value`` as a float, checked: a real number (not text, not true/false), finite, and
    between ``low`` and ``high`` (each excluded when ``*_open``; always within :data:`LIMIT`),
    a whole number when ``whole``.

    Raises :class:`ParamError` with one line ``WHAT VALUE is ...; give NEED``.
    """
    need = need or _between(low, high, low_open, high_open)
    if isinstance(value, np.integer | np.floating):
        value = value.item()  # a numpy scalar
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(f"{what}={shorten(repr(value))} is not a number; give {need}")
    try:
        x = float(value)
    except OverflowError:  # an int too large for a float
        raise ParamError(f"{what} {shorten(str(value))} is out of range; give {need}") from None
    if not math.isfinite(x):
        raise ParamError(f"{what} {x} is not a finite number; give {need}")
    inside = (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not inside or abs(x) > LIMIT:
        raise ParamError(f"{what} {x:g} is out of range; give {need}")
    if whole and not x.is_integer():
        raise ParamError(f"{what} {x:g} is not a whole number; give {need}")
    return x


def min_trades(value: Any, label: str) -> int:
    """``value``, the fewest closed trades a sweep's chosen combination needs (``--min-trades``,
    ``min_trades=``), checked: a whole number >= 0 (an int, not true/false nor a float).

    ``label`` is the option as the user gave it (``--min-trades -1``, ``min_trades=-1``). Raises
    :class:`ParamError` with one line ``LABEL must be a whole number >= 0; give ...``.
    """
    if isinstance(value, np.integer):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParamError(
            f"{shorten(label)} must be a whole number >= 0; give 0 (every combination can be "
            "chosen) or the fewest closed trades the chosen combination must have"
        )
    return value


def _between(low: float, high: float, low_open: bool, high_open: bool) -> str:
    lo = f"> {low:g}" if low_open else f">= {low:g}"
    hi = f"< {high:g}" if high_open else f"<= {high:g}"
    return f"a number {lo} and {hi}"


def check_date(day: date, what: str) -> date:
    """``day`` when inside :data:`DATE_RANGE`, else a :class:`ParamError` naming the range."""
    first, last = DATE_RANGE
    if not first <= day <= last:
        raise ParamError(
            f"{what} {day.isoformat()} is outside the plausible range of daily prices "
            f"({first.isoformat()} to {last.isoformat()}); give a date in it"
        )
    return day


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with the number left out, so an error line stays
    one readable line whatever the user typed."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text):,} characters)"
