"""crwv-bt run/compare --monte-carlo and --tickers through the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main


def test_run_monte_carlo_prints_bands(data_dir: Path, capsys) -> None:  # noqa: ANN001
    args = ["run", "--strategy", "macd", "--data-dir", str(data_dir), "--no-files"]
    assert main([*args, "--monte-carlo", "200", "--mc-seed", "1", "--mc-replays", "50"]) == 0
    out = capsys.readouterr().out
    assert "Monte Carlo: macd" in out and "block bootstrap" in out and "execution noise" in out
    assert "     50  " in out  # the replays are capped
    main([*args, "--monte-carlo", "200", "--mc-seed", "1", "--mc-replays", "50"])
    assert capsys.readouterr().out == out  # seeded: the same table again


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--monte-carlo", "-5"], "positive"),
        (["--monte-carlo", "10", "--mc-shift", "x"], "LOW:HIGH"),
        (["--monte-carlo", "10", "--mc-slippage", "0:0.5"], "slippage"),
        (["--monte-carlo", "10", "--mc-drawdown", "25"], "fraction"),
        (["--tickers", " , "], "--tickers"),
        (["--tickers", "CRWV", "--csv", "x.csv"], "drop --csv"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, extra: list[str], match: str) -> None:  # noqa: ANN001
    assert main(["run", "--strategy", "buy_hold", "--no-files", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and "Traceback" not in err


def test_tickers_table_and_files(data_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "tk"
    args = ["run", "--strategy", "swing", "--strategy", "macd", "--tickers", "CRWV,NVDA"]
    assert main([*args, "--data-dir", str(data_dir), "--out", str(out), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "CRWV 2025-03-28 to 2026-10-09" in text and "NVDA" in text and "median" in text
    table = pd.read_csv(out / "robustness.csv", index_col=[0, 1])
    assert list(table.columns) == ["CRWV", "NVDA", "median"]
    assert (out / "CRWV" / "report.html").exists() and (out / "NVDA" / "metrics.json").exists()
    page = (out / "report.html").read_text()
    assert "Do the rules travel?" in page and 'href="NVDA/report.html"' in page
    swing = table.loc[("total_return", "swing")]
    assert swing["median"] == pytest.approx((swing["CRWV"] + swing["NVDA"]) / 2)
