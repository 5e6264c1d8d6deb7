"""Standing aside before earnings in a rule (``stand_aside = N``), on both engines.

The rule mirrors tests/strategies/test_stand_aside.py's ``ma_trend`` case: a close above its
3-bar SMA enters, a close below exits; the closes keep rising, so without the option the
position is held to the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.fast.api import bar_dates
from engine.fast.aside import aside_row
from engine.fast.trace import simulate
from engine.rules import RuleError, parse_rules
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS, fills_list
from strategies.rule import rule_strategy

CLOSES = [10, 10, 10, 9, 11, 12, 13, 14, 15, 16, 17, 18]
TEXT = '[up]\nentry = "close > sma(close, 3)"\nexit = "close < sma(close, 3)"\n'


def _prices():  # noqa: ANN202
    return bars([(c,) for c in CLOSES], start="2025-08-04")  # Mon 4 Aug .. Tue 19 Aug


def _rule(extra: str = "stand_aside = 2\n"):  # noqa: ANN202
    return parse_rules(TEXT + extra)["up"]


def _both(params: dict, extra: str = "stand_aside = 2\n") -> list:
    """The fills of the backtrader rule strategy, checked equal to the fast engine's."""
    cls = rule_strategy(_rule(extra))
    ref = run_backtest(cls, _prices(), params, costs=NO_COSTS)
    fast = simulate(cls.rule.ref(), _prices(), params, costs=NO_COSTS)  # type: ignore[union-attr]
    assert fills_list(fast) == fills_list(ref)
    assert np.array_equal(fast.equity.to_numpy(), ref.equity.to_numpy())
    return fills_list(ref)


def test_the_key_adds_the_parameters_and_keeps_older_refs() -> None:
    plain, aside = _rule(""), _rule()
    assert plain.stand_aside is None and aside.stand_aside == 2
    cls = rule_strategy(aside)
    assert dict(cls.params._getitems())["stand_aside"] == 2  # type: ignore[attr-defined]
    assert "earnings" in dict(cls.params._getitems())  # type: ignore[attr-defined]
    assert "stand_aside" not in dict(rule_strategy(plain).params._getitems())  # type: ignore[attr-defined]
    assert plain.ref() != aside.ref() and "stand_aside = 2" in aside.text()
    assert "stand_aside" not in plain.text()


def test_off_without_earnings_dates_or_with_zero_sessions() -> None:
    base = _both({}, extra="")
    assert base == [("2025-08-11", "buy", 8333.0, 12.0, "entry")]
    assert _both({}) == base  # earnings empty
    assert _both({"stand_aside": 0, "earnings": "2025-08-14"}) == base


def test_flat_through_the_report_and_back_in_after() -> None:
    # reaction session Thu 14 Aug, stand_aside 2: flat at the closes of Tue 12 and Wed 13, so
    # sold at Tue 12's open (sent on Mon 11's close); back in at Thu 14's open at the earliest
    got = _both({"earnings": "2025-08-14"})
    assert got[1][:2] == ("2025-08-12", "sell") and got[1][4] == "stand aside"
    assert got[2][:2] == ("2025-08-14", "buy") and got[2][4] == "entry"
    ref = run_backtest(
        rule_strategy(_rule()), _prices(), {"earnings": "2025-08-14"}, costs=NO_COSTS
    )
    pos = ref.position
    assert pos.loc["2025-08-12"] == 0 and pos.loc["2025-08-13"] == 0 and pos.loc["2025-08-14"] > 0


def test_no_entry_into_the_window_and_protective_orders_cancelled() -> None:
    # reaction Tue 12, 3 sessions: Thu 7, Fri 8, Mon 11 aside; the close of Fri 8 (above its
    # SMA) would fill Mon 11: not sent; the first entry fills at Tue 12's open
    assert _both({"earnings": "2025-08-12", "stand_aside": 3}) == [
        ("2025-08-12", "buy", 7692.0, 13.0, "entry")
    ]
    # with a resting stop: the stand-aside exit cancels it (one sell, tagged stand aside)
    got = _both({"earnings": "2025-08-14"}, extra="stand_aside = 2\nstop_loss = 0.5\n")
    sells = [f for f in got if f[1] == "sell"]
    assert sells[0][:2] == ("2025-08-12", "sell") and sells[0][4] == "stand aside"


def test_past_the_last_bar_the_next_sessions_are_weekdays() -> None:
    prices = _prices()
    days = bar_dates(prices).values.astype("datetime64[D]").astype(np.int64)
    # last bar Tue 19 Aug; a report reacting on Thu 21 Aug: the close of Tue 19 sees Wed 20 aside
    row = aside_row(days, 1, "2025-08-21")
    assert row[-1] == 1.0 and row[:-1].sum() == 0
    # a Monday reaction session: the Friday before is the session before it
    row = aside_row(days, 1, "2025-08-11")
    assert [str(d)[:10] for d in prices.index[row == 1.0]] == ["2025-08-07"]
    # the sell goes out on the last close (no bar left to fill it): the fills are unchanged
    assert _both({"earnings": "2025-08-21", "stand_aside": 1}) == _both({}, extra="")


def test_bad_values_are_refused_in_one_line() -> None:
    with pytest.raises(RuleError, match="stand_aside = -1 must be a whole number"):
        _rule("stand_aside = -1\n")
    with pytest.raises(RuleError, match="stand_aside = 1.5 must be a whole number"):
        _rule("stand_aside = 1.5\n")
    with pytest.raises(RuleError, match="'earnings' is reserved"):
        parse_rules('[r]\nparams = { earnings = 1 }\nentry = "true"\nexit = "false"\n')
    cls = rule_strategy(_rule())
    with pytest.raises(ParamError, match="earnings"):
        run_backtest(cls, _prices(), {"earnings": "14 Aug"}, costs=NO_COSTS)
    with pytest.raises(ParamError, match="stand_aside"):
        run_backtest(cls, _prices(), {"stand_aside": -1}, costs=NO_COSTS)


def test_cli_run_fills_earnings_from_the_events_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On real CRWV the dates come from data/events/CRWV.toml; both engines agree."""
    from engine.cli.main import main

    rules = tmp_path / "r.toml"
    rules.write_text(
        '[hold]\nentry = "true"\nexit = "false"\nstand_aside = 2\n'
        '[hold_plain]\nentry = "true"\nexit = "false"\n'
    )
    out = tmp_path / "run"
    argv = ["run", "--rules", str(rules), "--data-dir", str(data_dir), "--no-plots"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    doc = json.loads((out / "metrics.json").read_text())
    params = doc["strategies"]["hold"]["params"]
    assert params["stand_aside"] == 2 and params["earnings"].count("-") >= 6  # dates filled
    table = pd.read_csv(out / "fills.csv")
    hold = table[table["strategy"] == "hold"]
    plain = table[table["strategy"] == "hold_plain"]
    assert (hold["reason"] == "stand aside").sum() >= 2 and len(plain) == 1
    # the fast engine replays the same run fill for fill
    from engine.data.events import fill_earnings, load_events
    from engine.data.load import load_prices

    prices = load_prices("CRWV", data_dir_=data_dir)
    cls = rule_strategy(parse_rules(rules.read_text())["hold"])
    p = fill_earnings(
        {"stand_aside": 2, "earnings": ""}, load_events("CRWV", str(data_dir)), prices.index
    )
    ref = run_backtest(cls, prices, p)
    fast = simulate(cls.rule.ref(), prices, p)  # type: ignore[union-attr]
    assert fills_list(fast) == fills_list(ref)
    assert sum(1 for f in fills_list(ref) if f[4] == "stand aside") >= 2
