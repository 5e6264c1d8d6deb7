"""One sweep grid on several tickers (engine.sweep.tickers, crwv-bt sweep --tickers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main
from engine.sweep.tickers import across_tickers


def test_across_tickers_by_hand() -> None:
    a = pd.DataFrame({"fast": [5, 10, 20], "sharpe": [1.0, 0.2, -0.5]})
    b = pd.DataFrame({"fast": [5, 10], "sharpe": [-1.0, 0.6]})  # fast=20 refused here
    t = across_tickers({"AAA": a, "BBB": b}, ["fast"], "sharpe")
    assert t["fast"].tolist() == ["10", "5", "20"]  # medians 0.4, 0.0, -0.5
    assert t["median"].tolist() == pytest.approx([0.4, 0.0, -0.5])
    assert t["n"].tolist() == [2, 2, 1] and t.index.tolist() == [1, 2, 3]
    low = across_tickers({"AAA": a, "BBB": b}, ["fast"], "sharpe", ascending=True, top=1)
    assert low["fast"].tolist() == ["5"]  # fast=20's -0.5 is over one ticker: it ranks last


def test_a_median_over_fewer_tickers_ranks_after_the_robust_ones() -> None:
    """A combination with a value on one ticker only (refused, or NaN: no trade) never
    outranks one measured on every ticker, whatever its median."""
    a = pd.DataFrame({"fast": [5, 10, 20], "sharpe": [1.0, 0.2, 3.0]})
    b = pd.DataFrame({"fast": [5, 10, 20], "sharpe": [-1.0, 0.6, float("nan")]})
    t = across_tickers({"AAA": a, "BBB": b}, ["fast"], "sharpe")
    assert t["fast"].tolist() == ["10", "5", "20"] and t["n"].tolist() == [2, 2, 1]


def test_sweep_tickers_command(data_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "sw"
    args = ["sweep", "--strategy", "ma_trend", "--grid", "slow=40,60", "--grid", "hold_bars=1,3"]
    args += ["--tickers", "CRWV,NVDA", "--metric", "sharpe", "--data-dir", str(data_dir)]
    args += [
        "--store",
        str(tmp_path / "s.sqlite"),
        "--out",
        str(out),
        "--no-progress",
        "--no-plots",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "== CRWV" in text and "== NVDA" in text and "best median first" in text
    table = pd.read_csv(out / "robustness.csv", index_col="rank")
    assert len(table) == 4 and list(table.columns[-4:]) == ["CRWV", "NVDA", "median", "n"]
    assert (out / "CRWV").is_dir() and (out / "NVDA").is_dir()
    first = table.iloc[0]
    assert first["median"] == pytest.approx((first["CRWV"] + first["NVDA"]) / 2)
