"""A recorded sweep ranked and exported from Arrow columns (engine.sweep.columns) = the SQL path.

The SQL path (``ORDER BY`` of every row, ``sqlite3`` tuples typed chunk by chunk) is what a
view of key chunks still takes; the same rows recorded as a sweep take the columns path. Both
must give the same frames, chunk by chunk, the same files and the same summary arrays.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.sweep import columns as sweep_columns
from engine.sweep.export import export_frames
from engine.sweep.selection import metric_order, ranking_order, trial_structure
from engine.sweep.store import Row, SweepStore
from engine.sweep.store_view import SweepView

SHARPES = [1.0, math.nan, 2.0, 1.0, -0.5, 2.0, math.nan, 0.25, 1.0, 3.0, -math.inf, 0.0]
METRICS = ["sharpe", "volatility", "max_consecutive_wins", "alpha", "n_trades"]


def _row(i: int, params: dict[str, object], ticker: str = "CRWV") -> Row:
    metrics: dict[str, object] = {k: float(i) + 0.125 for k in METRIC_KEYS}
    trades = math.nan if i == 3 else [0, 2, 5, 7][i % 4]
    metrics.update(start="2025-03-28", end="2025-04-04", bars=6, sharpe=SHARPES[i % 12])
    metrics.update(n_trades=trades, alpha=math.nan, max_consecutive_wins=i % 3)
    metrics.update(volatility=[0.2, 0.1, 0.2, math.nan][i % 4])
    return Row(
        key=f"k{i:03d}",
        strategy="ma_trend",
        params=params,
        engine="fast",
        ticker=ticker,
        data={"start": "2025-03-28", "end": "2025-04-04", "bars": 6, "sha": "it's"},
        settings={"cash": 100000.0},
        metrics=metrics,
        returns=np.zeros(5, dtype=np.float32),
    )


def _params(i: int) -> dict[str, object]:
    return {
        "fast": (5, 10)[i // 6],
        "slow": (20, 30, 40)[i // 2 % 3],
        "mode": ("cross", "reclaim")[i % 2],
        "levels": (1.5, 2.0),
        "stop": (0.5, 1.5)[i % 2],
        "rearm": i % 3 == 0,
    }


def _stores(tmp_path: Path, rows: list[Row]) -> tuple[SweepStore, int, list[str]]:
    """A store holding ``rows`` (in a shuffled insertion order) and another sweep's row, with
    the rows recorded as a sweep in their order."""
    other = _row(99, {**_params(0), "fast": 7})
    s = SweepStore(tmp_path / "s.sqlite")
    order = list(range(len(rows)))[::-1][::2] + list(range(len(rows)))[::-1][1::2]
    s.add([rows[k] for k in order] + [other])
    keys = [r.key for r in rows]
    sweep = s.save_sweep("spec", {}, lambda: [keys[:5], keys[5:]], len(keys))
    assert sweep is not None
    return s, sweep, keys


def _both(s: SweepStore, sweep: int, keys: list[str]) -> tuple[SweepView, SweepView]:
    return SweepView(s, [keys[:7], keys[7:]]), SweepView(s, sweep=sweep)


def _same(sql: SweepView, arrow: SweepView, metric: str, min_trades: int, chunk: int) -> None:
    ascending = metric_order(metric)
    old = list(sql.ranked(metric, ascending, min_trades, chunk=chunk))
    new = list(arrow.ranked(metric, ascending, min_trades, chunk=chunk))
    assert [len(c) for c in new] == [len(c) for c in old]
    for a, b in zip(old, new, strict=True):
        pd.testing.assert_frame_equal(b, a)
        assert b.attrs["param_columns"] == a.attrs["param_columns"]
    for limit in (1, 4, 100):
        pd.testing.assert_frame_equal(
            pd.concat(list(arrow.ranked(metric, ascending, min_trades, limit=limit, chunk=chunk))),
            pd.concat(list(sql.ranked(metric, ascending, min_trades, limit=limit, chunk=chunk))),
        )


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("min_trades", [0, 3])
def test_the_columns_path_gives_the_sql_frames(
    tmp_path: Path, metric: str, min_trades: int
) -> None:
    # NaN and -inf metrics, ties, NaN trades (ineligible), text, list, float and boolean
    # parameters, an all-NULL metric (alpha), a quote in a broadcast constant
    s, sweep, keys = _stores(tmp_path, [_row(i, _params(i)) for i in range(12)])
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        assert sql.columns() is None and arrow.columns() is not None
        assert "data_sha" in arrow.columns().constants  # read once, not row by row
        _same(sql, arrow, metric, min_trades, chunk=5)
        assert arrow.float_columns() == sql.float_columns()
        names = ["fast", "slow", "mode", "levels", "stop", "rearm"]
        got, want = arrow.arrays(metric, names), sql.arrays(metric, names)
        assert list(got) == list(want)
        for k in want:
            assert got[k].dtype == want[k].dtype, k
            np.testing.assert_array_equal(got[k], want[k])
        np.testing.assert_array_equal(
            np.sort(arrow.metric_values(metric)), np.sort(sql.metric_values(metric))
        )
        assert [arrow.distinct(p) for p in names] == [sql.distinct(p) for p in names]
    s.close()


@pytest.mark.parametrize("min_trades", [0, 3])
def test_numpy_ranking_order_is_the_sql_order(tmp_path: Path, min_trades: int) -> None:
    # ties broken by grid position, NULL metrics last, ineligible rows after eligible ones
    s, sweep, keys = _stores(tmp_path, [_row(i, _params(i)) for i in range(12)])
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        for metric in METRICS:
            ascending = metric_order(metric)
            want = pd.concat(list(sql.ranked(metric, ascending, min_trades))).index
            arrays = arrow.arrays(metric, [])
            order = ranking_order(arrays, metric, ascending, min_trades)
            assert list(arrays["pos"][order]) == list(want), metric
    s.close()


@pytest.mark.parametrize("share", [0.5, 2.0])
def test_varying_provenance_and_threads_read_the_same(
    tmp_path: Path, monkeypatch, share: float
) -> None:
    # a column that is not one value over the sweep is a dictionary over the jobs, and a sweep
    # read by several threads (each a share of the columns) gives the same frames; flag bits
    # spread over several flag columns (as a strategy of many parameters needs); the rows read
    # by a scan of the whole store (share 0.5: the sweep is 12 of its 13 rows) or joined
    monkeypatch.setattr(sweep_columns, "SCAN_SHARE", share)
    monkeypatch.setattr(sweep_columns, "PART_ROWS", 2)
    monkeypatch.setattr(sweep_columns, "_BITS", 3)
    rows = [_row(i, _params(i), ticker=("CRWV", "NVDA")[i % 5 == 0]) for i in range(12)]
    s, sweep, keys = _stores(tmp_path, rows)
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        cols = arrow.columns()
        assert cols is not None and "ticker" not in cols.constants
        _same(sql, arrow, "sharpe", 3, chunk=4)
        for name in ("a.csv", "a.parquet"):
            p1, n1 = export_frames(sql.ranked("sharpe", False, 3, chunk=5), tmp_path / f"s_{name}")
            p2, n2 = export_frames(arrow.ranked("sharpe", False, 3, chunk=5), tmp_path / name)
            assert n1 == n2 == 12
            if name.endswith(".csv"):
                assert p1.read_bytes() == p2.read_bytes()
            else:
                pd.testing.assert_frame_equal(pd.read_parquet(p2), pd.read_parquet(p1))
    s.close()


@pytest.mark.parametrize("case", ["missing parameter", "integer and real", "text and number"])
def test_what_the_columns_cannot_type_as_sql_goes_to_sql(tmp_path: Path, case: str) -> None:
    # per-chunk typing of such a column can differ from one chunk to the next: left to SQL
    params = [_params(i) for i in range(12)]
    if case == "missing parameter":
        del params[7]["stop"]
    elif case == "integer and real":
        params[7]["fast"] = 7.5
    else:
        params[7]["mode"] = 3
    s, sweep, keys = _stores(tmp_path, [_row(i, p) for i, p in enumerate(params)])
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        assert arrow.columns() is None
        _same(sql, arrow, "sharpe", 0, chunk=5)
    s.close()


def test_parameters_factorised_from_their_dictionary_codes_are_pandas(tmp_path: Path) -> None:
    # first-appearance codes and uniques as pd.factorize gives them (integers, text, booleans
    # as 0/1, lists as text); floats are left to pandas; the trials are the same either way
    s, sweep, keys = _stores(tmp_path, [_row(i, _params(i)) for i in range(12)][::-1])
    names = ["fast", "slow", "mode", "levels", "stop", "rearm"]
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        known = arrow.factorised(names)
        assert set(known) == {"fast", "slow", "mode", "levels", "rearm"}
        assert sql.factorised(names) == {}
        values = sql.arrays("sharpe", names)
        for name, (codes, uniques) in known.items():
            want_codes, want_uniques = pd.factorize(values[f"p:{name}"], use_na_sentinel=False)
            assert codes.dtype == np.int64 and uniques.dtype == want_uniques.dtype, name
            np.testing.assert_array_equal(codes, want_codes)
            np.testing.assert_array_equal(uniques, want_uniques)
        params = {k: values[f"p:{k}"] for k in names}
        got = trial_structure(params, values["result"], values["sharpe"], None, known)
        assert got == trial_structure(params, values["result"], values["sharpe"])
    s.close()


@pytest.mark.parametrize("varying", [False, True])
@pytest.mark.parametrize("min_trades", [0, 3])
def test_parquet_from_arrow_tables_is_the_parquet_from_frames_byte_for_byte(
    tmp_path: Path, varying: bool, min_trades: int
) -> None:
    # NaN, -inf and all-NULL metrics, NaN trades, text, list, float and boolean parameters, a
    # constant and (varying) a per-job column: written from the tables, the file is the one
    # written from the frames of the same rows, and reads as the SQL path's file
    rows = [_row(i, _params(i), ticker=("CRWV", "NVDA")[varying and i % 5 == 0]) for i in range(12)]
    s, sweep, keys = _stores(tmp_path, rows)
    sql, arrow = _both(s, sweep, keys)
    with sql, arrow:
        tables = list(arrow.ranked("sharpe", False, min_trades, chunk=5, tables=True))
        assert all(isinstance(t, pa.Table) for t in tables) and len(tables) == 3
        export_frames(iter(tables), tmp_path / "tables.parquet")
        export_frames(arrow.ranked("sharpe", False, min_trades, chunk=5), tmp_path / "f.parquet")
        export_frames(sql.ranked("sharpe", False, min_trades, chunk=5), tmp_path / "s.parquet")
        assert (tmp_path / "tables.parquet").read_bytes() == (tmp_path / "f.parquet").read_bytes()
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "tables.parquet"), pd.read_parquet(tmp_path / "s.parquet")
        )
        # a view without the columns in memory gives frames whatever it is asked
        assert all(isinstance(f, pd.DataFrame) for f in sql.ranked("sharpe", False, 0, tables=True))
        with pytest.raises(TypeError, match="CSV is written from frames"):
            export_frames(iter(tables), tmp_path / "t.csv")
    s.close()
