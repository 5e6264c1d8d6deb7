"""The SQLite sweep store: unique rows, resume queries, exact round trips, exports."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.cli.main import main
from engine.errors import UserError
from engine.files import canonical_json
from engine.sweep.export import export_frame
from engine.sweep.store import (
    APPLICATION_ID,
    Row,
    SweepStore,
    metric_array,
    outcome_ids,
    result_hash,
    result_hashes,
)


def make_row(key: str, fast: int = 5, sharpe: float = 1.25, n: int = 6, seed: int = 0) -> Row:
    metrics = {k: float(i) + 0.125 for i, k in enumerate(METRIC_KEYS)}
    metrics.update(start="2025-03-28", end="2025-04-04", bars=n, n_trades=3, sharpe=sharpe)
    metrics.update(alpha=math.nan, profit_factor=math.inf, sortino=np.float64(0.1 + 0.2))
    returns = np.random.default_rng(seed).normal(0, 0.02, n - 1).astype(np.float32)
    return Row(
        key=key,
        strategy="ma_trend",
        params={"fast": fast, "slow": 60, "mode": "cross", "levels": (1.5, 2.0)},
        engine="backtrader",
        ticker="CRWV",
        data={"start": "2025-03-28", "end": "2025-04-04", "bars": n, "sha": "abc"},
        settings={"cash": 100000.0, "slippage": 0.0005},
        metrics=metrics,
        returns=returns,
    )


def test_insert_or_ignore_never_duplicates(tmp_path: Path) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        assert store.add([make_row("a"), make_row("b", fast=10)]) == 2
        assert (
            store.add([make_row("a", sharpe=9.0), make_row("c", fast=15)]) == 1
        )  # "a" kept as first stored
        assert store.count() == 3
        assert store.done_keys(["a", "x", "c"]) == {"a", "c"}
        assert store.frame(["a"])["sharpe"].iloc[0] == 1.25
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO combos SELECT * FROM combos WHERE key = 'a'")  # UNIQUE(key)


def test_frame_round_trips_values_exactly(tmp_path: Path) -> None:
    row = make_row("a")
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add([row])
        frame = store.frame(["a"])
    got = frame.iloc[0]
    for key in METRIC_KEYS:
        want = row.metrics[key]
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == want, key
    assert got["profit_factor"] == math.inf
    assert got["fast"] == 5 and got["mode"] == "cross" and got["levels"] == "1.5,2"
    assert frame.attrs["param_columns"] == ["fast", "levels", "mode", "slow"]
    assert got["data_sha"] == "abc" and got["engine"] == "backtrader"
    assert got["code_version"]


def test_frame_keeps_the_requested_order_and_skips_missing(tmp_path: Path) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add([make_row(k, fast=i) for i, k in enumerate("abcd")])
        assert list(store.frame(["d", "zz", "b"])["key"]) == ["d", "b"]
        assert list(store.frame()["key"]) == list("abcd")
        assert list(store.frame(strategy="nope")["key"]) == []


def test_returns_matrix_is_float32_in_key_order(tmp_path: Path) -> None:
    rows = [make_row(k, seed=i) for i, k in enumerate("abc")]
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add(rows)
        m = store.returns_matrix(["c", "a"])
        assert m.dtype == np.float32 and m.shape == (5, 2)
        np.testing.assert_array_equal(m[:, 0], rows[2].returns)
        np.testing.assert_array_equal(m[:, 1], rows[0].returns)
        with pytest.raises(UserError, match="1 of 2 combinations are not in the store"):
            store.returns_matrix(["a", "missing"])


def test_many_keys_do_not_hit_sqlite_variable_limits(tmp_path: Path) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add([make_row(f"k{i}", fast=i) for i in range(50)])
        keys = [f"k{i}" for i in range(5000)]
        assert len(store.done_keys(keys)) == 50


def test_a_store_missing_newer_metric_columns_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    old = make_row("a")
    del old.metrics["sqn"]  # computed by a version before the metric existed
    with SweepStore(path) as store:
        store.add([old])
    with sqlite3.connect(path) as conn:  # and stored in its outcomes table, which lacks it
        conn.execute("DROP VIEW runs")
        conn.execute('ALTER TABLE outcomes DROP COLUMN "sqn"')
    with SweepStore(path) as store:
        assert pd.isna(store.frame(["a"])["sqn"].iloc[0])
        store.add([make_row("b")])
        assert store.frame(["b"])["sqn"].iloc[0] == make_row("b").metrics["sqn"]


def test_exports_csv_and_parquet(tmp_path: Path) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add([make_row("a"), make_row("b", fast=10)])
        frame = store.frame()
    csv = pd.read_csv(export_frame(frame, tmp_path / "out" / "rows.csv"))
    pq = pd.read_parquet(export_frame(frame, tmp_path / "rows.parquet"))
    for back in (csv, pq):
        assert list(back["fast"]) == [5, 10]
        assert list(back.columns) == list(frame.columns)
        assert back["sharpe"].tolist() == frame["sharpe"].tolist()
    with pytest.raises(UserError, match="use a .csv or .parquet"):
        export_frame(frame, tmp_path / "rows.xlsx")


def test_not_a_store_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="damaged or not a SQLite database"):
        SweepStore(bad)


def test_canonical_json_is_order_independent() -> None:
    assert (
        canonical_json({"b": 1, "a": (1.0, 2)})
        == canonical_json({"a": [1.0, 2], "b": 1})
        == '{"a":[1.0,2],"b":1}'
    )


def test_result_hashes_of_a_matrix_equal_each_rows_result_hash() -> None:
    rets = np.random.default_rng(3).normal(0, 0.02, (8, 9)).astype(np.float32)
    rets[4] = rets[1]
    rets[5] = rets[0]  # the same returns with another trade count: another result
    rets[7] = rets[6]
    trades = [3, 3.0, math.nan, None, 3, 0, math.nan, None]
    want = [result_hash(r.tobytes(), t) for r, t in zip(rets, trades, strict=True)]
    assert result_hashes(rets, trades) == want
    assert want[4] == want[1] and want[5] != want[0] and want[7] == want[6]
    # rows named as copies (an engine that ran their input once) are not hashed again
    same = np.array([0, 1, 2, 3, 1, 5, 6, 6])
    assert result_hashes(rets, trades, same) == want
    assert result_hashes(rets, np.array(trades, dtype=object), same) == want
    wrong = np.array([0, 1, 2, 3, 0, 5, 6, 6])  # row 4 said to copy row 0: it gets row 0's hash
    assert result_hashes(rets, trades, wrong)[4] == want[0]
    assert len(set(want)) == 6  # same returns and trades (NaN and None alike): same result


# ---------------------------------------------------------------- our schema, and nothing else


def _filled_store(path: Path, rows: int = 300) -> None:
    with SweepStore(path) as store:
        store.add([make_row(f"k{i}", fast=i, n=60, seed=i) for i in range(rows)])
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()


def _refused(path: Path, message: str) -> None:
    def files() -> dict[str, bytes]:  # the database and its write-ahead log
        return {p.name: p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()}

    before = files()
    with pytest.raises(UserError) as info:
        SweepStore(path)
    text = str(info.value)
    assert message in text and "\n" not in text and "pick another --store" in text, text
    assert files() == before  # byte-identical


def test_a_store_carries_its_marker(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SweepStore(path) as store:
        store.add([make_row("a")])
    app = sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0]
    assert app == APPLICATION_ID


@pytest.mark.parametrize(
    "tables",
    [
        ["CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)", "CREATE TABLE users (a, b)"],
        ["CREATE TABLE results (x)"],
    ],
)
def test_another_programs_database_is_refused_and_left_byte_identical(
    tmp_path: Path, tables: list[str]
) -> None:
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    for sql in tables:
        conn.execute(sql)
    conn.execute(
        f"INSERT INTO {tables[-1].split()[2]} VALUES (1, 2)"
        if "users" in tables[-1]
        else "INSERT INTO results VALUES (1)"
    )
    conn.commit()
    conn.close()
    _refused(path, "not a crwv-bt sweep store (a SQLite database of another program")


def test_random_bytes_mid_file_are_found_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _filled_store(path)
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 512] = np.random.default_rng(3).integers(0, 256, 512, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    _refused(
        path, "damaged"
    )  # "damaged (...)" or, on a schema page, "damaged or not a SQLite database"


@pytest.mark.parametrize("keep", [13, 12])
def test_a_cut_returns_blob_is_found_at_open(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "s.sqlite"
    _filled_store(path, rows=3)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE run_returns SET returns = substr(returns, 1, ?) WHERE rowid = "
            "(SELECT MIN(rowid) FROM run_returns)",
            (keep,),
        )
    conn.close()
    _refused(path, f"are {keep} bytes, not 236")


def test_a_database_error_inside_the_store_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"s.sqlite: the sweep store failed \(no such table"):
        with SweepStore(tmp_path / "s.sqlite") as store:
            store.conn.execute("SELECT * FROM nothing_here")


def test_sweep_commands_refuse_another_programs_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    conn.close()
    before = path.read_bytes()
    assert main(["sweep", "export", "--store", str(path), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "another program" in err
    assert path.read_bytes() == before


def test_outcome_ids_share_a_row_only_when_result_and_metrics_agree() -> None:
    n = 6
    results = [7, 7, 7, 9, 9, 7]
    sharpe = metric_array([1.0, 1.0, 2.0, 1.0, 1.0, 1.0])  # row 2 shares its result, not sharpe
    trades = metric_array([3, 3, 3, 3, 3, None])  # row 5: a NULL where the others have 3
    start = metric_array(["2025-03-28"] * n)
    ids, firsts = outcome_ids(results, {"sharpe": sharpe, "n_trades": trades, "start": start})
    assert ids[0] == ids[1] and len({ids[0], ids[2], ids[3], ids[5]}) == 4 and ids[3] == ids[4]
    assert firsts == {ids[0]: 0, ids[2]: 2, ids[3]: 3, ids[5]: 5}
    # an id depends on the row alone: the same row in another batch, a missing key = NULL
    alone, _ = outcome_ids(
        [7],
        {
            "sharpe": metric_array([2.0]),
            "n_trades": metric_array([3]),
            "start": metric_array(["2025-03-28"]),
        },
    )
    assert alone == [ids[2]]
    null, _ = outcome_ids(
        [7],
        {
            "sharpe": metric_array([1.0]),
            "start": metric_array(["2025-03-28"]),
            "n_trades": metric_array([None]),
        },
    )
    missing, _ = outcome_ids(
        [7], {"sharpe": metric_array([1.0]), "start": metric_array(["2025-03-28"])}
    )
    assert null == missing == [ids[5]]
    # whole numbers hash as the same float (a store read back gives 3 or 3.0 alike)
    as_float, _ = outcome_ids(
        [7],
        {
            "sharpe": metric_array([1.0]),
            "n_trades": metric_array([3.0]),
            "start": metric_array(["2025-03-28"]),
        },
    )
    assert as_float == [ids[0]]


def test_rows_of_one_outcome_share_one_outcomes_row(tmp_path: Path) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add([make_row("a"), make_row("b", fast=10), make_row("c", sharpe=2.0)])
        rows = store.conn.execute("SELECT key, outcome FROM combos ORDER BY key").fetchall()
        assert rows[0][1] == rows[1][1] != rows[2][1]  # a and b: same returns and metrics
        assert store.conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] == 2
        assert store.frame(["a", "b", "c"])["sharpe"].tolist() == [1.25, 1.25, 2.0]
        assert store.frame(["b"])["fast"].tolist() == [10]


def _damaged(path: Path, how: str) -> None:
    _filled_store(path)
    if how == "cut returns":
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE run_returns SET returns = substr(returns, 1, 13) WHERE rowid = "
                "(SELECT MIN(rowid) FROM run_returns)"
            )
        conn.close()
        sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    else:
        raw = bytearray(path.read_bytes())
        mid = len(raw) // 2
        raw[mid : mid + 512] = (
            np.random.default_rng(3).integers(0, 256, 512, dtype=np.uint8).tobytes()
        )
        path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["cut returns", "random bytes"])
def test_a_deferred_check_refuses_before_any_write_and_before_anything_is_shown(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "s.sqlite"
    _damaged(path, how)
    before = path.read_bytes()
    with pytest.raises(UserError) as info:  # at the open, or at the first thing it must wait for
        with SweepStore(path, defer_check=True) as store:
            assert store._pending is not None  # a store of this version: checked on a thread
            store.add([make_row("new", fast=999)])
    text = str(info.value)
    assert "damaged" in text and "\n" not in text and "pick another --store" in text, text
    assert "left as it was" in text
    assert path.read_bytes() == before
    with pytest.raises(UserError, match="damaged"):
        with SweepStore(path, defer_check=True) as store:
            store.verified()
    assert path.read_bytes() == before


def test_a_sound_store_opened_with_a_deferred_check_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _filled_store(path, rows=3)
    with SweepStore(path, defer_check=True) as store:
        assert store.count() == 3
        store.verified()
        assert store.add([make_row("new", fast=999)]) == 1
    with SweepStore(path) as store:
        assert store.count() == 4


@pytest.mark.parametrize(
    "case", ["new rows in order", "another order", "a row more", "one old", "keys with commas"]
)
def test_a_sweep_records_the_rows_of_its_keys_in_grid_order(tmp_path: Path, case: str) -> None:
    with SweepStore(tmp_path / "s.sqlite") as store:
        if case == "one old":
            store.add([make_row("k3", fast=3)])  # stored before: not a new row of this sweep
        after = store.last_rowid()
        keys = [f"k,{i}" if case == "keys with commas" else f"k{i}" for i in range(8)]
        stored = keys[::-1] if case == "another order" else list(keys)
        if case == "a row more":
            stored.insert(4, "other")
        store.add(
            [
                make_row(k, fast=100 + i)
                for i, k in enumerate(stored)
                if k != "k3" or case != "one old"
            ]
        )
        taken: list[bool] = []
        link = store._link_new_rows
        store._link_new_rows = lambda *a: taken.append(link(*a)) or taken[-1]  # type: ignore[method-assign]
        sweep = store.save_sweep("spec", {}, lambda: iter([keys[:3], keys[3:]]), len(keys), after)
        assert sweep is not None
        # rowids as stored, else looked up by key
        assert taken == [case in ("new rows in order", "keys with commas")]
        got = store.conn.execute(
            "SELECT r.pos, c.key FROM sweep_rows r JOIN combos c ON c.rowid = r.run "
            "WHERE r.sweep = ? ORDER BY r.pos",
            (sweep,),
        ).fetchall()
        assert got == list(enumerate(keys))
        assert store.save_sweep("spec", {}, lambda: [keys], len(keys), after) == sweep  # once
        assert store.save_sweep("other", {}, lambda: [[*keys, "missing"]], 9, after) is None
        assert store.conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0] == 1


def _key_indexes(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'combos'"
            )
        ]


def test_a_load_into_an_empty_store_builds_the_key_index_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SweepStore(path) as store:
        assert _key_indexes(path) == ["combos_key"]
        with store.bulk(load=True) as loading:
            assert loading.deferred and _key_indexes(path) == []
            assert store.add([make_row("a"), make_row("b", fast=10)]) == 2
            # without the index a second copy goes in; the index build deletes it, keeping the
            # first (what INSERT OR IGNORE does with the index in place)
            assert store.add([make_row("a", sharpe=9.0), make_row("c", fast=15)]) == 2
        assert loading.removed == 1 and _key_indexes(path) == ["combos_key"]
        assert store.count() == 3 and store.frame(["a"])["sharpe"].iloc[0] == 1.25
        assert store.add([make_row("a", sharpe=7.0)]) == 0
        with store.bulk(load=True) as loading:  # not empty: the index stays
            assert not loading.deferred and _key_indexes(path) == ["combos_key"]


def test_a_load_that_died_leaves_a_store_the_next_open_indexes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SweepStore(path) as store:
        store.add([make_row("a"), make_row("b", fast=10)])
    with sqlite3.connect(path) as conn:  # as a load killed before its end leaves it
        conn.execute("DROP INDEX combos_key")
        conn.execute("INSERT INTO combos SELECT * FROM combos WHERE key = 'a'")
    assert _key_indexes(path) == []
    with SweepStore(path) as store:
        assert _key_indexes(path) == ["combos_key"]
        assert store.count() == 2
        assert store.conn.execute("SELECT rowid FROM combos WHERE key = 'a'").fetchall() == [(1,)]
        assert store.add([make_row("a", sharpe=9.0)]) == 0


def test_a_store_with_its_key_unique_inline_loads_with_the_index_in_place(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    with SweepStore(path) as store:  # made as stores were before the index had a name
        store.conn.execute("DROP VIEW runs")
        store.conn.execute("DROP TABLE combos")
        store.conn.execute(
            "CREATE TABLE combos (key TEXT NOT NULL UNIQUE, job INTEGER NOT NULL, "
            "params TEXT NOT NULL, outcome INTEGER NOT NULL)"
        )
        store.conn.commit()
    assert _key_indexes(path) == ["sqlite_autoindex_combos_1"]
    with SweepStore(path) as store:
        with store.bulk(load=True) as loading:
            assert not loading.deferred
            assert store.add([make_row("a"), make_row("a", sharpe=9.0)]) == 1
    assert _key_indexes(path) == ["sqlite_autoindex_combos_1"]


def test_outcomes_of_a_rolled_back_batch_are_written_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store skips converting outcomes and binding returns it has committed; one whose
    transaction rolled back was not committed, so the same rows added again still get their
    outcomes and returns."""
    with SweepStore(tmp_path / "s.sqlite") as store:
        assert store.add([make_row("a")]) == 1
        known = set(store._outcomes.done)
        results = set(store._results.done)
        assert len(known) == 1 and len(results) == 1
        real = store._add_param_columns

        def fail(*args: object, **kwargs: object) -> bool:
            raise RuntimeError("disk gone")

        monkeypatch.setattr(store, "_add_param_columns", fail)
        with pytest.raises(RuntimeError):
            store.add([make_row("b", fast=10, seed=5)])
        assert store._outcomes.done == known and not store._outcomes.pending
        assert store._results.done == results and not store._results.pending
        monkeypatch.setattr(store, "_add_param_columns", real)
        assert store.add([make_row("c", fast=11)]) == 1  # a commit between
        assert store.add([make_row("b", fast=10, seed=5)]) == 1
        frame = store.frame(["a", "b", "c"])  # the runs view joins outcomes: none missing
        assert list(frame["key"]) == ["a", "b", "c"]
        assert store.conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] == 2
        joined = (
            "SELECT COUNT(*) FROM combos JOIN outcomes ON outcomes.id = combos.outcome "
            "JOIN run_returns ON run_returns.result = outcomes.result"
        )
        assert store.conn.execute(joined).fetchone()[0] == 3  # every row's returns stored
        assert store.conn.execute("SELECT COUNT(*) FROM run_returns").fetchone()[0] == 2
