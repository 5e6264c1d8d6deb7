"""crwv-bt today (engine.backtest.today, engine.report.today): positions, working orders and their distances, signal states,
staleness, exit codes; ATR by hand."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from engine.backtest.today import missing_sessions, plan_today
from engine.jobs.runner import Config
from engine.report.today import format_today
from engine.testing.prices import bars
from engine.testing.runs import NO_COSTS
from strategies import STRATEGIES


def test_missing_sessions() -> None:
    assert missing_sessions(date(2026, 10, 9), date(2026, 10, 12)) == 0  # Monday not closed yet
    assert missing_sessions(date(2026, 10, 9), date(2026, 10, 13)) == 1
    assert missing_sessions(date(2025, 12, 23), date(2025, 12, 29)) == 2  # 24th, 26th (25th shut)


def test_entry_on_the_last_close_exits_3() -> None:
    prices = bars([(10,), (10,), (10,), (9,), (11,)])
    cfg = Config("ma", STRATEGIES["ma_trend"], {"slow": 3, "fast": 2, "hold_bars": 1})
    rep = plan_today([cfg], prices, ticker="XYZ", costs=NO_COSTS, today=date(2025, 8, 23))
    assert rep["exit_code"] == 3 and not rep["stale"]
    (order,) = rep["strategies"][0]["orders"]
    assert order["type"] == "market" and order["side"] == "buy" and order["sent_on_last_close"]
    assert rep["strategies"][0]["action"].startswith("buy ")
    text = format_today(rep)
    assert "goes out at the next open (exit 3)" in text and "NEW" in text


def test_resting_ladder_with_distances() -> None:
    prices = bars([(100, 101, 99, 100)] * 20, start="2025-08-01")  # ATR 2 from bar 14
    cfg = Config("swing", STRATEGIES["swing"], {"active_from": "2025-08-20"})
    rep = plan_today([cfg], prices, ticker="XYZ", costs=NO_COSTS, today=date(2025, 8, 30))
    s = rep["strategies"][0]
    assert s["signal"]["state"] == "armed" and rep["atr"] == pytest.approx(2.0)
    assert [o["price"] for o in s["orders"]] == [94.0, 90.0, 86.0]
    first = s["orders"][0]
    assert first["distance_pct"] == pytest.approx(-0.06) and first["distance_atr"] == pytest.approx(
        -3.0
    )
    assert not first["sent_on_last_close"] and rep["exit_code"] == 0
    assert rep["stale"] and rep["missing_sessions"] == 1  # last bar Thu 28th; Fri 29th has closed
    json.dumps(rep)  # plain data


def test_ladder_goes_out_on_the_last_close_before_active_from() -> None:
    prices = bars([(100,)] * 5, start="2025-08-18")  # Mon 18 .. Fri 22
    cfg = Config("swing", STRATEGIES["swing"], {"active_from": "2025-08-25"})
    rep = plan_today([cfg], prices, ticker="XYZ", costs=NO_COSTS, today=date(2025, 8, 23))
    assert rep["exit_code"] == 3
    assert len(rep["strategies"][0]["orders"]) == 3


def test_real_crwv_today(crwv: pd.DataFrame) -> None:
    cfgs = [Config(n, c, {}) for n, c in STRATEGIES.items()]
    rep = plan_today(cfgs, crwv, ticker="CRWV", today=date(2026, 10, 10))
    by = {s["strategy"]: s for s in rep["strategies"]}
    assert rep["last_date"] == "2026-10-09" and not rep["stale"]
    assert by["swing"]["signal"]["state"] == "spent" and by["buy_hold"]["position"]["shares"] > 0
    assert "SMA 60" in by["ma_trend"]["signal"]["text"]
    bh = by["buy_hold"]["position"]
    assert bh["unrealised_pnl"] == pytest.approx(bh["shares"] * (82.08 - bh["avg_entry"]))


def test_cli_exit_codes_and_json(tmp_path, capsys) -> None:  # noqa: ANN001
    from engine.cli.main import main
    from engine.data.load import write_price_csv

    csv = tmp_path / "XYZ.csv"
    write_price_csv(bars([(10,), (10,), (10,), (9,), (11,)]), csv)
    args = ["today", "--csv", str(csv), "--ticker", "XYZ", "--strategy", "ma_trend"]
    args += ["--param", "slow=3", "--param", "fast=2", "--param", "hold_bars=1"]
    assert main([*args, "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["strategies"][0]["action"].startswith("buy")
    write_price_csv(bars([(10,), (10,), (10,), (9,), (11,), (12,)]), csv)  # bought at the open
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "nothing to do at the next open (exit 0)" in out and "ma_trend: long" in out
    assert main(["today", "--csv", str(csv), "--strategy", "nope"]) == 2


def test_rules_report_their_conditions_and_protective_orders(crwv: pd.DataFrame) -> None:
    from engine.rules import load_rules
    from strategies.rule import rule_strategy

    book = load_rules("strategies/rules/examples.toml")
    cfgs = [Config(n, rule_strategy(book.rules[n]), {}) for n in ("ema_rsi", "support_zone")]
    rep = plan_today(cfgs, crwv, ticker="CRWV", today=date(2026, 10, 10))
    flat, held = rep["strategies"]
    assert flat["signal"]["state"] == "flat" and "entry `" in flat["signal"]["text"]
    assert held["signal"]["state"] == "long"
    kinds = {(o["type"], o["reason"]) for o in held["orders"]}
    assert kinds == {("stop", "stop loss"), ("limit", "take profit")}
    stop = next(o for o in held["orders"] if o["type"] == "stop")
    assert stop["distance_pct"] == pytest.approx(stop["price"] / 82.08 - 1)


def test_cli_today_runs_rules_from_a_file(tmp_path, capsys) -> None:  # noqa: ANN001
    """``crwv-bt today --rules FILE [--rule NAME]``: rules alone, beside a strategy, overrides."""
    from engine.cli.main import main
    from engine.data.load import write_price_csv

    csv = tmp_path / "XYZ.csv"
    write_price_csv(bars([(10,), (10,), (10,), (9,), (11,)]), csv)
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[up]\ndescription = "close above its 3-bar SMA"\nparams = { n = 3 }\n'
        'entry = "close > sma(close, n)"\nexit = "close < sma(close, n)"\nstop_loss = 0.1\n'
        '[never]\nentry = "false"\nexit = "false"\n'
    )
    base = ["today", "--csv", str(csv), "--ticker", "XYZ", "--rules", str(rules)]
    assert main([*base, "--json"]) == 3  # `up` buys on the last close (11 > 10)
    doc = json.loads(capsys.readouterr().out)
    assert [s["strategy"] for s in doc["strategies"]] == ["up", "never"]
    assert doc["strategies"][0]["action"].startswith("buy")
    assert main([*base, "--rule", "never"]) == 0
    out = capsys.readouterr().out
    assert "never: flat" in out and "up:" not in out
    write_price_csv(bars([(10,), (10,), (10,), (9,), (11,), (12,)]), csv)  # bought at the open
    # the stop is placed on the close of the entry session: it goes out at the next open
    assert main([*base, "--rule", "up", "--strategy", "buy_hold"]) == 3
    out = capsys.readouterr().out
    assert "up: long" in out and "buy_hold: long" in out
    assert "order sell 8329 stop 10.80 [stop loss]  -10.0%  NEW: goes out at the next open" in out
    assert main([*base, "--rule", "up", "--param", "nn=4"]) == 2
    assert "unknown parameter 'nn'" in capsys.readouterr().err
    assert main(["today", "--csv", str(csv), "--rule", "up"]) == 2
    assert "--rule up needs --rules FILE" in capsys.readouterr().err


def test_a_short_position_gains_as_the_price_falls() -> None:
    """The unrealised P&L and its percentage agree in sign for a short (on the money at risk)."""
    from engine.rules import parse_rules
    from strategies.rule import rule_strategy

    rule = parse_rules('[dn]\nside = "short"\nentry = "true"\nexit = "false"\n')["dn"]
    prices = bars([(10,), (10,), (9,), (8,)])  # sold short at the open of bar 1 (10)
    cfg = Config("dn", rule_strategy(rule), {})
    pos = plan_today([cfg], prices, ticker="XYZ", costs=NO_COSTS)["strategies"][0]["position"]
    assert pos["shares"] < 0 and pos["avg_entry"] == pytest.approx(10.0)
    assert pos["unrealised_pnl"] == pytest.approx(-pos["shares"] * 2.0)
    assert pos["unrealised_pct"] == pytest.approx(0.2)


def test_an_end_date_is_a_past_close_not_stale_data(capsys) -> None:  # noqa: ANN001
    """``--end D``: the state as of that close; the sessions since are not a stale file."""
    from engine.cli.main import main

    prices = bars([(10,), (10,), (10,), (9,), (11,)])
    cfg = Config("ma", STRATEGIES["ma_trend"], {"slow": 3, "fast": 2, "hold_bars": 1})
    rep = plan_today([cfg], prices, ticker="XYZ", costs=NO_COSTS, end="2025-08-10")
    assert not rep["stale"] and rep["missing_sessions"] > 0 and rep["end"] == "2025-08-10"
    text = format_today(rep)
    assert "--end 2025-08-10" in text and "stale" not in text
    assert main(["today", "--strategy", "macd", "--end", "2025-08-08"]) == 3  # bundled CRWV
    out = capsys.readouterr().out
    assert "as of the close of 2025-08-08" in out and "stale" not in out


def test_flat_strategy_says_what_an_entry_would_trade(crwv: pd.DataFrame) -> None:
    """Flat on the last bar, a signal strategy prints the size an entry signal would trade:
    risk:0.01 with a 2 x ATR(14) stop loses about 1% of the account at that stop."""
    from dataclasses import replace

    from engine.result import Costs

    cfg = Config("macd", STRATEGIES["macd"], {"atr_stop": 2.0})
    rep = plan_today([cfg], crwv, ticker="CRWV", costs=Costs(sizing="risk:0.01"))
    (row,) = rep["strategies"]
    entry = row["next_entry"]
    assert row["position"]["shares"] == 0 and entry["side"] == "buy" and entry["shares"] > 0
    assert 0.009 * row["equity"] < entry["at_risk"] <= 0.01 * row["equity"]
    assert f"an entry signal would buy {entry['shares']:g} shares" in format_today(rep)
    short = replace(cfg, params={"atr_stop": 2.0, "side": "short"})
    (held,) = plan_today([short], crwv, ticker="CRWV", costs=Costs())["strategies"]
    assert held["position"]["shares"] < 0 and held["signal"]["state"] == "short"
    assert "covers when MACD crosses above" in held["signal"]["text"]
    assert held["next_entry"] is None


def test_the_next_earnings_and_each_stand_aside_window_are_named(tmp_path, capsys) -> None:  # noqa: ANN001
    """With an earnings report after the last bar in the events file, ``today`` names it (and
    how many sessions away it is first traded); a strategy or rule that stands aside says when
    it will be flat, counted as it counts (weekdays past the data)."""
    from engine.cli.main import main
    from engine.data.load import write_price_csv

    write_price_csv(bars([(10,)] * 30), tmp_path / "XYZ.csv")  # Mon 2025-08-18 .. Fri 09-26
    (tmp_path / "events").mkdir()
    report = (
        '[[event]]\ndate = {}\nkind = "earnings"\ntitle = "{}"\ntiming = "{}"\nsource = "test"\n'
    )
    (tmp_path / "events" / "XYZ.toml").write_text(
        report.format("2025-08-20", "Q2 results", "after_close")  # inside the data: past
        + report.format("2025-10-08", "Q3 results", "after_close")  # traded on Thu 10-09
        + report.format("2026-01-08", "Q4 results", "before_open")
    )
    (tmp_path / "r.toml").write_text('[calm]\nentry = "false"\nexit = "false"\nstand_aside = 12\n')
    base = ["today", "--data-dir", str(tmp_path), "--ticker", "XYZ", "--strategy", "ma_trend"]
    base += ["--param", "slow=3", "--param", "fast=2", "--param", "hold_bars=1"]
    assert main([*base, "--param", "stand_aside=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("next earnings")] == [
        "next earnings 2025-10-08 after the close (Q3 results): first traded on 2025-10-09, "
        "9 sessions after the last bar"
    ]
    assert [line for line in out if line.startswith("  stand aside")] == [
        "  stand aside 2 sessions: flat from the open of 2025-10-07 to the open of 2025-10-09 "
        "(earnings first traded)",
    ]
    # a rule's stand_aside = 12: the window began 3 sessions before the last bar
    assert main([*base, "--rules", str(tmp_path / "r.toml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("  stand aside")] == [
        "  stand aside 12 sessions: flat from the open of 2025-09-23 to the open of 2025-10-09 "
        "(earnings first traded)",
    ]
    assert main([*base, "--json"]) == 0  # stand_aside 0 (the default): no window
    doc = json.loads(capsys.readouterr().out)
    assert doc["next_earnings"] == {
        "date": "2025-10-08",
        "timing": "after_close",
        "title": "Q3 results",
        "session": "2025-10-09",
        "sessions_ahead": 9,
    }
    assert doc["strategies"][0]["stand_aside"] is None
    # a strategy's own earnings dates, none after the last bar: it says it will not stand aside
    assert main([*base, "--param", "stand_aside=2", "--param", "earnings=2025-08-21"]) == 0
    out = capsys.readouterr().out
    assert (
        "  stand aside 2 sessions before earnings: no earnings date after 2025-09-26 "
        "(add the next report to data/events/<TICKER>.toml)"
    ) in out.splitlines()
    (tmp_path / "events" / "XYZ.toml").unlink()  # no events: no line
    assert main(base) == 0
    assert "next earnings" not in capsys.readouterr().out


@pytest.mark.parametrize("n", [1, 2, 5])
def test_the_stand_aside_window_today_names_is_the_one_the_run_then_takes(n: int) -> None:
    """Cut the data 8 sessions before a report: the window ``today`` announces starts on the
    session whose open the full run sells at (fills tagged ``stand aside``)."""
    from engine.backtest.harness import run_backtest
    from engine.rules import parse_rules
    from strategies.rule import rule_strategy

    rule = parse_rules('[always]\nentry = "true"\nexit = "false"\nstand_aside = 1\n')["always"]
    cls = rule_strategy(rule)
    prices = bars([(10,)] * 40)  # 2025-08-18 .. 2025-10-10
    params = {"stand_aside": n, "earnings": prices.index[30].date().isoformat()}
    rep = plan_today([Config("always", cls, params)], prices.iloc[:22], ticker="XYZ")
    window = rep["strategies"][0]["stand_aside"]
    assert window["reaction"] == prices.index[30].date().isoformat()
    fills = run_backtest(cls, prices, params, costs=NO_COSTS).fills
    sold = fills[fills["reason"] == "stand aside"]
    assert pd.Timestamp(sold["date"].iloc[0]).date().isoformat() == window["out_from"]
