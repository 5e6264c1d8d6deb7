"""A recorded sweep's columns kept beside it in the store, so that a resume reads one blob.

A sweep recorded in the store (``sweeps``, ``sweep_rows``) never changes: rows are only ever
added, never updated or deleted. Its columns as :func:`engine.sweep.columns.load` builds them
(:class:`~engine.sweep.columns.SweepColumns`: the parameters, keys and grid positions row by
row, the metrics once per outcome and the provenance once per job, each group sharing one
array of indices) are therefore kept once, the first time they are read, as Arrow IPC streams
(zstd-compressed) in the store's ``sweep_columns`` table, keyed by the sweep's id and spec.
Reading the 1,000,000-point MA sweep back from it takes a fraction of the ~864,000-row SQL
read it replaces (benchmarks/README.md).

What is kept is checked before it is used: its format, the sweep's spec, its row count against
``sweep_rows``, a blake2b digest of every byte, and the parameter and metric names the caller
expects. Anything else (a damaged blob, a table of another format, a store without the table)
is read from SQL as before and kept anew: a blob never gives an answer the SQL read would not.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from engine.sweep import columns as sweep_columns
from engine.sweep.store import SweepStore

FORMAT = 1  # what :func:`encode` writes; another number is read from SQL and kept anew
_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
#: how long keeping the columns waits for another writer of the store before it gives up
_LOCK_WAIT_MS = 2000


def _digest(meta: str, data: bytes) -> str:
    h = hashlib.blake2b(meta.encode(), digest_size=16)
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def encode(cols: sweep_columns.SweepColumns) -> tuple[str, bytes]:
    """``cols`` as ``(meta, data)``: the JSON that describes it and its Arrow IPC streams, one
    per table (the rows, then each group of dictionary columns by its shared indices)."""
    grouped = {name for _, names in cols.groups.values() for name in names}
    rows = {name: arr for name, arr in cols.arrays.items() if name not in grouped}
    tables = []
    for group, (index, names) in cols.groups.items():
        rows[f"_index:{group}"] = index
        tables.append(pa.table({n: cols.arrays[n].dictionary for n in names}))
    parts = [_stream(pa.table(rows)), *(_stream(t) for t in tables)]
    meta = json.dumps(
        {
            "format": FORMAT,
            "rows": cols.count,
            "params": cols.params,
            "bools": sorted(cols.bools),
            "metric_keys": cols.metric_keys,
            "constants": cols.constants,
            "groups": [[g, names] for g, (_, names) in cols.groups.items()],  # in data order
            "sizes": [len(p) for p in parts],
        },
        sort_keys=True,
    )
    return meta, b"".join(parts)


def decode(
    meta_text: str,
    data: bytes,
    digest: str,
    count: int,
    params: list[str],
    bools: set[str],
    metric_keys: list[str],
) -> sweep_columns.SweepColumns | None:
    """The columns kept as ``(meta_text, data)``, or None when they are not those of a sweep of
    ``count`` rows with these parameters and metrics, or not the bytes that were kept."""
    if _digest(meta_text, data) != digest:
        return None
    try:
        meta = json.loads(meta_text)
        if not (
            meta.get("format") == FORMAT
            and meta["rows"] == count
            and meta["params"] == params
            and set(meta["bools"]) == bools
            and meta["metric_keys"] == metric_keys
            and sum(meta["sizes"]) == len(data)
            and len(meta["sizes"]) == 1 + len(meta["groups"])
        ):
            return None
        tables, at = [], 0
        for size in meta["sizes"]:
            with pa.ipc.open_stream(pa.py_buffer(data)[at : at + size]) as reader:
                tables.append(reader.read_all().combine_chunks())
            at += size
        rows = tables[0]
        if rows.num_rows != count:
            return None
        arrays = {name: sweep_columns.one_array(rows.column(name)) for name in rows.column_names}
        groups: dict[str, tuple[pa.Array, list[str]]] = {}
        for (group, names), table in zip(meta["groups"], tables[1:], strict=True):
            index = arrays.pop(f"_index:{group}")
            if table.column_names != names:
                return None
            for name in names:  # (safe: every index is checked to be in its dictionary)
                arrays[name] = pa.DictionaryArray.from_arrays(
                    index, sweep_columns.one_array(table.column(name))
                )
            groups[group] = (index, names)
        return sweep_columns.SweepColumns(
            arrays, meta["constants"], params, bools, metric_keys, groups
        )
    except (pa.ArrowException, KeyError, TypeError, ValueError):
        return None


def read(
    store: SweepStore,
    sweep: int,
    count: int,
    params: list[str],
    bools: set[str],
    metric_keys: list[str],
) -> sweep_columns.SweepColumns | None:
    """The columns kept for recorded sweep ``sweep`` (of ``count`` rows), or None: none kept,
    or what is kept does not pass (:func:`decode`)."""
    kept = store.kept_columns(sweep)
    if kept is None:
        return None
    meta, data, digest = kept
    return decode(meta, data, digest, count, params, bools, metric_keys)


def keep(store: SweepStore, sweep: int, cols: sweep_columns.SweepColumns) -> None:
    """Keep ``cols`` (read from SQL) for recorded sweep ``sweep`` when the store closes
    (:meth:`SweepStore.keep_columns`; encoded then, after everything is shown)."""

    def make() -> tuple[str, bytes, str] | None:
        try:
            meta, data = encode(cols)
        except (pa.ArrowException, TypeError, ValueError):
            return None  # (nothing kept: read from SQL next time)
        return meta, data, _digest(meta, data)

    store.keep_columns(sweep, make, _LOCK_WAIT_MS)


def load(
    store: SweepStore,
    sweep: int,
    count: int,
    params: list[str],
    bools: set[str],
    metric_keys: list[str],
) -> sweep_columns.SweepColumns | None:
    """Recorded sweep ``sweep``'s columns: kept ones when they pass, else read from SQL
    (:func:`engine.sweep.columns.load`) and kept; None when SQL must read the rows."""
    cols = read(store, sweep, count, params, bools, metric_keys)
    if cols is not None:
        return cols
    cols = sweep_columns.load(store.conn, store.path, sweep, params, bools, metric_keys)
    if cols is not None:
        keep(store, sweep, cols)
    return cols
