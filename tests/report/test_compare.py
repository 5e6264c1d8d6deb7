"""Comparing runs (engine.report.compare): identical fills grouped, changed parameters."""

from __future__ import annotations

import pandas as pd

from engine.report.compare import changed_params, fills_key, identical_groups, varying_params
from engine.result import FILL_COLUMNS, RunResult


def run(name: str, rows: list[tuple]) -> RunResult:
    fills = pd.DataFrame(rows, columns=["date", "side", "size", "price", "reason"])
    fills["date"] = pd.to_datetime(fills["date"])
    fills = fills.reindex(columns=FILL_COLUMNS)
    index = pd.bdate_range("2025-08-18", periods=3)
    return RunResult(
        strategy=name,
        params={},
        ticker="T",
        equity=pd.Series(1.0, index=index),
        position=pd.Series(0.0, index=index),
        trades=pd.DataFrame(),
        fills=fills,
        fingerprint={},
        settings={},
    )


A = [("2025-08-18", "buy", 10, 94.0, "tranche 1"), ("2025-08-20", "sell", 10, 130.0, "target 1")]


def test_identical_fills_are_grouped_in_order() -> None:
    runs = [
        run("plan", A),
        run("other", A[:1]),
        run("close_stop", A),
        run("never", []),
        run("also_never", []),
        run("tight", [(*A[0][:3], 94.0 + 1e-12, A[0][4]), A[1]]),  # float residue: same fill
    ]
    assert identical_groups(runs) == [["plan", "close_stop", "tight"], ["never", "also_never"]]


def test_a_different_reason_or_size_is_a_different_trade() -> None:
    assert fills_key(run("a", A).fills) != fills_key(run("b", [A[0], (*A[1][:4], "stop")]).fills)
    assert fills_key(run("a", A).fills) != fills_key(
        run("b", [(*A[0][:2], 11, *A[0][3:]), A[1]]).fills
    )
    assert identical_groups([run("a", A), run("b", A[:1])]) == []


def test_changed_params_keep_only_what_differs() -> None:
    defaults = {"stop": 79.99, "ladder": (94.0, 90.0, 86.0), "rearm": False, "mode": "intraday"}
    params = {"stop": 84, "ladder": [94, 90, 86], "rearm": False, "mode": "close", "extra": 1}
    assert changed_params(params, defaults) == {"stop": 84, "mode": "close", "extra": 1}
    assert changed_params({"rearm": 0}, {"rearm": False}) == {"rearm": 0}
    assert changed_params(defaults, defaults) == {}


def test_varying_params_are_those_not_the_same_in_every_run() -> None:
    plan = {"stop": 79.99, "ladder": (94.0, 90.0, 86.0), "stop_mode": "intraday"}
    tight = {**plan, "stop": 84.0}
    close = {**plan, "stop_mode": "close", "ladder": [94, 90, 86]}  # the same ladder, as a list
    assert varying_params([plan, tight, close]) == ["stop", "stop_mode"]
    assert varying_params([plan, dict(plan)]) == []
    assert varying_params([plan, {**plan, "extra": 1}]) == ["extra"]  # missing from one: varies
    assert varying_params([]) == []
