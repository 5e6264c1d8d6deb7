"""The shared test helpers (engine.testing) do what their docstrings say."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.validate import find_problems
from engine.testing.prices import (
    KINDS,
    bars,
    chart_prices,
    random_path,
    synthetic_prices,
    walk_prices,
)
from engine.testing.runs import NO_COSTS, demo_runs, make_run


@pytest.mark.parametrize(
    "make",
    [
        lambda: bars([(10, 11, 9, 10.5), (10.5,), (10.4, 12, 10, 11.9)]),
        lambda: random_path(3, 200),
        lambda: walk_prices(120, 3),
        lambda: chart_prices(seed=3),
        *[lambda kind=kind: synthetic_prices(3, 120, kind) for kind in KINDS],
    ],
)
def test_price_paths_are_valid_ohlc_and_seeded(make) -> None:  # noqa: ANN001
    frame = make()
    assert list(frame.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert frame.index.name == "date" and frame.index.is_monotonic_increasing
    assert find_problems(frame.reset_index()) == []
    pd.testing.assert_frame_equal(frame, make())  # seeded: the same frame twice


def test_bars_single_number_is_a_flat_bar() -> None:
    frame = bars([(5.0,)])
    assert frame.iloc[0][["open", "high", "low", "close"]].tolist() == [5.0] * 4


def test_no_costs_cost_nothing() -> None:
    assert NO_COSTS.commission(100, 50.0) == 0.0 and NO_COSTS.slippage == 0.0


def test_make_run_books_cash_and_shares() -> None:
    prices = chart_prices()
    d = prices.index
    run = make_run(
        "x",
        prices,
        [
            (f"{d[2]:%Y-%m-%d}", "buy", 10, 100.0, "entry"),
            (f"{d[5]:%Y-%m-%d}", "sell", 10, 110.0, "target 1"),
        ],
    )
    assert run.position.iloc[:2].eq(0).all() and run.position.iloc[2:5].eq(10).all()
    assert run.position.iloc[5:].eq(0).all()
    assert run.equity.iloc[1] == 10_000.0
    assert run.equity.iloc[3] == pytest.approx(10_000 - 1000 - 1 + 10 * prices["close"].iloc[3])
    assert run.final_equity == pytest.approx(10_000 + 100 - 2) == pytest.approx(run.cash_end)
    assert len(run.trades) == 1 and run.trades["pnl"].iloc[0] == pytest.approx(98.0)


def test_demo_runs_cover_levels_signals_and_buy_hold() -> None:
    runs = demo_runs(chart_prices())
    assert [r.strategy for r in runs] == ["swing", "ma_trend", "buy_hold"]
    assert runs[0].levels and len(runs[1].trades) == 2 and runs[2].trades["is_open"].all()
