"""engine.regress.run: configurations from the current code, the data window, a fresh baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.data.load import read_price_csv
from engine.errors import ParamError
from engine.regress import baseline, compare
from engine.regress import run as regress_run
from engine.testing.baselines import VARIANTS, write_data_dir
from engine.testing.prices import walk_prices
from strategies import STRATEGIES


def variants_file(tmp_path: Path, text: str = VARIANTS) -> Path:
    p = tmp_path / "variants.toml"
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------------- helpers


def test_walk_prices_is_valid_and_seeded(tmp_path: Path) -> None:
    a, b = walk_prices(50, seed=3), walk_prices(50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(walk_prices(50, seed=4))
    assert (a["high"] >= a[["open", "close"]].max(axis=1)).all()
    assert (a["low"] <= a[["open", "close"]].min(axis=1)).all()
    folder = write_data_dir(tmp_path / "d", n=50, spy=True)
    assert len(read_price_csv(folder / "CRWV.csv")) == 50
    assert (folder / "SPY.csv").exists()


# ------------------------------------------------------------------------- configurations


def test_specs_every_registered_strategy_then_every_variant(tmp_path: Path) -> None:
    specs = regress_run.current_specs(STRATEGIES, variants_file(tmp_path))
    assert [s.label for s in specs] == [*STRATEGIES, "tight_stop", "rsi_mid_exit"]
    assert all(not s.error for s in specs)
    assert specs[-2].overrides == {"stop": 84.0}


RULES = """
[up]
description = "above its 5-day average"
params = { n = 5 }
entry = "close > sma(close, n)"
exit = "close < sma(close, n)"
stop_loss = 0.1
"""


def test_specs_include_the_rules_of_rule_files_and_variants_naming_a_rule(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(RULES, encoding="utf-8")
    text = VARIANTS + '\n[up_slow]\nrules = "mine.toml"\nrule = "up"\nparams = { n = 9 }\n'
    text += '\n[up_gone]\nrules = "mine.toml"\nrule = "upp"\n'
    specs = {
        s.label: s
        for s in regress_run.current_specs(STRATEGIES, variants_file(tmp_path, text), [rules])
    }
    assert list(specs)[len(STRATEGIES)] == "mine:up"  # rules come after the strategies
    assert specs["mine:up"].strategy.startswith("rule:up@") and not specs["mine:up"].error
    assert specs["up_slow"].strategy == specs["mine:up"].strategy
    assert specs["up_slow"].overrides == {"n": 9}
    assert "no rule 'upp' (did you mean 'up'?)" in specs["up_gone"].error


def test_a_changed_rule_moves_its_configuration(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(RULES, encoding="utf-8")
    folder = write_data_dir(tmp_path / "d", n=40)
    window = regress_run.load_window("t", "CRWV", None, None, str(folder), benchmark=False)
    build = lambda: regress_run.build_content(  # noqa: E731
        regress_run.current_specs(
            {"buy_hold": STRATEGIES["buy_hold"]}, variants_file(tmp_path, ""), [rules]
        ),
        {"buy_hold": STRATEGIES["buy_hold"]},
        window,
    )
    old = build()
    assert old["configurations"]["mine:up"]["fills"]
    rules.write_text(RULES.replace("stop_loss = 0.1", "stop_loss = 0.02"), encoding="utf-8")
    new = build()
    cmp = compare.compare(old, new)
    moved = {c.label: c for c in cmp.configs if not c.holds}
    assert not cmp.ok and set(moved) == {"mine:up"}
    assert "strategy" in {row.item for row in moved["mine:up"].rows}  # its ref moved with it


def test_unresolvable_variant_is_an_error_spec_not_a_crash(tmp_path: Path) -> None:
    text = VARIANTS + '\n[renamed]\nstrategy = "swing"\nparams = { stop_price = 80.0 }\n'
    text += (
        '\n[gone]\nstrategy = "no_such"\n\n[bad]\nstrategy = "swing"\nparams = { stop = 200.0 }\n'
    )
    specs = {
        s.label: s for s in regress_run.current_specs(STRATEGIES, variants_file(tmp_path, text))
    }
    assert "unknown parameter 'stop_price'" in specs["renamed"].error
    assert specs["gone"].error == "strategy 'no_such' is not registered"
    assert specs["bad"].error.startswith("parameters do not resolve: swing:")
    assert not specs["tight_stop"].error


def test_variant_named_like_a_strategy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamError, match=r"variant \[swing\] has a strategy's name"):
        regress_run.current_specs(
            STRATEGIES, variants_file(tmp_path, '[swing]\nstrategy = "swing"\n')
        )


def test_unreadable_variants_file(tmp_path: Path) -> None:
    with pytest.raises(ParamError, match="not valid TOML"):
        regress_run.current_specs(STRATEGIES, variants_file(tmp_path, "[x\n"))
    with pytest.raises(ParamError, match="variants file not found"):
        regress_run.current_specs(STRATEGIES, tmp_path / "none.toml")


# ------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    tmp = tmp_path_factory.mktemp("regress_run")
    data = write_data_dir(tmp / "data", spy=True)
    variants = variants_file(tmp)
    window = regress_run.load_window("tiny", "CRWV", None, None, str(data))
    specs = regress_run.current_specs(STRATEGIES, variants)
    return data, variants, regress_run.build_content(specs, STRATEGIES, window)


def test_build_content_shape(synthetic: tuple[Path, Path, dict]) -> None:
    _, _, content = synthetic
    assert baseline.baseline_problem(content) == ""
    ds = content["dataset"]
    assert (ds["name"], ds["ticker"], ds["start"], ds["end"]) == (
        "tiny",
        "CRWV",
        "2025-03-28",
        ds["fingerprint"]["last"],
    )
    assert ds["benchmark"]["ticker"] == "SPY" and len(ds["fingerprint"]["sha256"]) == 64
    assert content["settings"]["cash"] == 100_000.0 and content["settings"]["slippage"] == 0.0005
    assert list(content["configurations"]) == [*STRATEGIES, "tight_stop", "rsi_mid_exit"]
    swing = content["configurations"]["tight_stop"]
    assert swing["strategy"] == "swing" and swing["params"]["stop"] == 84.0
    assert swing["params"]["ladder"] == [94.0, 90.0, 86.0]  # tuples become lists
    bh = content["configurations"]["buy_hold"]
    assert len(bh["fills"]) == 1 and bh["fills"][0][:2] == ["2025-03-31", "buy"]
    assert bh["metrics"]["bars"] == 260 and bh["metrics"]["n_open"] == 1


def test_build_content_is_deterministic(synthetic: tuple[Path, Path, dict]) -> None:
    data, variants, content = synthetic
    window = regress_run.load_window("tiny", "CRWV", None, None, str(data))
    again = regress_run.build_content(
        regress_run.current_specs(STRATEGIES, variants), STRATEGIES, window
    )
    assert baseline.dumps(again) == baseline.dumps(content)
    assert compare.compare(content, again).ok
    assert str(data) not in baseline.dumps(content)  # no paths inside the compared content


def test_too_short_data_is_an_error_row(synthetic: tuple[Path, Path, dict], tmp_path: Path) -> None:
    data = write_data_dir(tmp_path / "short", n=40)
    window = regress_run.load_window("tiny", "CRWV", None, None, str(data), benchmark=False)
    content = regress_run.build_content(
        regress_run.current_specs(STRATEGIES, synthetic[1]), STRATEGIES, window
    )
    assert content["configurations"]["ma_trend"]["error"].startswith("needs ")
    assert "error" not in content["configurations"]["swing"]


def test_check_data_passes_and_mismatch_is_exit_2(
    synthetic: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    data, _, content = synthetic
    window = regress_run.load_window(
        "tiny", "CRWV", content["dataset"]["start"], content["dataset"]["end"], str(data)
    )
    regress_run.check_data(content, window)
    other = write_data_dir(tmp_path / "other", seed=8, spy=True)
    with pytest.raises(
        baseline.BaselineError,
        match=r"^CRWV data differs from the baseline's \(sha256 \w{12} vs \w{12}\); if the data change is intended run `crwv-bt regress --update`$",
    ) as info:
        regress_run.check_data(
            content, regress_run.load_window("tiny", "CRWV", None, None, str(other))
        )
    assert info.value.exit_code == 2


def test_missing_data_is_exit_2(tmp_path: Path) -> None:
    with pytest.raises(
        baseline.BaselineError, match="cannot run the check: no price file for CRWV"
    ):
        regress_run.load_window("tiny", "CRWV", None, None, str(tmp_path))
    write_data_dir(tmp_path)
    assert regress_run.load_window("tiny", "CRWV", None, None, str(tmp_path)).benchmark is None
    with pytest.raises(
        baseline.BaselineError,
        match="the baseline uses the SPY benchmark, but no price file for SPY",
    ):
        regress_run.load_window("tiny", "CRWV", None, None, str(tmp_path), benchmark=True)
