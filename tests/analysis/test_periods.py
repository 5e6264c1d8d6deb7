"""Period tables (engine.analysis.periods): monthly returns, worst drawdowns, return since a date."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.periods import (
    DRAWDOWN_COLUMNS,
    MONTHS,
    hold_from_open,
    monthly_returns,
    return_since,
    worst_drawdowns,
)


def curve(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values)), name="equity")


def test_monthly_returns_by_hand() -> None:
    eq = curve(
        {
            "2025-11-27": 100.0,  # first value: November is measured from here
            "2025-11-28": 110.0,
            "2025-12-01": 99.0,
            "2025-12-31": 121.0,
            "2026-01-02": 108.9,
            "2026-03-02": 119.79,  # February has no session
        }
    )
    table = monthly_returns(eq)
    assert list(table.columns) == [*MONTHS, "Year"]
    assert list(table.index) == [2025, 2026]
    assert table.loc[2025, "Nov"] == pytest.approx(0.10)
    assert table.loc[2025, "Dec"] == pytest.approx(0.10)  # 121 / 110
    assert table.loc[2026, "Jan"] == pytest.approx(-0.10)  # 108.9 / 121
    assert math.isnan(table.loc[2026, "Feb"])
    assert table.loc[2026, "Mar"] == pytest.approx(0.10)
    assert table.loc[2025, "Year"] == pytest.approx(0.21)  # 121 / 100
    assert table.loc[2026, "Year"] == pytest.approx(119.79 / 121 - 1)
    assert table.loc[2025, ["Jan", "Jun", "Oct"]].isna().all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2), min_size=2, max_size=300), st.integers(0, 400))
def test_months_compound_to_the_years_and_the_total(steps: list[float], offset: int) -> None:
    index = pd.bdate_range(
        pd.Timestamp("2024-01-01") + pd.Timedelta(days=offset), periods=len(steps)
    )
    eq = pd.Series(100.0 * np.cumprod(1.0 + np.asarray(steps)), index=index)
    table = monthly_returns(eq)
    months = table[MONTHS].to_numpy().ravel()
    growth = np.prod(1.0 + months[~np.isnan(months)])
    assert growth == pytest.approx(eq.iloc[-1] / eq.iloc[0], rel=1e-9)
    for year, row in table.iterrows():
        m = row[MONTHS].to_numpy(float)
        assert np.prod(1.0 + m[~np.isnan(m)]) - 1.0 == pytest.approx(row["Year"], abs=1e-12)
        assert year in set(index.year)


def test_monthly_returns_of_too_short_a_curve_is_empty() -> None:
    assert monthly_returns(curve({"2025-01-02": 1.0})).empty


def test_worst_drawdowns_by_hand() -> None:
    eq = curve(
        {
            "2025-01-02": 100.0,
            "2025-01-03": 90.0,  # episode 1: -10%, recovered on 01-07
            "2025-01-06": 95.0,
            "2025-01-07": 101.0,
            "2025-01-08": 75.75,  # episode 2: -25%, not recovered
            "2025-01-09": 80.0,
        }
    )
    table = worst_drawdowns(eq)
    assert list(table.columns) == DRAWDOWN_COLUMNS
    assert len(table) == 2
    deepest, second = table.iloc[0], table.iloc[1]
    assert deepest["depth"] == pytest.approx(-0.25)
    assert deepest["start"] == pd.Timestamp("2025-01-07")
    assert deepest["trough"] == pd.Timestamp("2025-01-08")
    assert pd.isna(deepest["recovery"]) and not deepest["recovered"]
    assert (deepest["days"], deepest["sessions"]) == (2, 2)  # to the last bar
    assert second["depth"] == pytest.approx(-0.10)
    assert (second["start"], second["trough"], second["recovery"]) == (
        pd.Timestamp("2025-01-02"),
        pd.Timestamp("2025-01-03"),
        pd.Timestamp("2025-01-07"),
    )
    assert (second["days"], second["sessions"], second["recovered"]) == (5, 3, True)
    assert len(worst_drawdowns(eq, n=1)) == 1


def test_worst_drawdowns_of_a_rising_curve_is_empty() -> None:
    table = worst_drawdowns(curve({"2025-01-02": 1.0, "2025-01-03": 2.0}))
    assert table.empty and list(table.columns) == DRAWDOWN_COLUMNS


def test_return_since_a_date() -> None:
    eq = curve({"2025-08-21": 100.0, "2025-08-22": 100.0, "2025-08-25": 80.0, "2025-08-26": 150.0})
    # from the close before 2025-08-25 (100) to the end (150); the dip to 80 is -20%
    assert return_since(eq, "2025-08-25") == pytest.approx((0.5, -0.2))
    # a date before the curve starts: from the first value
    assert return_since(eq, "2025-01-01") == pytest.approx((0.5, -0.2))
    # a date on a weekend counts from the close before the next session
    assert return_since(eq, "2025-08-23") == pytest.approx((0.5, -0.2))
    ret, dd = return_since(eq, "2025-09-01")
    assert math.isnan(ret) and math.isnan(dd)


def test_hold_from_open_buys_at_the_first_open_on_or_after_the_date() -> None:
    index = pd.DatetimeIndex(["2025-08-22", "2025-08-25", "2025-08-26", "2025-08-27"])
    prices = pd.DataFrame(
        {"open": [50.0, 100.0, 90.0, 70.0], "close": [55.0, 80.0, 120.0, 90.0]}, index=index
    )
    # bought at 2025-08-25's open (100); closes 80, 120, 90: -10%, the worst 90 vs 120 = -25%
    assert hold_from_open(prices, "2025-08-25") == pytest.approx((-0.1, -0.25))
    # a weekend date counts from the next session's open
    assert hold_from_open(prices, "2025-08-23") == pytest.approx((-0.1, -0.25))
    # the first close under the open is a drawdown too: 100 -> 80 is -20% before the high at 120
    assert hold_from_open(prices.iloc[:2], "2025-08-25") == pytest.approx((-0.2, -0.2))
    ret, dd = hold_from_open(prices, "2025-09-01")
    assert math.isnan(ret) and math.isnan(dd)
