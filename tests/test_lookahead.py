"""No look-ahead: a run on prices[:t] and on prices[:t+k] agree on every fill up to bar t."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.harness import run_backtest
from strategies import STRATEGIES
from tests.helpers import NO_COSTS

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


def random_path(seed: int, n: int) -> pd.DataFrame:
    """A seeded random walk with gaps: open = previous close x gap, intrabar range around it."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.04, n)))
    prev = np.concatenate([[100.0], close[:-1]])
    open_ = prev * np.exp(rng.normal(0, 0.02, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.03, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.03, n))
    idx = pd.bdate_range("2025-01-02", periods=n, name="date")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=idx)
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1e6
    return frame.round(4)


def small_params(name: str) -> dict:
    from engine.params import declared

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


def test_random_path_helper_is_valid_ohlc() -> None:
    from engine.data import find_problems

    p = random_path(3, 200)
    assert find_problems(p.reset_index()) == []
    assert p.equals(random_path(3, 200))  # seeded: same path twice
