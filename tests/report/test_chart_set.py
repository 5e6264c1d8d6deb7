"""The run's charts drawn on every core (engine.report.chart_set): same bytes, errors surface."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.report import chart_set
from engine.result import RunResult

REPO = Path(__file__).resolve().parents[2]
SLUGS = {"swing": "swing", "ma_trend": "ma_trend", "buy_hold": "buy_hold"}


def _draw(runs: list[RunResult], prices: pd.DataFrame) -> dict[str, bytes]:
    return chart_set.draw_charts(runs, prices, runs[2], None, SLUGS)


def test_tasks_in_report_order(runs: list[RunResult], prices: pd.DataFrame) -> None:
    names = [t[0] for t in chart_set.chart_tasks(runs, prices, runs[2], None, SLUGS)]
    assert names[:2] == ["comparison.png", "indicators.png"]
    assert names[2:] == [f"{k}_{r.strategy}.png" for r in runs for k in ("equity", "price")]


def test_pool_and_drawer_give_the_bytes_of_one_process(
    runs: list[RunResult], prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "1")
    alone = _draw(runs, prices)
    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "2")
    assert chart_set.chart_jobs(10) == 2
    pooled = _draw(runs, prices)
    assert chart_set.start_drawer()
    drawn = _draw(runs, prices)
    assert list(alone) == list(pooled) == list(drawn)  # report order, whoever drew
    assert alone == pooled == drawn
    assert not multiprocessing.active_children()  # the drawer and its pool are gone


def test_a_failing_chart_raises_in_the_caller(
    runs: list[RunResult], prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("plot failed")

    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "2")
    monkeypatch.setattr("engine.report.price_chart.price_figure", boom)
    with pytest.raises(RuntimeError, match="plot failed"):
        _draw(runs, prices)  # the forked pool
    assert chart_set.start_drawer()  # forked after the patch: the drawer has it too
    with pytest.raises(RuntimeError, match="plot failed"):
        _draw(runs, prices)
    assert not multiprocessing.active_children()


def test_an_unused_drawer_is_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "2")
    assert chart_set.start_drawer()
    assert len(multiprocessing.active_children()) == 1
    chart_set.stop_drawer()
    assert not multiprocessing.active_children()
    # a process that exits without drawing or stopping it does not hang on it
    code = (
        "import os; os.environ['CRWV_BT_CHART_JOBS'] = '2'\n"
        "from engine.report import chart_set\n"
        "print(chart_set.start_drawer())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr


def test_one_core_draws_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "1")
    assert chart_set.chart_jobs(14) == 1
    assert not chart_set.start_drawer()
    assert not multiprocessing.active_children()


def test_a_cancelled_drawing_leaves_no_process(
    runs: list[RunResult], prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRWV_BT_CHART_JOBS", "2")
    chart_set.start_charts(runs, prices, runs[2], None, SLUGS).cancel()  # the pool
    assert chart_set.start_drawer()
    chart_set.start_charts(runs, prices, runs[2], None, SLUGS).cancel()  # the drawer
    assert not multiprocessing.active_children()
