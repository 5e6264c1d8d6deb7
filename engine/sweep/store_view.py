"""The rows of one sweep, ranked and aggregated (:class:`SweepView`).

Nothing here holds one Python object per combination. A sweep recorded in the store is read
once into Arrow columns (:mod:`engine.sweep.columns`) and ranked in numpy; other rows (key
chunks: a temporary ``_sweep(key, pos)`` table) are ranked by ``ORDER BY ... LIMIT`` (SQLite
sorts on disk). Either way the export streams chunks and the heatmap is a ``GROUP BY``. The
order is :func:`engine.sweep.selection.rank`'s: eligible rows first, NaN last, ties in grid
order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.sweep import column_cache
from engine.sweep import columns as sweep_columns
from engine.sweep.selection import ranking_order
from engine.sweep.store import (
    EXPORT_CHUNK,
    FIXED_COLUMNS,
    SweepStore,
    float_columns,
    param_column,
    param_sql,
    quote_name,
    typed_rows,
    unify_floats,
)

_EMPTY: dict[str, Any] = {"pos": np.int64, "run": np.int64, "result": np.int64}

#: The rows of the sweep (``_sweep``: pos, run), joined to the store's.
SOURCE = "FROM runs JOIN _sweep ON runs.rowid = _sweep.run"


class SweepView:
    """The rows of one sweep (in grid order), ranked and aggregated.

    Nothing here holds one Python object per combination: the sweep's rows are a temporary
    ``_sweep(pos, run)`` table (from the keys in chunks) or view (of a sweep recorded in the
    store, ``sweep=ID``: nothing to build). A recorded sweep is read once into Arrow columns
    (:meth:`columns`) and ranked in numpy; otherwise (or when :func:`engine.sweep.columns.load`
    declines) the ranking is ``ORDER BY ... LIMIT`` (SQLite sorts on disk). The export streams
    ``chunk`` rows at a time, the heatmap is a ``GROUP BY`` of the typed parameter columns.
    """

    def __init__(
        self,
        store: SweepStore,
        key_chunks: Iterable[list[str]] | None = None,
        *,
        sweep: int | None = None,
    ) -> None:
        self.store, self.conn = store, store.conn
        self.sweep = None if sweep is None else int(sweep)
        self._columns: sweep_columns.SweepColumns | None = None
        self._loaded = False
        self._orders: dict[tuple[str, bool, int], tuple[np.ndarray, np.ndarray]] = {}
        self._drop()
        if sweep is not None:
            self.conn.execute(
                f"CREATE TEMP VIEW _sweep AS SELECT pos, run FROM sweep_rows WHERE sweep = {int(sweep)}"
            )
            self.count = int(
                self.conn.execute(
                    "SELECT COUNT(*) FROM sweep_rows WHERE sweep = ?", (int(sweep),)
                ).fetchone()[0]
            )
        else:
            self.conn.execute("CREATE TEMP TABLE _sweep (pos INTEGER PRIMARY KEY, run INTEGER)")
            self.conn.execute("DROP TABLE IF EXISTS temp._keys")
            self.conn.execute("CREATE TEMP TABLE _keys (key TEXT PRIMARY KEY, pos INTEGER)")
            pos = 0
            for keys in key_chunks or []:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO _keys VALUES (?, ?)",
                    ((k, pos + i) for i, k in enumerate(keys)),
                )
                pos += len(keys)
            self.conn.execute(
                "INSERT INTO _sweep SELECT _keys.pos, runs.rowid FROM _keys JOIN runs USING (key)"
            )
            self.conn.execute("DROP TABLE temp._keys")
            self.count = int(self.conn.execute("SELECT COUNT(*) FROM _sweep").fetchone()[0])
        self.conn.commit()
        self._floats: set[str] | None = None
        first = self.conn.execute(f"SELECT params {SOURCE} LIMIT 1").fetchone()
        params = json.loads(first[0]) if first else {}
        #: the sweep's parameter names (sorted, as the JSON has them) and the boolean ones
        self.params = list(params)
        self.bools = {k for k, v in params.items() if isinstance(v, bool)}

    def columns(self) -> sweep_columns.SweepColumns | None:
        """The rows of a recorded sweep as Arrow columns (read once, on first use), or None
        (key chunks, or a sweep :func:`engine.sweep.columns.load` leaves to SQL)."""
        if not self._loaded:
            self._loaded = True
            if self.sweep is not None:
                self._columns = column_cache.load(
                    self.store,
                    self.sweep,
                    self.count,
                    self.params,
                    self.bools,
                    self.store.metric_keys,
                )
        return self._columns

    def _ranking(
        self, cols: sweep_columns.SweepColumns, metric: str, ascending: bool, min_trades: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (grid order) best first, and each row's ``eligible``, from the columns."""
        key = (metric, ascending, int(min_trades))
        kept = self._orders.get(key)  # (read once: the export threads rank beside each other)
        if kept is None:
            arrays = {
                metric: cols.numbers(metric),
                "n_trades": cols.numbers("n_trades"),
                "pos": cols.integers("pos"),
            }
            order = ranking_order(arrays, metric, ascending, min_trades)
            eligible = np.nan_to_num(arrays["n_trades"], nan=0.0) >= min_trades
            kept = (order, eligible)
            self._orders = {key: kept}  # one ranking kept
        return kept

    def _drop(self) -> None:
        row = self.conn.execute(
            "SELECT type FROM sqlite_temp_master WHERE name = '_sweep'"
        ).fetchone()
        if row is not None:
            self.conn.execute(f"DROP {'VIEW' if row[0] == 'view' else 'TABLE'} temp._sweep")

    def close(self) -> None:
        self._columns, self._orders = None, {}
        self._drop()
        self.conn.commit()

    def __enter__(self) -> SweepView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _order(self, metric: str, ascending: bool, min_trades: int) -> tuple[str, str]:
        m = quote_name(metric)
        eligible = f'(COALESCE("n_trades", 0) >= {int(min_trades)})'
        order = f"{eligible} DESC, {m} IS NULL, {m} {'ASC' if ascending else 'DESC'}, _sweep.pos"
        return eligible, order

    def ranked(
        self,
        metric: str,
        ascending: bool,
        min_trades: int = 0,
        limit: int | None = None,
        chunk: int = EXPORT_CHUNK,
        tables: bool = False,
    ) -> Iterator[pd.DataFrame | pa.Table]:
        """The rows best first (as :func:`engine.sweep.selection.rank` orders them: eligible first,
        NaN last, ties in grid order), with ``rank`` and ``eligible`` columns and the grid
        positions as the index, ``chunk`` rows at a time; only the first ``limit`` when given.

        ``tables``: Arrow tables instead of frames when the columns are in memory
        (:meth:`engine.sweep.columns.SweepColumns.table`: the types ``pa.Table.from_pandas``
        gives their frames), each with the pandas metadata it gives the first chunk's frame: a
        Parquet file written from them is the one written from the frames, byte for byte."""
        arrow = self.columns()
        if arrow is not None:
            best, eligible_rows = self._ranking(arrow, metric, ascending, min_trades)
            end = len(best) if limit is None else min(int(limit), len(best))
            meta: dict[bytes, bytes] | None = None
            for lo in range(0, end, chunk):
                idx = best[lo : min(lo + chunk, end)]
                ranks = np.arange(lo + 1, lo + len(idx) + 1)
                table = arrow.table(idx, ranks, eligible_rows[idx])
                if not tables:
                    yield arrow.to_frame(table, idx)
                    continue
                if meta is None:
                    frame = arrow.to_frame(table, idx)
                    meta = pa.Table.from_pandas(frame, preserve_index=False).schema.metadata
                yield table.replace_schema_metadata(meta)
            return
        eligible, order = self._order(metric, ascending, min_trades)
        names = self._names()
        cols = ", ".join(quote_name(c) for c in names)
        if limit is None:
            sql = f"SELECT {cols}, {eligible} AS eligible, _sweep.pos {SOURCE} ORDER BY {order}"
        else:
            # the top rows are chosen reading only the columns the order needs (a sort that
            # carries every column of a million rows to keep 500 costs seconds), then read whole
            m = quote_name(metric)
            direction = "ASC" if ascending else "DESC"
            top = (
                f"SELECT _sweep.pos AS pos, _sweep.run AS run, {eligible} AS eligible, "
                f"{m} AS mv {SOURCE} ORDER BY {order} LIMIT {int(limit)}"
            )
            sql = (
                f"SELECT {', '.join('runs.' + quote_name(c) for c in names)}, t.eligible, t.pos "
                f"FROM ({top}) t JOIN runs ON runs.rowid = t.run "
                f"ORDER BY t.eligible DESC, t.mv IS NULL, t.mv {direction}, t.pos"
            )
        cur = self.conn.execute(sql)
        done = 0
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            yield self._frame(rows, names, np.arange(done + 1, done + len(rows) + 1))
            done += len(rows)

    def _names(self) -> list[str]:
        return (
            FIXED_COLUMNS
            + [param_column(p) for p in self.params]
            + self.store.metric_keys
            + ["result"]
        )

    def _frame(self, rows: list[Any], names: list[str], ranks: np.ndarray) -> pd.DataFrame:
        """Rows of ``names`` + ``eligible`` + grid position as the ranking's frame."""
        raw = pd.DataFrame.from_records(
            rows, columns=names + ["eligible", "_pos"], coerce_float=True
        )
        frame = typed_rows(raw, self.params, self.bools, self.store.metric_keys)
        unify_floats(frame, self.float_columns())
        frame["eligible"] = raw["eligible"].astype(bool).to_numpy()
        frame.insert(0, "rank", ranks)
        frame.index = pd.Index(raw["_pos"].to_numpy(), name=None)  # grid positions
        return frame

    def rows_at(self, positions: list[int], ranks: np.ndarray, min_trades: int = 0) -> pd.DataFrame:
        """The rows at these grid positions, in that order, as :meth:`ranked` gives them
        (``ranks``: their places in the ranking)."""
        eligible, _ = self._order("n_trades", False, min_trades)
        names = self._names()
        cols = ", ".join(quote_name(c) for c in names)
        found: dict[int, Any] = {}
        for lo in range(0, len(positions), 20_000):
            part = [int(p) for p in positions[lo : lo + 20_000]]
            marks = ",".join("?" * len(part))
            sql = f"SELECT {cols}, {eligible} AS eligible, _sweep.pos {SOURCE} WHERE _sweep.pos IN ({marks})"
            found.update((row[-1], row) for row in self.conn.execute(sql, part))
        return self._frame([found[int(p)] for p in positions], names, ranks)

    def float_columns(self) -> set[str]:
        """Metric columns with a NULL or a REAL in this sweep: float64 in every chunk (as a
        whole-frame read gives them); the others are integer (or text) columns."""
        arrow = self.columns()
        if self._floats is None and arrow is not None:
            self._floats = set(arrow.floats)
        if self._floats is None:
            self._floats = float_columns(self.conn, self.store.metric_keys, SOURCE)
        return self._floats

    def _first_types(self) -> tuple[set[str], list[str]]:
        """The metric columns whose first row is NULL or REAL (float whatever follows), and the
        others (integer or text in the first row: float only if some row is)."""
        keys = [k for k in self.store.metric_keys if k not in ("start", "end")]
        row = self.conn.execute(
            f"SELECT {', '.join(f'typeof({quote_name(k)})' for k in keys)} {SOURCE} LIMIT 1"
        ).fetchone()
        if row is None:
            return set(), []
        first = {k for k, t in zip(keys, row, strict=True) if t in ("null", "real")}
        return first, [k for k in keys if k not in first]

    def metric_values(self, metric: str) -> np.ndarray:
        """One float per row (NaN for NULL), in no particular order."""
        arrow = self.columns()
        if arrow is not None:
            return arrow.numbers(metric)
        cur = self.conn.execute(f"SELECT {quote_name(metric)} {SOURCE}")
        return np.fromiter(
            (np.nan if v is None else v for (v,) in cur), dtype=float, count=self.count
        )

    def factorised(self, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``pd.factorize`` of the parameters of ``names`` the columns give from their
        dictionary codes (:meth:`engine.sweep.columns.SweepColumns.factorised`); the others
        (and every one on the SQL path) are left out."""
        arrow = self.columns()
        if arrow is None:
            return {}
        out = {}
        for name in names:
            done = arrow.factorised(name) if name in arrow.params else None
            if done is not None:
                out[name] = done
        return out

    def distinct(self, param: str) -> int:
        """Distinct non-null values of parameter ``param`` in this sweep."""
        arrow = self.columns()
        if arrow is not None and param in arrow.params:
            return arrow.distinct(param)
        col = quote_name(param_column(param))
        return int(self.conn.execute(f"SELECT COUNT(DISTINCT {col}) {SOURCE}").fetchone()[0])

    def heatmap(
        self,
        x: str,
        y: str,
        metric: str,
        agg: str,
        fixed: dict[str, Any] | None = None,
        labels: tuple[str, str] | None = None,
    ) -> pd.DataFrame:
        """``metric`` by parameter ``y`` (rows) x ``x`` (columns), ``agg`` (mean, median, max,
        min) over the rows of each cell whose parameters in ``fixed`` have those values.

        mean/max/min are a SQL ``GROUP BY``; median reads only the x, y and metric columns.
        """
        lx, ly = labels or (x, y)
        where, args = [], []
        for name, value in (fixed or {}).items():
            where.append(f"{quote_name(param_column(name))} IS ?")
            args.append(param_sql(value))
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        src = f"{SOURCE}{cond}"
        sel = f"{quote_name(param_column(x))} AS x, {quote_name(param_column(y))} AS y"
        m = quote_name(metric)
        if agg == "median":
            raw = pd.DataFrame.from_records(
                self.conn.execute(f"SELECT {sel}, {m} {src}", args).fetchall(),
                columns=["x", "y", "v"],
            )
            raw["v"] = pd.to_numeric(raw["v"].astype(float))
            values = raw["v"].groupby([raw["y"].rename(ly), raw["x"].rename(lx)]).median()
        else:
            fn = {"mean": "AVG", "max": "MAX", "min": "MIN"}[agg]
            raw = pd.DataFrame.from_records(
                self.conn.execute(f"SELECT {sel}, {fn}({m}) {src} GROUP BY x, y", args).fetchall(),
                columns=["x", "y", "v"],
            )
            values = pd.Series(
                pd.to_numeric(raw["v"].astype(float)).to_numpy(),
                index=pd.MultiIndex.from_arrays([raw["y"], raw["x"]], names=[ly, lx]),
            )
        return values.unstack(lx).sort_index().sort_index(axis=1)

    def arrays(self, metric: str, params: list[str]) -> dict[str, np.ndarray]:
        """One array per column over the sweep's rows (the same row order in each, grid
        order): ``pos``, ``run``, ``sr``, ``result``, the ``metric``, ``n_trades`` and each
        parameter of ``params`` (text parameters as objects); NULL is NaN (None for text)."""
        arrow = self.columns()
        if arrow is not None:
            if self._floats is None:
                self._floats = set(arrow.floats)
            read = {
                "pos": arrow.integers("pos"),
                "run": arrow.integers("run"),
                "sr": arrow.numbers("sr"),
                "result": arrow.integers("result"),
                metric: arrow.numbers(metric),
                "n_trades": arrow.numbers("n_trades"),
            }
            read.update((f"p:{p}", arrow.param_values(p)) for p in params)
            return read
        # the same scan finds the float metric columns (float_columns: one flag bit per column
        # whose first row holds an integer) instead of a scan of its own
        first, rest = self._first_types()
        flags = " | ".join(
            f"(({quote_name(k)} IS NULL OR typeof({quote_name(k)}) = 'real') << {j})"
            for j, k in enumerate(rest)
        )
        cols = ["_sweep.pos", "_sweep.run", "sr", "result", quote_name(metric), '"n_trades"']
        cols += [quote_name(param_column(p)) for p in params]
        cols.append(flags or "0")
        cur = self.conn.execute(f"SELECT {', '.join(cols)} {SOURCE} ORDER BY _sweep.pos")
        # converted to arrays a chunk at a time (a million rows as Python objects is ~0.5 GB);
        # text values are shared (interned) so that an object column holds pointers only
        parts: list[list[np.ndarray]] = [[] for _ in cols[:-1]]  # (the flags: below)
        texts: dict[Any, Any] = {}
        seen = 0
        while rows := cur.fetchmany(EXPORT_CHUNK):
            columns = list(zip(*rows, strict=True))
            seen |= int(np.bitwise_or.reduce(np.asarray(columns.pop(), dtype=np.int64)))
            results = columns[3]
            if None in results:
                results = tuple(0 if v is None else v for v in results)
            parts[0].append(np.asarray(columns[0], dtype=np.int64))
            parts[1].append(np.asarray(columns[1], dtype=np.int64))
            parts[2].append(np.asarray(columns[2], dtype=float))  # None reads as NaN
            parts[3].append(np.asarray(results, dtype=np.int64))
            parts[4].append(np.asarray(columns[4], dtype=float))
            parts[5].append(np.asarray(columns[5], dtype=float))
            for part, column in zip(parts[6:], columns[6:], strict=True):
                if str in set(map(type, column)):
                    column = tuple(texts.setdefault(v, v) for v in column)
                part.append(pd.Series(column).to_numpy())
        if self._floats is None:
            self._floats = first | {k for j, k in enumerate(rest) if seen >> j & 1}
        out: dict[str, np.ndarray] = {}
        fixed = ["pos", "run", "sr", "result", metric, "n_trades"]
        for name, part in zip(fixed, parts, strict=False):
            out[name] = np.concatenate(part) if part else np.zeros(0, _EMPTY.get(name, float))
        for name, part in zip(params, parts[6:], strict=True):
            out[f"p:{name}"] = (
                pd.Series(np.concatenate(part)).to_numpy() if part else pd.Series([]).to_numpy()
            )
        return out

    def runs_at(self, positions: list[int]) -> list[int]:
        """The store rowids of the rows at these grid positions, in that order."""
        found: dict[int, int] = {}
        for lo in range(0, len(positions), 20_000):
            part = [int(p) for p in positions[lo : lo + 20_000]]
            marks = ",".join("?" * len(part))
            found.update(
                self.conn.execute(f"SELECT pos, run FROM _sweep WHERE pos IN ({marks})", part)
            )
        return [found[int(p)] for p in positions]

    def result_counts(self, results: list[int]) -> dict[int, int]:
        """How many of the sweep's rows have each of these ``result`` values."""
        if not results:
            return {}
        marks = ",".join("?" * len(results))
        cur = self.conn.execute(
            f"SELECT result, COUNT(*) {SOURCE} WHERE result IN ({marks}) GROUP BY result",
            [int(r) for r in results],
        )
        return {int(r): int(n) for r, n in cur}
