"""engine.variants: every value of a variants file checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ParamError
from engine.variants import load_variants
from strategies import STRATEGIES


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'strategy = "swing"\nparams = { stop = nan }',
            "[x] parameter stop nan is not a finite number",
        ),
        (
            'strategy = "swing"\nparams = { stop = inf }',
            "[x] parameter stop inf is not a finite number",
        ),
        (
            'strategy = "swing"\nparams = { ladder = [nan, 90, 86] }',
            "parameter ladder (item 1) nan",
        ),
        (
            'strategy = "swing"\nparams = { ladder = [true, 90, 86] }',
            "parameter ladder=[True, 90, 86] is not",
        ),
        (
            'strategy = "ma_trend"\nparams = { hold_bars = true }',
            "parameter hold_bars=True is not a whole number",
        ),
        (
            'strategy = "ma_trend"\nparams = { mode = ["cross"] }',
            "parameter mode=['cross'] is not text",
        ),
        (
            'strategy = "swing"\nparams = { active_from = 1600-01-01 }',
            "outside the plausible range",
        ),
        (
            'strategy = ["swing"]',
            "[x] strategy = ['swing'] must be one name in quotes, e.g. strategy = \"swing\"",
        ),
        ('strategy = "swing"\nsizing = 5', "[x] sizing = 5 must be text"),
        ('strategy = "swing"\ndescription = ["a"]', "[x] description must be text"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variant(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "v.toml"
    path.write_text(f"[x]\n{body}\n")
    with pytest.raises(ParamError) as exc:
        load_variants(path, STRATEGIES)
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_good_variant_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[x]\nstrategy = "ma_trend"\nparams = { hold_bars = 5, mode = "cross" }\n')
    (v,) = load_variants(path, STRATEGIES)
    assert (v.name, v.strategy, v.params) == ("x", "ma_trend", {"hold_bars": 5, "mode": "cross"})


@pytest.mark.parametrize("tickers", [None, "CRWV"])
def test_a_signal_variant_runs_with_its_own_sizing(
    tickers: str | None, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A variant of a signal strategy keeps its sizing through the earnings dates filled in
    for standing aside (and --tickers): macd_short_atr risks 1% a trade, not all the cash."""
    import engine.api as bt
    from engine.cli.main import main

    sized = bt.backtest("macd", side="short", atr_stop=2.0, sizing="risk:0.01")
    want = f"{sized.metrics['total_return']:.2%}"
    argv = ["run", "--config", "strategies/variants.toml", "--variant", "macd_short_atr"]
    argv += ["--data-dir", str(data_dir), "--no-files"]
    assert main(argv + (["--tickers", tickers] if tickers else [])) == 0
    assert want in capsys.readouterr().out
