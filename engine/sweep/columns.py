"""The rows of a recorded sweep as Arrow columns, read in one pass (:class:`SweepColumns`).

:class:`~engine.sweep.store_view.SweepView` ranks and exports a sweep recorded in the store
(``sweep_rows``) from these columns instead of an SQL ``ORDER BY`` of every wide row:

* one sequential read of the sweep's narrow rows (``combos``: key, parameters, job and outcome
  ids) in grid order, straight into Arrow arrays by the ADBC SQLite driver (C; ~4x faster than
  ``sqlite3`` tuples turned into numpy), a share of the columns per thread, each on its own
  connection that only runs a ``SELECT`` (it cannot see the ``sqlite3`` connection's TEMP
  tables, so it reads ``sweep_rows`` / ``combos``);
* the metrics are read once per distinct outcome (``outcomes``; ~25,000 over the 1M grid) and
  the provenance once per stored batch (``jobs``): each column is a dictionary array over those
  rows, all sharing one array of indices; a column that is one value over the sweep (strategy,
  ticker, data window, settings, ...) is a constant, broadcast;
* :meth:`SweepColumns.frame` gives any rows (by index) as the frame
  :meth:`~engine.sweep.store_view.SweepView.ranked` yields, with the same columns and dtypes
  as the ``sqlite3`` path builds.

:func:`load` returns ``None`` for what this path does not reproduce exactly (a parameter of
two SQL types or NULL in some rows, a NULL ``result``, text where a number belongs, an empty
sweep) or cannot read (the driver's error, e.g. a store locked past the timeout): the caller
then takes the ``sqlite3`` path.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_sqlite.dbapi as adbc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.distinct import first_seen_codes
from engine.sweep.store import FIXED_COLUMNS, JOB_COLUMNS, param_column, quote_name

#: Provenance columns (and the text metrics) usually one value over a sweep: broadcast when so.
CANDIDATES = [c for c in FIXED_COLUMNS if c not in ("key", "params", "created_at")] + [
    "start",
    "end",
]
_BITS = 62  # flag bits per flag column (a signed 64-bit SQLite integer)


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal (text or integer), or None when it is neither."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _read(path: Path, sql: str, rows: int) -> pa.Table:
    """``sql`` through the ADBC SQLite driver, as one Arrow table (one batch of ``rows``, so
    that the driver infers each column's type from all of its values)."""
    with adbc.connect(str(path.resolve()), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("PRAGMA busy_timeout = 30000")  # as the store's own connection waits
        cur.fetchall()
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(max(rows, 1))})
        cur.execute(sql)
        return cur.fetch_arrow_table()


FLAG_COST = 12  # reading a flag column costs about as much as this many plain columns
#: rows of a sweep read by one thread (a larger one is read by several, each some columns)
PART_ROWS = 100_000
#: columns per query: a thread holds one query's batch at a time (a batch's buffers are freed
#: together, once every column of it is gone: each column is compacted into buffers of its own)
GROUP_COLUMNS = 16
DICT_MAX = 32_767  # distinct values of a column held as int16 codes into its dictionary
#: a sweep of at least this share of the store's rows reads ``combos`` whole (:func:`_read_rows`)
SCAN_SHARE = 0.5
UNIQUE = frozenset({"pos", "run", "key", "_job", "_outcome", "_rowid"})  # no dictionary


def _read_columns(
    path: Path, columns: list[tuple[str, str]], src: str, count: int
) -> dict[str, pa.Array]:
    """The ``(name, SQL expression)`` columns over the rows of ``src`` (``FROM ...``, at most
    ``count`` rows), one Arrow array each (:func:`_compact`), read by up to ``os.cpu_count()``
    threads at once (each a share of the columns over every row, ``GROUP_COLUMNS`` per query,
    on its own connection: the driver releases the GIL; shares of the rows would need a copy
    to join)."""
    n = max(1, min(os.cpu_count() or 1, 4, count // PART_ROWS, len(columns)))
    shares: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    load = [0] * n
    for name, expr in columns:  # balanced by a rough cost: a flag column ~ a dozen plain ones
        i = load.index(min(load))
        shares[i].append((name, expr))
        load[i] += FLAG_COST if name.startswith("_flags") else 1
    queries = [
        [
            "SELECT "
            + ", ".join(f"{e} AS {quote_name(c)}" for c, e in share[lo : lo + GROUP_COLUMNS])
            + f" {src}"
            for lo in range(0, len(share), GROUP_COLUMNS)
        ]
        for share in shares
    ]
    if n == 1:
        parts = [_read_share(path, queries[0], count)]
    else:
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(lambda qs: _read_share(path, qs, count), queries))
    _trim()
    return {c: a for part in parts for c, a in part.items()}


def _read_share(path: Path, queries: list[str], count: int) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    for sql in queries:
        table = _read(path, sql, count)
        for name in table.column_names:
            out[name] = _compact(one_array(table.column(name)), name not in UNIQUE)
        del table
    return out


def _compact(arr: pa.Array, encode: bool) -> pa.Array:
    """``arr`` in buffers of its own: dictionary-encoded with int16 codes when it holds at most
    :data:`DICT_MAX` distinct values (a sweep's metrics take one value per distinct result:
    ~25,000 over the 1M grid; 2 bytes a row instead of 8), else copied."""
    kind = arr.type
    if encode and (
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_string(kind)
    ):
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) <= DICT_MAX:
            return pa.DictionaryArray.from_arrays(pc.cast(enc.indices, pa.int16()), enc.dictionary)
    return pa.concat_arrays([arr, arr.slice(0, 0)])


def _trim() -> None:
    """Give freed memory back to the system: glibc keeps the read's batches (freed once each
    column is compacted; ~450 MB over the 1M grid) in its heap for reuse, in the process's RSS,
    until ``malloc_trim``. Nothing to do with another C library."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _nulls(arr: pa.Array) -> int:
    """NULLs among the values of a (possibly dictionary-encoded) array."""
    if pa.types.is_dictionary(arr.type):
        return int(arr.null_count) + (
            int(pc.sum(pc.is_null(arr.dictionary.take(arr.indices))).as_py() or 0)
            if arr.dictionary.null_count
            else 0
        )
    return int(arr.null_count)


def _plain(arr: pa.Array) -> pa.Array:
    """The values of a (possibly dictionary-encoded) array."""
    if pa.types.is_dictionary(arr.type):
        return arr.dictionary.take(arr.indices)
    return arr


def _kind(arr: pa.Array) -> pa.DataType:
    """The value type of a (possibly dictionary-encoded) array."""
    return arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type


def one_array(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array (a single chunk as it is: ``combine_chunks`` would copy it)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


class SweepColumns:
    """A recorded sweep's rows (grid order) as Arrow arrays, with its constant columns."""

    def __init__(
        self,
        arrays: dict[str, pa.Array],
        constants: dict[str, Any],
        params: list[str],
        bools: set[str],
        metric_keys: list[str],
        groups: dict[str, tuple[pa.Array, list[str]]] | None = None,
    ) -> None:
        self.arrays, self.constants = arrays, constants
        self.params, self.bools, self.metric_keys = params, bools, metric_keys
        #: dictionary columns that share one array of indices (the metrics: one value per
        #: outcome; the provenance: one per job), by group: (indices, column names)
        self.groups = groups or {}
        self.count = len(arrays["pos"])
        #: metric columns that are float (a REAL or a NULL anywhere), as ``float_columns``
        self.floats = {
            k
            for k in metric_keys
            if k in arrays and (pa.types.is_floating(_kind(arrays[k])) or _nulls(arrays[k]))
        }
        self._repeated: dict[str, tuple[Any, int]] = {}
        self._labels = [
            f"param_{n}" if n in metric_keys or n in FIXED_COLUMNS else n for n in params
        ]

    def numbers(self, name: str) -> np.ndarray:
        """Column ``name`` as float64 (NULL as NaN)."""
        arr = _plain(self.arrays[name])
        if not pa.types.is_floating(arr.type):
            arr = pc.cast(arr, pa.float64())
        return arr.to_numpy(zero_copy_only=False)

    def integers(self, name: str) -> np.ndarray:
        return _plain(self.arrays[name]).to_numpy(zero_copy_only=False)

    def param_values(self, name: str) -> np.ndarray:
        """Parameter ``name`` as :meth:`SweepView.arrays` gives it: int64 or float64, text as
        objects (one shared ``str`` per distinct value)."""
        arr = _plain(self.arrays[param_column(name)])
        if pa.types.is_string(arr.type):
            enc = pc.dictionary_encode(arr)
            words = np.array(enc.dictionary.to_pylist(), dtype=object)
            return words[enc.indices.to_numpy()]
        return arr.to_numpy(zero_copy_only=False)

    def factorised(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``pd.factorize(self.param_values(name), use_na_sentinel=False)`` (codes as int64),
        from the column's dictionary codes instead of hashing every row again: the codes
        renumbered in order of first appearance. None when the column is not a dictionary of
        distinct integers or text (floats: pandas and Arrow may not group -0.0 / 0.0 alike)."""
        arr = self.arrays[param_column(name)]
        if not pa.types.is_dictionary(arr.type) or arr.null_count:
            return None
        words = arr.dictionary
        kind = words.type
        if not (pa.types.is_integer(kind) or pa.types.is_string(kind)) or words.null_count:
            return None
        if pc.count_distinct(words).as_py() != len(words):
            return None
        codes, order = first_seen_codes(arr.indices.to_numpy().astype(np.int64), len(words))
        uniques = words.take(pa.array(order))
        if pa.types.is_string(kind):
            values = np.array(uniques.to_pylist(), dtype=object)
        else:
            values = uniques.to_numpy().astype(np.int64)
        return codes, values

    def distinct(self, param: str) -> int:
        return int(pc.count_distinct(_plain(self.arrays[param_column(param)])).as_py())

    def table(self, idx: np.ndarray, ranks: np.ndarray, eligible: np.ndarray) -> pa.Table:
        """Rows ``idx`` (positions in grid order) as ``SweepView.ranked`` yields them (``rank``,
        the parameters, the metrics, the provenance, ``result``, ``eligible``), in the Arrow
        types their frame converts to: text as ``large_string``, an integer column with a NULL
        as float64, a boolean parameter as bool, a float metric as float64 (NULL stays NULL:
        NaN in the frame). :meth:`frame` is this table in pandas; the Parquet export writes it
        as it is."""
        take = pa.array(idx, type=pa.int64())
        n = len(idx)
        # the columns of a group share their dictionary indices: taken once per group
        shared = {
            name: taken
            for index, group in self.groups.values()
            for taken in [index.take(take)]
            for name in group
        }

        def values(name: str) -> pa.Array:
            arr = self.arrays[name]
            if name in shared and pa.types.is_dictionary(arr.type):
                return arr.dictionary.take(shared[name])
            return _plain(arr.take(take))

        names: list[str] = ["rank"]
        cols: list[pa.Array] = [pa.array(ranks, type=pa.int64())]
        for name, label in zip(self.params, self._labels, strict=True):
            arr = values(param_column(name))
            names.append(label)
            cols.append(pc.cast(arr, pa.bool_()) if name in self.bools else _typed(arr))
        for key in self.metric_keys:
            names.append(key)
            if key in self.constants:
                cols.append(self._constant(key, n))
            elif key in self.floats:
                arr = values(key)
                cols.append(arr if pa.types.is_floating(arr.type) else pc.cast(arr, pa.float64()))
            else:
                cols.append(_typed(values(key)))
        for name in [c for c in FIXED_COLUMNS if c != "params"] + ["result"]:
            names.append(name)
            if name in self.constants:
                cols.append(self._constant(name, n))
            else:
                cols.append(_typed(values(name)))
        names.append("eligible")
        cols.append(pa.array(eligible, type=pa.bool_()))
        return pa.Table.from_arrays(cols, names=names)

    def frame(self, idx: np.ndarray, ranks: np.ndarray, eligible: np.ndarray) -> pd.DataFrame:
        """:meth:`table` of rows ``idx`` as pandas (the types ``DataFrame.from_records`` gives
        the ``sqlite3`` path's rows: int64, float64 with NULL as NaN, bool, text as the ``str``
        dtype), the grid positions as the index."""
        return self.to_frame(self.table(idx, ranks, eligible), idx)

    def to_frame(self, table: pa.Table, idx: np.ndarray) -> pd.DataFrame:
        """:meth:`table` ``table`` of rows ``idx`` as :meth:`frame` gives it."""
        cols = {
            name: (col.to_pandas().array if pa.types.is_large_string(col.type) else col.to_numpy())
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
        frame = pd.DataFrame(
            cols, index=pd.Index(self.arrays["pos"].take(pa.array(idx, type=pa.int64())).to_numpy())
        )
        frame.attrs["param_columns"] = list(self._labels)
        return frame

    def _constant(self, name: str, n: int) -> pa.Array:
        """Column ``name`` (one value over the sweep) for ``n`` rows; the text ones kept for
        the next chunk of the same size (the arrays are immutable)."""
        value = self.constants[name]
        if not isinstance(value, str):
            return pa.array(np.full(n, value, dtype=np.int64))
        kept = self._repeated.get(name)  # (read once: two exports may run on two threads)
        if kept is None or kept[1] != n:
            kept = (pa.repeat(pa.scalar(value, pa.large_string()), n), n)
            self._repeated[name] = kept
        return kept[0]


def _typed(arr: pa.Array) -> pa.Array:
    """A column in the Arrow type its frame converts to: text as ``large_string``, integers
    with a NULL as float64, anything else as it is."""
    if pa.types.is_string(arr.type):
        return pc.cast(arr, pa.large_string())
    if pa.types.is_integer(arr.type) and arr.null_count:
        return pc.cast(arr, pa.float64())
    return arr


def load(
    conn: sqlite3.Connection,
    path: Path,
    sweep: int,
    params: list[str],
    bools: set[str],
    metric_keys: list[str],
) -> SweepColumns | None:
    """The rows of recorded sweep ``sweep`` as :class:`SweepColumns`, or None when this path
    would not give exactly the frames the ``sqlite3`` path gives (see the module)."""
    src = f"FROM sweep_rows s JOIN combos c ON c.rowid = s.run WHERE s.sweep = {int(sweep)}"
    count = int(
        conn.execute(f"SELECT COUNT(*) FROM sweep_rows WHERE sweep = {int(sweep)}").fetchone()[0]
    )
    if count == 0:
        return None
    kinds = [f"typeof(c.{quote_name(param_column(p))})" for p in params]
    first = conn.execute(
        f"SELECT {', '.join(kinds) or '0'} {src} ORDER BY s.pos LIMIT 1"
    ).fetchone()
    if first is None:
        return None
    # one bit per parameter: its SQL type differs from the first row's
    bits = [f"({k} IS NOT '{t}')" for k, t in zip(kinds, first, strict=False)]
    flags = [
        " | ".join(f"({b} << {j})" for j, b in enumerate(bits[lo : lo + _BITS]))
        for lo in range(0, len(bits), _BITS)
    ]
    # the flags (the costlier expressions) first: each thread's share starts with one of them
    exprs = [(f"_flags{i}", f) for i, f in enumerate(flags)]
    exprs += [("key", "c.key"), ("_job", "c.job"), ("_outcome", "c.outcome")]
    exprs += [(param_column(p), f"c.{quote_name(param_column(p))}") for p in params]
    try:
        arrays = _read_rows(conn, path, exprs, sweep, count)
        if arrays is None:
            return None
        seen = [
            int(np.bitwise_or.reduce(_plain(arrays.pop(f"_flags{i}")).to_numpy()))
            for i in range(len(flags))
        ]
        if any(seen[j // _BITS] >> (j % _BITS) & 1 for j in range(len(params))):
            return None  # a parameter of two SQL types (or NULL): from_records types it by chunk
        refs = _plain(arrays.pop("_outcome")).to_numpy()
        ids = np.unique(refs)
        # the metrics, once per outcome the sweep's rows point at (only those: a column's type
        # is inferred from this sweep's values, as the SQL path types them)
        outcomes = _read(
            path,
            "SELECT id, result, sr, "
            + ", ".join(quote_name(k) for k in metric_keys)
            + f" FROM outcomes WHERE id IN ({','.join(map(str, ids.tolist()))}) ORDER BY id",
            len(ids),
        )
    except adbc_driver_manager.Error:
        return None  # e.g. a store another process holds locked past the timeout: SQL reads it
    constants: dict[str, Any] = {}
    by_outcome = _lookup(one_array(outcomes.column("id")).to_numpy(), refs)
    if by_outcome is None or len(by_outcome[0]) != len(outcomes):
        return None  # a row without its outcome: the view (and so SQL) leaves it out
    used, index = by_outcome
    groups: dict[str, tuple[pa.Array, list[str]]] = {"outcome": (index, [])}
    for name in ["result", "sr", *metric_keys]:
        values = one_array(outcomes.column(name))
        if name in CANDIDATES and _one(values):
            constants[name] = values[0].as_py()
        else:
            arrays[name] = pa.DictionaryArray.from_arrays(index, values)
            groups["outcome"][1].append(name)
    # the provenance, once per job
    jobs = conn.execute(f"SELECT id, {', '.join(JOB_COLUMNS)} FROM jobs ORDER BY id").fetchall()
    by_job = _lookup(
        np.array([j[0] for j in jobs], dtype=np.int64), _plain(arrays.pop("_job")).to_numpy()
    )
    if by_job is None:
        return None
    used, index = by_job
    groups["job"] = (index, [])
    for k, name in enumerate(JOB_COLUMNS, start=1):
        values = [jobs[i][k] for i in used.tolist()]
        if name in CANDIDATES and len(set(values)) == 1 and _literal(values[0]) is not None:
            constants[name] = values[0]
        else:
            try:
                arrays[name] = pa.DictionaryArray.from_arrays(index, pa.array(values))
            except (pa.ArrowException, TypeError, ValueError):
                return None  # values of several types: SQL reads them
            groups["job"][1].append(name)
    if not _exact(arrays, params, metric_keys, constants):
        return None
    return SweepColumns(arrays, constants, params, bools, metric_keys, groups)


def _read_rows(
    conn: sqlite3.Connection, path: Path, exprs: list[tuple[str, str]], sweep: int, count: int
) -> dict[str, pa.Array] | None:
    """``exprs`` (over ``combos c``) of the sweep's rows in grid order, with ``pos`` and ``run``.

    A sweep that is most of the store (the usual case: one big sweep) reads ``combos`` whole in
    rowid order - a sequential scan - and puts the rows in grid order in numpy (``take``);
    otherwise it reads ``sweep_rows`` joined to ``combos``, one lookup by rowid per row (~2x
    slower per row, but only the sweep's). None: a row of the sweep is missing."""
    top = int(conn.execute("SELECT MAX(rowid) FROM combos").fetchone()[0] or 0)
    if count < top * SCAN_SHARE:
        src = (
            f"FROM sweep_rows s JOIN combos c ON c.rowid = s.run WHERE s.sweep = {int(sweep)} "
            "ORDER BY s.pos"
        )
        return _read_columns(path, [("pos", "s.pos"), ("run", "s.run"), *exprs], src, count)
    order = _read(
        path, f"SELECT pos, run FROM sweep_rows WHERE sweep = {int(sweep)} ORDER BY pos", count
    )
    runs = one_array(order.column("run")).to_numpy()
    every = _read_columns(
        path, [("_rowid", "c.rowid"), *exprs], "FROM combos c ORDER BY c.rowid", top
    )
    rowids = _plain(every.pop("_rowid")).to_numpy()
    at = np.searchsorted(rowids, runs)
    if (
        len(rowids) == 0
        or (at >= len(rowids)).any()
        or (rowids[np.minimum(at, len(rowids) - 1)] != runs).any()
    ):
        return None
    take = pa.array(at)
    out = {"pos": one_array(order.column("pos")), "run": one_array(order.column("run"))}
    out.update((name, arr.take(take)) for name, arr in every.items())
    _trim()
    return out


def _lookup(ids: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, pa.Array] | None:
    """The positions in ``ids`` (sorted) of the ids ``refs`` uses, and each ref's index into
    those (int32, as Arrow dictionary indices); None when some ref is not in ``ids``."""
    used = np.unique(refs)
    at = np.searchsorted(ids, used)
    if len(ids) == 0 or (at >= len(ids)).any() or (ids[np.minimum(at, len(ids) - 1)] != used).any():
        return None
    return at, pa.array(np.searchsorted(used, refs).astype(np.int32))


def _one(values: pa.Array) -> bool:
    """Whether ``values`` is one literal value (text or integer, no NULL) repeated."""
    return (
        len(values) > 0
        and values.null_count == 0
        and _literal(values[0].as_py()) is not None
        and pc.count_distinct(values).as_py() == 1
    )


def _exact(
    arrays: dict[str, pa.Array],
    params: list[str],
    metric_keys: list[str],
    constants: dict[str, Any],
) -> bool:
    """Whether the frames built from ``arrays`` are those of the ``sqlite3`` path (which types
    each chunk of rows on its own: a column that is not one type without NULLs over the whole
    sweep could differ between chunks)."""
    for name in ("pos", "run", "result", "key", "created_at"):
        if name not in constants and _nulls(arrays[name]):
            return False
    for name in ("pos", "run", "result"):
        if name not in constants and not pa.types.is_integer(_kind(arrays[name])):
            return False
    for p in params:
        arr = arrays[param_column(p)]
        if _nulls(arr) or not (
            pa.types.is_integer(_kind(arr))
            or pa.types.is_floating(_kind(arr))
            or pa.types.is_string(_kind(arr))
        ):
            return False
    for key in metric_keys:
        if key in constants:
            continue
        arr = arrays[key]
        if key in ("start", "end"):
            if _nulls(arr) or not pa.types.is_string(_kind(arr)):
                return False
        elif not (pa.types.is_integer(_kind(arr)) or pa.types.is_floating(_kind(arr))):
            return False
    for name in FIXED_COLUMNS:
        if name in arrays and name not in ("key", "created_at"):
            arr = arrays[name]
            if _nulls(arr) or not (
                pa.types.is_string(_kind(arr)) or pa.types.is_integer(_kind(arr))
            ):
                return False
    return True
