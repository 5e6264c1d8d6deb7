"""``docs/sizing.md`` runs as written, and its worked example is what the engine does."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from engine.backtest.harness import run_backtest
from engine.cli.main import main
from engine.result import Costs
from engine.testing.docs import console_commands
from strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sizing.md"


def test_the_doc_has_examples_of_every_command() -> None:
    used = {shlex.split(c)[1] for c in console_commands(DOC)}
    assert {"run", "sweep", "today"} <= used


@pytest.mark.parametrize("command", console_commands(DOC))
def test_doc_example_runs(
    command: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "strategies").symlink_to(ROOT / "strategies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    assert main(shlex.split(command)[1:]) in (0, 3)  # today: 3 when an order goes out


def test_worked_example(crwv) -> None:  # noqa: ANN001
    """The table of the worked example: 23 / 33 / 55 shares, $983.11 at risk, +$5,683."""
    run = run_backtest(STRATEGIES["swing"], crwv, costs=Costs(sizing="risk:0.01"))
    buys = run.fills[run.fills["side"] == "buy"]
    assert buys["size"].tolist() == [23, 33, 55]
    assert buys["price"].tolist() == [94.0, 90.0, 86.0]
    trade = run.trades.iloc[0]
    assert trade["risk_at_entry"] == pytest.approx(983.11)
    assert trade["pnl"] == pytest.approx(5_683.0)
    assert trade["r_multiple"] == pytest.approx(5.683)
    text = DOC.read_text(encoding="utf-8")
    assert "$983.11" in text and "+$5,683" in text and "+5.68%" in text
    same = run_backtest(STRATEGIES["swing"], crwv, costs=Costs(sizing="risk:0.01:shares"))
    assert same.fills[same.fills["side"] == "buy"]["size"].tolist() == [33, 33, 33]
    assert same.final_equity == pytest.approx(104_955.0)


def test_short_side_table(crwv) -> None:  # noqa: ANN001
    """The short-side table's returns are what the harness gives on CRWV, side by side."""
    text = DOC.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `"): [c.strip() for c in line.split("|")[2:5]]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 5 and "%" in line
    }
    assert set(rows) == {"macd", "ma_trend", "rsi", "confluence"}
    for name, cells in rows.items():
        for side, cell in zip(("long", "short", "both"), cells, strict=True):
            run = run_backtest(STRATEGIES[name], crwv, {"side": side})
            assert cell.startswith(f"{run.final_equity / 1e5 - 1:+.1%}"), (name, side, cell)
