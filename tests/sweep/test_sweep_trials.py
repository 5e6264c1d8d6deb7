"""Trials counted right: unused parameters, distinct results, ties once; the heatmap pair; the
store's typed columns, its upgrade from schema 1 and the record of finished sweeps."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.deflated_sharpe import per_period_sharpe
from engine.analysis.metrics import METRIC_KEYS
from engine.cli.main import main
from engine.errors import UserError
from engine.sweep.selection import (
    Trials,
    param_importance,
    pick_heatmap_axes,
    trial_structure,
    unused_params,
)
from engine.sweep.store import APPLICATION_ID, SCHEMA_VERSION, SweepStore

SWING = [
    "sweep",
    "--strategy",
    "swing",
    "--grid",
    "stop=70:85:1",
    "--grid",
    "ladder=94,90,86|95,91,87|92,88,84|100,95,90",
    "--grid",
    "targets=130,150|120,140|140,170",
    "--metric",
    "total_return",
    "--jobs",
    "1",
    "--no-progress",
    "--pbo-splits",
    "4",
]
SMALL_SWING = [
    "sweep",
    "--strategy",
    "swing",
    "--grid",
    "stop=70,80",
    "--grid",
    "ladder=94,90,86|95,91,87",
    "--no-progress",
    "--pbo-splits",
    "4",
]


def test_unused_parameter_is_found_and_a_used_one_is_not() -> None:
    fast = np.repeat([5, 10, 15], 4)
    hold = np.tile([1, 2, 3, 4], 3)
    result = fast * 100  # depends on fast only
    assert unused_params({"fast": fast, "hold": hold}, result) == ["hold"]
    result2 = result.copy()
    result2[5] += 1  # hold matters for one value of fast: no longer unused
    assert unused_params({"fast": fast, "hold": hold}, result2) == []


def test_importance_is_the_share_of_variance_of_the_marginal_means() -> None:
    a = np.repeat([0, 1], 50)
    b = np.tile(np.arange(50), 2)
    values = a * 10.0 + (b % 2) * 0.1
    imp = param_importance({"a": a, "b": b}, values)
    assert imp["a"] > 0.99 and imp["b"] < 0.01
    total = np.var(values) * len(values)
    means = np.array([values[a == k].mean() for k in (0, 1)])
    assert imp["a"] == pytest.approx(50 * np.sum((means - values.mean()) ** 2) / total)


def test_trial_structure_counts_distinct_results_and_numeric_params() -> None:
    stop = np.repeat([70, 71, 72], 2)
    ladder = np.array(["94,90", "95,91"] * 3, dtype=object)
    result = np.array([1, 2, 1, 2, 3, 2])
    t = trial_structure({"stop": stop, "ladder": ladder}, result, result.astype(float))
    assert (t.combinations, t.distinct) == (6, 3)
    assert t.numeric == {"stop": True, "ladder": False}


def test_trial_structure_factorises_once_with_the_same_numbers() -> None:
    # trial_structure factorises each column once and renumbers the codes of the rows with a
    # metric (NaN rows left out) instead of hashing them again: the same importance, to the bit
    rng = np.random.default_rng(7)
    fast = rng.integers(2, 40, 3_000)
    mode = rng.choice(np.array(["cross", "reclaim", "touch"], dtype=object), 3_000)
    result = fast * 3 + (mode == "cross")
    values = rng.normal(size=3_000)
    values[rng.random(3_000) < 0.2] = np.nan  # no trades: no Sharpe ratio
    values[mode == "touch"] = np.nan  # a value that only NaN rows hold
    params = {"fast": fast, "mode": mode}
    t = trial_structure(params, result, values)
    assert t.importance == param_importance(params, values)  # codes hashed per column
    assert t.unused == unused_params(params, result) == []
    assert t.distinct == len(np.unique(result))


def test_heatmap_pair_is_the_two_that_explain_most() -> None:
    t = Trials(10, 10, [], {"a": 0.01, "b": 0.6, "c": 0.3}, {"a": True, "b": False, "c": True})
    assert pick_heatmap_axes(None, ["a", "b", "c"], ["a", "b", "c"], t) == ("b", "c")
    assert pick_heatmap_axes(None, ["a", "b", "c"], ["a", "b", "c"]) == ("a", "b")
    assert pick_heatmap_axes("c,a", ["a", "b", "c"], ["a", "b", "c"], t) == ("c", "a")


def _schema1_store(path: Path) -> np.ndarray:
    """A store as version 1 wrote it: JSON parameters only, no result / sr columns."""
    returns = np.random.default_rng(1).normal(0, 0.02, 9).astype("<f4")
    conn = sqlite3.connect(path)
    metric_cols = ", ".join(f'"{k}"' for k in METRIC_KEYS)
    conn.execute(
        "CREATE TABLE runs (key TEXT NOT NULL UNIQUE, strategy TEXT NOT NULL, params TEXT NOT "
        "NULL, engine TEXT NOT NULL, ticker TEXT NOT NULL, data_start TEXT NOT NULL, data_end "
        "TEXT NOT NULL, data_bars INTEGER NOT NULL, data_sha TEXT NOT NULL, settings TEXT NOT "
        f"NULL, code_version TEXT NOT NULL, created_at TEXT NOT NULL, returns BLOB NOT NULL, {metric_cols})"
    )
    for i, fast in enumerate((5, 10)):
        params = json.dumps({"fast": fast, "ladder": [94.0, 90.0], "on": True}, sort_keys=True)
        conn.execute(
            "INSERT INTO runs (key, strategy, params, engine, ticker, data_start, data_end, "
            "data_bars, data_sha, settings, code_version, created_at, returns, n_trades, sharpe) "
            "VALUES (?, 'ma_trend', ?, 'fast', 'CRWV', 'a', 'b', 10, 's', '{}', 'v1', 't', ?, 3, ?)",
            (f"k{i}", params, returns.tobytes(), 1.0 + i),
        )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    return returns


def test_a_schema_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    returns = _schema1_store(path)
    with SweepStore(path) as store:
        rows = store.conn.execute(
            "SELECT p_fast, p_ladder, p_on, result, sr FROM runs ORDER BY rowid"
        ).fetchall()
        assert [r[:3] for r in rows] == [(5, "94,90", 1), (10, "94,90", 1)]
        assert rows[0][3] == rows[1][3] != 0  # same returns and trades: the same result
        want = per_period_sharpe(np.asarray(returns, dtype=float)[:, None])[0]
        assert rows[0][4] == want
        assert store.done_keys(["k0", "x"]) == {"k0"}
        np.testing.assert_array_equal(store.returns_matrix(["k1"])[:, 0], returns)  # inline
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID  # now marked
    conn.close()


def test_a_newer_store_gets_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")  # ours, from a newer version
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="written by a newer crwv-backtest"):
        SweepStore(path)


@pytest.fixture()
def workdir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    return tmp_path


def test_swing_list_parameters_draw_a_real_heatmap_and_ties_show_once(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SWING, "--out", "out", "--heatmap", "stop,targets"]) == 0
    captured = capsys.readouterr()
    assert "identical low and high" not in captured.err + captured.out
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    top = summary["top"]
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in top}) == len(top)  # no repeats
    assert summary["overfit"]["n_trials"] < summary["combinations"] == 186
    assert summary["trials"]["distinct_results"] == summary["overfit"]["n_trials"]
    assert "same" in captured.out and "warning: ties:" in captured.out
    assert (
        "rerun the chosen combination: crwv-bt run --strategy swing --param stop=" in captured.out
    )
    # the heatmap's table has cells: rebuild it from the store as the command did
    from engine.sweep.selection import view_heatmap
    from engine.sweep.store_view import SweepView

    with SweepStore(workdir / "results" / "sweeps.sqlite") as store:
        (sweep,) = [r[0] for r in store.conn.execute("SELECT id FROM sweeps")]
        with SweepView(store, sweep=sweep) as view:
            from engine.sweep.selection import summarise_view

            s = summarise_view(
                view, None, "total_return", grid_keys=["stop", "ladder", "targets"], bars=386
            )
            table = view_heatmap(s, "stop", "targets", "best", ["stop", "ladder", "targets"])
    assert table.shape == (3, 16) and np.isfinite(table.to_numpy(dtype=float)).all()
    assert (workdir / "out" / "heatmap_stop_targets.png").stat().st_size > 10_000
    html = (workdir / "out" / "sweep.html").read_text()
    assert "Deflated Sharpe Ratio" in html and "crwv-bt run --strategy swing" in html


def test_unused_parameter_is_named_and_resume_reads_the_record(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [
        "sweep",
        "--strategy",
        "ma_trend",
        "--grid",
        "mode=cross",
        "--grid",
        "fast=5,10",
        "--grid",
        "slow=40,60",
        "--grid",
        "hold_bars=1:4:1",
        "--jobs",
        "1",
        "--no-progress",
        "--pbo-splits",
        "4",
        "--no-files",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "warning: hold_bars changes nothing in this sweep" in out
    assert "N=4 worthless trials (16 combinations)" in out

    from engine.sweep import grid

    def no_walk(self):  # noqa: ANN001, ANN202
        raise AssertionError("the grid was walked again")

    monkeypatch.setattr(grid.GridStream, "scan", no_walk)
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert "stored 0 new row(s); 16 were already in the store" in again
    assert again.split("stored")[1] == out.split("stored")[1].replace(
        "16 new row(s); 0 were", "0 new row(s); 16 were"
    )


def test_run_from_sweep_reruns_the_winner(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SMALL_SWING, "--jobs", "1", "--out", "sw", "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["run", "--from-sweep", "sw", "--no-files"]) == 0
    out = capsys.readouterr().out
    chosen = json.loads((workdir / "sw" / "summary.json").read_text())["chosen"]["metrics"]
    assert out.startswith("crwv-bt run --strategy swing --param stop=")
    assert f"{chosen['total_return']:.2%}" in out
    assert main(["run", "--from-sweep", "nowhere", "--no-files"]) == 2


def test_sweep_html_opens_offline(workdir: Path, browser) -> None:  # noqa: ANN001
    assert main([*SMALL_SWING, "--jobs", "1", "--out", "sw"]) == 0
    log = browser.open((workdir / "sw" / "sweep.html").as_uri())
    assert browser.wait_for("document.readyState === 'complete'")
    browser.evaluate("1")
    assert log.errors == [] and log.outside_requests == []
    assert browser.evaluate("document.images.length") >= 2
    assert browser.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
    assert pd.notna(browser.evaluate("document.querySelector('h1').textContent"))


def test_batched_keys_equal_the_definition() -> None:
    from engine.result import Costs
    from engine.sweep.tasks import Job, _combo_key_reference, combo_keys

    job = Job(
        "swing",
        "fast",
        (0, 10),
        Costs(),
        100_000.0,
        False,
        {},
        {"sha": "abc+def"},
        {"cash": 100_000.0, "costs": {"slippage": 0.0005}, "fractional": False},
    )
    params = [
        {"stop": 70, "ladder": (94.0, 90.0), "note": 'a "q" é', "on": True, "x": 0.1},
        {"fast": 5, "slow": 40, "mode": "cross"},
    ]
    assert combo_keys(job, params) == [_combo_key_reference(job, p) for p in params]


def test_returns_live_outside_the_rows_once_per_result(tmp_path: Path) -> None:
    from engine.sweep.store import Row

    def row(key: str, seed: int) -> Row:
        metrics = dict.fromkeys(METRIC_KEYS, 1.0) | {"n_trades": 2}
        returns = np.random.default_rng(seed).normal(0, 0.01, 7).astype(np.float32)
        data = {"start": "a", "end": "b", "bars": 8, "sha": "s"}
        return Row(key, "ma_trend", {"fast": seed}, "fast", "CRWV", data, {}, metrics, returns)

    with SweepStore(tmp_path / "s.sqlite") as store:
        assert store.add([row("a", 1), row("b", 1), row("c", 2)]) == 3
        assert store.conn.execute("SELECT COUNT(*) FROM run_returns").fetchone()[0] == 2
        assert {r[0] for r in store.conn.execute("SELECT length(returns) FROM runs")} == {0}
        m = store.returns_matrix(["c", "a", "b"])
        runs = [r[0] for r in store.conn.execute("SELECT rowid FROM runs ORDER BY key")]
        np.testing.assert_array_equal(store.returns_by_run(runs[::-1]), m)
        np.testing.assert_array_equal(m[:, 1], row("a", 1).returns)
        np.testing.assert_array_equal(m[:, 0], row("c", 2).returns)
