"""Sweeps on real CRWV history: exact agreement with single runs, resume, Dask = local, engines."""

from __future__ import annotations

import gc
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS, compute_metrics
from engine.analysis.pbo import pbo as cscv_pbo
from engine.backtest import bt_compat
from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.jobs.runner import load_benchmark
from engine.result import Costs
from engine.sweep import engines
from engine.sweep import run as sweep_run
from engine.sweep.run import SweepInterrupted, run_sweep, run_sweep_stream
from engine.sweep.selection import (
    heatmap_table,
    overfit_stats,
    overfit_streamed,
    pbo_sample,
    summarise,
)
from engine.sweep.store import SweepStore
from engine.sweep.tasks import Job, SweepData, combo_key, make_job
from strategies import STRATEGIES

GRID = [
    {"fast": f, "slow": s, "hold_bars": 3, "mode": "cross", "exit_on": "slow"}
    for f in (5, 10)
    for s in (20, 40)
] + [{"fast": 20, "slow": 50, "hold_bars": 2, "mode": "reclaim", "exit_on": "fast"}]


@pytest.fixture(scope="module")
def data(crwv: pd.DataFrame, data_dir: Path) -> SweepData:
    return SweepData(crwv, "CRWV", load_benchmark(str(data_dir), crwv))


def job_for(data: SweepData, **kw) -> Job:  # noqa: ANN003
    return make_job(data, "ma_trend", costs=kw.pop("costs", Costs()), cash=100_000.0, **kw)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_a_sweep_row_equals_a_single_run_exactly(tmp_path: Path, data: SweepData) -> None:
    job = job_for(data)
    with SweepStore(tmp_path / "s.sqlite") as store:
        run = run_sweep(store, data, [(job, GRID)], jobs=2, chunk_size=2, progress=False)
        frame = store.frame(run.keys[0])
        matrix = store.returns_matrix(run.keys[0])
    bh = run_backtest(STRATEGIES["buy_hold"], data.prices, name="buy_hold")
    for i, params in enumerate(GRID):
        single = run_backtest(STRATEGIES["ma_trend"], data.prices, params)
        want = compute_metrics(
            single.equity,
            single.trades,
            position=single.position,
            buy_hold=bh.equity,
            benchmark=data.benchmark,
        )
        row = frame.iloc[i]
        for key in METRIC_KEYS:
            assert same(row[key], want[key]), (params, key, row[key], want[key])
        expected = (single.equity.pct_change().iloc[1:]).to_numpy().astype(np.float32)
        np.testing.assert_array_equal(matrix[:, i], expected)
    assert not pd.isna(frame["beta"]).all(), "the SPY benchmark reaches the workers (alpha/beta)"


def test_keys_are_stable_and_cover_costs_data_and_engine(data: SweepData) -> None:
    job = job_for(data)
    p = GRID[0]
    assert combo_key(job, p) == combo_key(job_for(data), dict(reversed(list(p.items()))))
    assert combo_key(job, p) != combo_key(job_for(data, costs=Costs(slippage=0.001)), p)
    assert combo_key(job, p) != combo_key(job_for(data, window=(0, 300)), p)
    assert combo_key(job, p) != combo_key(job, {**p, "fast": 6})
    no_bench = SweepData(data.prices, "CRWV", None)
    assert combo_key(job, p) != combo_key(job_for(no_bench), p)


def test_resume_skips_what_is_done_and_never_duplicates(tmp_path: Path, data: SweepData) -> None:
    job = job_for(data)
    with SweepStore(tmp_path / "s.sqlite") as store:
        first = run_sweep(
            store, data, [(job, GRID[:2])], jobs=1, progress=False
        )  # "killed" after 2
        assert (first.done_before, first.added) == (0, 2)
        again = run_sweep(store, data, [(job, GRID)], jobs=2, progress=False)
        assert (again.done_before, again.added, again.total) == (2, 3, 5)
        last = run_sweep(store, data, [(job, GRID)], jobs=2, progress=False)
        assert (last.done_before, last.added) == (5, 0)
        assert store.count() == 5


def test_ctrl_c_keeps_the_committed_chunks(
    tmp_path: Path, data: SweepData, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(data)
    with SweepStore(tmp_path / "s.sqlite") as store:
        add = store.add

        def add_then_ctrl_c(rows):  # noqa: ANN001, ANN202
            n = add(rows)
            signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C after this commit
            return n

        monkeypatch.setattr(store, "add", add_then_ctrl_c)
        with pytest.raises(SweepInterrupted) as exc:
            run_sweep(store, data, [(job, GRID)], jobs=1, chunk_size=2, progress=False)
        assert (exc.value.stored, exc.value.total) == (2, 5)
        monkeypatch.setattr(store, "add", add)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
        rerun = run_sweep(store, data, [(job, GRID)], jobs=1, progress=False)
        assert (rerun.done_before, rerun.added, store.count()) == (2, 3, 5)


def test_killed_cli_sweep_resumes_to_exact_unique_rows(tmp_path: Path, data_dir: Path) -> None:
    """``kill -9`` halfway through a real ``crwv-bt sweep``, then the same command again."""
    store = tmp_path / "s.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "engine",
        "sweep",
        "--strategy",
        "ma_trend",
        "--grid",
        "mode=cross",
        "--grid",
        "fast=5:14:1",
        "--grid",
        "slow=60:100:10",
        "--store",
        str(store),
        "--jobs",
        "2",
        "--chunk-size",
        "2",
        "--engine",
        "backtrader",  # slow enough to be killed halfway (the fast engine finishes first)
        "--no-files",
        "--no-progress",
        "--end",
        "2025-12-31",
    ]  # 50 combinations
    env = {**os.environ, "CRWV_BT_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _count(store) < 16:
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    killed_at = _count(store)
    assert 0 < killed_at < 50
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{killed_at} were already in the store" in done.stdout
    with SweepStore(store) as s:
        frame = s.frame()
    assert len(frame) == frame["key"].nunique() == 50
    assert len(frame[["fast", "slow"]].drop_duplicates()) == 50


def _count(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_dask_cluster_rows_equal_local_rows(tmp_path: Path, data: SweepData) -> None:
    from dask.distributed import LocalCluster

    job = job_for(data)
    with SweepStore(tmp_path / "local.sqlite") as store:
        local = run_sweep(store, data, [(job, GRID)], jobs=2, progress=False)
        want, want_m = store.frame(local.keys[0]), store.returns_matrix(local.keys[0])
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with SweepStore(tmp_path / "dask.sqlite") as store:
            remote = run_sweep(
                store,
                data,
                [(job, GRID)],
                backend="dask",
                scheduler=cluster.scheduler_address,
                chunk_size=2,
                progress=False,
            )
            got, got_m = store.frame(remote.keys[0]), store.returns_matrix(remote.keys[0])
    assert remote.keys == local.keys
    drop = ["created_at"]
    pd.testing.assert_frame_equal(got.drop(columns=drop), want.drop(columns=drop))
    np.testing.assert_array_equal(got_m, want_m)


def test_engines_are_chosen_by_name_and_recorded(
    tmp_path: Path, data: SweepData, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(
        ParamError, match="unknown engine 'bactrader' \\(did you mean 'backtrader'\\?\\)"
    ):
        job_for(data, engine="bactrader")

    def constant(inp: engines.EngineInput) -> list[engines.Outcome]:
        metrics = dict.fromkeys(METRIC_KEYS, 0.0) | {"start": "x", "end": "y"}
        return [(metrics, np.zeros(len(inp.prices) - 1, np.float32)) for _ in inp.params_list]

    spec = engines.EngineSpec(constant, covers=lambda s: s == "ma_trend")
    with monkeypatch.context() as patch:
        patch.setitem(engines.ENGINES, "constant", spec)
        with pytest.raises(ParamError, match="does not cover strategy 'rsi'"):
            make_job(data, "rsi", costs=Costs(), cash=1.0, engine="constant")
        job = job_for(data, engine="constant")
        assert combo_key(job, GRID[0]) != combo_key(job_for(data), GRID[0])
        with SweepStore(tmp_path / "s.sqlite") as store:
            run = run_sweep(store, data, [(job, GRID[:2])], jobs=1, progress=False)
            frame = store.frame(run.keys[0])
        assert set(frame["engine"]) == {"constant"} and (frame["sharpe"] == 0.0).all()
    assert "constant" not in engines.ENGINES


def test_overfit_statistics_and_warnings(tmp_path: Path, data: SweepData) -> None:
    job = job_for(data)
    with SweepStore(tmp_path / "s.sqlite") as store:
        run = run_sweep(store, data, [(job, GRID)], jobs=1, progress=False)
        frame, matrix = store.frame(run.keys[0]), store.returns_matrix(run.keys[0])
    summary = summarise(
        frame,
        matrix,
        "sharpe",
        param_columns=["fast", "slow"],
        grid_keys=["fast", "slow"],
        bars=len(data.prices),
        pbo_splits=8,
    )
    assert summary.chosen["sharpe"] == frame["sharpe"].max()
    dsr, pbo = summary.overfit.dsr, summary.overfit.pbo
    assert dsr is not None and 0.0 <= dsr.dsr <= 1.0 and dsr.n_trials == 5
    assert pbo is not None and 0.0 <= pbo.pbo <= 1.0 and pbo.n_splits == 8
    assert any("short window: 386 bars" in w for w in summary.warnings)
    few = []
    for metric in ("sharpe", "avg_bars_held"):
        s = summarise(
            frame,
            matrix,
            metric,
            param_columns=[],
            grid_keys=[],
            bars=len(data.prices),
            pbo_splits=8,
        )
        warned = any("closed trade(s) (fewer than 10)" in w for w in s.warnings)
        assert warned == (s.chosen["n_trades"] < 10)
        few.append(warned)
    assert few == [False, True]  # sharpe picks a 10-trade row; the longest holds rest on 4 trades
    best = heatmap_table(summary.ranked, "fast", "slow", "sharpe", "best", ["fast", "slow", "mode"])
    mean = heatmap_table(summary.ranked, "fast", "slow", "sharpe", "mean", ["fast", "slow", "mode"])
    assert best.shape == (2, 2)  # the chosen row is a cross-mode row: the reclaim one is left out
    assert mean.loc[50, 20] == frame["sharpe"].iloc[4]


def test_the_array_feed_gives_the_same_runs_as_pandasdata(
    crwv: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sweeps rely on engine.backtest.bt_compat's faster feed; it must not change a fill."""
    fast = {name: run_backtest(cls, crwv) for name, cls in STRATEGIES.items()}
    monkeypatch.setattr(bt_compat, "ArrayPandasData", bt.feeds.PandasData)
    for name, cls in STRATEGIES.items():
        slow = run_backtest(cls, crwv)
        pd.testing.assert_series_equal(fast[name].equity, slow.equity)
        pd.testing.assert_frame_equal(fast[name].fills, slow.fills)


def test_sampled_pbo_uses_the_requested_trials_and_is_seeded() -> None:
    rng = np.random.default_rng(11)
    matrix = (rng.normal(0.0005, 0.02, size=(120, 300))).astype(np.float32)
    keys = pd.Series([f"k{i}" for i in range(300)])
    index = {k: i for i, k in enumerate(keys)}
    asked: list[int] = []

    def returns_of(ks: list[str]) -> np.ndarray:
        asked.append(len(ks))
        return matrix[:, [index[k] for k in ks]]

    a = overfit_streamed(keys, 7, returns_of, n_splits=8, max_trials=50, seed=3)
    b = overfit_streamed(keys, 7, returns_of, n_splits=8, max_trials=50, seed=3)
    c = overfit_streamed(keys, 7, returns_of, n_splits=8, max_trials=50, seed=4)
    assert a.pbo is not None and b.pbo is not None and c.pbo is not None
    assert (a.pbo_trials, a.pbo_sampled, a.n_trials, a.pbo_seed) == (50, True, 300, 3)
    assert asked[-1] == 50 and max(asked) == 300  # every trial's Sharpe, then the sample only
    np.testing.assert_array_equal(a.pbo.logits, b.pbo.logits)
    assert not np.array_equal(pbo_sample(300, 50, 3), pbo_sample(300, 50, 4))
    assert any("sample of 50 of the 300" in n for n in a.notes)
    full = overfit_stats(matrix, 7, n_splits=8)  # the DSR does not depend on the sample
    assert a.dsr == c.dsr and a.dsr is not None and full.dsr is not None
    assert (a.dsr.dsr, a.dsr.var_sr, a.dsr.sr) == pytest.approx(
        (full.dsr.dsr, full.dsr.var_sr, full.dsr.sr), rel=1e-12
    )
    sample = matrix[:, pbo_sample(300, 50, 3)].astype(float)
    assert a.pbo.pbo == cscv_pbo(sample, n_splits=8).pbo
    small = overfit_streamed(keys, 7, returns_of, n_splits=8, max_trials=300)
    assert not small.pbo_sampled and small.pbo is not None and full.pbo is not None
    assert small.pbo.pbo == full.pbo.pbo


def test_streamed_sweep_resumes_without_duplicates(tmp_path: Path, data: SweepData) -> None:
    job = job_for(data, engine="fast")
    params = [
        {"fast": f, "slow": s, "hold_bars": 3, "mode": "cross", "exit_on": "slow"}
        for f in range(5, 30, 5)
        for s in (40, 60, 80)
    ]
    chunks = lambda ps: (ps[lo : lo + 4] for lo in range(0, len(ps), 4))  # noqa: E731
    with SweepStore(tmp_path / "s.sqlite") as store:
        first = run_sweep_stream(store, data, job, chunks(params[:7]), 7, progress=False)
        again = run_sweep_stream(store, data, job, chunks(params), 15, progress=False)
        assert (first.added, again.done_before, again.added, store.count()) == (7, 7, 8, 15)
        keys = [k for ks in again.key_chunks(6) for k in ks]
        assert keys == [combo_key(job, p) for p in params]
        assert list(store.frame(keys)["key"]) == keys


def test_a_stream_collects_garbage_less_often_and_restores_the_thresholds() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with sweep_run._young_collections():
        assert gc.get_threshold()[0] > before[0]
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
