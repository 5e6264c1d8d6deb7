"""No look-ahead: a run on prices[:t] and on prices[:t+k] agree on every fill up to bar t."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest.harness import run_backtest
from engine.params import declared
from engine.testing.prices import random_path
from engine.testing.runs import NO_COSTS
from strategies import STRATEGIES

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
