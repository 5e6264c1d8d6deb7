"""Fill rules of the harness on hand-made paths, with exact expected fills."""

from __future__ import annotations

from pathlib import Path

import backtrader as bt
import pytest

from engine.backtest.harness import run_backtest
from engine.errors import DataError, ParamError
from engine.result import FILL_RULES, Costs
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies.base import ArticleStrategy
from strategies.buy_hold import BuyAndHold
from strategies.swing import SwingPlan


def scripted(script: dict[int, list[tuple]]) -> type:
    """A strategy that sends the given orders on the close of the given bar numbers (0-based).

    Each order is ``(kind, side, size, price)`` with kind ``market``, ``limit`` or ``stop``.
    """

    class Scripted(ArticleStrategy):
        alias = "scripted"

        def next(self) -> None:
            for kind, side, size, price in script.get(len(self) - 1, []):
                exectype = {
                    "market": bt.Order.Market,
                    "limit": bt.Order.Limit,
                    "stop": bt.Order.Stop,
                }[kind]
                send = self.buy if side == "buy" else self.sell
                self.tagged(send(size=size, price=price, exectype=exectype), kind)

    return Scripted


def test_market_order_fills_at_next_open_not_signal_close() -> None:
    prices = bars([(10, 11, 9, 10), (12, 13, 11, 12.5), (13, 14, 12, 13), (13, 13, 13, 13)])
    res = run_backtest(BuyAndHold, prices, cash=1_000, costs=NO_COSTS)
    # sized on bar 0's close (10): 1000 / 10 = 100 shares; bar 1 opens at 12 -> 100 x 12 > 1000,
    # so the order is resized to floor(1000 / 12) = 83 shares at bar 1's open.
    assert fills_list(res) == [("2025-08-19", "buy", 83.0, 12.0, "entry")]
    assert res.fills["resized_from"].iloc[0] == 100
    assert any("resized from 100 to 83" in n for n in res.notes)


def test_no_fill_on_signal_bar_and_equity_marked_at_close() -> None:
    prices = bars([(10, 10, 10, 10), (9, 10, 8, 9.5), (9, 9, 9, 9)])
    res = run_backtest(BuyAndHold, prices, cash=1_000, costs=NO_COSTS)
    assert fills_list(res) == [("2025-08-19", "buy", 100.0, 9.0, "entry")]
    # cash left 1000 - 900 = 100; equity = cash + shares x close
    assert list(res.equity) == [1000.0, 100 + 100 * 9.5, 100 + 100 * 9.0]
    assert list(res.position) == [0.0, 100.0, 100.0]


def test_stop_gapped_through_fills_at_open() -> None:
    prices = bars([(100,), (100,), (100, 101, 99, 100), (85, 86, 80, 82), (82,)])
    strat = scripted({0: [("market", "buy", 10, None)], 1: [("stop", "sell", 10, 90.0)]})
    res = run_backtest(strat, prices, costs=NO_COSTS)
    assert fills_list(res) == [
        ("2025-08-19", "buy", 10.0, 100.0, "market"),
        ("2025-08-21", "sell", 10.0, 85.0, "stop"),  # opened at 85, below the 90 stop
    ]


def test_stop_touched_inside_bar_fills_at_stop() -> None:
    prices = bars([(100,), (100,), (95, 96, 89, 92), (92,)])
    strat = scripted({0: [("market", "buy", 10, None)], 1: [("stop", "sell", 10, 90.0)]})
    res = run_backtest(strat, prices, costs=NO_COSTS)
    assert fills_list(res)[-1] == ("2025-08-20", "sell", 10.0, 90.0, "stop")


def test_limit_touched_inside_bar_fills_at_limit_and_exact_touch_fills() -> None:
    prices = bars([(100,), (95, 96, 89, 92), (92, 93, 88, 90), (90,)])
    strat = scripted({0: [("limit", "buy", 10, 90.0), ("limit", "buy", 5, 88.0)]})
    res = run_backtest(strat, prices, costs=NO_COSTS)
    assert fills_list(res) == [
        ("2025-08-19", "buy", 10.0, 90.0, "limit"),  # low 89 trades through 90
        ("2025-08-20", "buy", 5.0, 88.0, "limit"),  # low exactly 88 fills
    ]


def test_limit_gapped_past_fills_at_open() -> None:
    prices = bars([(100,), (85, 87, 84, 86), (86,)])
    res = run_backtest(scripted({0: [("limit", "buy", 10, 90.0)]}), prices, costs=NO_COSTS)
    assert fills_list(res) == [("2025-08-19", "buy", 10.0, 85.0, "limit")]


def test_limit_sell_gap_up_fills_at_open() -> None:
    prices = bars([(100,), (100,), (135, 140, 133, 138), (138,)])
    strat = scripted({0: [("market", "buy", 10, None)], 1: [("limit", "sell", 10, 130.0)]})
    res = run_backtest(strat, prices, costs=NO_COSTS)
    assert fills_list(res)[-1] == ("2025-08-20", "sell", 10.0, 135.0, "limit")


def test_commission_and_slippage_arithmetic() -> None:
    costs = Costs(
        commission_per_share=0.005, commission_min=1.0, commission_max_pct=0.01, slippage=0.001
    )
    prices = bars([(50,), (50, 60, 49, 55), (55, 56, 40, 45), (45,)])
    strat = scripted({0: [("market", "buy", 100, None)], 1: [("stop", "sell", 100, 50.0)]})
    res = run_backtest(strat, prices, cash=10_000, costs=costs)
    buy, sell = res.fills.itertuples(index=False)
    # market buy at bar 1's open 50 x 1.001 = 50.05 (inside the bar's 49-60 range)
    assert buy.price == pytest.approx(50.05, abs=1e-12)
    # 100 shares x $0.005 = $0.50 < $1 minimum -> $1; cap 1% x 5005 = 50.05 does not bind
    assert buy.commission == pytest.approx(1.0, abs=1e-12)
    # stop at 50 triggers inside bar 2 (open 55, low 40): 50 x 0.999 = 49.95
    assert sell.price == pytest.approx(49.95, abs=1e-12)
    assert sell.commission == pytest.approx(1.0, abs=1e-12)
    # equity at the end: 10000 - 5005 - 1 + 4995 - 1
    assert res.final_equity == pytest.approx(10_000 - 5005 - 1 + 4995 - 1, abs=1e-9)
    assert res.trades["pnl"].iloc[0] == pytest.approx(4995 - 5005 - 2, abs=1e-9)


def test_slippage_never_leaves_the_bar_range() -> None:
    costs = Costs(commission_per_share=0, commission_min=0, commission_max_pct=0, slippage=0.01)
    prices = bars([(50,), (50, 50.2, 49, 50), (50,)])  # high 50.2 < 50 x 1.01
    res = run_backtest(BuyAndHold, prices, cash=1_000, costs=costs)
    assert res.fills["price"].iloc[0] == 50.2


def test_gapped_limit_sell_is_slipped_to_its_limit_even_below_the_low() -> None:
    # backtrader caps a gapped limit sell's slipped open at the limit, not at max(limit, low):
    # open 130.02 x (1 - 0.0005) = 129.955 < 130 -> fills at 130.00 though the low is 130.01
    costs = Costs(commission_per_share=0, commission_min=0, commission_max_pct=0, slippage=0.0005)
    prices = bars([(100,), (100,), (130.02, 131, 130.01, 130.5), (130.5,)])
    strat = scripted({0: [("market", "buy", 10, None)], 1: [("limit", "sell", 10, 130.0)]})
    res = run_backtest(strat, prices, costs=costs)
    assert fills_list(res)[-1] == ("2025-08-20", "sell", 10.0, 130.0, "limit")


def test_commission_cap_binds_on_small_orders() -> None:
    costs = Costs(
        commission_per_share=0.005, commission_min=1.0, commission_max_pct=0.01, slippage=0
    )
    prices = bars([(5,), (5,), (5,)])
    res = run_backtest(scripted({0: [("market", "buy", 2, None)]}), prices, costs=costs)
    # 2 x $5 = $10 of value: minimum $1 capped at 1% = $0.10
    assert res.fills["commission"].iloc[0] == pytest.approx(0.10)


def test_fractional_shares() -> None:
    prices = bars([(3,), (3,), (3,)])
    res = run_backtest(BuyAndHold, prices, cash=10, costs=NO_COSTS, fractional=True)
    assert res.fills["size"].iloc[0] == pytest.approx(3.333333, abs=1e-6)
    whole = run_backtest(BuyAndHold, prices, cash=10, costs=NO_COSTS)
    assert whole.fills["size"].iloc[0] == 3


def test_unaffordable_order_is_rejected_with_a_note() -> None:
    prices = bars([(100,), (100,), (100,)])
    res = run_backtest(scripted({0: [("market", "buy", 5, None)]}), prices, cash=50, costs=NO_COSTS)
    assert res.fills.empty
    assert any("rejected" in n for n in res.notes)


def test_final_equity_equals_cash_plus_shares_at_last_close() -> None:
    prices = bars([(10,), (11, 12, 10, 11.5), (12, 13, 11, 12.25), (12.5, 13, 12, 12.75)])
    res = run_backtest(BuyAndHold, prices, cash=5_000)
    shares = res.fills["size"].sum()
    assert res.final_equity == pytest.approx(res.cash_end + shares * 12.75, abs=0.005)
    open_trade = res.trades.iloc[0]
    assert bool(open_trade["is_open"]) and open_trade["exit_reason"] == "end of data"


def test_round_trip_table_mae_mfe_bars() -> None:
    prices = bars([(100,), (100, 104, 97, 102), (102, 110, 101, 108), (108, 109, 107, 108), (108,)])
    strat = scripted({0: [("market", "buy", 10, None)], 2: [("market", "sell", 10, None)]})
    res = run_backtest(strat, prices, costs=NO_COSTS)
    t = res.trades.iloc[0]
    assert (t["entry_price"], t["exit_price"], t["bars_held"]) == (100.0, 108.0, 2)
    assert t["mae"] == pytest.approx(97 / 100 - 1)  # lowest low while held: 97 on bar 1
    assert t["mfe"] == pytest.approx(110 / 100 - 1)  # highest high while held: 110 on bar 2
    assert t["pnl"] == pytest.approx(80.0) and t["return"] == pytest.approx(0.08)


def test_bad_inputs_are_user_errors() -> None:
    prices = bars([(10,), (10,)])
    with pytest.raises(ParamError, match="did you mean 'stop'"):
        run_backtest(SwingPlan, prices, {"stp": 1})
    with pytest.raises(DataError, match="must be positive"):
        run_backtest(BuyAndHold, prices, cash=0)


def test_fill_rules_text_is_published_in_readme() -> None:
    # the harness docstring is the source of the rules shown in reports; the README repeats them
    for phrase in ("t+1", "gaps past", "resized", "OCO", "never leave the bar's range"):
        assert phrase in FILL_RULES
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "Fill rules" in readme and "next open" in readme
