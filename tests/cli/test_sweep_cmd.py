"""``crwv-bt sweep`` / ``sweep export`` / ``walkforward``: outputs, files, one-line errors, docs."""

from __future__ import annotations

import json
import re
import shlex
import threading
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import main
from engine.folders import MANIFEST

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sweeps.md"
SMALL = [
    "--strategy",
    "ma_trend",
    "--grid",
    "mode=cross",
    "--grid",
    "fast=5,10",
    "--grid",
    "slow=20,40",
]


@pytest.fixture()
def workdir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    return tmp_path


def test_sweep_prints_ranking_overfitting_and_warnings_and_writes_files(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", *SMALL, "--jobs", "1", "--out", "out", "--pbo-splits", "8"]) == 0
    out = capsys.readouterr().out
    assert "4 combinations" in out and "stored 4 new row(s); 0 were already in the store" in out
    assert "top 4 of 4 by sharpe (higher is better):" in out
    assert "Deflated Sharpe Ratio of the chosen combination:" in out
    assert "Probability of Backtest Overfitting (CSCV, S=8 blocks" in out
    assert "warning: short window: 386 bars" in out
    names = {p.name for p in (workdir / "out").iterdir()}
    heatmaps = {n for n in names if n.startswith("heatmap_")}
    assert heatmaps in ({"heatmap_fast_slow.png"}, {"heatmap_slow_fast.png"})
    assert names - heatmaps == {
        MANIFEST,
        "sweep.csv",
        "sweep.parquet",
        "summary.json",
        "overfit.json",
        "distribution_sharpe.png",
        "overfit.png",
        "sweep.html",
    }
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    assert summary["combinations"] == 4 and summary["overfit"]["n_trials"] == 4
    assert (
        0 <= summary["overfit"]["deflated_sharpe"]["dsr"] <= 1
        and 0 <= summary["overfit"]["pbo"]["pbo"] <= 1
    )
    rows = pd.read_csv(workdir / "out" / "sweep.csv")
    assert list(rows["rank"]) == [1, 2, 3, 4] and rows["sharpe"].is_monotonic_decreasing
    assert (workdir / "results" / "sweeps.sqlite").exists()

    assert main(["sweep", *SMALL, "--jobs", "1", "--no-files"]) == 0  # the same command again
    assert "stored 0 new row(s); 4 were already in the store" in capsys.readouterr().out

    assert main(["sweep", "export", "--out", "rows.parquet", "--strategy", "ma_trend"]) == 0
    assert len(pd.read_parquet(workdir / "rows.parquet")) == 4


def test_boolean_grid_parameter_writes_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # regression: numpy booleans in the chosen row broke summary.json
    argv = [
        "sweep",
        "--strategy",
        "macd",
        "--grid",
        "above_zero=true,false",
        "--engine",
        "backtrader",
    ]
    assert main([*argv, "--jobs", "1", "--out", "out", "--no-plots", "--pbo-splits", "4"]) == 0
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    assert summary["combinations"] == 2
    assert summary["chosen"]["params"]["above_zero"] in (True, False)


def test_walkforward_prints_and_writes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["walkforward", *SMALL, "--train", "250", "--test", "60", "--jobs", "1", "--out", "wf"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "walk-forward (rolling; train 250 bars, test 60 bars, 3 folds; winner by sharpe):" in out
    assert "in sample:" in out and "out of sample:" in out
    assert {p.name for p in (workdir / "wf").iterdir()} == {
        MANIFEST,
        "walkforward_folds.csv",
        "walkforward_equity.csv",
        "walkforward.json",
        "walkforward.png",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--grid", "fast=5"], "give --strategy NAME"),
        (["sweep", "--strategy", "ma_trend"], "give at least one --grid"),
        (
            ["sweep", "--strategy", "ma_trnd", "--grid", "fast=5"],
            "unknown strategy 'ma_trnd' (did you mean 'ma_trend'?)",
        ),
        (
            ["sweep", "--strategy", "ma_trend", "--grid", "fsat=5"],
            "unknown grid key 'fsat' for ma_trend (did you mean 'fast'?)",
        ),
        (["sweep", "--strategy", "ma_trend", "--grid", "fast=5:1:1"], "stop 1 is below start 5"),
        (
            ["sweep", "--strategy", "ma_trend", "--grid", "fast=5", "--constraint", "open('x')"],
            "is not a condition",
        ),
        (["sweep", *SMALL, "--random", "9"], "--random 9 exceeds the 4 valid combinations"),
        (["sweep", *SMALL, "--constraint", "fast > slow"], "no combination left to run out of 4"),
        (["sweep", *SMALL, "--metric", "sharp"], "unknown metric 'sharp' (did you mean 'sharpe'?)"),
        (["sweep", *SMALL, "--heatmap", "fast,hold_bars"], "'hold_bars' is not a grid key"),
        (["sweep", *SMALL, "--scheduler", "tcp://x:8786"], "--scheduler needs --backend dask"),
        (["sweep", *SMALL, "--engine", "fats"], "unknown engine 'fats'"),
        (["sweep", *SMALL, "--jobs", "0"], "--jobs 0 must be at least 1"),
        (["sweep", *SMALL, "--min-trades", "-1"], "--min-trades -1 must be a whole number >= 0"),
        (
            ["walkforward", *SMALL, "--train", "200", "--test", "60", "--min-trades", "-1"],
            "--min-trades -1 must be a whole number >= 0",
        ),
        (["walkforward", *SMALL, "--train", "383", "--test", "60"], "do not fit in 386 bars"),
        (
            ["sweep", "export", "--store", "nowhere.sqlite", "--out", "x.csv"],
            "no sweep store there",
        ),
    ],
)
def test_user_errors_are_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], err


def _doc_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOCS.read_text(), flags=re.S)
    return [
        line
        for block in blocks
        for line in block.strip().splitlines()
        if line.startswith("crwv-bt ")
    ]


def test_docs_examples_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commands = _doc_commands()
    assert len(commands) >= 8
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[0] != "sweep" or argv[1] != "export":
            argv += ["--no-progress"]
        assert main(argv) == 0, command
    out = capsys.readouterr().out
    assert "wrote 8 files to results/ma-cross/ (open sweep.html)" in out
    assert "(anchored; train 150 bars, test 60 bars, 4 folds" in out
    assert (workdir / "results" / "ma-exit" / "heatmap_fast_slow.png").exists()
    exported = pd.read_parquet(workdir / "results" / "ma.parquet")
    assert (
        len(exported)
        == len(pd.read_csv(workdir / "results" / "all.csv"))
        == exported["key"].nunique()
        > 0
    )


def test_the_rerun_line_keeps_the_sizing_and_the_borrow_fee(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep of MACD's side and ATR stop under risk:0.01 and a borrow fee: the winner's rerun
    line carries both, and rerunning it gives the sweep's figure."""
    argv = ["sweep", "--strategy", "macd", "--grid", "side=short,both", "--grid", "atr_stop=2"]
    argv += ["--sizing", "risk:0.01", "--borrow-fee", "0.03", "--metric", "total_return"]
    assert main([*argv, "--no-files", "--no-progress", "--store", "s.sqlite"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("rerun the chosen combination: "))
    assert line.endswith("--param atr_stop=2 --sizing risk:0.01 --borrow-fee 0.03"), line
    best = next(x for x in out.splitlines() if x.strip().startswith("1 "))
    rerun = shlex.split(line.split(": ", 1)[1])[1:]
    assert main([*rerun, "--no-files"]) == 0
    ret = float(best.split()[3].rstrip("%"))
    assert f"{ret:.2f}%" in capsys.readouterr().out


def test_the_cli_and_the_api_run_one_path(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``crwv-bt sweep`` and ``engine.api.sweep`` go through ``ranked_sweep``: a grid the API
    ran into a store is the CLI's finished sweep (found, not walked or run again), ranked the
    same; an option both check fails with the CLI's spelling in one and the API's in the
    other."""
    import sqlite3

    import engine.api as bt
    from engine.errors import ParamError

    def recorded() -> list[tuple[int]]:
        with sqlite3.connect("one.sqlite") as conn:
            return conn.execute("SELECT id FROM sweeps").fetchall()

    sw = bt.sweep(
        "ma_trend",
        grid={"mode": "cross", "fast": [5, 10], "slow": [20, 40]},
        store="one.sqlite",
        jobs=1,
    )
    assert len(recorded()) == 1  # the API records the finished grid, as the CLI does
    assert main(["sweep", *SMALL, "--jobs", "1", "--store", "one.sqlite", "--no-files"]) == 0
    out = capsys.readouterr().out
    assert "stored 0 new row(s); 4 were already in the store" in out
    assert len(recorded()) == 1  # the same spec: found, not recorded twice
    best = sw.frame.iloc[0]
    assert f"--param fast={best['fast']} --param slow={best['slow']}" in out
    with pytest.raises(ParamError, match=r"^jobs=0 must be a whole number"):
        bt.sweep("ma_trend", grid={"fast": [5]}, jobs=0)
    assert main(["sweep", *SMALL, "--jobs", "0", "--no-files"]) == 2
    assert "--jobs 0 must be at least 1" in capsys.readouterr().err


def test_a_grid_partly_stored_before_is_recorded_and_found_next_time(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid whose rows are partly in the store (an earlier, smaller grid) runs the rest and is
    recorded from its keys (not from a range of new rowids); the same command again finds it."""
    import sqlite3

    def recorded() -> int:
        with sqlite3.connect("s.sqlite") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0])

    base = ["sweep", "--strategy", "ma_trend", "--grid", "mode=cross", "--grid", "slow=20,40"]
    opts = ["--jobs", "1", "--store", "s.sqlite", "--no-files", "--no-progress"]
    assert main([*base, "--grid", "fast=5", *opts]) == 0
    assert recorded() == 1
    assert main([*base, "--grid", "fast=5,10", *opts]) == 0
    assert "stored 2 new row(s); 2 were already in the store" in capsys.readouterr().out
    assert recorded() == 2
    found = {"walked": False}
    import engine.sweep.grid as grid_mod

    scan = grid_mod.GridStream.scan

    def watch(self: grid_mod.GridStream) -> None:
        found["walked"] = True
        scan(self)

    monkeypatch.setattr(grid_mod.GridStream, "scan", watch)
    assert main([*base, "--grid", "fast=5,10", *opts]) == 0
    assert "stored 0 new row(s); 4 were already in the store" in capsys.readouterr().out
    assert not found["walked"] and recorded() == 2


def test_a_damaged_store_is_refused_on_resume_before_anything_is_shown(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    argv = ["sweep", *SMALL, "--jobs", "1", "--store", "s.sqlite", "--no-files", "--no-progress"]
    assert main(argv) == 0
    with sqlite3.connect("s.sqlite") as conn:  # one stored returns blob cut short
        conn.execute(
            "UPDATE run_returns SET returns = substr(returns, 1, 13) WHERE rowid = "
            "(SELECT MIN(rowid) FROM run_returns)"
        )
    conn.close()
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in workdir.glob("s.sqlite*")}
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # not the describe line, not a ranking
    lines = [x for x in err.strip().splitlines() if not x.startswith("warning: ")]  # (data age)
    assert len(lines) == 1 and lines[0].startswith("error: s.sqlite: damaged (the stored"), err
    assert "left as it was" in lines[0]
    assert {p.name: p.read_bytes() for p in workdir.glob("s.sqlite*")} == before


@pytest.mark.parametrize("full", [False, True])
def test_a_large_sweep_gets_its_best_rows_in_the_csv_and_every_row_in_the_parquet(
    full: bool,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past ``FULL_CSV_MAX`` combinations ``sweep.csv`` holds the best ``CSV_TOP`` rows (written
    beside the Parquet's thread) and ``sweep.parquet`` all of them, in the same order; with
    ``--full-csv`` both hold every row."""
    import engine.cli.sweep_run as sweep_run
    import engine.sweep.outputs as outputs

    for mod in (outputs, sweep_run):
        monkeypatch.setattr(mod, "FULL_CSV_MAX", 5)
        monkeypatch.setattr(mod, "CSV_TOP", 4)
    threads: dict[str, str] = {}
    export = outputs._export_view

    def watch(summary: object, paths: list[Path], limit: int | None = None) -> list[Path]:
        threads[" ".join(sorted(p.name for p in paths))] = threading.current_thread().name
        return export(summary, paths, limit)  # type: ignore[arg-type]

    monkeypatch.setattr(outputs, "_export_view", watch)
    args = ["sweep", "--strategy", "ma_trend", "--engine", "fast", "--grid", "mode=cross"]
    args += ["--grid", "fast=5,10,15,20", "--grid", "slow=30,40,50", "--jobs", "1"]
    args += ["--store", "s.sqlite", "--out", "out", "--no-progress", "--pbo-splits", "4"]
    assert main(args + (["--full-csv"] if full else [])) == 0
    out = capsys.readouterr().out
    csv = pd.read_csv(workdir / "out" / "sweep.csv")
    parquet = pd.read_parquet(workdir / "out" / "sweep.parquet")
    assert len(parquet) == 12 and parquet["rank"].tolist() == list(range(1, 13))
    assert len(csv) == (12 if full else 4)
    assert ("sweep.csv holds the best 4 of 12 rows" in out) is not full
    assert list(csv.columns) == list(parquet.columns)
    if full:  # one pass writes both, on the export thread
        assert threads == {"sweep.csv sweep.parquet": "sweep-export_0"}
    else:  # the whole ranking on the export thread, the best rows on this one
        assert threads == {"sweep.parquet": "sweep-export_0", "sweep.csv": "MainThread"}
    cols = ["rank", "fast", "slow", "sharpe", "total_return", "n_trades", "result", "key"]
    head = parquet.head(len(csv)).reset_index(drop=True)
    pd.testing.assert_frame_equal(csv[cols], head[cols], check_dtype=False)
