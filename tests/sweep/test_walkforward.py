"""Walk-forward: fold boundaries (rolling vs anchored), winners, stitching, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import ParamError
from engine.result import Costs
from engine.sweep.outputs import format_walkforward, write_walkforward_files
from engine.sweep.store import SweepStore
from engine.sweep.tasks import SweepData, combo_key, make_job
from engine.sweep.walkforward import FoldWindow, make_folds, run_walkforward
from engine.testing.prices import bars

CASH = 100_000.0
GRID = [
    {"fast": f, "slow": s, "hold_bars": 3, "mode": "cross", "exit_on": "slow"}
    for f in (3, 5)
    for s in (10, 15)
]


def test_rolling_folds() -> None:
    assert make_folds(100, 40, 20) == [
        FoldWindow(1, (0, 40), (40, 60)),
        FoldWindow(2, (20, 60), (60, 80)),
        FoldWindow(3, (40, 80), (80, 100)),
    ]


def test_anchored_folds_grow_from_the_first_bar() -> None:
    assert [(f.train, f.test) for f in make_folds(100, 40, 20, anchored=True)] == [
        ((0, 40), (40, 60)),
        ((0, 60), (60, 80)),
        ((0, 80), (80, 100)),
    ]


def test_last_window_short_but_not_a_sliver() -> None:
    assert make_folds(107, 40, 20)[-1].test == (100, 107)  # 7 bars: kept
    assert make_folds(103, 40, 20)[-1].test == (80, 100)  # 3 bars: dropped
    tests = [f.test for f in make_folds(250, 50, 30)]
    assert all(
        a[1] == b[0] for a, b in zip(tests, tests[1:], strict=False)
    )  # contiguous, no overlap


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((100, 1, 20), "at least 2 bars"),
        ((100, 40, 0), "at least 1 bar"),
        ((100, 98, 20), "do not fit in 100 bars"),
    ],
)
def test_fold_refusals(args: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ParamError, match=message):
        make_folds(*args)


@pytest.fixture(scope="module")
def wave() -> pd.DataFrame:
    """160 bars of a noisy wave: enough crosses for short moving averages to trade."""
    rng = np.random.default_rng(3)
    close = 100 + 15 * np.sin(np.arange(160) / 9.0) + rng.normal(0, 1.5, 160).cumsum() * 0.3
    rows = [(c * (1 + rng.normal(0, 0.002)), c * 1.01, c * 0.99, c) for c in close]
    return bars([(o, max(o, h, c), min(o, lo, c), c) for o, h, lo, c in rows], start="2024-01-02")


def test_walkforward_on_a_synthetic_path(tmp_path: Path, wave: pd.DataFrame) -> None:
    data = SweepData(wave, "TEST", None)
    with SweepStore(tmp_path / "s.sqlite") as store:
        wf = run_walkforward(
            store,
            data,
            "ma_trend",
            GRID,
            train=60,
            test=30,
            costs=Costs(),
            cash=CASH,
            jobs=1,
            progress=False,
            grid_keys=["fast", "slow"],
        )
        # each winner is the best training-window row by sharpe
        for fold, w in zip(wf.folds, make_folds(160, 60, 30), strict=True):
            job = make_job(data, "ma_trend", costs=Costs(), cash=CASH, window=w.train)
            rows = store.frame([combo_key(job, p) for p in GRID])
            best = rows.loc[rows["sharpe"].idxmax()]
            assert (fold.params["fast"], fold.params["slow"]) == (best["fast"], best["slow"])
            assert fold.is_metric == best["sharpe"]
    assert [f.test_dates for f in wf.folds][0] == (wave.index[60], wave.index[89])
    assert len(wf.folds) == 4 and wf.folds[-1].test_dates[1] == wave.index[-1]
    # stitched curve: the anchor (last training bar) at the starting cash, then every test bar once
    assert wf.equity.index[0] == wave.index[59] and wf.equity.iloc[0] == CASH
    pd.testing.assert_index_equal(wf.equity.index[1:], wave.index[60:], check_names=False)
    growth = np.prod([1 + f.oos_metrics["total_return"] for f in wf.folds])
    assert wf.equity.iloc[-1] / CASH == pytest.approx(growth, rel=1e-12)
    assert wf.oos_metrics["bars"] == 101
    assert wf.oos_metrics["n_trades"] >= 2  # the path trades out of sample (not a flat curve)
    # a position the winner's rules hold when a test window opens is held (fold 1 enters before)
    assert wf.folds[0].oos_metrics["exposure"] > 0.5
    assert wf.buy_hold is not None and wf.buy_hold.index.equals(wf.equity.index)
    text = format_walkforward(wf)
    assert "in sample:" in text and "out of sample:" in text
    written = write_walkforward_files(tmp_path / "out", wf, {"strategy": "ma_trend"})
    assert {p.name for p in written} == {
        "walkforward_folds.csv",
        "walkforward_equity.csv",
        "walkforward.json",
        "walkforward.png",
    }
    payload = json.loads((tmp_path / "out" / "walkforward.json").read_text())
    assert len(payload["folds"]) == 4 and payload["out_of_sample"]["bars"] == 101


def test_anchored_walkforward_reuses_the_store(tmp_path: Path, wave: pd.DataFrame) -> None:
    data = SweepData(wave, "TEST", None)
    kw = dict(train=60, test=50, anchored=True, costs=Costs(), cash=CASH, jobs=1, progress=False)
    with SweepStore(tmp_path / "s.sqlite") as store:
        first = run_walkforward(store, data, "ma_trend", GRID, **kw)
        n = store.count()
        again = run_walkforward(store, data, "ma_trend", GRID, **kw)
        assert store.count() == n == 2 * len(GRID)  # two folds, nothing run twice
    assert [f.train_dates[0] for f in first.folds] == [wave.index[0]] * 2
    pd.testing.assert_series_equal(first.equity, again.equity)
