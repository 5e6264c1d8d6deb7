"""The backtrader rule strategy (the reference): orders and fills on hand-made paths.

Every path is a few bars whose fills are worked out by hand (no costs, $10,000): an entry signal
on a close fills at the next open; protective orders are sent on the close of the entry's
session and rest from the next one, filling by the harness's stop and limit rules.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest.harness import run_backtest
from engine.params import resolve
from engine.rules import parse_rules
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies.rule import RuleStrategy, rule_strategy


def run(toml: str, path: list, params: dict | None = None, cash: float = 10_000.0):  # noqa: ANN201
    rule = next(iter(parse_rules(toml).values()))
    return run_backtest(rule_strategy(rule), bars(path), params, costs=NO_COSTS, cash=cash)


ENTER_ONCE = "[r]\nentry = 'high == low and close == 100'\n"  # the first, flat bar only


def test_strategy_class_carries_the_rule_and_its_parameters() -> None:
    rule = parse_rules(
        "[my]\ndescription = 'd'\nparams = { n = 5, on = true }\nentry = 'close > sma(close, n)'\nexit = 'false'"
    )["my"]
    cls = rule_strategy(rule)
    assert issubclass(cls, RuleStrategy) and cls.alias == "my" and cls.summary == "d"
    assert resolve(cls, {"n": "7"}) == {"n": 7, "on": True}
    assert cls.warmup({"n": 7, "on": True}) == 7
    with pytest.raises(Exception, match="periods are whole numbers"):
        resolve(cls, {"n": 0})


def test_stop_loss_rests_from_the_next_session_and_fills_at_a_gapped_open() -> None:
    res = run(
        ENTER_ONCE + "stop_loss = 0.1\n",
        [(100,), (100, 101, 99, 100), (85, 86, 80, 82), (82,)],
    )
    assert fills_list(res) == [
        ("2025-08-19", "buy", 100.0, 100.0, "entry"),
        ("2025-08-20", "sell", 100.0, 85.0, "stop loss"),  # stop $90 gapped through: the open
    ]
    assert list(res.fills["order_type"]) == ["market", "stop"]


def test_take_profit_fills_at_its_limit_and_a_session_reaching_both_is_a_stop() -> None:
    toml = ENTER_ONCE + "stop_loss = 0.1\ntake_profit = 0.2\n"
    target = run(toml, [(100,), (100, 101, 99, 100), (110, 125, 95, 99), (90,)])
    assert fills_list(target)[-1] == ("2025-08-20", "sell", 100.0, 120.0, "take profit")
    both = run(toml, [(100,), (100, 101, 99, 100), (100, 125, 85, 99), (90,)])
    assert fills_list(both)[-1] == ("2025-08-20", "sell", 100.0, 90.0, "stop loss")
    assert len(both.fills) == 2  # OCO: the target went with the stop


def test_trailing_stop_follows_the_highest_close_and_is_never_lowered() -> None:
    res = run(
        ENTER_ONCE + "trailing_stop = 0.1\n",
        # fill 100; closes 100 -> stop 90, 110 -> 99, 120 -> 108, 115 (kept at 108), then a low of 105
        [(100,), (100, 101, 99, 100), (100, 111, 100, 110), (110, 121, 109, 120),
         (120, 121, 114, 115), (115, 116, 105, 106), (106,)],
    )  # fmt: skip
    assert fills_list(res)[-1] == ("2025-08-25", "sell", 100.0, 108.0, "trailing stop")


def test_the_higher_of_stop_loss_and_trailing_levels_is_the_stop() -> None:
    toml = ENTER_ONCE + "stop_loss = 0.05\ntrailing_stop = 0.2\n"
    # trail 20% of 100 = 80 < stop loss 95: the stop is at 95, tagged stop loss
    res = run(toml, [(100,), (100, 101, 99, 100), (99, 99, 94, 96), (96,)])
    assert fills_list(res)[-1] == ("2025-08-20", "sell", 100.0, 95.0, "stop loss")
    # closes up to 130: trail 104 > 95, the stop moves to 104 and is tagged trailing stop
    up = run(
        toml, [(100,), (100, 101, 99, 100), (100, 131, 100, 130), (129, 129, 100, 101), (101,)]
    )
    assert fills_list(up)[-1] == ("2025-08-21", "sell", 100.0, 104.0, "trailing stop")


def test_max_bars_sells_at_the_open_that_many_sessions_after_the_entry() -> None:
    res = run(ENTER_ONCE + "max_bars = 2\n", [(100,), (100, 101, 99, 100), (101,), (102,), (90,)])
    assert fills_list(res) == [
        ("2025-08-19", "buy", 100.0, 100.0, "entry"),
        ("2025-08-21", "sell", 100.0, 102.0, "max bars"),
    ]
    assert res.trades["bars_held"].tolist() == [2]


def test_exit_signal_cancels_the_protective_orders_first() -> None:
    toml = ENTER_ONCE + "exit = 'close < 95'\nstop_loss = 0.1\n"
    res = run(toml, [(100,), (100, 101, 99, 100), (99, 99, 94, 94), (80, 81, 70, 75), (75,)])
    # the exit on the 94 close sells at the next open (80); the $90 stop was cancelled before
    assert fills_list(res) == [
        ("2025-08-19", "buy", 100.0, 100.0, "entry"),
        ("2025-08-21", "sell", 100.0, 80.0, "exit"),
    ]


def test_reentry_after_a_stop_and_signals_need_warmup() -> None:
    toml = "[r]\nparams = { n = 2 }\nentry = 'close > sma(close, n)'\nexit = 'false'\nstop_loss = 0.1\n"
    res = run(toml, [(100,), (101,), (102, 103, 91, 92), (92, 96, 88, 95), (96,)])
    # bar 0 has no SMA yet; bar 1's close 101 > 100.5 sends a buy of 99 shares, resized to 98
    # by the 102 open; the $91.80 stop rests from bar 3, which opens at 92 and trades down to 88
    assert [f[1:] for f in fills_list(res)][:2] == [
        ("buy", 98.0, 102.0, "entry"),
        ("sell", 98.0, 91.8, "stop loss"),
    ]


# ------------------------------------------------------------------ warm-up = backtrader's first next()
CONDITIONS = [
    "close > sma(close, {a})",
    "crosses_above(ema(close, {a}), sma(close, {b}))",
    "rsi(close, {a}) > 50 or macd_hist(close, {a}, {b}, {c}) > 0",
    "shift(highest(high, {a}), {b}) < close",
    "bb_lower(close, {a}, 2) < atr({b}) * 10",
    "roc(ema(close, {a}), {b}) > 0 and not crosses_below(30, rsi(close, {c}))",
    "close / shift(close, {a}) > 1 and lowest(low, {b}) > 0",
    "macd_signal(sma(close, {c}), {a}, {b}, {c}) > 0",
    "true",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(CONDITIONS) - 1),
    a=st.integers(1, 9),
    b=st.integers(1, 9),
    c=st.integers(1, 6),
)
def test_warmup_is_backtraders_first_next(which: int, a: int, b: int, c: int) -> None:
    entry = CONDITIONS[which].format(a=a, b=b, c=c)
    rule = parse_rules(f"[r]\nentry = '{entry}'\nexit = 'false'")["r"]
    seen: list[int] = []

    class Probe(rule_strategy(rule)):  # type: ignore[misc, valid-type]
        def next(self) -> None:
            seen.append(len(self) - 1)
            super().next()

    rng = np.random.default_rng(a * 100 + b * 10 + c)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 60)))
    run_backtest(Probe, bars([(x,) for x in closes.round(2)]), costs=NO_COSTS)
    assert seen[0] == max(rule.warmup(rule.params), 1) - 1
