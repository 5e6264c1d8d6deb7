"""SQL ranking, streamed export and SQL heatmap (engine.sweep.store_view) = the pandas versions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.sweep.export import export_frame, export_frames
from engine.sweep.selection import heatmap_table, metric_order, rank, ranking_order
from engine.sweep.store import Row, SweepStore
from engine.sweep.store_view import SweepView

SHARPES = [1.0, math.nan, 2.0, 1.0, -0.5, 2.0, math.nan, 0.25, 1.0, 3.0, -math.inf, 0.0]


def _row(i: int, fast: int, slow: int, mode: str, sharpe: float, trades: float) -> Row:
    metrics: dict[str, object] = {k: float(i) + 0.125 for k in METRIC_KEYS}
    metrics.update(start="2025-03-28", end="2025-04-04", bars=6, sharpe=sharpe, n_trades=trades)
    metrics.update(
        volatility=[0.2, 0.1, 0.2, math.nan][i % 4], alpha=math.nan, max_consecutive_wins=i % 3
    )
    return Row(
        key=f"k{i:03d}",
        strategy="ma_trend",
        params={"fast": fast, "slow": slow, "mode": mode, "levels": (1.5, 2.0)},
        engine="fast",
        ticker="CRWV",
        data={"start": "2025-03-28", "end": "2025-04-04", "bars": 6, "sha": "abc"},
        settings={"cash": 100000.0},
        metrics=metrics,
        returns=np.zeros(5, dtype=np.float32),
    )


@pytest.fixture
def store(tmp_path: Path):
    rows = []
    i = 0
    for fast in (5, 10):
        for slow in (20, 30, 40):
            for mode in ("cross", "reclaim"):
                trades = math.nan if i == 3 else [0, 2, 5, 7][i % 4]
                rows.append(_row(i, fast, slow, mode, SHARPES[i], trades))
                i += 1
    other = _row(99, 5, 20, "cross", 99.0, 50)  # another sweep's row: never ranked
    with SweepStore(tmp_path / "s.sqlite") as s:
        s.add([rows[k] for k in (5, 1, 9, 0, 2, 3, 4, 6, 7, 8, 10, 11)] + [other])
        yield s, [r.key for r in rows]


@pytest.mark.parametrize("metric", ["sharpe", "volatility", "max_consecutive_wins"])
@pytest.mark.parametrize("min_trades", [0, 3])
def test_sql_ranking_equals_the_pandas_ranking(store, metric: str, min_trades: int) -> None:
    s, keys = store
    expected = rank(s.frame(keys), metric, min_trades)
    with SweepView(s, [keys[:5], keys[5:]]) as view:
        assert view.count == len(keys)
        chunks = list(view.ranked(metric, metric_order(metric), min_trades, chunk=5))
        top = next(view.ranked(metric, metric_order(metric), min_trades, limit=4))
    assert [len(c) for c in chunks] == [5, 5, 2]
    got = pd.concat(chunks)
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(top, expected.head(4))
    assert list(got.index) == [keys.index(k) for k in got["key"]]  # grid positions


@pytest.mark.parametrize("metric", ["sharpe", "volatility", "max_consecutive_wins"])
@pytest.mark.parametrize("min_trades", [0, 3])
def test_ranking_from_the_arrays_equals_the_sql_ranking(
    store, metric: str, min_trades: int
) -> None:
    # summarise_view orders the rows in numpy from the one scan it reads (NaN metric and
    # NaN trades included) and reads only the rows it shows: the same rows, ranks and dtypes
    s, keys = store
    with SweepView(s, [keys[:5], keys[5:]]) as view:
        arrays = view.arrays(metric, ["fast", "slow", "mode"])
        order = ranking_order(arrays, metric, metric_order(metric), min_trades)
        sql = pd.concat(list(view.ranked(metric, metric_order(metric), min_trades)))
        assert list(arrays["pos"][order]) == list(sql.index)
        picked = order[[0, 3, 7]]
        rows = view.rows_at(arrays["pos"][picked].tolist(), np.array([1, 4, 8]), min_trades)
    pd.testing.assert_frame_equal(rows, sql.iloc[[0, 3, 7]])
    with SweepView(s, [keys]) as fresh:  # the dtypes without arrays() having run first
        pd.testing.assert_frame_equal(
            next(fresh.ranked(metric, metric_order(metric), min_trades)), sql
        )


def test_streamed_export_equals_the_whole_frame_export(store, tmp_path: Path) -> None:
    s, keys = store
    expected = rank(s.frame(keys), "sharpe", 3)
    with SweepView(s, [keys]) as view:
        for name in ("a.csv", "a.parquet"):
            path, n = export_frames(view.ranked("sharpe", False, 3, chunk=5), tmp_path / name)
            assert n == len(keys) and path.exists()
            ref = export_frame(expected, tmp_path / f"ref_{name}")
            if name.endswith(".csv"):
                assert path.read_bytes() == ref.read_bytes()
            else:
                pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(ref))
    assert not list(tmp_path.glob(".*.tmp"))
    assert (path.stat().st_mode & 0o777) == (ref.stat().st_mode & 0o777)  # not mkstemp's 0600


@pytest.mark.parametrize("others", ["best", "mean", "median", "max", "min"])
def test_sql_heatmap_equals_the_pandas_heatmap(store, others: str) -> None:
    s, keys = store
    ranked = rank(s.frame(keys), "max_consecutive_wins", 0)
    expected = heatmap_table(
        ranked, "fast", "slow", "max_consecutive_wins", others, ["fast", "slow", "mode"]
    )
    best = ranked.iloc[0]
    fixed = {"mode": best["mode"]} if others == "best" else None
    with SweepView(s, [keys]) as view:
        got = view.heatmap(
            "fast", "slow", "max_consecutive_wins", "mean" if others == "best" else others, fixed
        )
        assert view.distinct("mode") == 2 and view.distinct("levels") == 1
        values = np.sort(view.metric_values("sharpe"))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    np.testing.assert_array_equal(values, np.sort(np.array(SHARPES)))


def test_store_frames_stream_the_export_table(store, tmp_path: Path) -> None:
    s, _ = store
    chunks = list(s.frames(strategy="ma_trend", chunk=5))
    assert [len(c) for c in chunks] == [5, 5, 3]
    pd.testing.assert_frame_equal(
        pd.concat(chunks, ignore_index=True), s.frame(strategy="ma_trend"), check_like=False
    )
    path, n = export_frames(s.frames(chunk=4), tmp_path / "all.csv")
    assert n == 13
    assert path.read_bytes() == export_frame(s.frame(), tmp_path / "ref.csv").read_bytes()
