"""The Monte Carlo of one run (engine.jobs.montecarlo_run) and its fan chart (engine.report.montecarlo_chart)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.backtest.harness import run_backtest
from engine.jobs.montecarlo_run import MonteCarloSettings, monte_carlo, summaries
from engine.report.montecarlo import format_bands
from engine.report.montecarlo_chart import plot_fan
from strategies import STRATEGIES


@pytest.fixture(scope="module")
def macd_mc(crwv: pd.DataFrame):  # noqa: ANN201
    run = run_backtest(STRATEGIES["macd"], crwv)
    settings = MonteCarloSettings(n_paths=300, seed=3, replays=100)
    return run, monte_carlo(run, crwv, STRATEGIES["macd"], settings), settings


def test_three_methods_seeded(macd_mc, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    run, res, settings = macd_mc
    assert [res[m].n_paths for m in ("trades", "block", "execution")] == [300, 300, 100]
    again = monte_carlo(run, crwv, STRATEGIES["macd"], settings)
    for method in res:
        pd.testing.assert_frame_equal(res[method].paths, again[method].paths)
    other = monte_carlo(run, crwv, STRATEGIES["macd"], MonteCarloSettings(300, seed=4, replays=100))
    assert not other["block"].paths.equals(res["block"].paths)


def test_summaries_and_terminal_table(macd_mc) -> None:  # noqa: ANN001
    run, res, settings = macd_mc
    doc = summaries(res, settings)
    json.dumps(doc)
    assert set(doc) == {"trades", "block", "execution"}
    bands = doc["block"]["bands"]["total_return"]
    assert bands["p5"] <= bands["p50"] <= bands["p95"]
    text = format_bands("macd", doc)
    assert "trade bootstrap" in text and "execution noise" in text and "P(loss)" in text
    assert f"{doc['block']['observed']['total_return']:+.0%}" in text


def test_fan_chart(macd_mc, tmp_path: Path) -> None:  # noqa: ANN001
    run, res, _ = macd_mc
    path = tmp_path / "fan.png"
    fig = plot_fan(run.equity, res, title="macd", path=path)
    assert len(fig.axes) == 2  # block and execution have fans, the trade bootstrap has none
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
