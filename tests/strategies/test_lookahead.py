"""No look-ahead: a run on prices[:t] and on prices[:t+k] agree on every fill up to bar t.

Every registered strategy, and rules: every shipped rule (short periods) and random rules of
the whole language, on both engines (the backtrader rule strategy and the fast signal kernel).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.backtest.harness import run_backtest
from engine.fast.trace import simulate
from engine.params import declared
from engine.rules import Rule, load_rules, parse_rules
from engine.testing.prices import random_path
from engine.testing.rules import rule_texts
from engine.testing.runs import NO_COSTS
from strategies import STRATEGIES
from strategies.rule import rule_strategy

RULES_DIR = Path(__file__).resolve().parents[2] / "strategies" / "rules"
SHIPPED = [r for p in sorted(RULES_DIR.glob("*.toml")) for r in load_rules(p).rules.values()]
SHORT = {"slow": 8, "fast": 3, "signal": 3, "hold_bars": 2, "period": 4, "len": 8}
SHORT |= {"sma_period": 8, "rsi_period": 4}

# Short indicator periods so that signals happen on 60-bar paths; every registered strategy is
# covered (a strategy without an entry here runs with its defaults).
SMALL = {
    "swing": {
        "active_from": "2025-01-08",
        "levels": "relative",
        "stop_pct": 0.12,
        "ladder_step_pct": 0.03,
    },
    "ma_trend": {"fast": 3, "slow": 8, "hold_bars": 2},
    "macd": {"fast": 3, "slow": 8, "signal": 3},
    "rsi": {"period": 4},
    "confluence": {
        "sma_period": 8,
        "macd_fast": 3,
        "macd_slow": 8,
        "macd_signal": 3,
        "rsi_period": 4,
    },
}


def small_params(name: str) -> dict:
    known = declared(STRATEGIES[name])
    return {k: v for k, v in SMALL.get(name, {}).items() if k in known}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(20, 55),
    extra=st.integers(1, 15),
    name=st.sampled_from(sorted(STRATEGIES)),
)
def test_no_lookahead(seed: int, cut: int, extra: int, name: str) -> None:
    prices = random_path(seed, 70)
    cls = STRATEGIES[name]
    params = small_params(name)
    short = run_backtest(cls, prices.iloc[:cut], params, costs=NO_COSTS)
    longer = run_backtest(cls, prices.iloc[: cut + extra], params, costs=NO_COSTS)
    last = prices.index[cut - 1]
    a = short.fills[short.fills["date"] <= last].reset_index(drop=True)
    b = longer.fills[longer.fills["date"] <= last].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(short.equity, longer.equity.loc[:last])


def short_params(rule: Rule) -> dict:
    return {k: SHORT.get(k, v) for k, v in rule.params.items()}


def same_up_to(cut: int, prices: pd.DataFrame, short, longer) -> None:  # noqa: ANN001
    last = prices.index[cut - 1]
    a = short.fills[short.fills["date"] <= last].reset_index(drop=True)
    b = longer.fills[longer.fills["date"] <= last].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_series_equal(short.equity, longer.equity.loc[:last], check_names=False)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(20, 55),
    extra=st.integers(1, 15),
    shipped=st.sampled_from(SHIPPED),
    text=rule_texts(),
    pick_random=st.booleans(),
)
def test_rules_have_no_lookahead_on_either_engine(
    seed: int, cut: int, extra: int, shipped: Rule, text: str, pick_random: bool
) -> None:
    rule = parse_rules(text)["r"] if pick_random else shipped
    params = dict(rule.params) if pick_random else short_params(rule)
    assume(rule.warmup(params) + 1 <= cut)
    prices = random_path(seed, 70)
    cls = rule_strategy(rule)
    runs = [run_backtest(cls, prices.iloc[:n], params, costs=NO_COSTS) for n in (cut, cut + extra)]
    same_up_to(cut, prices, *runs)
    ref = rule.ref()
    fast = [simulate(ref, prices.iloc[:n], params, costs=NO_COSTS) for n in (cut, cut + extra)]
    same_up_to(cut, prices, *fast)
