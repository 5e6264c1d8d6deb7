"""A recorded sweep's columns kept in the store (engine.sweep.column_cache) = its SQL read.

The first read of a recorded sweep keeps its columns in ``sweep_columns``; a later read takes
them from there. A damaged, foreign or mismatched blob, or a store without the table, is read
from SQL (and kept anew): never a different answer.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.errors import UserError
from engine.sweep import column_cache
from engine.sweep import columns as sweep_columns
from engine.sweep.store import Row, SweepStore, check_store_file
from engine.sweep.store_view import SweepView


def _reads(monkeypatch) -> list[int]:
    """Count the SQL reads of a sweep's columns."""
    calls: list[int] = []
    load = sweep_columns.load

    def counted(*args, **kwargs):
        calls.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(sweep_columns, "load", counted)
    return calls


def _same_columns(a: sweep_columns.SweepColumns, b: sweep_columns.SweepColumns) -> None:
    assert list(a.arrays) == list(b.arrays)
    for name, arr in a.arrays.items():
        assert b.arrays[name].type == arr.type, name
        assert b.arrays[name].equals(arr), name
    assert b.constants == a.constants and b.floats == a.floats and b.count == a.count
    assert (b.params, b.bools, b.metric_keys) == (a.params, a.bools, a.metric_keys)
    assert {g: n for g, (_, n) in b.groups.items()} == {g: n for g, (_, n) in a.groups.items()}


def _frames(view: SweepView) -> pd.DataFrame:
    return pd.concat(list(view.ranked("sharpe", False, 3, chunk=5)))


def _row(i: int) -> Row:
    # NaN metrics and trades, ties, text, list, float and boolean parameters, two tickers (a
    # provenance column that is a dictionary over the jobs, not a constant)
    metrics: dict[str, object] = {k: float(i % 5) + 0.125 for k in METRIC_KEYS}
    metrics.update(start="2025-03-28", end="2025-04-04", bars=6, alpha=math.nan)
    metrics.update(sharpe=[1.0, math.nan, 2.0, 1.0][i % 4], n_trades=[0, 2, 5, math.nan][i % 4])
    params = {
        "fast": (5, 10, 7)[min(i // 6, 2)],
        "slow": (20, 30, 40)[i // 2 % 3],
        "mode": ("cross", "reclaim")[i % 2],
        "levels": (1.5, 2.0),
        "stop": (0.5, 1.5)[i % 2],
        "rearm": i % 3 == 0,
    }
    return Row(
        key=f"k{i:03d}",
        strategy="ma_trend",
        params=params,
        engine="fast",
        ticker=("CRWV", "NVDA")[i % 5 == 0],
        data={"start": "2025-03-28", "end": "2025-04-04", "bars": 6, "sha": "it's"},
        settings={"cash": 100000.0},
        metrics=metrics,
        returns=np.full(5, i % 4, dtype=np.float32),
    )


def _recorded(tmp_path: Path) -> tuple[Path, int, list[str]]:
    """A store holding 12 rows (inserted in another order, with another sweep's row), recorded
    as a sweep in grid order."""
    rows = [_row(i) for i in range(12)]
    with SweepStore(tmp_path / "s.sqlite") as s:
        s.add(rows[::-2] + rows[-2::-2] + [_row(99)])
        keys = [r.key for r in rows]
        sweep = s.save_sweep("spec", {}, lambda: [keys[:5], keys[5:]], len(keys))
    assert sweep is not None
    return tmp_path / "s.sqlite", sweep, keys


def _read(path: Path, sweep: int) -> tuple[sweep_columns.SweepColumns, pd.DataFrame]:
    """A recorded sweep's columns and ranked frame, read as the CLI reads them."""
    with SweepStore(path, defer_check=True) as store, SweepView(store, sweep=sweep) as view:
        cols = view.columns()
        assert cols is not None
        frame = _frames(view)
        store.verified()
    return cols, frame


def _kept(path: Path, sweep: int) -> tuple[str, bytes, str] | None:
    with SweepStore(path) as store:
        return store.kept_columns(sweep)


def test_the_first_read_keeps_the_columns_and_the_next_reads_them(
    tmp_path: Path, monkeypatch
) -> None:
    path, sweep, keys = _recorded(tmp_path)
    calls = _reads(monkeypatch)
    assert _kept(path, sweep) is None
    from_sql, want = _read(path, sweep)
    assert len(calls) == 1
    assert _kept(path, sweep) is not None  # kept when the store closed
    assert check_store_file(path) == ""  # still a sound store of ours
    kept, got = _read(path, sweep)
    assert len(calls) == 1  # not read from SQL again
    _same_columns(from_sql, kept)
    pd.testing.assert_frame_equal(got, want)
    with SweepStore(path) as store, SweepView(store, [keys[:4], keys[4:]]) as sql:
        pd.testing.assert_frame_equal(got, _frames(sql))  # the SQL ranking, row by row


@pytest.mark.parametrize("damage", ["a flipped byte", "cut", "another spec", "other rows", "json"])
def test_a_damaged_or_mismatched_blob_is_read_from_sql(
    tmp_path: Path, monkeypatch, damage: str
) -> None:
    path, sweep, _ = _recorded(tmp_path)
    want_cols, want = _read(path, sweep)
    meta, data, digest = _kept(path, sweep)
    if damage == "a flipped byte":
        at = len(data) // 2
        data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    elif damage == "cut":
        data = data[: len(data) - 7]
    elif damage == "other rows":  # the digest matches: the row count does not
        meta = meta.replace('"rows": 12', '"rows": 11')
        digest = column_cache._digest(meta, data)
    elif damage == "json":
        meta = meta[:-1]
        digest = column_cache._digest(meta, data)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE sweep_columns SET meta = ?, data = ?, digest = ?, spec = ? WHERE sweep = ?",
            (meta, data, digest, "other" if damage == "another spec" else "spec", sweep),
        )
    conn.close()
    with SweepStore(path) as store:
        got = column_cache.read(
            store, sweep, 12, want_cols.params, want_cols.bools, store.metric_keys
        )
        assert got is None
    calls = _reads(monkeypatch)
    cols, frame = _read(path, sweep)
    assert len(calls) == 1  # read from SQL
    _same_columns(want_cols, cols)
    pd.testing.assert_frame_equal(frame, want)
    meta, data, digest = _kept(path, sweep)  # and kept anew
    assert digest == column_cache._digest(meta, data)
    _read(path, sweep)
    assert len(calls) == 1


def test_a_store_without_the_table_reads_sql_and_gets_it(tmp_path: Path, monkeypatch) -> None:
    # a schema-3 store written before the table existed: the same schema, read as before
    path, sweep, _ = _recorded(tmp_path)
    calls = _reads(monkeypatch)
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "sweep_columns" not in tables
    _, want = _read(path, sweep)
    assert len(calls) == 1
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "sweep_columns" in tables
    assert check_store_file(path) == ""
    assert _read(path, sweep)[1].equals(want) and len(calls) == 1


def test_a_store_that_cannot_be_written_still_reads(tmp_path: Path, monkeypatch) -> None:
    # the columns are a cache: a store another writer holds is read from SQL, nothing kept
    path, sweep, _ = _recorded(tmp_path)
    monkeypatch.setattr(column_cache, "_LOCK_WAIT_MS", 50)
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    _read(path, sweep)
    other.rollback()
    other.close()
    assert _kept(path, sweep) is None


def test_nothing_is_kept_from_a_store_whose_check_fails(tmp_path: Path, monkeypatch) -> None:
    path, sweep, _ = _recorded(tmp_path)
    monkeypatch.setattr("engine.sweep.store.check_store_file", lambda p: "damaged (test)")
    with pytest.raises(UserError, match="damaged"):
        _read(path, sweep)
    monkeypatch.undo()
    assert _kept(path, sweep) is None
