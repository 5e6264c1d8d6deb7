"""The rows of one sweep, ranked and aggregated in SQLite (:class:`SweepView`).

Nothing here holds one Python object per combination: the keys go into a temporary
``_sweep(key, pos)`` table, the ranking is ``ORDER BY ... LIMIT`` (SQLite sorts on disk), the
export streams chunks, the heatmap is a ``GROUP BY``. The order is
:func:`engine.sweep.selection.rank`'s: eligible rows first, NaN last, ties in grid order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from engine.sweep.store import (
    EXPORT_CHUNK,
    FIXED_COLUMNS,
    SweepStore,
    expand_rows,
    float_columns,
    json_path,
    quote_name,
    unify_floats,
)


class SweepView:
    """The rows of one sweep (its keys, in grid order), ranked and aggregated in SQLite.

    Nothing here holds one Python object per combination: the keys go into a temporary
    ``_sweep(key, pos)`` table, the ranking is ``ORDER BY ... LIMIT`` (SQLite sorts on disk),
    the export streams ``chunk`` rows at a time, the heatmap is a ``GROUP BY``.
    """

    def __init__(self, store: SweepStore, key_chunks: Iterable[list[str]]) -> None:
        self.store, self.conn = store, store.conn
        self.conn.execute("DROP TABLE IF EXISTS temp._sweep")
        self.conn.execute("CREATE TEMP TABLE _sweep (key TEXT PRIMARY KEY, pos INTEGER)")
        pos = 0
        for keys in key_chunks:
            self.conn.executemany(
                "INSERT OR IGNORE INTO _sweep VALUES (?, ?)",
                ((k, pos + i) for i, k in enumerate(keys)),
            )
            pos += len(keys)
        self.conn.commit()
        self.count = int(
            self.conn.execute("SELECT COUNT(*) FROM runs JOIN _sweep USING (key)").fetchone()[0]
        )
        self._floats: set[str] | None = None

    def close(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp._sweep")
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
    ) -> Iterator[pd.DataFrame]:
        """The rows best first (as :func:`engine.sweep.selection.rank` orders them: eligible first,
        NaN last, ties in grid order), with ``rank`` and ``eligible`` columns and the grid
        positions as the index, ``chunk`` rows at a time; only the first ``limit`` when given."""
        eligible, order = self._order(metric, ascending, min_trades)
        names = FIXED_COLUMNS + self.store.metric_keys
        cols = ", ".join(quote_name(c) for c in names)
        sql = (
            f"SELECT {cols}, {eligible} AS eligible, _sweep.pos FROM runs JOIN _sweep USING (key) "
            f"ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        floats = self.float_columns()
        cur = self.conn.execute(sql)
        done = 0
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            raw = pd.DataFrame.from_records(
                rows, columns=names + ["eligible", "_pos"], coerce_float=True
            )
            frame = expand_rows(raw, self.store.metric_keys)
            unify_floats(frame, floats)
            frame["eligible"] = raw["eligible"].astype(bool).to_numpy()
            frame.insert(0, "rank", np.arange(done + 1, done + len(frame) + 1))
            frame.index = pd.Index(raw["_pos"].to_numpy(), name=None)  # grid positions
            done += len(frame)
            yield frame

    def float_columns(self) -> set[str]:
        """Metric columns with a NULL or a REAL in this sweep: float64 in every chunk (as a
        whole-frame read gives them); the others are integer (or text) columns."""
        if self._floats is None:
            self._floats = float_columns(
                self.conn, self.store.metric_keys, "FROM runs JOIN _sweep USING (key)"
            )
        return self._floats

    def metric_values(self, metric: str) -> np.ndarray:
        """One float per row (NaN for NULL), in no particular order."""
        cur = self.conn.execute(f"SELECT {quote_name(metric)} FROM runs JOIN _sweep USING (key)")
        return np.fromiter(
            (np.nan if v is None else v for (v,) in cur), dtype=float, count=self.count
        )

    def distinct(self, param: str) -> int:
        """Distinct non-null values of parameter ``param`` in this sweep."""
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT json_extract(params, ?)) FROM runs JOIN _sweep USING (key)",
                (json_path(param),),
            ).fetchone()[0]
        )

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
        where, args = [], [json_path(x), json_path(y)]
        for name, value in (fixed or {}).items():
            where.append("json_extract(params, ?) = ?")
            args.extend([json_path(name), value])
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        src = f"FROM runs JOIN _sweep USING (key){cond}"
        sel = "json_extract(params, ?) AS x, json_extract(params, ?) AS y"
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
