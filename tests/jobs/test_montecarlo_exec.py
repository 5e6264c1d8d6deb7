"""Execution-noise replays (engine.jobs.montecarlo_exec): exact when nothing moves, seeded, schedules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.jobs import montecarlo_exec as mx
from strategies import STRATEGIES


def _replay_unmoved(run, prices: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    sends = mx.market_schedule(run, pd.DatetimeIndex(run.equity.index))
    assert sends is not None
    slip = np.array([run.settings["slippage"]])
    return mx.replay_schedules(prices, run, sends[None, :], slip)[0]


@pytest.mark.parametrize("name", ["ma_trend", "macd", "rsi", "confluence", "buy_hold"])
def test_unmoved_schedule_gives_back_the_run(crwv: pd.DataFrame, name: str) -> None:
    run = run_backtest(STRATEGIES[name], crwv)
    np.testing.assert_array_equal(_replay_unmoved(run, crwv), run.equity.to_numpy())


def test_swing_is_a_rerun_and_unmoved_rerun_gives_back_the_run(crwv: pd.DataFrame) -> None:
    run = run_backtest(STRATEGIES["swing"], crwv)
    assert mx.market_schedule(run, pd.DatetimeIndex(run.equity.index)) is None
    curves = mx.rerun(
        crwv, run, STRATEGIES["swing"], np.array([0.0005]), np.random.default_rng(0), shift=(0, 0)
    )
    np.testing.assert_allclose(curves[0], run.equity.to_numpy(), rtol=1e-12)
    res = mx.execution_noise(run, crwv, STRATEGIES["swing"], n_paths=8, seed=2)
    assert res.settings["mode"] == "rerun" and res.n_paths == 8 and res.notes


def test_shifted_schedules_keep_order_sides_and_range() -> None:
    sends = np.zeros(30, dtype=np.int8)
    sends[[0, 5, 6, 20, 29]] = [1, -1, 1, -1, 1]
    out = mx.shifted_schedules(sends, 500, (-1, 1), np.random.default_rng(4))
    for row in out:
        bars = np.flatnonzero(row)
        assert list(row[bars]) == [1, -1, 1, -1, 1]  # nothing lost, order kept
        assert (np.diff(bars) >= 1).all() and bars.min() >= 0 and bars.max() <= 29
    moved = np.array([np.flatnonzero(r) for r in out])
    assert moved[:, 0].min() == 0 and moved[:, 3].min() == 19 and moved[:, 3].max() == 21
    same = mx.shifted_schedules(sends, 3, (0, 0), np.random.default_rng(4))
    late = mx.shifted_schedules(sends, 200, (0, 1), np.random.default_rng(4))
    late_bars = np.array([np.flatnonzero(r) for r in late])
    assert (late_bars >= np.flatnonzero(sends)).all()
    assert (same == sends).all()


def test_execution_noise_is_seeded_and_moves_results(crwv: pd.DataFrame) -> None:
    run = run_backtest(STRATEGIES["macd"], crwv)
    a = mx.execution_noise(run, crwv, STRATEGIES["macd"], n_paths=200, seed=5)
    b = mx.execution_noise(run, crwv, STRATEGIES["macd"], n_paths=200, seed=5)
    pd.testing.assert_frame_equal(a.paths, b.paths)
    assert a.settings["mode"] == "schedule" and a.paths.total_return.nunique() > 50
    assert a.fan is not None and a.fan.index.equals(run.equity.index)
    assert a.observed["total_return"] == pytest.approx(run.final_equity / run.equity.iloc[0] - 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_paths": 0}, "positive"),
        ({"shift": (1, 0)}, "shift"),
        ({"shift": (-9, 1)}, "shift"),
        ({"slippage": (0.002, 0.001)}, "slippage"),
        ({"slippage": (0.0, 0.5)}, "slippage"),
    ],
)
def test_bad_settings_are_refused(crwv: pd.DataFrame, kwargs: dict, match: str) -> None:
    run = run_backtest(STRATEGIES["buy_hold"], crwv)
    with pytest.raises(ParamError, match=match):
        mx.execution_noise(run, crwv, STRATEGIES["buy_hold"], **kwargs)
