"""The fast engine's building blocks on hand-made inputs, each pinned to the harness's own answer.

Sums and indicators are compared bit for bit with what backtrader and NumPy compute; the fill
simulator runs on 3-8 bar paths whose fills are worked out by hand below (and agree with the
backtrader harness on the same path).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import backtrader as bt
import numpy as np
import pytest

from engine.analysis.metrics import ZERO_SPREAD
from engine.backtest import bt_compat
from engine.backtest.broker import RetailCommission, affordable_size
from engine.backtest.harness import run_backtest
from engine.fast import _cache
from engine.fast import broker as B
from engine.fast import numeric as N
from engine.fast import rows as R
from engine.fast.swing_plan import plan
from engine.fast.trace import simulate
from engine.params import resolve
from engine.result import Costs
from engine.rules import parse_rules
from engine.testing.compare import compare, differences, reference, same_number
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies.base import ArticleStrategy
from strategies.rule import rule_strategy
from strategies.swing import SwingPlan, relative_levels

COSTS = Costs()
COST_VEC = np.array([0.005, 1.0, 0.01, 0.0005])
ACTIVE = {"active_from": "2025-08-19"}
LADDER = [(100,), (99, 100, 93, 95), (95, 96, 89.5, 91), (91, 92, 85, 88)]
TRANCHES = [
    ("2025-08-19", "buy", 319.0, 94.0, "tranche 1"),
    ("2025-08-20", "buy", 333.0, 90.0, "tranche 2"),
    ("2025-08-21", "buy", 348.0, 86.0, "tranche 3"),
]


@pytest.fixture(autouse=True, scope="module")
def fresh_kernels() -> None:
    _cache.ensure_fresh()


def both(strategy: str, path: list, params: dict | None = None, **kw):  # noqa: ANN201
    """(harness fills, fast fills) on a hand path; the two runs must agree entirely."""
    prices = bars(path)
    assert compare(strategy, prices, params, **kw) == []
    fast = simulate(strategy, prices, params, **kw)
    return fills_list(fast), fast


# ------------------------------------------------------------------------------------ numbers
def test_fsum_and_pairwise_sums_are_bit_identical() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 1500))
        a = rng.normal(size=n) * 10.0 ** rng.integers(-6, 6, size=n)
        assert N.fsum(a, 0, n) == math.fsum(a)
        assert N.np_sum(a, n) == np.sum(a)
        assert N.np_mean(a, n) == np.mean(a)
        if n > 1:
            assert N.np_std1(a, n) == np.std(a, ddof=1)
    assert N.ZERO_SPREAD == ZERO_SPREAD


def test_commission_and_sizing_match_the_harness() -> None:
    comm = RetailCommission(per_share=0.005, minimum=1.0, max_pct=0.01)
    fake = SimpleNamespace(
        broker=SimpleNamespace(
            p=SimpleNamespace(slip_perc=0.0005, fractional=False),
            getcommissioninfo=lambda data: comm,
            getcash=lambda: 0.0,
        ),
        data=None,
    )
    rng = np.random.default_rng(5)
    for _ in range(2000):
        size = float(rng.integers(0, 5000))
        price = float(np.round(rng.uniform(0.5, 400), 2))
        cash = float(np.round(rng.uniform(0, 200_000), 2))
        assert B.commission(size, price, COST_VEC) == COSTS.commission(size, price)
        assert B.affordable_size(cash, price, COST_VEC) == affordable_size(
            cash, price, comm, fractional=False
        )
        assert B.affordable(price, cash, COST_VEC) == ArticleStrategy.affordable(fake, price, cash)


def test_slippage_matches_backbroker() -> None:
    broker = bt.brokers.BackBroker()
    broker.set_slippage_perc(
        0.0005, slip_open=True, slip_limit=True, slip_match=True, slip_out=False
    )
    rng = np.random.default_rng(7)
    for _ in range(500):
        price, bound = (float(x) for x in np.round(rng.uniform(50, 150, 2), 2))
        assert B.slip_up(bound, price, 0.0005) == broker._slip_up(bound, price, lim=True)
        assert B.slip_down(bound, price, 0.0005) == broker._slip_down(bound, price, lim=True)
    assert B.slip_up(1.0, 100.0, 0.0) == 100.0  # no slippage: the price, whatever the bound


# ------------------------------------------------------------------------------------ indicators
def _bt_lines(close: np.ndarray) -> SimpleNamespace:
    import pandas as pd

    frame = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}
    )
    frame.index = pd.bdate_range("2025-01-01", periods=len(close))

    class Probe(bt.Strategy):
        def __init__(self) -> None:
            self.sma = bt.ind.SMA(self.data.close, period=3)
            self.ema = bt.ind.EMA(self.data.close, period=4)
            self.macd = bt.ind.MACD(self.data.close, period_me1=2, period_me2=5, period_signal=3)
            self.rsi = bt.ind.RSI(
                self.data.close, period=3, movav=bt.ind.SmoothedMovingAverage, safediv=True
            )

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt_compat.feed(frame))
    cerebro.addstrategy(Probe)
    s = cerebro.run()[0]
    return SimpleNamespace(
        sma=np.asarray(s.sma.array), ema=np.asarray(s.ema.array), macd=np.asarray(s.macd.macd.array),
        signal=np.asarray(s.macd.signal.array), rsi=np.asarray(s.rsi.array),
    )  # fmt: skip


@pytest.mark.parametrize(
    "close",
    [
        [10, 11, 12, 11, 10, 10, 10, 13, 12, 12.5, 14, 13, 12, 12, 15],
        [20, 20, 20, 20, 20, 20, 21, 21, 19, 19, 19, 19, 22, 22, 22],  # flat: RSI 0/0 and x/0
    ],
)
def test_indicators_equal_backtrader_bit_for_bit(close: list[float]) -> None:
    c = np.array(close, dtype=float)
    ref = _bt_lines(c)
    for mine, theirs in [
        (R.sma(c, 3, 0), ref.sma),
        (R.ema(c, 4, 0), ref.ema),
        (R.macd(c, 2, 5, 0), ref.macd),
        (R.macd_signal(c, 2, 5, 3, 0), ref.signal),
        (R.rsi(c, 3, 0), ref.rsi),
    ]:
        assert np.array_equal(mine, theirs, equal_nan=True)


def test_crossover_reads_a_tie_as_the_side_last_seen() -> None:
    # close - 5: -1, 0 (tie), +1 -> a cross up on the third bar, bought at the fourth's open;
    # then a tie and a fall below: a cross down (the exit) on the sixth bar
    rule = parse_rules("[x]\nentry = 'crosses_above(close, 5)'\nexit = 'crosses_below(close, 5)'")
    ref = rule_strategy(rule["x"]).rule.ref()  # type: ignore[union-attr]
    path = [(4,), (5,), (6,), (6.5,), (5,), (4,), (4.5,)]
    fast = simulate(ref, bars(path), costs=NO_COSTS, cash=1_000.0)
    assert compare(ref, bars(path), costs=NO_COSTS, cash=1_000.0) == []
    assert [(f[0], f[1], f[3]) for f in fills_list(fast)] == [
        ("2025-08-21", "buy", 6.5),
        ("2025-08-26", "sell", 4.5),
    ]
    # a first difference of 0 is no side: a close of 5, then 6, never crosses 5
    flat = simulate(ref, bars([(5,), (6,), (7,)]), costs=NO_COSTS, cash=1_000.0)
    assert fills_list(flat) == []


# ------------------------------------------------------------------------------------ fills
def test_gap_below_the_stop_fills_at_the_open_slipped() -> None:
    fills, _ = both("swing", LADDER + [(75, 76, 70, 72), (72,)], ACTIVE, cash=90_000)
    # default costs: each tranche of 30,000 is sized at its limit plus 5 bp and commission
    # (318 @ 94, 333 @ 90, 348 @ 86); the stop sells them all at 75 x (1 - 5 bp) = 74.9625
    assert [f[2] for f in fills[:3]] == [318.0, 333.0, 348.0]
    assert fills[-1] == ("2025-08-22", "sell", 999.0, 74.9625, "stop")


def test_touch_90_then_130() -> None:
    path = LADDER + [(88, 100, 87, 99), (120, 131, 119, 129), (129, 151, 128, 149), (149,)]
    fills, fast = both("swing", path, ACTIVE, cash=90_000, costs=NO_COSTS)
    assert fills == TRANCHES + [
        ("2025-08-25", "sell", 500.0, 130.0, "target 1"),
        ("2025-08-26", "sell", 500.0, 150.0, "target 2"),
    ]
    assert fast.metrics["n_trades"] == 1 and fast.metrics["win_rate"] == 1.0


def test_gapped_open_above_a_target_is_floored_at_the_limit() -> None:
    # backtrader passes the limit as the floor of a gapped limit sell: 130.02 x (1 - 5 bp) =
    # 129.955 is below 130, so the fill is the limit itself, although the bar's low is 130.01
    path = LADDER + [(88, 100, 87, 99), (130.02, 131, 130.01, 130.5), (130.5,)]
    fills, _ = both(
        "swing", path, {**ACTIVE, "targets": (130.0,), "scale_out": (1.0,)}, cash=90_000
    )
    assert fills[-1][1:] == ("sell", fills[-1][2], 130.0, "target 1")


def test_session_touching_stop_and_target_is_stopped_out() -> None:
    fills, fast = both(
        "swing", LADDER + [(100, 135, 75, 100), (100,)], ACTIVE, cash=90_000, costs=NO_COSTS
    )
    assert fills[-1] == ("2025-08-22", "sell", 1000.0, 79.99, "stop")
    assert len(fast.fills) == 4  # one OCO group: target 1 was cancelled


def test_buy_resized_after_a_gap_up() -> None:
    # 10,000 at a 100 close: 99 shares (99 x 100.05 + 1 <= 10,000); the next open 110 fills at
    # 110.055 and 99 shares no longer fit: 90 do (90 x 110.055 + 1 = 9,905.95)
    fills, fast = both("buy_hold", [(100,), (110, 111, 109, 110), (110,)], cash=10_000)
    assert fills == [("2025-08-19", "buy", 90.0, 110.055, "entry")]
    assert fast.fills["resized_from"].tolist() == [99.0]


def test_buy_rejected_when_not_one_share_fits() -> None:
    fills, fast = both("buy_hold", [(100,), (160, 161, 159, 160), (160,)], cash=150)
    assert fills == [] and fast.metrics["n_open"] == 0


def test_ma_cross_tie_on_the_previous_bar() -> None:
    # fast = SMA(1) = close, slow = SMA(2): the difference is -0.5, then 0 (a tie), then +0.5:
    # backtrader's CrossOver still sees a cross up on the bar after the tie
    path = [(10,), (9,), (9,), (10,), (10,), (10,)]
    fills, _ = both("ma_trend", path, {"fast": 1, "slow": 2, "mode": "cross"}, costs=NO_COSTS)
    assert fills == [("2025-08-22", "buy", 10000.0, 10.0, "signal")]


def test_first_difference_of_zero_is_not_a_cross() -> None:
    path = [(10,), (10,), (11,), (11,), (11,)]
    fills, _ = both("ma_trend", path, {"fast": 1, "slow": 2, "mode": "cross"}, costs=NO_COSTS)
    assert fills == []


def test_rsi_stop_gapped_through() -> None:
    # period 1: RSI is 0 after a down close and 100 after an up close; the climb back above 30
    # on bar 3 (close 11: 90 shares of 1,000) buys at bar 4's open (10); the stop at 9.5 rests
    # from bar 5, which opens at 8: the stop fills at the open. Flat closes then give RSI 50
    # (0/0), a new climb above 30, and a new entry.
    path = [(10,), (11,), (10,), (11,), (10, 10.2, 9.9, 10), (8, 8.5, 7.5, 8), (8,), (8,)]
    params = {"period": 1, "oversold": 30.0, "overbought": 99.9, "stop_pct": 0.05}
    fills, _ = both("rsi", path, params, costs=NO_COSTS, cash=1000)
    assert fills == [
        ("2025-08-22", "buy", 90.0, 10.0, "signal"),
        ("2025-08-25", "sell", 90.0, 8.0, "stop"),
        ("2025-08-27", "buy", 102.0, 8.0, "signal"),
    ]


# ------------------------------------------------------------------------------------ helpers
def test_compare_reports_every_kind_of_difference() -> None:

    prices = bars(LADDER + [(75, 76, 70, 72), (72,)])
    ref, ref_m = reference("swing", prices, ACTIVE, cash=90_000)
    fast = simulate("swing", prices, ACTIVE, cash=90_000)
    assert differences(ref, ref_m, fast) == []
    fast.fills.loc[3, "price"] += 1e-6
    fast.metrics["sharpe"] *= 1 + 1e-8
    found = differences(ref, ref_m, fast)
    assert any(d.startswith("fill 3 price") for d in found)
    assert any(d.startswith("metric sharpe") for d in found)
    assert same_number(float("nan"), float("nan"), 0) and same_number(math.inf, math.inf, 0)
    assert not same_number(1.0, 1.0 + 1e-8, 1e-9) and not same_number(math.nan, 0.0, 1.0)


def test_stale_kernel_cache_is_cleared(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    stale = tmp_path / "broker.commission-99.py311.nbi"
    other = tmp_path / "someone_else.f-1.py311.nbi"
    stale.write_text("x")
    other.write_text("x")
    monkeypatch.setattr(_cache, "_checked", False)
    monkeypatch.setattr(_cache, "cache_dir", lambda: tmp_path)
    _cache.ensure_fresh()
    assert not stale.exists() and other.exists()
    assert (tmp_path / _cache.STAMP).read_text() == _cache.source_digest()
    stale.write_text("x")  # same sources: nothing is deleted on the next process
    monkeypatch.setattr(_cache, "_checked", False)
    _cache.ensure_fresh()
    assert stale.exists()


def test_swing_plan_levels_round_like_the_strategy() -> None:
    prices = bars(LADDER + [(95,)])
    p = resolve(SwingPlan, {**ACTIVE, "levels": "relative", "tranches": 4, "stop_pct": 0.2})
    days = prices.index.values.astype("datetime64[D]").astype(np.int64)
    got = plan(p, days, prices["close"].to_numpy())
    ladder, stop, targets = relative_levels(100.0, p)  # armed on bar 0's close (100)
    assert got.arm_bar == 0 and got.ladder == ladder and got.stop == stop and got.targets == targets


def test_run_backtest_and_simulate_agree_on_the_fill_table_schema() -> None:
    prices = bars(LADDER + [(75, 76, 70, 72), (72,)])
    ref = run_backtest(SwingPlan, prices, ACTIVE, cash=90_000)
    fast = simulate("swing", prices, ACTIVE, cash=90_000)
    assert list(fast.fills.columns) == list(ref.fills.columns)
    assert list(fast.trades.columns) == list(ref.trades.columns)


def test_a_long_ladder_fits_the_order_book() -> None:
    # 30 tranches 1 % apart and three targets: the book is sized from the plan, not fixed
    path = (
        [(100,)]
        + [(100 - k, 101 - k, 99 - k, 99.5 - k) for k in range(1, 35)]
        + [(80, 140, 79, 139), (139,)]
    )
    params = {
        **ACTIVE, "levels": "relative", "tranches": 30, "ladder_step_pct": 0.01, "stop_pct": 0.35,
        "target_pcts": (0.2, 0.3, 0.4), "scale_out": (0.2, 0.3, 0.5),
    }  # fmt: skip
    fills, _ = both("swing", path, params, cash=1_000_000)
    assert sum(1 for f in fills if f[4].startswith("tranche")) == 30
