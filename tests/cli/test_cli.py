"""The command line: the main job, its files, and one clear line (exit 2) for each bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main

ROOT = Path(__file__).parents[2]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def broken_csv(tmp_path: Path) -> Path:
    p = tmp_path / "broken.csv"
    p.write_text("date,open,high,low,close,adj_close,volume\n2025-08-18,100,99,98,100,100,1\n")
    return p


BAD_INPUTS = [
    (["run", "--strategy", "swng"], "unknown strategy 'swng' (did you mean 'swing'?)"),
    (["run", "--strategy", "swing", "--param", "stp=80"], "unknown parameter 'stp'"),
    (
        ["run", "--strategy", "swing", "--param", "stop=95"],
        "stop 95 is at or above the lowest tranche",
    ),
    (["run", "--strategy", "ma_trend", "--param", "hold_bars=abc"], "is not a whole number"),
    (["run", "--strategy", "ma_trend", "--param", "fast=80"], "fast"),
    (["run", "--strategy", "swing", "--param", "stop"], "has no '='"),
    (["run", "--start", "2030-01-01"], "no rows between 2030-01-01"),
    (["run", "--strategy", "ma_trend", "--start", "2026-09-01"], "needs at least"),
    (["run", "--start", "yesterday"], "not a date"),
    (["run", "--slippage", "5"], "--slippage 5 is out of range; give a fraction"),
    (["run", "--cash", "-1"], "--cash -1 is out of range; give dollars > 0"),
    (
        ["run", "--config", "strategies/variants.toml", "--variant", "close_stp"],
        "did you mean 'close_stop'",
    ),
    (["compare", "--config", "nope.toml"], "variants file not found"),
    (["run", "--sizing", "half"], "unknown kind 'half'"),
    (["run", "--sizing", "fraction:1.5"], "fraction takes a fraction in (0, 1]"),
    (["run", "--sizing", "shares:2.5"], "shares takes a whole number"),
    (["run", "--sizing", "risk:nan"], "finite number"),
    (["run", "--borrow-fee", "-0.1"], "--borrow-fee -0.1 is out of range; give an annual fraction"),
    (["run", "--borrow-fee", "nan"], "--borrow-fee nan is not a finite number"),
    (["run", "--cash", "abc"], "crwv-bt run: argument --cash: invalid float value: 'abc'"),
    (["run", "--cash", "inf"], "--cash inf is not a finite number"),
    (["run", "--slippage", "nan"], "--slippage nan is not a finite number"),
    (["run", "--commission", "nan"], "--commission nan is not a finite number"),
    (["run", "--commission", "inf"], "--commission inf is not a finite number"),
    (["run", "--commission-max", "nan"], "--commission-max nan is not a finite number"),
    (["run", "--commission-min", "inf"], "--commission-min inf is not a finite number"),
    (["run", "--strategy", "swing", "--param", "stop=nan"], "parameter stop nan is not a finite"),
    (["run", "--strategy", "swing", "--param", "ladder=nan,90,86"], "ladder (item 1) nan"),
    (["run", "--start", "1600-01-01"], "--start 1600-01-01 is outside the plausible range"),
    (["run", "--end", "9999-01-01"], "--end 9999-01-01 is outside the plausible range"),
    (
        ["run", "--strategy", "ma_trend", "--sizing", "risk:0.01"],
        "ma_trend has no stop to measure the risk to",
    ),
    (
        ["compare", "--config", "strategies/variants.toml", "--metric", "sharp"],
        "did you mean 'sharpe'",
    ),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2(
    argv: list[str],
    message: str,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli([*argv, "--data-dir", str(data_dir), "--no-files"], capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in err


def test_broken_csv_and_data_check(broken_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "--csv", str(broken_csv), "--no-files"], capsys)
    assert code == 2 and "high 99 is below max(open, close) 100" in err
    code, out, err = run_cli(["data", "check", str(broken_csv)], capsys)
    assert code == 2 and "high 99 is below" in out
    # the summary of a failed check is an error line like every other failure's
    assert err.splitlines() == [f"error: {broken_csv}: 1 problem(s); fix them before running"]


def test_a_variant_named_like_the_benchmark_does_not_take_its_place(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 8 of issue 14: ``[buy_hold]`` of ma_trend is shown as ``buy_hold (ma_trend)``, and
    the report's benchmark stays buy and hold."""
    variants = tmp_path / "v.toml"
    variants.write_text('[buy_hold]\nstrategy = "ma_trend"\n')
    out = tmp_path / "out"
    argv = ["compare", "--config", str(variants), "--data-dir", str(data_dir), "--out", str(out)]
    code, stdout, err = run_cli([*argv, "--no-plots"], capsys)
    assert code == 0, err
    assert (
        "warning: 'buy_hold' is the buy-and-hold benchmark's name; this run (ma_trend) is shown as 'buy_hold (ma_trend)'"
        in err
    )
    doc = json.loads((out / "metrics.json").read_text())
    assert list(doc["strategies"]) == ["buy_hold (ma_trend)"] and doc["benchmark"] == "buy_hold"
    entry = doc["strategies"]["buy_hold (ma_trend)"]
    assert entry["metrics"]["buy_hold_return"] == pytest.approx(1.0887533, abs=1e-6)
    assert entry["metrics"]["total_return"] < 0  # ma_trend's own -62%, not buy and hold's


def test_data_check_good_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["data", "check", str(data_dir / "CRWV.csv")], capsys)
    assert code == 0 and "386 rows, 2025-03-28 to 2026-10-09" in out


def test_failed_download_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame())
    code, _, err = run_cli(
        ["run", "--ticker", "ZZZZ", "--data-dir", str(tmp_path), "--no-files"], capsys
    )
    assert code == 2 and "download of ZZZZ returned no rows" in err and "--csv FILE" in err
    code, _, err = run_cli(["data", "fetch", "ZZZZ", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and not list(tmp_path.iterdir())


def test_real_process_prints_no_traceback(data_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--strategy",
            "swing",
            "--param",
            "ladr=1",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: unknown parameter 'ladr' for swing (did you mean 'ladder'?); see `crwv-bt strategies`"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()  # nothing written


def test_buy_hold_run_writes_files_and_equity_adds_up(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bh"
    code, stdout, _ = run_cli(
        [
            "run",
            "--strategy",
            "buy_hold",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--no-plots",
        ],
        capsys,
    )
    assert code == 0 and "Final equity" in stdout
    for name in (
        "metrics.json",
        "metrics.csv",
        "trades.csv",
        "fills.csv",
        "equity.csv",
        "report.html",
    ):
        assert (out / name).exists(), name
    doc = json.loads((out / "metrics.json").read_text())
    entry = doc["strategies"]["buy_hold"]
    fills = pd.read_csv(out / "fills.csv")
    last_close = pd.read_csv(data_dir / "CRWV.csv")["close"].iloc[-1]
    cash_left = 100_000 - (fills["value"] + fills["commission"]).sum()
    expected = cash_left + fills["size"].sum() * last_close
    assert round(entry["metrics"]["final_equity"], 2) == round(expected, 2)
    assert fills["date"].iloc[0] == "2025-03-31"  # the IPO day's signal fills at the next open


def test_main_job_runs_every_strategy(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from strategies import STRATEGIES

    out = tmp_path / "all"
    code, stdout, _ = run_cli(
        ["run", "--out", str(out), "--data-dir", str(data_dir), "--no-plots"], capsys
    )
    assert code == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert set(doc["strategies"]) == set(STRATEGIES)
    header = stdout.splitlines()[1]
    assert all(name in header for name in STRATEGIES)


def test_main_job_report_opens_on_the_plan_against_buy_and_hold(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    argv = ["run", "--strategy", "swing", "--out", str(out), "--data-dir", str(data_dir)]
    code, _, _ = run_cli([*argv, "--no-plots"], capsys)
    assert code == 0
    page = (out / "report.html").read_text()
    body = page[page.index("<body>") :]
    assert re.findall(r"<h2>(.*?)</h2>", body)[0] == "Summary"
    card = body[body.index('class="card') : body.index("</dl>")]
    # the dated plan from its own start (2025-08-25): +55.7% against buy & hold's -12.7%
    assert "+55.7%" in card and "-12.7%" in card and "-57.5%" in card and "2025-08-25" in card
    assert body.index("Settings, fill rules and parameters") > body.index("Worst 5 drawdowns")


def test_compare_groups_identical_variants_in_100_columns(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "--config", str(ROOT / "strategies" / "variants.toml"), "--out", str(out)]
    code, stdout, _ = run_cli([*argv, "--data-dir", str(data_dir), "--no-plots"], capsys)
    assert code == 0
    lines = [line for line in stdout.splitlines() if not line.startswith("wrote ")]  # a path
    assert max(len(line) for line in lines) <= 100
    same = ["article_plan", "tight_stop", "close_stop", "breakeven_after_t1", "ladder_30_days"]
    rows = [line for line in stdout.splitlines() if line.startswith("A ")]
    assert sorted(row.split()[1] for row in rows) == sorted(same)
    notice = " ".join(stdout[stdout.index("A: 5 runs traded identically") :].split())
    assert all(name in notice.split("did not change")[0] for name in same)
    assert "did not change a fill: stop, stop_mode, breakeven_after_t1, max_wait_days." in notice
    page = (out / "report.html").read_text()
    assert "5 runs traded identically (same fills, same results)" in page
    assert "Stop on a daily close below $80 (exit at the next open)" in page  # a description
    assert "(stop_mode = close)" in page  # what the variant changes, on its card
    # each variant's full parameter table only folded in the settings, never in the sections
    settings = page.index('<section id="settings">')
    assert "<th>ladder_step_pct</th>" not in page[:settings]
    # an identical variant's section points to the first of its group, its charts not repeated
    assert 'Traded exactly like <a href="#s-article_plan">article_plan</a>' in page
    assert 'id="chart-s-article_plan"' in page and 'id="chart-s-tight_stop"' not in page


def test_strategies_lists_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.params import declared
    from strategies import STRATEGIES

    code, out, _ = run_cli(["strategies"], capsys)
    assert code == 0
    for name, cls in STRATEGIES.items():
        assert name in out
        for key in declared(cls):
            assert f"    {key} " in out


def test_param_applies_to_strategies_that_declare_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "p"
    code, _, _ = run_cli(
        [
            "run",
            "--strategy",
            "ma_trend",
            "--strategy",
            "buy_hold",
            "--param",
            "hold_bars=5",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--no-plots",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["strategies"]["ma_trend"]["params"]["hold_bars"] == 5
