"""The "what happened" paragraph (engine.report.narrative), from real fills on hand-made paths."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.report.narrative import Versus, committed_text, pct, what_happened
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS
from strategies.buy_hold import BuyAndHold
from strategies.swing import SwingPlan

ACTIVE = {"active_from": "2025-08-19"}
LADDER = [(100,), (99, 100, 93, 95), (95, 96, 89.5, 91), (91, 92, 85, 88)]
TARGETS = [(88, 100, 87, 99), (120, 131, 119, 129), (129, 151, 128, 149), (149,)]


NO_VERSUS = Versus()


def story(path, strategy=SwingPlan, versus=NO_VERSUS, **params) -> str:  # noqa: ANN001
    res = run_backtest(strategy, bars(path), {**params}, cash=90_000, costs=NO_COSTS)
    return what_happened(res, compute_metrics(res.equity, res.trades), versus)


def test_pct() -> None:
    assert (pct(0.557), pct(-0.1266), pct(0.085, signed=False)) == ("+55.7%", "-12.7%", "8.5%")
    assert pct(math.nan) == "n/a"


def test_plan_told_fill_by_fill() -> None:
    text = story(LADDER + TARGETS, **ACTIVE)
    assert text.startswith("The plan's orders rested from 2025-08-19. Bought 319 shares at $94.00 ")
    assert "(tranche 1) on 2025-08-19; 333 at $90.00 (tranche 2) on 2025-08-20" in text
    assert "(average entry $89.88 on 1,000 shares)" in text
    assert (
        "Sold 500 shares at $130.00 (target 1) on 2025-08-25 and 500 at $150.00 (target 2)" in text
    )
    assert "The stop at $79.99 was never touched while a position was open." in text
    assert "The plan was then spent: no order after 2025-08-26." in text
    # no buy & hold figures given: no comparison clause
    assert "buy & hold" not in text


def test_stop_hit_and_comparison_from_the_start() -> None:
    versus = Versus(0.5, -0.3, "2025-08-19", -0.2, -0.25, -0.3)
    text = story(LADDER + [(85, 86, 78, 79), (79,)], versus=versus, **ACTIVE)
    assert "Sold 1,000 shares at $79.99 (stop) on 2025-08-22" in text
    assert "The stop at $79.99 was hit once." in text
    assert "buy & hold +50.0% over the same window (max drawdown -30.0%)" in text
    assert text.endswith(
        "From the plan's start (2025-08-19): the plan -20.0%, buy & hold bought at that "
        "session's open -25.0% (max drawdown -30.0%)."
    )


def test_nothing_filled() -> None:
    text = story([(100,)] * 5, **ACTIVE)
    assert "No order filled" in text and "stop" not in text


def test_open_position_and_why_trade_and_account_returns_differ() -> None:
    # signal on the 100 close, filled at the 90 open: 900 shares cost 81,000 of the 90,000
    path = [(100,), (90, 91, 89, 90), (99,)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_backtest(BuyAndHold, bars(path), cash=90_000, costs=NO_COSTS)
    m = compute_metrics(res.equity, res.trades)
    text = what_happened(res, m, Versus())
    assert "Bought 900 shares at $90.00 (entry) on 2025-08-19; still held at the end" in text
    assert "marked at the last close $99.00: +10.0% on the capital committed." in text
    assert committed_text(res, m) == (
        "The trade's +10.0% is on the $81,000 it committed; the account's +9.0% is on the "
        "whole $90,000, of which 10.0% stayed in cash, after commissions."
    )


def test_many_trades_are_summarised(crwv: pd.DataFrame) -> None:
    from strategies.macd import MACDMomentum

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_backtest(MACDMomentum, crwv, cash=100_000, costs=NO_COSTS)
    text = what_happened(res, compute_metrics(res.equity, res.trades), Versus())
    n = len(res.trades)
    assert n > 3 and text.startswith(f"{n} trades, all closed: ")
    wins = int((res.trades["pnl"] > 0).sum())
    assert f": {wins} won, {n - wins} lost. Best " in text


@pytest.mark.parametrize("name", ["swing", "rsi", "buy_hold"])
def test_real_history_story_matches_the_fills(name: str, crwv: pd.DataFrame) -> None:
    from strategies import STRATEGIES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_backtest(STRATEGIES[name], crwv, cash=100_000)
    text = what_happened(res, compute_metrics(res.equity, res.trades), Versus())
    for d, p in zip(res.fills["date"], res.fills["price"], strict=True):
        assert f"{d:%Y-%m-%d}" in text and f"${p:,.2f}" in text
