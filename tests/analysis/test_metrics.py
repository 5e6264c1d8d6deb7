"""Tests for engine.analysis.metrics: hand-computed fixtures, edge cases, JSON, and a cross-check
against empyrical-reloaded (a well-known implementation of the same formulas)."""

from __future__ import annotations

import ast
import json
import math
import statistics
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis import metrics as M
from engine.analysis import returns as R
from engine.analysis.metric_notes import metric_notes
from engine.analysis.metrics import METRIC_KEYS, compute_metrics
from engine.files import plain_json
from engine.result import TRADE_COLUMNS

SQRT252 = math.sqrt(252)


# --------------------------------------------------------------------------- helpers
def curve(values: list[float], start: str = "2024-01-01") -> pd.Series:
    """Equity curve on consecutive business days (2024-01-01 is a Monday)."""
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)), dtype=float)


def make_trades(rows: list[dict]) -> pd.DataFrame:
    """Trades frame with every TRADE_COLUMNS column; unspecified fields get neutral defaults."""
    defaults = {
        "entry_date": pd.Timestamp("2024-01-01"),
        "exit_date": pd.Timestamp("2024-01-02"),
        "entry_price": 100.0,
        "exit_price": 100.0,
        "size": 10.0,
        "pnl": 0.0,
        "return": 0.0,
        "bars_held": 1,
        "exit_reason": "signal",
        "mae": 0.0,
        "mfe": 0.0,
        "commission": 0.0,
        "is_open": False,
    }
    return pd.DataFrame([{**defaults, **r} for r in rows], columns=TRADE_COLUMNS)


NO_TRADES = make_trades([])


def test_helpers() -> None:
    eq = curve([1, 2, 3])
    assert list(eq.index.strftime("%a")) == ["Mon", "Tue", "Wed"]
    assert eq.dtype == float
    t = make_trades([{"pnl": 5.0}])
    assert list(t.columns) == TRADE_COLUMNS
    assert t.loc[0, "pnl"] == 5.0 and not t.loc[0, "is_open"]
    assert len(NO_TRADES) == 0 and list(NO_TRADES.columns) == TRADE_COLUMNS


# --------------------------------------------------------------------------- hand-computed
# Equity 100 -> 110 -> 99 -> 108.9 -> 119.79 (Mon 2024-01-01 .. Fri 2024-01-05)
# daily returns r = +0.1, -0.1, +0.1, +0.1                     (n = 4)
# mean(r) = 0.2 / 4 = 0.05
# deviations 0.05, -0.15, 0.05, 0.05 -> squares 0.0025, 0.0225, 0.0025, 0.0025 = 0.03
# var(ddof=1) = 0.03 / 3 = 0.01 -> std = 0.1
# volatility = 0.1 * sqrt(252);  sharpe = 0.05 / 0.1 * sqrt(252) = 0.5 * sqrt(252)
# downside: min(r, 0)^2 = 0, 0.01, 0, 0 -> mean 0.0025 -> DD = 0.05 -> sortino = sqrt(252)
# total = 1.1 * 0.9 * 1.1 * 1.1 - 1 = 1.1979 - 1 = 0.1979;  cagr = 1.1979^(252/4) - 1
# drawdown: peak 110 (Tue 01-02), trough 99 (-0.1), 108.9 still under (-0.01),
#           back above 110 on Fri 01-05 -> one episode, 3 calendar days, depth -0.1
# calmar = cagr / 0.1
HAND = curve([100.0, 110.0, 99.0, 108.9, 119.79])


def test_hand_computed_returns_and_risk() -> None:
    m = compute_metrics(HAND, NO_TRADES)
    assert m["start"] == "2024-01-01" and m["end"] == "2024-01-05"
    assert m["bars"] == 5
    assert m["final_equity"] == pytest.approx(119.79, rel=1e-12)
    assert m["total_return"] == pytest.approx(0.1979, rel=1e-12)
    assert m["cagr"] == pytest.approx(1.1979 ** (252 / 4) - 1, rel=1e-12)
    assert m["volatility"] == pytest.approx(0.1 * SQRT252, rel=1e-12)
    assert m["best_day"] == pytest.approx(0.1, rel=1e-12)
    assert m["worst_day"] == pytest.approx(-0.1, rel=1e-12)
    assert m["sharpe"] == pytest.approx(0.5 * SQRT252, rel=1e-12)
    assert m["sortino"] == pytest.approx(SQRT252, rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(-0.1, rel=1e-12)
    assert m["max_drawdown_duration"] == 3
    assert m["avg_drawdown"] == pytest.approx(-0.1, rel=1e-12)
    assert m["calmar"] == pytest.approx((1.1979 ** (252 / 4) - 1) / 0.1, rel=1e-12)


def test_hand_computed_buy_hold_and_exposure() -> None:
    # buy and hold 100 -> 115: 0.15;  excess = 0.1979 - 0.15 = 0.0479
    bh = curve([100.0, 105.0, 102.0, 108.0, 115.0])
    # position non-zero on 3 of 5 closes -> exposure 0.6
    pos = pd.Series([0, 10, 10, 0, 5], index=HAND.index, dtype=float)
    m = compute_metrics(HAND, NO_TRADES, buy_hold=bh, position=pos)
    assert m["buy_hold_return"] == pytest.approx(0.15, rel=1e-12)
    assert m["excess_return"] == pytest.approx(0.0479, rel=1e-9)
    assert m["exposure"] == pytest.approx(0.6)
    assert not any("buy-and-hold" in n for n in metric_notes(m))


def test_hand_computed_sharpe_with_risk_free() -> None:
    # annual rf 5% -> daily rf_d = 1.05^(1/252) - 1; excess mean = 0.05 - rf_d, std unchanged 0.1
    rf_d = 1.05 ** (1 / 252) - 1
    m = compute_metrics(HAND, NO_TRADES, risk_free=0.05)
    assert m["sharpe"] == pytest.approx((0.05 - rf_d) / 0.1 * SQRT252, rel=1e-12)
    # downside: r - rf_d = 0.1-rf_d (x3), -0.1-rf_d -> DD = sqrt((0.1 + rf_d)^2 / 4)
    dd = math.sqrt((0.1 + rf_d) ** 2 / 4)
    assert m["sortino"] == pytest.approx((0.05 - rf_d) / dd * SQRT252, rel=1e-12)


def test_hand_computed_drawdown_episodes() -> None:
    # Thu 01-04 100, Fri 01-05 90, Mon 01-08 100, Tue 01-09 80, Wed 01-10 90
    # episode 1: peak Thu 01-04, depth 90/100-1 = -0.1, recovered Mon 01-08 -> 4 calendar days
    # episode 2: peak Mon 01-08, depth 80/100-1 = -0.2, not recovered, to Wed 01-10 -> 2 days
    eq = curve([100.0, 90.0, 100.0, 80.0, 90.0], start="2024-01-04")
    ep = R.drawdown_episodes(eq)
    assert list(ep["days"]) == [4, 2]
    assert list(ep["recovered"]) == [True, False]
    assert ep["depth"].tolist() == pytest.approx([-0.1, -0.2])
    assert list(ep["trough"].dt.strftime("%m-%d")) == ["01-05", "01-09"]
    m = compute_metrics(eq, NO_TRADES)
    assert m["max_drawdown"] == pytest.approx(-0.2)
    assert m["max_drawdown_duration"] == 4  # the longest episode, not the deepest
    assert m["avg_drawdown"] == pytest.approx(-0.15)  # (-0.1 + -0.2) / 2
    assert not any("not recovered" in n for n in metric_notes(m))


def test_unrecovered_drawdown_runs_to_end() -> None:
    # peak 120 on Tue 01-02, never regained: duration = Fri 01-05 - Tue 01-02 = 3 days
    m = compute_metrics(curve([100.0, 120.0, 90.0, 100.0, 110.0]), NO_TRADES)
    assert m["max_drawdown"] == pytest.approx(-0.25)  # 90/120 - 1
    assert m["max_drawdown_duration"] == 3
    assert any("not recovered" in n for n in metric_notes(m))


def test_hand_computed_alpha_beta() -> None:
    # benchmark returns x = 0.01, -0.01, 0.02, 0.0; strategy y = 2x + 0.001 exactly
    # -> beta = 2, daily alpha 0.001, alpha = 1.001^252 - 1
    x = np.array([0.01, -0.01, 0.02, 0.0])
    bench = curve(list(100 * np.cumprod(np.r_[1.0, 1 + x])))
    eq = curve(list(1000 * np.cumprod(np.r_[1.0, 1 + 2 * x + 0.001])))
    m = compute_metrics(eq, NO_TRADES, benchmark=bench)
    assert m["beta"] == pytest.approx(2.0, rel=1e-9)
    assert m["alpha"] == pytest.approx(1.001**252 - 1, rel=1e-9)


def test_alpha_beta_aligns_on_common_dates() -> None:
    # the benchmark misses Wed: both series are compared on Mon, Tue, Thu, Fri
    # equity = 2 x benchmark on those dates -> identical returns -> beta 1, alpha 0
    bench = curve([100.0, 101.0, 999.0, 99.0, 102.0]).drop(pd.Timestamp("2024-01-03"))
    eq = curve([200.0, 202.0, 1.0, 198.0, 204.0])
    alpha, beta = M.alpha_beta(eq, bench)
    assert beta == pytest.approx(1.0, rel=1e-12)
    assert alpha == pytest.approx(0.0, abs=1e-12)


# Trades (rows given out of order; by exit date they go W L W W L), plus one open trade:
#   T1 pnl 100 ret  0.10 bars 3 | T2 pnl -50 ret -0.05 bars 2 | T3 pnl 60 ret 0.06 bars 4
#   T4 pnl  40 ret  0.04 bars 1 | T5 pnl -30 ret -0.03 bars 5 | open pnl 25, commission 1
# closed: n = 5, win_rate 3/5 = 0.6
# avg_trade_return = (0.10 - 0.05 + 0.06 + 0.04 - 0.03) / 5 = 0.12 / 5 = 0.024
# avg_win = 0.20 / 3;  avg_loss = -0.08 / 2 = -0.04;  win_loss_ratio = (0.2/3) / 0.04 = 5/3
# profit_factor = (100 + 60 + 40) / (50 + 30) = 200 / 80 = 2.5;  expectancy = 120 / 5 = 24
# sqn: deviations from 0.024 = .076 -.074 .036 .016 -.054, squares sum = 0.01572,
#      var = 0.01572 / 4 = 0.00393 -> sqn = sqrt(5) * 0.024 / sqrt(0.00393)
# streaks W L W W L -> wins 2, losses 1;  avg_bars_held = 15 / 5 = 3
# commission_paid = 5 x 2 + 1 (open trade included) = 11
def _d(day: int) -> pd.Timestamp:
    return pd.Timestamp(2024, 1, day)


HAND_TRADES = make_trades(
    [
        {"exit_date": _d(12), "pnl": 40.0, "return": 0.04, "bars_held": 1, "commission": 2.0},
        {"exit_date": _d(3), "pnl": 100.0, "return": 0.10, "bars_held": 3, "commission": 2.0},
        {"exit_date": _d(15), "pnl": -30.0, "return": -0.03, "bars_held": 5, "commission": 2.0},
        {"exit_date": _d(5), "pnl": -50.0, "return": -0.05, "bars_held": 2, "commission": 2.0},
        {"exit_date": _d(9), "pnl": 60.0, "return": 0.06, "bars_held": 4, "commission": 2.0},
        {"exit_date": _d(16), "pnl": 25.0, "return": 0.025, "commission": 1.0, "is_open": True},
    ]
)


def test_hand_computed_trades() -> None:
    t = M.trade_metrics(HAND_TRADES)
    assert t["n_trades"] == 5 and t["n_open"] == 1
    assert t["win_rate"] == pytest.approx(0.6)
    assert t["avg_trade_return"] == pytest.approx(0.024, rel=1e-12)
    assert t["avg_win"] == pytest.approx(0.2 / 3, rel=1e-12)
    assert t["avg_loss"] == pytest.approx(-0.04, rel=1e-12)
    assert t["win_loss_ratio"] == pytest.approx(5 / 3, rel=1e-12)
    assert t["best_trade"] == pytest.approx(0.10) and t["worst_trade"] == pytest.approx(-0.05)
    assert t["profit_factor"] == pytest.approx(2.5, rel=1e-12)
    assert t["expectancy"] == pytest.approx(24.0, rel=1e-12)
    assert t["sqn"] == pytest.approx(math.sqrt(5) * 0.024 / math.sqrt(0.00393), rel=1e-12)
    assert t["max_consecutive_wins"] == 2 and t["max_consecutive_losses"] == 1
    assert t["avg_bars_held"] == pytest.approx(3.0)
    assert t["commission_paid"] == pytest.approx(11.0)
    notes = metric_notes(compute_metrics(HAND, HAND_TRADES))
    assert any("1 position(s) open at the end" in n for n in notes)


def test_hand_sqn_matches_statistics_module() -> None:
    # the same sqn through exact fractions and the stdlib (independent of numpy)
    rets = [Fraction(x) for x in ("0.10", "-0.05", "0.06", "0.04", "-0.03")]
    assert statistics.variance(rets) == Fraction("0.00393")
    expected = math.sqrt(5) * float(statistics.mean(rets)) / math.sqrt(0.00393)
    assert M.sqn(np.array([float(r) for r in rets])) == pytest.approx(expected, rel=1e-12)


def test_exposure_from_trades() -> None:
    # Mon..Fri. Closed trade Mon -> Wed holds the Mon and Tue closes (flat by Wed's close);
    # open trade Thu -> Fri (last bar) holds Thu and Fri: 4 of 5 bars
    trades = make_trades(
        [
            {"entry_date": _d(1), "exit_date": _d(3), "pnl": 5.0},
            {"entry_date": _d(4), "exit_date": _d(5), "is_open": True},
        ]
    )
    held = M.exposure_from_trades(HAND.index, trades)
    assert held.tolist() == [True, True, False, True, True]
    m = compute_metrics(HAND, trades)
    assert m["exposure"] == pytest.approx(0.8)
    assert any("exposure derived from trade dates" in n for n in metric_notes(m))
    # a same-session round trip holds no close
    same = make_trades([{"entry_date": _d(2), "exit_date": _d(2), "bars_held": 0}])
    assert not M.exposure_from_trades(HAND.index, same).any()


# --------------------------------------------------------------------------- keys and JSON
def test_keys_present_in_order() -> None:
    m = compute_metrics(HAND, HAND_TRADES)
    assert list(m.index) == METRIC_KEYS
    assert len(METRIC_KEYS) == len(set(METRIC_KEYS)) == 42
    assert METRIC_KEYS[:4] == ["start", "end", "bars", "exposure"]
    assert METRIC_KEYS[-1] == "win_rate_short"
    assert sum(len(v) for v in M.METRIC_GROUPS.values()) == 42


def test_integer_keys_are_ints() -> None:
    m = compute_metrics(HAND, HAND_TRADES)
    for key in ("bars", "n_trades", "n_open", "max_consecutive_wins", "max_consecutive_losses"):
        assert type(m[key]) is int, key
    assert type(m["max_drawdown_duration"]) is int


def test_metrics_as_plain_json() -> None:
    m = compute_metrics(HAND, make_trades([{"pnl": 10.0, "return": 0.1}]))
    m["sortino"] = -math.inf  # exercise the "-inf" branch
    m["beta"] = np.float32(1.5)
    m["bars"] = np.int64(5)
    d = plain_json(m)
    assert list(d) == METRIC_KEYS
    assert d["profit_factor"] == "inf" and d["sortino"] == "-inf"
    assert d["sqn"] is None and d["alpha"] is None
    assert type(d["beta"]) is float and d["beta"] == 1.5
    assert type(d["bars"]) is int and d["bars"] == 5
    assert d["start"] == "2024-01-01"
    text = json.dumps(d, allow_nan=False)  # strict JSON: no NaN / Infinity literals
    assert json.loads(text) == d


def test_notes_from_json_round_trip() -> None:
    # a Series rebuilt from metrics.json (None, "inf", no attrs) still gives its notes
    m = compute_metrics(HAND, make_trades([{"pnl": 10.0, "return": 0.1}]))
    rebuilt = pd.Series(plain_json(m))
    notes = metric_notes(rebuilt)
    assert any("no losing trade" in n for n in notes)
    assert any("one closed trade" in n for n in notes)


# --------------------------------------------------------------------------- edge cases
def test_no_trades() -> None:
    m = compute_metrics(HAND, NO_TRADES)
    assert m["n_trades"] == 0 and m["n_open"] == 0
    for key in ("win_rate", "avg_trade_return", "avg_win", "avg_loss", "win_loss_ratio"):
        assert math.isnan(m[key]), key
    for key in ("best_trade", "worst_trade", "profit_factor", "expectancy", "sqn"):
        assert math.isnan(m[key]), key
    assert math.isnan(m["avg_bars_held"])
    assert m["max_consecutive_wins"] == 0 and m["commission_paid"] == 0.0
    assert m["exposure"] == 0.0
    assert any("no closed trades" in n for n in metric_notes(m))


def test_no_trades_frame_without_columns() -> None:
    m = compute_metrics(HAND, pd.DataFrame())
    assert m["n_trades"] == 0 and math.isnan(m["win_rate"])


def test_only_an_open_trade() -> None:
    t = make_trades([{"pnl": 7.0, "return": 0.07, "commission": 1.5, "is_open": True}])
    m = compute_metrics(HAND, t)
    assert m["n_trades"] == 0 and m["n_open"] == 1
    assert math.isnan(m["win_rate"]) and m["commission_paid"] == 1.5
    notes = metric_notes(m)
    assert any("no closed trades" in n for n in notes)
    assert any("open at the end" in n for n in notes)


def test_one_trade_sqn_nan() -> None:
    m = compute_metrics(HAND, make_trades([{"pnl": -10.0, "return": -0.1}]))
    assert m["n_trades"] == 1 and math.isnan(m["sqn"])
    assert m["win_rate"] == 0.0 and m["profit_factor"] == 0.0
    assert math.isnan(m["avg_win"]) and math.isnan(m["win_loss_ratio"])
    notes = metric_notes(m)
    assert any("one closed trade: sqn is NaN" in n for n in notes)
    assert any("no winning trade" in n for n in notes)


def test_equal_trade_returns_sqn_nan() -> None:
    t = make_trades([{"pnl": 10.0, "return": 0.1}, {"pnl": 10.0, "return": 0.1}])
    m = compute_metrics(HAND, t)
    assert math.isnan(m["sqn"])
    assert any("returned the same" in n for n in metric_notes(m))


def test_no_losing_trade_profit_factor_inf() -> None:
    t = make_trades([{"pnl": 10.0, "return": 0.1}, {"pnl": 5.0, "return": 0.05}])
    m = compute_metrics(HAND, t)
    assert m["profit_factor"] == math.inf
    assert math.isnan(m["avg_loss"]) and math.isnan(m["win_loss_ratio"])
    assert any("no losing trade" in n for n in metric_notes(m))


def test_break_even_trades() -> None:
    # a break-even trade is neither win nor loss: counts in win_rate's denominator, ends streaks
    t = make_trades(
        [
            {"exit_date": _d(2), "pnl": 10.0, "return": 0.1},
            {"exit_date": _d(3), "pnl": 0.0, "return": 0.0},
            {"exit_date": _d(4), "pnl": 10.0, "return": 0.1},
        ]
    )
    m = compute_metrics(HAND, t)
    assert m["win_rate"] == pytest.approx(2 / 3) and m["max_consecutive_wins"] == 1
    flat = compute_metrics(HAND, make_trades([{"pnl": 0.0}]))
    assert math.isnan(flat["profit_factor"])
    assert any("broke even" in n for n in metric_notes(flat))


def test_zero_volatility() -> None:
    m = compute_metrics(curve([100.0] * 5), NO_TRADES)
    assert m["volatility"] == 0.0
    assert math.isnan(m["sharpe"]) and math.isnan(m["sortino"])
    assert m["max_drawdown"] == 0.0 and m["max_drawdown_duration"] == 0
    assert math.isnan(m["calmar"])
    notes = metric_notes(m)
    assert any("volatility 0" in n for n in notes)
    assert any("never fell" in n for n in notes)


def test_constant_growth_is_zero_spread() -> None:
    # 1% a day compounded: pct_change leaves float residue, still zero volatility
    m = compute_metrics(curve([100 * 1.01**k for k in range(5)]), NO_TRADES)
    assert m["volatility"] == 0.0 and math.isnan(m["sharpe"])
    assert m["cagr"] == pytest.approx(1.01**252 - 1, rel=1e-9)
    assert any("sortino is NaN" in n for n in metric_notes(m))


def test_short_run_cagr_extrapolates() -> None:
    m = compute_metrics(HAND, NO_TRADES)
    assert not math.isnan(m["cagr"])
    assert any("4 daily returns (< 252)" in n for n in metric_notes(m))
    long_eq = curve(list(100 + np.arange(300, dtype=float)))
    assert not any("extrapolate" in n for n in metric_notes(compute_metrics(long_eq, NO_TRADES)))


def test_single_bar() -> None:
    m = compute_metrics(curve([100.0]), NO_TRADES)
    assert m["bars"] == 1 and m["start"] == m["end"] == "2024-01-01"
    assert m["total_return"] == 0.0 and m["final_equity"] == 100.0
    for key in ("cagr", "volatility", "best_day", "sharpe", "sortino", "calmar", "alpha"):
        assert math.isnan(m[key]), key
    assert m["max_drawdown"] == 0.0
    assert any("single bar" in n for n in metric_notes(m))


def test_two_bars() -> None:
    m = compute_metrics(curve([100.0, 101.0]), NO_TRADES)
    assert m["cagr"] == pytest.approx(1.01**252 - 1)
    assert math.isnan(m["volatility"]) and math.isnan(m["sharpe"])
    assert any("one daily return" in n for n in metric_notes(m))


def test_empty_equity() -> None:
    m = compute_metrics(pd.Series([], dtype=float, index=pd.DatetimeIndex([])), NO_TRADES)
    assert list(m.index) == METRIC_KEYS and m["bars"] == 0
    assert math.isnan(m["total_return"]) and math.isnan(m["max_drawdown"])
    assert metric_notes(m)[0].startswith("empty equity curve")
    json.dumps(plain_json(m), allow_nan=False)


def test_nan_equity_rows_dropped() -> None:
    eq = HAND.copy()
    eq.iloc[2] = np.nan
    m = compute_metrics(eq, NO_TRADES)
    assert m["bars"] == 4 and m["total_return"] == pytest.approx(0.1979)


def test_missing_benchmark_and_buy_hold() -> None:
    m = compute_metrics(HAND, NO_TRADES)
    assert math.isnan(m["alpha"]) and math.isnan(m["beta"])
    assert math.isnan(m["buy_hold_return"]) and math.isnan(m["excess_return"])
    notes = metric_notes(m)
    assert "no benchmark: alpha and beta are NaN" in notes
    assert any("no buy-and-hold curve" in n for n in notes)


def test_benchmark_without_overlap() -> None:
    bench = curve([100.0, 101.0, 102.0], start="2020-01-01")
    m = compute_metrics(HAND, NO_TRADES, benchmark=bench)
    assert math.isnan(m["alpha"]) and math.isnan(m["beta"])
    assert any("common daily returns" in n for n in metric_notes(m))
    flat = curve([50.0] * 5)  # benchmark never moved: beta undefined
    assert math.isnan(compute_metrics(HAND, NO_TRADES, benchmark=flat)["beta"])


def test_bad_periods_per_year() -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        compute_metrics(HAND, NO_TRADES, periods_per_year=0)


def test_small_helpers() -> None:
    assert M.max_streak(np.array([True, True, False, True])) == 2
    assert M.max_streak(np.array([], dtype=bool)) == 0
    assert M.profit_factor(np.array([3.0, -1.0, -2.0])) == 1.0
    assert M.calmar_ratio(0.2, -0.1) == pytest.approx(2.0)
    assert R.daily_risk_free(0.0) == 0.0
    assert (1 + R.daily_risk_free(0.05)) ** 252 == pytest.approx(1.05, rel=1e-12)
    assert M.cagr(curve([100.0, 0.0])) == -1.0


def test_module_is_pure() -> None:
    # only numpy, pandas, the standard library and the analysis stage: never backtrader or
    # matplotlib (tests/test_architecture.py checks the whole stage)
    tree = ast.parse(Path(M.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    outside = {m for m in imported if m.split(".")[0] == "engine"}
    assert all(m.startswith("engine.analysis.") for m in outside)
    roots = {m.split(".")[0] for m in imported - outside}
    assert roots <= {"__future__", "math", "statistics", "typing", "numpy", "pandas"}


# --------------------------------------------------------------------------- cross-check
def _random_equity(seed: int, n: int = 600) -> pd.Series:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0008, 0.03, n)
    eq = 10_000 * np.cumprod(np.r_[1.0, 1 + r])
    return pd.Series(eq, index=pd.bdate_range("2023-01-02", periods=n + 1))


@pytest.mark.parametrize("seed", [1, 7, 42])
@pytest.mark.parametrize("risk_free", [0.0, 0.04])
def test_agrees_with_empyrical(seed: int, risk_free: float) -> None:
    """volatility, sharpe, sortino, max_drawdown, cagr, calmar, alpha and beta agree with
    empyrical-reloaded (same definitions) on a seeded random curve.

    empyrical takes the *per-period* risk-free rate, so it gets our ``rf_d =
    (1 + rf)^(1/252) - 1``. Its ``cagr`` (``annual_return``) uses ``len(returns) / 252`` years,
    as ours; quantstats' ``cagr`` would differ (calendar days / 365).
    """
    ep = pytest.importorskip("empyrical")
    eq = _random_equity(seed)
    rng = np.random.default_rng(seed + 1000)
    bench = pd.Series(400 * np.cumprod(1 + rng.normal(0.0004, 0.01, len(eq))), index=eq.index)
    # make the strategy partly follow the benchmark so beta is far from 0
    r = eq.pct_change().iloc[1:] * 0.5 + bench.pct_change().iloc[1:] * 1.2
    eq = pd.Series(10_000 * np.cumprod(np.r_[1.0, 1 + r.to_numpy()]), index=eq.index)
    r = eq.pct_change().iloc[1:]
    br = bench.pct_change().iloc[1:]
    rf_d = (1 + risk_free) ** (1 / 252) - 1
    m = compute_metrics(eq, NO_TRADES, benchmark=bench, risk_free=risk_free)
    tol = {"rel": 1e-10}
    assert m["volatility"] == pytest.approx(ep.annual_volatility(r), **tol)
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(r, risk_free=rf_d), **tol)
    assert m["sortino"] == pytest.approx(ep.sortino_ratio(r, required_return=rf_d), **tol)
    assert m["max_drawdown"] == pytest.approx(ep.max_drawdown(r), **tol)
    assert m["cagr"] == pytest.approx(ep.cagr(r), **tol)
    assert m["calmar"] == pytest.approx(ep.calmar_ratio(r), **tol)
    alpha, beta = ep.alpha_beta(r, br, risk_free=rf_d)
    assert m["beta"] == pytest.approx(beta, **tol)
    assert m["alpha"] == pytest.approx(alpha, **tol)


def test_sortino_without_downside_differs_from_empyrical() -> None:
    """Documented difference: with no day below the risk-free rate empyrical's Sortino is
    ``inf``; ours is NaN with a note (an undefined ratio, not an infinitely good one)."""
    ep = pytest.importorskip("empyrical")
    eq = curve([100.0, 101.0, 103.0, 103.5, 105.0])
    r = eq.pct_change().iloc[1:]
    assert ep.sortino_ratio(r) == math.inf
    m = compute_metrics(eq, NO_TRADES)
    assert math.isnan(m["sortino"])
    assert any("downside deviation 0" in n for n in metric_notes(m))


def test_independent_reference_formulas() -> None:
    """The same checks without any library: each formula re-implemented from its textbook
    definition (pure Python, statistics module) on a seeded random curve."""
    eq = _random_equity(3, n=300)
    r = [b / a - 1 for a, b in zip(eq.tolist()[:-1], eq.tolist()[1:], strict=True)]
    mean, sd = statistics.fmean(r), statistics.stdev(r)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    peak, mdd = -math.inf, 0.0
    for v in eq.tolist():
        peak = max(peak, v)
        mdd = min(mdd, v / peak - 1)
    m = compute_metrics(eq, NO_TRADES)
    assert m["sharpe"] == pytest.approx(mean / sd * SQRT252, rel=1e-10)
    assert m["sortino"] == pytest.approx(mean / downside * SQRT252, rel=1e-10)
    assert m["max_drawdown"] == pytest.approx(mdd, rel=1e-12)
    assert m["cagr"] == pytest.approx((eq.iloc[-1] / eq.iloc[0]) ** (252 / 300) - 1, rel=1e-10)


def test_side_metrics_by_hand() -> None:
    """Two long trades (one won), three short (two won, one open); positions on 5 of 8 bars."""
    eq = curve([100, 101, 102, 103, 104, 105, 106, 107])
    pos = pd.Series([0, 5, 5, -3, -3, 0, -2, 0], index=eq.index, dtype=float)
    trades = make_trades(
        [
            {"pnl": 4.0, "side": "long"},
            {"pnl": -1.0, "side": "long"},
            {"pnl": 2.0, "side": "short"},
            {"pnl": 0.5, "side": "short"},
            {"pnl": -3.0, "side": "short", "is_open": True},
        ]
    )
    m = compute_metrics(eq, trades, position=pos)
    assert m["exposure_long"] == 2 / 8 and m["exposure_short"] == 3 / 8
    assert m["exposure"] == 5 / 8
    assert (m["n_long"], m["n_short"]) == (2, 2)
    assert m["win_rate_long"] == 0.5 and m["win_rate_short"] == 1.0
    longs_only = compute_metrics(eq, make_trades([{"pnl": 1.0}]))
    assert longs_only["n_short"] == 0 and math.isnan(longs_only["win_rate_short"])
    assert longs_only["exposure_short"] == 0.0
