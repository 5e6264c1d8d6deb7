"""The sizing text (engine/sizing.py): parsing, refusals, and the shares it asks for."""

from __future__ import annotations

import math

import pytest

from engine.errors import ParamError
from engine.result import Costs, run_settings
from engine.sizing import Sizing, parse_sizing, signal_size, tranche_sizes


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("all_in", Sizing()),
        ("fraction:0.5", Sizing("fraction", 0.5)),
        (" fixed:25000 ", Sizing("fixed", 25_000.0)),
        ("shares:100", Sizing("shares", 100.0)),
        ("risk:0.01", Sizing("risk", 0.01)),
        ("risk:0.01:shares", Sizing("risk", 0.01, "shares")),
        ("risk:0.01:equal", Sizing("risk", 0.01)),
    ],
)
def test_parse(text: str, want: Sizing) -> None:
    assert parse_sizing(text) == want
    assert parse_sizing(want.text()) == want


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "unknown kind ''"),
        ("all_in:1", "all_in takes no value"),
        ("fraction", "fraction needs a value"),
        ("fraction:0", "(0, 1]"),
        ("fixed:-5", "dollars > 0"),
        ("shares:0", "whole number"),
        ("risk:1", "(0, 1)"),
        ("risk:inf", "finite"),
        ("fixed:1e300", "at most 1e+15"),  # a tranche of 1e300 dollars looped forever
        ("shares:1e20", "at most 1e+15"),
        ("risk:x", "'x' is not a number"),
        ("risk:0.01:value", "tranche split 'value'"),
        ("risk:0.01:shares:2", "KIND:VALUE[:SPLIT]"),
    ],
)
def test_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ParamError, match=None) as err:
        parse_sizing(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_settings_keep_their_keys_for_all_in() -> None:
    """Stores and baselines written before sizing existed keep their keys."""
    assert "sizing" not in run_settings(1.0, Costs(), False)
    assert run_settings(1.0, Costs(sizing="risk:0.01"), False)["sizing"] == "risk:0.01"
    assert Costs(sizing="risk:0.01").benchmark() == Costs()


def _whole(price: float, dollars: float) -> float:
    return float(math.floor(dollars / price))


def test_signal_sizes() -> None:
    afford = lambda d: _whole(10.0, d)  # noqa: E731
    assert signal_size(parse_sizing("all_in"), 10, 5_000, 5_000, 0, 0, afford) == (500, 500)
    assert signal_size(parse_sizing("fraction:0.5"), 10, 5_000, 5_000, 0, 0, afford) == (250, 500)
    assert signal_size(parse_sizing("fixed:8000"), 10, 5_000, 5_000, 0, 0, afford) == (800, 500)
    assert signal_size(parse_sizing("shares:7"), 10, 5_000, 5_000, 0, 0, afford) == (7, 500)
    # 1% of $5,000 = $50 at risk; 10% stop under $10 = $1 a share: 50 shares
    assert signal_size(parse_sizing("risk:0.01"), 10, 5_000, 5_000, 0, 0.1, afford) == (50, 500)


def test_tranche_sizes_share_one_budget() -> None:
    prices, stop = [94.0, 90.0, 86.0], 79.99
    equal = tranche_sizes(parse_sizing("risk:0.01"), prices, stop, 100_000, _whole)
    assert equal == [23, 33, 55]  # $333.33 of risk each: 333.33 / 14.01, / 10.01, / 6.01
    assert sum(s * (p - stop) for s, p in zip(equal, prices, strict=True)) <= 1_000
    same = tranche_sizes(parse_sizing("risk:0.01:shares"), prices, stop, 100_000, _whole)
    assert same == [33, 33, 33]  # 1000 / (14.01 + 10.01 + 6.01)
    assert tranche_sizes(parse_sizing("shares:100"), prices, stop, 1, _whole) == [34, 33, 33]
    assert tranche_sizes(parse_sizing("fixed:27000"), prices, stop, 1, _whole) == [95, 100, 104]
    assert tranche_sizes(parse_sizing("fixed:27000:shares"), prices, stop, 1, _whole) == [100] * 3


VARIANTS = """
[plan_1pct]
strategy = "swing"
sizing = "risk:0.01"

[half_in]
strategy = "ma_trend"
sizing = "fraction:0.5"
"""


def test_variants_carry_their_sizing(tmp_path, data_dir, capsys) -> None:  # noqa: ANN001
    """A variant's sizing applies unless --sizing gives another; regress pins it too."""
    from engine.cli.main import main
    from engine.regress.run import current_specs
    from strategies import STRATEGIES

    path = tmp_path / "v.toml"
    path.write_text(VARIANTS)
    out = tmp_path / "out"
    args = ["run", "--config", str(path), "--data-dir", str(data_dir), "--no-plots"]
    assert main([*args, "--variant", "plan_1pct", "--out", str(out)]) == 0
    fills = (out / "fills.csv").read_text()
    assert "23.0,94.0" in fills and "1000.0" in fills  # 23 shares at $94, the $1,000 budget
    assert main([*args, "--variant", "plan_1pct", "--sizing", "shares:30", "--out", str(out)]) == 0
    assert "plan_1pct,2025-08-25,buy,10.0,94.0" in (out / "fills.csv").read_text()  # 10 a tranche
    specs = {s.label: s for s in current_specs(STRATEGIES, path)}
    assert specs["plan_1pct"].sizing == "risk:0.01" and specs["half_in"].sizing == "fraction:0.5"
    bad = tmp_path / "bad.toml"
    bad.write_text('[x]\nstrategy = "ma_trend"\nsizing = "risk:0.01"\n')
    assert main(["run", "--config", str(bad), "--data-dir", str(data_dir), "--no-files"]) == 2
    assert "has no stop" in capsys.readouterr().err


def test_rule_side_is_checked_and_part_of_the_ref() -> None:
    from engine.rules import parse_rules

    text = '[r]\nentry = "close > 1"\nexit = "false"\n'
    short = parse_rules(text.replace("[r]\n", '[r]\nside = "short"\n'))["r"]
    assert short.side == "short" and short.ref() != parse_rules(text)["r"].ref()
    assert 'side = "short"' in short.text()
    with pytest.raises(ParamError, match='use "long" or "short"'):
        parse_rules(text.replace("[r]\n", '[r]\nside = "sell"\n'))


def test_rules_carry_their_sizing() -> None:
    from engine.rules import parse_rules

    text = '[r]\nentry = "close > 1"\nstop_loss = 0.1\nsizing = "risk:0.02"\n'
    rule = parse_rules(text)["r"]
    plain = parse_rules(text.replace('sizing = "risk:0.02"\n', ""))["r"]
    assert rule.sizing == "risk:0.02" and rule.ref() != plain.ref()
    assert 'sizing = "risk:0.02"' in rule.text()
    with pytest.raises(ParamError, match="needs a stop"):
        parse_rules('[r]\nentry = "close > 1"\nexit = "false"\nsizing = "risk:0.02"\n')
    with pytest.raises(ParamError, match="unknown kind"):
        parse_rules('[r]\nentry = "close > 1"\nexit = "false"\nsizing = "all"\n')


def test_the_api_checks_sizing_and_borrow_fee() -> None:
    """engine.api.make_costs (the API's and the CLI's one check of the costs) takes both."""
    from engine.api import make_costs

    assert make_costs(sizing="risk:0.01").sizing == "risk:0.01"
    assert make_costs(Costs(sizing="fraction:0.50")).sizing == "fraction:0.5"
    assert make_costs(borrow_fee=0.03).borrow_fee == 0.03
    with pytest.raises(ParamError, match="unknown kind"):
        make_costs(sizing="half")
    with pytest.raises(ParamError, match="annual fraction"):
        make_costs(borrow_fee=float("nan"))
