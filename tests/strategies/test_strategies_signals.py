"""The signal strategies (rules 2-5): exact fills on hand-made paths, indicators, params, warm-up.

Price paths are built from closes: each bar opens 0.50 below the previous close (so a buy sized
at the signal close always fits at the next open, and a fill price is easy to check by hand),
with the high/low 0.50 outside the open-close range. Indicator values are checked against
independent computations written here: pandas rolling means, the EMA recursion seeded with a
simple average, and Wilder's RSI.
"""

from __future__ import annotations

import math
import re

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from engine.backtest.harness import run_backtest
from engine.errors import DataError, ParamError
from engine.params import declared, describe, resolve
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies import STRATEGIES
from strategies.confluence import Confluence
from strategies.ma_trend import MATrend
from strategies.macd import MACDMomentum
from strategies.rsi import RSIRebound

SIGNAL_STRATEGIES = [MATrend, MACDMomentum, RSIRebound, Confluence]


# ----------------------------------------------------------------------------- helpers


def path(closes, gap: float = 0.5) -> pd.DataFrame:
    """Bars from closes: open = previous close - gap (first open = first close)."""
    rows = []
    prev = None
    for c in closes:
        o = c if prev is None else prev - gap
        rows.append((o, max(o, c) + 0.5, min(o, c) - 0.5, c))
        prev = c
    return bars(rows)


def day(i: int) -> str:
    """Date of bar ``i`` in :func:`path` frames (business days from 2025-08-18)."""
    return pd.bdate_range("2025-08-18", periods=i + 1)[-1].strftime("%Y-%m-%d")


def run(cls, closes, **params):
    return run_backtest(cls, path(closes), params, costs=NO_COSTS)


def ref_sma(x, n: int) -> pd.Series:
    return pd.Series(x, dtype=float).rolling(n).mean()


def ref_ema(x, n: int) -> pd.Series:
    """EMA with alpha 2/(n+1), seeded with the mean of the first n valid values."""
    x = pd.Series(x, dtype=float).reset_index(drop=True)
    out = pd.Series(np.nan, index=x.index)
    first = x.first_valid_index()
    if first is None or len(x) - first < n:
        return out
    i0 = first + n - 1
    out[i0] = x[first : i0 + 1].mean()
    alpha = 2.0 / (n + 1)
    for i in range(i0 + 1, len(x)):
        out[i] = out[i - 1] * (1 - alpha) + x[i] * alpha
    return out


def ref_macd(x, fast: int, slow: int, signal: int):
    macd = ref_ema(x, fast) - ref_ema(x, slow)
    sig = ref_ema(macd, signal)
    return macd, sig, macd - sig


def ref_rsi(x, n: int) -> pd.Series:
    """Wilder's RSI: averages of up/down moves seeded with their simple mean, then
    ``avg = (avg * (n - 1) + move) / n``; 100 when there is no down move, 50 when no move."""
    x = pd.Series(x, dtype=float).reset_index(drop=True)
    moves = x.diff()
    out = pd.Series(np.nan, index=x.index)
    if len(x) <= n:
        return out
    up = moves[1 : n + 1].clip(lower=0).mean()
    down = (-moves[1 : n + 1]).clip(lower=0).mean()
    for i in range(n, len(x)):
        if i > n:
            up = (up * (n - 1) + max(moves[i], 0.0)) / n
            down = (down * (n - 1) + max(-moves[i], 0.0)) / n
        out[i] = (100.0 if up > 0 else 50.0) if down == 0 else 100.0 - 100.0 / (1.0 + up / down)
    return out


def random_walk(n: int = 150, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, n))))


def test_helpers_path_and_references() -> None:
    frame = path([10, 12, 11])
    assert list(frame["open"]) == [10, 9.5, 11.5]
    assert list(frame["high"]) == [10.5, 12.5, 12.0]
    assert list(frame["low"]) == [9.5, 9.0, 10.5]
    assert day(0) == "2025-08-18" and day(5) == "2025-08-25"
    assert ref_ema([1, 2, 3, 4], 3).round(9).tolist()[2:] == [2.0, 3.0]  # seed 2, then 2*.5+4*.5
    assert ref_rsi([5, 4, 3, 2], 3).tolist()[3] == 0.0
    assert ref_rsi([1, 2, 3, 4], 3).tolist()[3] == 100.0
    assert ref_rsi([1, 1, 1, 1], 3).tolist()[3] == 50.0
    # one up move of 3 after three down moves of 2: up = 1, down = 4/3 -> RSI = 300/7
    assert ref_rsi([50, 48, 46, 44, 47], 3).tolist()[4] == pytest.approx(300 / 7)


# ----------------------------------------------------------------------------- indicators


def probe(cls, read):
    """A subclass of ``cls`` that records ``(bar number, read(self))`` on every ``next``."""
    records: list = []

    class Probe(cls):
        def next(self) -> None:
            records.append((len(self) - 1, read(self)))
            super().next()

    Probe.records = records
    return Probe


def assert_matches(records, reference: dict[str, pd.Series], first_bar: int) -> None:
    assert records[0][0] == first_bar, "next() started before every indicator was full"
    for bar, values in records:
        for key, value in values.items():
            assert value == pytest.approx(reference[key][bar], rel=1e-9, abs=1e-9), (key, bar)


def test_ma_trend_smas_match_pandas_rolling_mean() -> None:
    closes = random_walk()
    cls = probe(MATrend, lambda s: {"fast": s.fast_sma[0], "slow": s.slow_sma[0]})
    run(cls, closes, mode="cross")
    ref = {"fast": ref_sma(closes, 20), "slow": ref_sma(closes, 60)}
    # in cross mode next() begins at the cross's first value: one bar after the slow SMA's
    assert_matches(cls.records, ref, first_bar=60)
    cls = probe(MATrend, lambda s: {"slow": s.slow_sma[0]})
    run(cls, closes)
    assert_matches(cls.records, ref, first_bar=59)  # reclaim mode: from the first full SMA
    assert math.isnan(ref["slow"][58]) and not math.isnan(ref["slow"][59])


def test_macd_matches_ema_recursion_seeded_by_sma() -> None:
    closes = random_walk()
    cls = probe(
        MACDMomentum,
        lambda s: {"macd": s.macd.macd[0], "signal": s.macd.signal[0], "histo": s.macd.histo[0]},
    )
    run(cls, closes)
    macd, sig, histo = ref_macd(closes, 12, 26, 9)
    assert_matches(cls.records, {"macd": macd, "signal": sig, "histo": histo}, first_bar=34)
    assert sig.first_valid_index() == 33  # bar slow + signal - 1, counting from 1


def test_rsi_matches_wilder_by_hand() -> None:
    closes = random_walk()
    closes[20:24] = [closes[19]] * 4  # flat stretch: moves of zero
    cls = probe(RSIRebound, lambda s: {"rsi": s.rsi[0]})
    run(cls, closes)
    assert_matches(cls.records, {"rsi": ref_rsi(closes, 14)}, first_bar=15)


def test_rsi_safediv_cases() -> None:
    cls = probe(RSIRebound, lambda s: {"rsi": s.rsi[0]})
    run(cls, [10, 11, 12, 13, 14, 15, 16], period=3)
    assert [v["rsi"] for _, v in cls.records] == [100.0] * 3
    cls = probe(RSIRebound, lambda s: {"rsi": s.rsi[0]})
    run(cls, [10.0] * 7, period=3)
    assert [v["rsi"] for _, v in cls.records] == [50.0] * 3


def test_confluence_indicators_match_references() -> None:
    closes = random_walk()
    cls = probe(
        Confluence,
        lambda s: {
            "sma": s.sma[0],
            "macd": s.macd.macd[0],
            "signal": s.macd.signal[0],
            "rsi": s.rsi[0],
        },
    )
    run(cls, closes)
    macd, sig, _ = ref_macd(closes, 12, 26, 9)
    ref = {"sma": ref_sma(closes, 60), "macd": macd, "signal": sig, "rsi": ref_rsi(closes, 14)}
    assert_matches(cls.records, ref, first_bar=59)


# ----------------------------------------------------------------------------- MA trend

# fast=2, slow=5, hold_bars=2 below. Bars 0-4 sit at 10 (slow SMA 10: the close is not above it),
# bar 5 starts the reclaim, bar 6 is its second close above -> buy at bar 7's open.
MA = {"fast": 2, "slow": 5, "hold_bars": 2}


def test_ma_reclaim_and_hold_then_lose_it() -> None:
    closes = [10, 10, 10, 10, 10, 12, 12, 13, 13, 8, 8, 8]
    # bar 9: slow SMA (12+12+13+13+8)/5 = 11.6 > 8 -> sell at bar 10's open (8 - 0.5)
    res = run(MATrend, closes, **MA)
    assert fills_list(res) == [
        (day(7), "buy", 8333.0, 11.5, "signal"),  # 100000 // 12
        (day(10), "sell", 8333.0, 7.5, "signal"),
    ]
    assert MATrend.warmup(resolve(MATrend, MA)) == 7  # first fill on bar 7: the earliest possible


def test_ma_run_under_way_at_first_full_average_is_not_a_reclaim() -> None:
    rising = [10, 11, 12, 13, 14, 15, 16, 17, 18]
    assert fills_list(run(MATrend, rising, **MA)) == []
    # after a close below the average, a new run of two closes above it is a reclaim
    closes = rising + [12, 19, 20, 20]
    # bar 9: SMA (15+16+17+18+12)/5 = 15.6 > 12; bars 10-11 above -> buy at bar 12's open
    assert fills_list(run(MATrend, closes, **MA)) == [(day(12), "buy", 5000.0, 19.5, "signal")]


def test_ma_fast_exit_and_one_entry_per_reclaim() -> None:
    closes = [10, 10, 10, 10, 10, 12, 12.5, 14, 13, 13.5, 14, 9, 14, 15, 15, 15]
    res = run(MATrend, closes, **MA, exit_on="fast")
    assert fills_list(res) == [
        # bar 6: 2nd close above the slow SMA (10.8), above the fast SMA (12.25)
        (day(7), "buy", 8000.0, 12.0, "signal"),
        # bar 8: 13 < fast SMA 13.5 (still above the slow SMA 12.3) -> out
        (day(9), "sell", 8000.0, 12.5, "signal"),
        # bars 9-10 stay above both SMAs: same run, no re-entry. Bar 11 (9) ends the run below
        # the slow SMA; bars 12-13 reclaim it, bar 13 (15) is above the fast SMA 14.5
        (day(14), "buy", 6933.0, 14.5, "signal"),  # (100000 - 96000 + 100000) // 15
    ]
    # the default exit (slow SMA) keeps the first trade until bar 11 loses the slow SMA
    res = run(MATrend, closes, **MA)
    assert fills_list(res) == [
        (day(7), "buy", 8000.0, 12.0, "signal"),
        (day(12), "sell", 8000.0, 8.5, "signal"),
        (day(14), "buy", 4800.0, 14.5, "signal"),  # (4000 + 8000 * 8.5) // 15
    ]


def test_ma_cross_mode_golden_and_death_cross() -> None:
    p = {"fast": 2, "slow": 4, "mode": "cross"}
    closes = [10, 20, 30, 40, 30, 20, 20, 40, 50, 10, 10, 10]
    # bar 3 (first full slow SMA): fast 35 > slow 25, but nothing crossed; bar 5 death cross
    # while flat; bar 7 golden cross (fast 30 > slow 27.5); bar 9 fast = slow (30 = 30) is no
    # cross; bar 10 death cross (fast 10 < slow 27.5).
    assert fills_list(run(MATrend, closes, **p)) == [
        (day(8), "buy", 2500.0, 39.5, "signal"),
        (day(11), "sell", 2500.0, 9.5, "signal"),
    ]


def test_ma_cross_earliest_possible_signal() -> None:
    p = {"fast": 2, "slow": 4, "mode": "cross"}
    res = run(MATrend, [40, 30, 20, 10, 50, 50], **p)
    assert fills_list(res) == [(day(5), "buy", 2000.0, 49.5, "signal")]
    assert MATrend.warmup(resolve(MATrend, p)) == 5


# ----------------------------------------------------------------------------- MACD

MACD = {"fast": 2, "slow": 4, "signal": 2}
# A decline that accelerates (histogram negative and falling), a turn, a rally, a top, a fall.
V_PATH = [100, 99, 97, 94, 90, 85, 79, 72, 64, 60, 62, 68, 76, 84, 90, 94, 96, 95, 90, 82]
V_PATH += [72, 64, 60, 58, 60, 63]


def crosses(histo: pd.Series) -> tuple[list[int], list[int]]:
    prev, now = histo.shift(1), histo
    return list(histo.index[(prev < 0) & (now > 0)]), list(histo.index[(prev > 0) & (now < 0)])


def test_macd_golden_cross_in_death_cross_out() -> None:
    _, _, histo = ref_macd(V_PATH, **{"fast": 2, "slow": 4, "signal": 2})
    assert crosses(histo) == ([10, 23], [16])  # independent check of the path's crosses
    res = run(MACDMomentum, V_PATH, **MACD)
    assert fills_list(res) == [
        (day(11), "buy", 1612.0, 61.5, "signal"),  # 100000 // 62
        (day(17), "sell", 1612.0, 95.5, "signal"),
        (day(24), "buy", 2669.0, 57.5, "signal"),  # cash 862 + 1612 * 95.5 = 154808; // 58
    ]


def test_macd_early_entry_on_shrinking_negative_histogram() -> None:
    _, _, histo = ref_macd(V_PATH, 2, 4, 2)
    # histogram: falls to bar 8, rises at bar 9 (K=1 fires); falls to bar 20, rises at 21-22
    assert histo[8] < histo[9] < 0 and histo[20] < histo[21] < histo[22] < 0
    res = run(MACDMomentum, V_PATH, **MACD, early_bars=1)
    assert fills_list(res) == [
        (day(10), "buy", 1666.0, 59.5, "signal"),  # early: bar 9, a bar before the cross
        (day(17), "sell", 1666.0, 95.5, "signal"),
        (day(22), "buy", 2499.0, 63.5, "signal"),  # early: bar 21 (cash 159976 // 64)
    ]
    res = run(MACDMomentum, V_PATH, **MACD, early_bars=2)
    assert [f[0] for f in fills_list(res)] == [day(11), day(17), day(23)]  # bar 22: 2 rises


def test_macd_above_zero_filter() -> None:
    macd, _, _ = ref_macd(V_PATH, 2, 4, 2)
    assert macd[10] < 0 and macd[23] < 0  # both golden crosses happen below zero
    assert fills_list(run(MACDMomentum, V_PATH, **MACD, above_zero=True)) == []


def test_macd_earliest_possible_cross() -> None:
    closes = [100, 99, 97, 94, 90, 100, 100]
    _, _, histo = ref_macd(closes, 2, 4, 2)
    assert histo[4] < 0 < histo[5]  # first histogram value (bar 4) negative, bar 5 positive
    res = run(MACDMomentum, closes, **MACD)
    assert fills_list(res) == [(day(6), "buy", 1000.0, 99.5, "signal")]
    assert MACDMomentum.warmup(resolve(MACDMomentum, MACD)) == 6


# ----------------------------------------------------------------------------- RSI

# period 3: five down closes (RSI 0), then up moves: RSI 42.9 (bar 6), 65.2, 78.1
REBOUND = [50, 48, 46, 44, 42, 40, 43, 46, 49, 49]


def test_rsi_rebound_in_overbought_out() -> None:
    rsi = ref_rsi(REBOUND, 3)
    assert rsi[5] == 0.0 and 30 < rsi[6] < 50 and rsi[7] < 70 <= rsi[8]
    res = run(RSIRebound, REBOUND, period=3)
    assert fills_list(res) == [
        (day(7), "buy", 2325.0, 42.5, "signal"),  # 100000 // 43
        (day(9), "sell", 2325.0, 48.5, "signal"),
    ]


def test_rsi_no_cross_from_nan_and_earliest_cross() -> None:
    # first RSI (bar 3) is already 100: coming from "no value" is not a cross
    assert fills_list(run(RSIRebound, [10, 12, 14, 16, 17, 18], period=3)) == []
    res = run(RSIRebound, [50, 48, 46, 44, 47, 47], period=3)
    assert fills_list(res) == [(day(5), "buy", 2127.0, 46.5, "signal")]
    assert RSIRebound.warmup(resolve(RSIRebound, {"period": 3})) == 5


def test_rsi_exit_below_mid_after_strong_zone() -> None:
    closes = [50, 48, 46, 44, 42, 40, 43, 46, 45, 43, 43, 48, 53, 53]
    rsi = ref_rsi(closes, 3)
    assert rsi[7] > 50 and rsi[8] > 50 and rsi[9] < 50 and rsi[10] < 70 <= rsi[11]
    res = run(RSIRebound, closes, period=3, exit_below_mid=True)
    assert fills_list(res) == [
        (day(7), "buy", 2325.0, 42.5, "signal"),
        (day(10), "sell", 2325.0, 42.5, "signal"),  # bar 9: back below 50 after bar 7's 65
    ]
    # without the option the trade waits for 70 (bar 11)
    assert [f[0] for f in fills_list(run(RSIRebound, closes, period=3))] == [day(7), day(12)]


def test_rsi_mid_exit_needs_the_strong_zone_first() -> None:
    closes = [50, 48, 46, 44, 42, 40, 43, 43.2, 43, 43.2, 43]  # RSI 42.9 45.2 42.6 47.2 42.1
    rsi = ref_rsi(closes, 3)
    assert (rsi[6:] < 50).all() and (rsi[7:] > 30).all()
    res = run(RSIRebound, closes, period=3, exit_below_mid=True)
    assert fills_list(res) == [(day(7), "buy", 2325.0, 42.5, "signal")]  # held: never above 50


def test_rsi_stop_fills_at_stop_price() -> None:
    closes = [50, 48, 46, 44, 42, 40, 43, 44, 44, 44]
    prices = path(closes)
    prices.iloc[9, prices.columns.get_loc("low")] = 37.0  # bar 9 trades through 38.25
    res = run_backtest(RSIRebound, prices, {"period": 3, "stop_pct": 0.1}, costs=NO_COSTS)
    stop = 42.5 * 0.9  # entry fill 42.5; stop rests from bar 8 (sent on bar 7's close)
    assert fills_list(res) == [
        (day(7), "buy", 2325.0, 42.5, "signal"),
        (day(9), "sell", 2325.0, round(stop, 9), "stop"),
    ]
    assert list(res.fills["order_type"]) == ["market", "stop"]
    assert res.position.iloc[-1] == 0


def test_rsi_signal_exit_cancels_the_stop() -> None:
    closes = REBOUND + [30, 30, 30]  # after the signal exit the price falls through the stop
    res = run(RSIRebound, closes, period=3, stop_pct=0.05)
    assert fills_list(res) == [
        (day(7), "buy", 2325.0, 42.5, "signal"),
        (day(9), "sell", 2325.0, 48.5, "signal"),
    ]
    assert list(res.position)[-3:] == [0.0, 0.0, 0.0]  # no second sell, never short


def test_rsi_exit_on_entry_day_sends_no_stop() -> None:
    # bar 7 (the entry fill's session) closes at 60: RSI >= 70 at once -> sell at bar 8's open;
    # no stop has been sent yet, so the later fall to 20 cannot fill one
    closes = [50, 48, 46, 44, 42, 40, 43, 60, 60, 20, 20]
    res = run(RSIRebound, closes, period=3, stop_pct=0.05)
    assert fills_list(res) == [
        (day(7), "buy", 2325.0, 42.5, "signal"),
        (day(8), "sell", 2325.0, 59.5, "signal"),
    ]
    assert res.position.iloc[-1] == 0


@pytest.mark.parametrize("low, expected", [(40.0, ("stop", 42.5 * 0.95)), (41.0, ("signal", 43.5))])
def test_rsi_stop_not_yet_accepted_joins_exit_in_oco(low: float, expected: tuple) -> None:
    """Defensive path: a stop still waiting for the broker is linked to the exit by OCO."""

    class SameBar(RSIRebound):
        def next(self) -> None:
            if self.position.size > 0 and self.pending is None and self.stop_order is None:
                price = self.position.price * (1 - self.p.stop_pct)
                stop = self.sell(exectype=bt.Order.Stop, price=price, size=self.position.size)
                self.stop_order = self.tagged(stop, "stop")
                self.pending = self.exit_order()  # same bar: the stop is not accepted yet
                return
            super().next()

    prices = path([50, 48, 46, 44, 42, 40, 43, 44, 44, 44])
    prices.iloc[8, prices.columns.get_loc("low")] = low
    res = run_backtest(SameBar, prices, {"period": 3, "stop_pct": 0.05}, costs=NO_COSTS)
    sells = res.fills[res.fills["side"] == "sell"]
    assert len(sells) == 1 and res.position.iloc[-1] == 0
    assert sells["reason"].iloc[0] == expected[0]
    assert sells["price"].iloc[0] == pytest.approx(expected[1])


# ----------------------------------------------------------------------------- Confluence

CONF = {"sma_period": 3, "macd_fast": 2, "macd_slow": 4, "macd_signal": 2, "rsi_period": 3}
CONF_PATH = V_PATH[:17] + [94.5, 90, 82, 72, 64]


def confluence_checks(closes) -> pd.DataFrame:
    macd, sig, _ = ref_macd(closes, 2, 4, 2)
    c = pd.Series(closes, dtype=float)
    return pd.DataFrame(
        {
            "trend": c > ref_sma(closes, 3),
            "momentum": macd > sig,
            "strength": ref_rsi(closes, 3) > 50,
        }
    )


def test_confluence_enters_when_all_three_hold() -> None:
    checks = confluence_checks(CONF_PATH)
    fails = (~checks).sum(axis=1)
    assert fails[:11].min() >= 1 and fails[11] == 0  # bar 11: first bar with all three
    assert list(fails[15:20]) == [0, 1, 2, 3, 3]  # bar 16: MACD fails, 17: +trend, 18: +RSI
    expected_exit = {1: (day(17), 95.5), 2: (day(18), 94.0), 3: (day(19), 89.5)}
    for fail_count, (when, price) in expected_exit.items():
        res = run(Confluence, CONF_PATH, **CONF, fail_count=fail_count)
        assert fills_list(res) == [
            (day(12), "buy", 1470.0, 67.5, "signal"),  # 100000 // 68
            (when, "sell", 1470.0, price, "signal"),
        ], fail_count


def test_confluence_earliest_signal_is_the_first_full_bar() -> None:
    closes = [90, 91, 93, 96, 100, 100]  # accelerating rise: all three hold on bar 4
    checks = confluence_checks(closes)
    assert checks.iloc[4].all() and not checks.iloc[5]["momentum"]
    # the signal line is the last indicator to fill: bar slow + signal - 1 = 5, counting from 1
    assert Confluence.warmup(resolve(Confluence, CONF)) == 5
    assert fills_list(run(Confluence, closes, **CONF)) == [(day(5), "buy", 1000.0, 99.5, "signal")]


# ----------------------------------------------------------------------------- warm-up, params


@pytest.mark.parametrize(
    "cls, params, expected",
    [
        (MATrend, {}, 63),
        (MATrend, {"mode": "cross"}, 61),
        (MATrend, {"hold_bars": 5}, 65),
        (MACDMomentum, {}, 35),
        (MACDMomentum, {"early_bars": 4}, 35),
        (RSIRebound, {}, 16),
        (Confluence, {}, 60),
        (Confluence, {"sma_period": 20}, 34),
        (
            Confluence,
            {"sma_period": 10, "macd_fast": 2, "macd_slow": 5, "macd_signal": 3, "rsi_period": 20},
            21,
        ),
    ],
)
def test_warmup(cls, params, expected) -> None:
    assert cls.warmup(resolve(cls, params)) == expected


@pytest.mark.parametrize("cls", SIGNAL_STRATEGIES)
def test_too_short_history_is_refused(cls) -> None:
    p = resolve(cls, {})
    prices = path(random_walk(cls.warmup(p)))
    with pytest.raises(DataError, match="needs at least"):
        run_backtest(cls, prices, {}, costs=NO_COSTS)


@pytest.mark.parametrize("cls", SIGNAL_STRATEGIES)
def test_no_fill_before_warmup(cls) -> None:
    p = resolve(cls, {})
    for seed in range(5):
        res = run_backtest(cls, path(random_walk(200, seed)), {}, costs=NO_COSTS)
        if len(res.fills):
            first = res.equity.index.get_loc(res.fills["date"].iloc[0])
            assert first >= cls.warmup(p)


@pytest.mark.parametrize(
    "cls, params, message",
    [
        (MATrend, {"fast": 60}, "fast=60 must be shorter than slow=60"),
        (MATrend, {"slow": 0}, "slow=0 must be a positive"),
        (MATrend, {"hold_bars": 0}, "hold_bars=0 must be a positive"),
        (MATrend, {"mode": "golden"}, "mode='golden' is unknown; choose one of reclaim, cross"),
        (MATrend, {"exit_on": "sma20"}, "exit_on='sma20' is unknown; choose one of slow, fast"),
        (MACDMomentum, {"fast": 30}, "fast=30 must be shorter than slow=26"),
        (MACDMomentum, {"signal": 0}, "signal=0 must be a positive"),
        (MACDMomentum, {"early_bars": -1}, "early_bars=-1 cannot be negative"),
        (RSIRebound, {"period": 0}, "period=0 must be a positive"),
        (RSIRebound, {"oversold": 70}, "oversold=70 and overbought=70 must satisfy"),
        (RSIRebound, {"overbought": 120}, "0 < oversold < overbought < 100"),
        (RSIRebound, {"mid": 80}, "mid=80 must lie between oversold=30 and overbought=70"),
        (RSIRebound, {"stop_pct": 1.0}, "stop_pct=1 must be a fraction in [0, 1)"),
        (RSIRebound, {"stop_pct": -0.1}, "stop_pct=-0.1 must be a fraction"),
        (Confluence, {"macd_fast": 26}, "macd_fast=26 must be shorter than macd_slow=26"),
        (Confluence, {"rsi_period": -3}, "rsi_period=-3 must be a positive"),
        (Confluence, {"rsi_mid": 100}, "rsi_mid=100 must lie strictly between 0 and 100"),
        (Confluence, {"fail_count": 0}, "fail_count=0 must be 1, 2 or 3"),
        (Confluence, {"fail_count": 4}, "fail_count=4 must be 1, 2 or 3"),
    ],
)
def test_check_params_refuses(cls, params, message) -> None:
    with pytest.raises(ParamError, match=re.escape(message)):
        resolve(cls, params)


@pytest.mark.parametrize("cls", SIGNAL_STRATEGIES)
def test_defaults_pass_check_params(cls) -> None:
    assert cls.check_params(declared(cls)) == []


# ----------------------------------------------------------------------------- documentation


@pytest.mark.parametrize("alias", sorted(STRATEGIES))
def test_every_param_is_documented(alias: str) -> None:
    cls = STRATEGIES[alias]
    doc = cls.__doc__ or ""
    comments = describe(cls)
    assert cls.alias == alias and cls.summary
    for section in ("Entry", "Exit", "Orders", "Parameters"):
        assert re.search(rf"^\s*{section}\s*$", doc, re.M), f"{alias}: no {section} section"
    for name in declared(cls):
        assert re.search(rf"\b{re.escape(name)}\b", doc), f"{alias}: {name} not in the docstring"
        assert comments.get(name), f"{alias}: {name} has no comment in params"


# ----------------------------------------------------------------------------- real history


@pytest.mark.parametrize("cls", SIGNAL_STRATEGIES)
def test_real_crwv_runs_and_alternates(cls, crwv) -> None:
    res = run_backtest(cls, crwv, {})
    assert len(res.fills) > 0
    sides = list(res.fills["side"])
    assert sides[::2] == ["buy"] * len(sides[::2]) and sides[1::2] == ["sell"] * len(sides[1::2])
    assert (res.position >= 0).all()
    first = res.equity.index.get_loc(res.fills["date"].iloc[0])
    assert first >= cls.warmup(resolve(cls, {}))
