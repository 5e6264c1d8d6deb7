"""Rule files: TOML loading, every mistake refused in one line, protective orders and warm-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.rules import Orders, RuleError, load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[2]
ISSUE = """
[ema_rsi]
description = "Close crosses above the 50-day EMA while RSI(14) > 50; 10% trailing stop, at most 20 sessions"
params = { len = 50, floor = 50 }
entry = "crosses_above(close, ema(close, len)) and rsi(close, 14) > floor"
exit = "close < ema(close, len)"
trailing_stop = 0.10
max_bars = 20
"""


def test_the_issue_rule_loads_with_its_parameters_orders_and_warmup() -> None:
    rule = parse_rules(ISSUE)["ema_rsi"]
    assert rule.params == {"len": 50, "floor": 50}
    assert rule.order_values(rule.params) == Orders(0.0, 0.0, 0.1, 20)
    assert rule.warmup(rule.params) == 51  # the cross needs the EMA on the bar before
    assert rule.warmup({"len": 20, "floor": 50}) == 21
    assert (
        'entry = "crosses_above(close, ema(close, len)) and rsi(close, 14) > floor"' in rule.text()
    )
    assert rule.text().startswith("[ema_rsi]\ndescription = ")


def test_shipped_rule_files_load() -> None:
    for path in sorted((ROOT / "strategies" / "rules").glob("*.toml")):
        book = load_rules(path)
        assert book.rules and len(book.sha256) == 64
        for rule in book.rules.values():
            assert rule.description, f"{path.name}: [{rule.name}] has no description"
            assert set(rule.help) == set(rule.params), f"{path.name}: [{rule.name}] help"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[r]\nentry = 'close > 1'\nexit = 'close < 1'\ntrailing_stops = 0.1",
            "unknown key 'trailing_stops' (did you mean 'trailing_stop'?)",
        ),
        ("[r]\nexit = 'close < 1'", "no entry; add entry"),
        ("[r]\nentry = 'close > 1'", "no way out of a trade"),
        ("[r]\nentry = 'close'\nexit = 'false'", "entry: 'close' is a number, not a condition"),
        ("[r]\nentry = 3\nexit = 'false'", "entry must be text"),
        (
            "[r]\nparams = { n = 'x' }\nentry = 'true'\nexit = 'false'",
            "parameter n = 'x' must be a number or true/false",
        ),
        (
            "[r]\nparams = { close = 3 }\nentry = 'true'\nexit = 'false'",
            "shadows a price or function",
        ),
        ("[r]\nparams = { n = nan }\nentry = 'true'\nexit = 'false'", "must be a finite number"),
        (
            "[r]\nparams = { n = 0 }\nentry = 'close > sma(close, n)'\nexit = 'false'",
            "periods are whole numbers >= 1",
        ),
        ("[r]\nentry = 'true'\nstop_loss = 1.5", "stop_loss = 1.5 must be a fraction in [0, 1)"),
        ("[r]\nentry = 'true'\nmax_bars = 2.5", "max_bars = 2.5 must be a whole number"),
        ("[r]\nentry = 'true'\ntake_profit = -0.1", "take_profit = -0.1 must be >= 0"),
        (
            "[r]\nparams = { sl = 0.1 }\nentry = 'true'\nstop_loss = 'sll'",
            "stop_loss = 'sll' is not a parameter (did you mean 'sl'?)",
        ),
        (
            "[r]\nparams = { on = true }\nentry = 'true'\nstop_loss = 'on'",
            "is a true/false parameter",
        ),
        (
            "[r]\nentry = 'true'\nexit = 'false'\nhelp = { n = 'x' }",
            "help for unknown parameter 'n'",
        ),
        ('["r r"]\nentry = "true"\nexit = "false"', "rule names are letters, digits and _"),
        ("r = 3", "must be a table"),
        ("[r\nentry = 'true'", "not valid TOML"),
        ("", "no rules"),
    ],
)
def test_mistakes_are_refused_in_one_line(toml: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rules(toml, "mine.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("mine.toml")
    assert "\n" not in str(info.value)


def test_protective_orders_from_parameters_are_checked_per_parameter_set() -> None:
    rule = parse_rules(
        "[r]\nparams = { sl = 0.1, n = 5 }\nentry = 'true'\nstop_loss = 'sl'\nmax_bars = 'n'"
    )["r"]
    assert rule.order_values({"sl": 0.2, "n": 3}) == Orders(0.2, 0.0, 0.0, 3)
    assert rule.check_params({"sl": 0.2, "n": 3}) == []
    assert "stop_loss = sl (1.0) must be a fraction" in rule.check_params({"sl": 1.0, "n": 3})[0]
    assert "max_bars = n (-1)" in rule.check_params({"sl": 0.1, "n": -1})[0]


def test_files_missing_unreadable_or_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="rule file not found; check the --rules path"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[r]")
    with pytest.raises(RuleError, match="not UTF-8"):
        load_rules(bad)
    good = tmp_path / "good.toml"
    good.write_text(ISSUE)
    book = load_rules(good)
    with pytest.raises(RuleError, match="no rule 'ema_rs' \\(did you mean 'ema_rsi'\\?\\)"):
        book.get("ema_rs")
