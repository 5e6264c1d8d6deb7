"""engine.checks: the one check of a number or a date (finite first, then the range)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from engine import checks
from engine.errors import ParamError


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (float("nan"), {}, "x nan is not a finite number; give a number >= -1e+15 and <= 1e+15"),
        (float("inf"), {"low": 0}, "x inf is not a finite number"),
        (-float("inf"), {}, "x -inf is not a finite number"),
        (-1.0, {"low": 0, "need": "a count"}, "x -1 is out of range; give a count"),
        (0.0, {"low": 0, "low_open": True}, "x 0 is out of range; give a number > 0 and"),
        (
            0.1,
            {"high": 0.1, "high_open": True},
            "x 0.1 is out of range; give a number >= -1e+15 and < 0.1",
        ),
        (2e15, {}, "x 2e+15 is out of range"),
        (
            10**400,
            {},
            "x 1000000000000000000000000000000000000000... (401 characters) is out of range",
        ),
        (True, {}, "x=True is not a number"),
        ("3", {}, "x='3' is not a number"),
        (1.5, {"whole": True}, "x 1.5 is not a whole number"),
    ],
)
def test_number_refuses_in_one_line(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ParamError) as exc:
        checks.number(value, "x", **kwargs)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_number_accepts_ints_floats_and_numpy_scalars_in_range() -> None:
    assert checks.number(3, "x") == 3.0
    assert checks.number(np.float64(0.5), "x", low=0, high=1) == 0.5
    assert checks.number(np.int64(7), "x", low=0, whole=True) == 7.0
    assert checks.number(0.0, "x", low=0) == 0.0  # a closed bound includes itself


def test_dates_outside_the_plausible_range_are_refused() -> None:
    assert checks.check_date(date(2025, 3, 28), "d") == date(2025, 3, 28)
    for day in (date(1600, 1, 1), date(9999, 12, 31)):
        with pytest.raises(ParamError, match="is outside the plausible range of daily prices"):
            checks.check_date(day, "--start")


def test_shorten_keeps_short_text_and_cuts_long_text() -> None:
    assert checks.shorten("fast=5:30:5") == "fast=5:30:5"
    cut = checks.shorten("1," * 25_000)
    assert len(cut) < 80 and cut.endswith("(50,000 characters)")


@pytest.mark.parametrize("value", [-1, 2.5, True, "3", float("nan")])
def test_min_trades_refuses_all_but_a_whole_number_from_zero(value: object) -> None:
    with pytest.raises(ParamError, match=r"^min_trades=.* must be a whole number >= 0; give 0"):
        checks.min_trades(value, f"min_trades={value!r}")


def test_min_trades_takes_zero_and_numpy_integers() -> None:
    assert checks.min_trades(0, "min_trades=0") == 0
    assert checks.min_trades(np.int64(3), "min_trades=3") == 3
