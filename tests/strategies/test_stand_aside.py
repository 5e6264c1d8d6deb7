"""Standing aside before earnings (strategies.base.SignalStrategy: stand_aside, earnings)."""

from __future__ import annotations

import pytest

from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.fast.trace import simulate
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies import STRATEGIES

# ma_trend with slow=3, hold_bars=1: enters after the close of bar 4 (first close above the
# SMA after one at or below it), fill at bar 5's open; then holds (closes keep rising).
CLOSES = [10, 10, 10, 9, 11, 12, 13, 14, 15, 16, 17, 18]
PARAMS = {"slow": 3, "fast": 2, "hold_bars": 1}


def _run(**extra):  # noqa: ANN202
    prices = bars([(c,) for c in CLOSES], start="2025-08-04")  # Mon 4 Aug .. Tue 19 Aug
    return run_backtest(STRATEGIES["ma_trend"], prices, {**PARAMS, **extra}, costs=NO_COSTS)


def test_off_by_default() -> None:
    base = _run()
    assert fills_list(base) == [("2025-08-11", "buy", 8333.0, 12.0, "signal")]
    assert fills_list(_run(earnings="2025-08-14")) == fills_list(base)  # stand_aside 0


def test_flat_through_the_report_and_back_in_after() -> None:
    # report after the close of Wed 13 Aug: reaction session Thu 14. stand_aside=2 -> flat at
    # the closes of Tue 12 and Wed 13: sold at Tue 12's open (sent on Mon 11's close).
    res = _run(stand_aside=2, earnings="2025-08-14")
    got = fills_list(res)
    assert got[1][:2] == ("2025-08-12", "sell") and got[1][4] == "stand aside"
    # entries resume with a fill at the reaction session's open at the earliest
    assert got[2][:2] == ("2025-08-14", "buy")
    pos = res.position
    assert pos.loc["2025-08-12"] == 0 and pos.loc["2025-08-13"] == 0 and pos.loc["2025-08-14"] > 0


def test_no_entry_into_the_window() -> None:
    # reaction session Tue 12: window = Fri 8, Mon 11 -> the entry signal of Fri 8 (fill Mon 11)
    # is not taken; the entry comes on a later close once the window has passed
    res = _run(stand_aside=2, earnings="2025-08-12")
    first_buy = fills_list(res)[0]
    assert first_buy[1] == "buy" and first_buy[0] >= "2025-08-12"


def test_bad_values_are_refused() -> None:
    with pytest.raises(ParamError, match="stand_aside"):
        _run(stand_aside=-1)
    with pytest.raises(ParamError, match="earnings"):
        _run(stand_aside=1, earnings="14 Aug")


def test_fast_engine_fills_the_same() -> None:
    """The signal kernel stands aside as the class does, fill for fill; above all it re-enters
    the reclaim it stood aside from (``MATrend.stood_aside``), which one entry per reclaim
    would otherwise forbid."""
    prices = bars([(c,) for c in CLOSES], start="2025-08-04")
    for extra in (
        {"stand_aside": 2, "earnings": "2025-08-14"},
        {"stand_aside": 2, "earnings": "2025-08-12"},
        {"stand_aside": 1, "earnings": "2025-08-14,2025-08-18"},
        {"stand_aside": 1, "earnings": "2025-08-21"},  # past the last bar
        {"earnings": "2025-08-14"},  # stand_aside 0: off, whatever the dates
    ):
        params = {**PARAMS, **extra}
        ref = run_backtest(STRATEGIES["ma_trend"], prices, params, costs=NO_COSTS)
        fast = simulate("ma_trend", prices, params, costs=NO_COSTS)
        assert fills_list(fast) == fills_list(ref), extra
        assert fast.equity.tolist() == ref.equity.tolist(), extra
    # the re-entry after the report, within the same run of closes above the SMA
    got = fills_list(
        simulate("ma_trend", prices, {**PARAMS, "stand_aside": 2, "earnings": "2025-08-14"})
    )
    assert [f[1] for f in got] == ["buy", "sell", "buy"] and got[2][0] == "2025-08-14"
