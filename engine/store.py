"""The sweep store: one SQLite file, one row per (strategy, parameters, data, costs, engine).

Why SQLite: a sweep commits each finished batch of combinations at once, so a killed sweep loses
only what was in flight; rerunning the same command asks the store which keys are done and runs
the rest. The file is the resume state, the result table and the export source in one, needs no
server, and tolerates a reader (``crwv-bt sweep export``) while a sweep writes (WAL mode).

Table ``runs``
--------------
=============  ===============================================================================
key            stable hash of the combination (:func:`engine.sweep.combo_key`); ``UNIQUE``, and
               rows go in with ``INSERT OR IGNORE``: a combination is never stored twice
strategy       registry name
params         every parameter, resolved, as canonical JSON (sorted keys)
engine         evaluation engine that produced the row (``backtrader``, ``fast``, ...)
ticker         traded symbol
data_start     first bar of the window (YYYY-MM-DD)
data_end       last bar of the window
data_bars      bars in the window
data_sha       sha256 of the price window (and of the alpha/beta benchmark's, when used)
settings       cash, commission, slippage and fractional flag, canonical JSON
code_version   package version and git commit of the code that ran it
created_at     UTC time the row was stored (ISO 8601)
returns        daily returns of the equity curve, float32 little-endian (``bars - 1`` values):
               the columns of the PBO matrix, kept compactly
<metric keys>  one column per :data:`engine.metrics.METRIC_KEYS` entry (NaN stored as NULL)
=============  ===============================================================================
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data import _umask, atomic_write_bytes
from engine.errors import UserError
from engine.metrics import METRIC_KEYS

SCHEMA_VERSION = 1
EXPORT_CHUNK = 50_000  # rows per streamed chunk (a Parquet row group, a CSV append)
_FIXED = [
    "key",
    "strategy",
    "params",
    "engine",
    "ticker",
    "data_start",
    "data_end",
    "data_bars",
    "data_sha",
    "settings",
    "code_version",
    "created_at",
]
_CREATE = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    params TEXT NOT NULL,
    engine TEXT NOT NULL,
    ticker TEXT NOT NULL,
    data_start TEXT NOT NULL,
    data_end TEXT NOT NULL,
    data_bars INTEGER NOT NULL,
    data_sha TEXT NOT NULL,
    settings TEXT NOT NULL,
    code_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    returns BLOB NOT NULL
)
"""


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, no spaces, tuples as lists, floats in shortest round-trip form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<package version>+g<commit>`` (``.dirty`` with uncommitted changes), or the version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        base = version("crwv-backtest")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        base = "0+unknown"
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "engine", "strategies"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+g{sha}{'.dirty' if dirty else ''}" if sha else base


@dataclass(frozen=True)
class Row:
    """One evaluated combination, ready for :meth:`SweepStore.add`."""

    key: str
    strategy: str
    params: dict[str, Any]
    engine: str
    ticker: str
    data: dict[str, Any]  # start, end, bars, sha
    settings: dict[str, Any]
    metrics: dict[str, Any]
    returns: np.ndarray

    def values(
        self, metric_keys: list[str], version: str, now: str, settings: str | None = None
    ) -> tuple[Any, ...]:
        """The row's SQL values; ``settings`` is its canonical JSON when the caller has it."""
        get = self.metrics.get
        fixed = (
            self.key,
            self.strategy,
            canonical_json(self.params),
            self.engine,
            self.ticker,
            self.data["start"],
            self.data["end"],
            int(self.data["bars"]),
            self.data["sha"],
            settings if settings is not None else canonical_json(self.settings),
            version,
            now,
            np.asarray(self.returns, dtype="<f4").tobytes(),
        )
        # Python floats and ints (what the engines give) pass as they are; NaN is NULL.
        return fixed + tuple(
            (None if v != v else v) if type(v) in _PLAIN else _sql_value(v)
            for v in map(get, metric_keys)
        )


_PLAIN = (float, int)


def _sql_value(value: Any) -> Any:
    """numpy scalars as Python values; NaN/None as NULL (SQLite stores no NaN)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


class SweepStore:
    """A sweep store file (created on first use). Use as a context manager.

    Parameters
    ----------
    path : the SQLite file; its folder is created when missing
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(_CREATE)
            self.metric_keys = self._ensure_metric_columns()
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.conn.commit()
        except sqlite3.DatabaseError as exc:
            raise UserError(
                f"{self.path}: not a usable sweep store ({exc}); pick another --store"
            ) from None
        except OSError as exc:
            raise UserError(
                f"{self.path}: cannot create the sweep store ({exc.strerror})"
            ) from None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _ensure_metric_columns(self) -> list[str]:
        """Add a column for any metric key this store lacks (metrics added after it was made)."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}
        for key in METRIC_KEYS:
            if key not in have:
                self.conn.execute(f'ALTER TABLE runs ADD COLUMN "{key}"')
        return list(METRIC_KEYS)

    # ------------------------------------------------------------------ writing

    def add(self, rows: Iterable[Row]) -> int:
        """Insert rows in one transaction (``INSERT OR IGNORE``); returns how many were new."""
        cols = _FIXED + ["returns"] + self.metric_keys
        sql = (
            f"INSERT OR IGNORE INTO runs ({', '.join(_quote(c) for c in cols)}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        version, now = code_version(), datetime.now(UTC).isoformat(timespec="seconds")
        settings: dict[int, str] = {}  # the rows of a chunk share one settings dict
        values = []
        for r in rows:
            text = settings.get(id(r.settings))
            if text is None:
                text = settings[id(r.settings)] = canonical_json(r.settings)
            values.append(r.values(self.metric_keys, version, now, text))
        before = self.conn.total_changes
        with self.conn:
            self.conn.executemany(sql, values)
        return self.conn.total_changes - before

    # ------------------------------------------------------------------ reading

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def done_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` already stored."""
        with self._keys_table(list(keys)):
            cur = self.conn.execute("SELECT key FROM runs JOIN _want USING (key)")
            return {r[0] for r in cur}

    def _keys_table(self, keys: list[str]) -> _TempKeys:
        return _TempKeys(self.conn, keys)

    def frame(self, keys: list[str] | None = None, strategy: str | None = None) -> pd.DataFrame:
        """One row per combination: parameter columns, metric columns, then provenance.

        ``keys`` selects and orders the rows (missing keys are skipped); otherwise every row
        (of ``strategy``, when given) in insertion order. Returns are not included.
        """
        cols = ", ".join(_quote(c) for c in _FIXED + self.metric_keys)
        if keys is not None:
            with self._keys_table(keys):
                raw = pd.read_sql_query(
                    f"SELECT {cols} FROM runs JOIN _want USING (key) ORDER BY _want.pos", self.conn
                )
        elif strategy is not None:
            raw = pd.read_sql_query(
                f"SELECT {cols} FROM runs WHERE strategy = ? ORDER BY rowid",
                self.conn,
                params=(strategy,),
            )
        else:
            raw = pd.read_sql_query(f"SELECT {cols} FROM runs ORDER BY rowid", self.conn)
        return _expand(raw, self.metric_keys)

    def returns_matrix(self, keys: list[str]) -> np.ndarray:
        """``T x N`` float32 daily returns, one column per key in ``keys`` order (all stored)."""
        out: np.ndarray | None = None
        with self._keys_table(keys):
            cur = self.conn.execute(
                "SELECT _want.pos, returns FROM runs JOIN _want USING (key) ORDER BY _want.pos"
            )
            filled = 0
            for pos, blob in cur:
                col = np.frombuffer(blob, dtype="<f4")
                if out is None:
                    out = np.empty((col.size, len(keys)), dtype=np.float32)
                if col.size != out.shape[0]:
                    raise UserError(
                        "stored returns have different lengths: the keys span different windows"
                    )
                out[:, pos] = col
                filled += 1
        if out is None or filled != len(keys):
            raise UserError(
                f"{len(keys) - filled} of {len(keys)} combinations are not in the store yet"
            )
        return out

    def frames(
        self, strategy: str | None = None, chunk: int = EXPORT_CHUNK
    ) -> Iterator[pd.DataFrame]:
        """:meth:`frame` (every row, or ``strategy``'s, in insertion order) ``chunk`` rows at a
        time, with the same columns and dtypes in every chunk."""
        where, args = ("WHERE strategy = ?", (strategy,)) if strategy is not None else ("", ())
        names: dict[str, None] = {}
        for (text,) in self.conn.execute(f"SELECT params FROM runs {where}", args):
            names.update(dict.fromkeys(json.loads(text)))
        floats = _float_columns(self.conn, self.metric_keys, f"FROM runs {where}", args)
        cols = _FIXED + self.metric_keys
        cur = self.conn.execute(
            f"SELECT {', '.join(_quote(c) for c in cols)} FROM runs {where} ORDER BY rowid", args
        )
        while rows := cur.fetchmany(chunk):
            frame = _expand(
                pd.DataFrame.from_records(rows, columns=cols, coerce_float=True),
                self.metric_keys,
                list(names),
            )
            _unify(frame, floats)
            yield frame

    def iter_strategies(self) -> Iterator[tuple[str, int]]:
        yield from self.conn.execute(
            "SELECT strategy, COUNT(*) FROM runs GROUP BY strategy ORDER BY strategy"
        )


class _TempKeys:
    """A temporary ``_want(key, pos)`` table for joins on many keys (no 999-variable limit)."""

    def __init__(self, conn: sqlite3.Connection, keys: list[str]) -> None:
        self.conn, self.keys = conn, keys

    def __enter__(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp._want")
        self.conn.execute("CREATE TEMP TABLE _want (key TEXT PRIMARY KEY, pos INTEGER)")
        self.conn.executemany(
            "INSERT OR IGNORE INTO _want VALUES (?, ?)", ((k, i) for i, k in enumerate(self.keys))
        )

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp._want")
        self.conn.commit()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _expand(
    raw: pd.DataFrame, metric_keys: list[str], names: list[str] | None = None
) -> pd.DataFrame:
    """Parameter JSON -> one column per parameter (list values as ``a,b,c`` text); ``names``
    fixes the parameter columns (a chunk of a larger table), otherwise the rows' own."""
    params = [json.loads(p) for p in raw["params"]]
    if names is None:
        names = list(dict.fromkeys(k for p in params for k in p))
    columns: dict[str, list[Any]] = {}
    for name in names:
        label = f"param_{name}" if name in metric_keys or name in _FIXED else name
        columns[label] = [_cell(p.get(name)) for p in params]
    metrics = raw[metric_keys].copy()
    for key in metric_keys:
        if key not in ("start", "end") and metrics[key].dtype == object:
            metrics[key] = pd.to_numeric(metrics[key].astype(float))  # NULL -> NaN
    out = pd.concat(
        [
            pd.DataFrame(columns, index=raw.index),
            metrics,
            raw[[c for c in _FIXED if c != "params"]],
        ],
        axis=1,
    )
    out.attrs["param_columns"] = list(columns)
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return value


# ------------------------------------------------------------------------------------ export


def export_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as CSV or Parquet (by the suffix), atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        payload = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    elif suffix in (".parquet", ".pq"):
        buf = io.BytesIO()
        frame.to_parquet(buf, engine="pyarrow", index=False)
        payload = buf.getvalue()
    else:
        raise UserError(
            f"{p}: unknown export format {suffix or '(none)'}; use a .csv or .parquet file name"
        )
    try:
        atomic_write_bytes(p, payload)
    except OSError as exc:
        raise UserError(f"cannot write {p} ({exc.strerror})") from None
    return p


# ------------------------------------------------------------------------------ ranked in SQL


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
        m = _quote(metric)
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
        """The rows best first (as :func:`engine.sweep_report.rank` orders them: eligible first,
        NaN last, ties in grid order), with ``rank`` and ``eligible`` columns and the grid
        positions as the index, ``chunk`` rows at a time; only the first ``limit`` when given."""
        eligible, order = self._order(metric, ascending, min_trades)
        names = _FIXED + self.store.metric_keys
        cols = ", ".join(_quote(c) for c in names)
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
            frame = _expand(raw, self.store.metric_keys)
            _unify(frame, floats)
            frame["eligible"] = raw["eligible"].astype(bool).to_numpy()
            frame.insert(0, "rank", np.arange(done + 1, done + len(frame) + 1))
            frame.index = pd.Index(raw["_pos"].to_numpy(), name=None)  # grid positions
            done += len(frame)
            yield frame

    def float_columns(self) -> set[str]:
        """Metric columns with a NULL or a REAL in this sweep: float64 in every chunk (as a
        whole-frame read gives them); the others are integer (or text) columns."""
        if self._floats is None:
            self._floats = _float_columns(
                self.conn, self.store.metric_keys, "FROM runs JOIN _sweep USING (key)"
            )
        return self._floats

    def metric_values(self, metric: str) -> np.ndarray:
        """One float per row (NaN for NULL), in no particular order."""
        cur = self.conn.execute(f"SELECT {_quote(metric)} FROM runs JOIN _sweep USING (key)")
        return np.fromiter(
            (np.nan if v is None else v for (v,) in cur), dtype=float, count=self.count
        )

    def distinct(self, param: str) -> int:
        """Distinct non-null values of parameter ``param`` in this sweep."""
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT json_extract(params, ?)) FROM runs JOIN _sweep USING (key)",
                (_json_path(param),),
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
        where, args = [], [_json_path(x), _json_path(y)]
        for name, value in (fixed or {}).items():
            where.append("json_extract(params, ?) = ?")
            args.extend([_json_path(name), value])
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        src = f"FROM runs JOIN _sweep USING (key){cond}"
        sel = "json_extract(params, ?) AS x, json_extract(params, ?) AS y"
        m = _quote(metric)
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


def _float_columns(
    conn: sqlite3.Connection, metric_keys: list[str], source: str, args: tuple[Any, ...] = ()
) -> set[str]:
    keys = [k for k in metric_keys if k not in ("start", "end")]
    parts = ", ".join(f"MAX({_quote(k)} IS NULL OR typeof({_quote(k)}) = 'real')" for k in keys)
    row = conn.execute(f"SELECT {parts} {source}", args).fetchone()
    return {k for k, v in zip(keys, row, strict=True) if v}


def _json_path(name: str) -> str:
    return '$."' + name.replace('"', '\\"') + '"'


def _unify(frame: pd.DataFrame, floats: set[str]) -> None:
    """Cast the metric columns that are float anywhere in the sweep to float64 (in place)."""
    for key in floats:
        if key in frame and frame[key].dtype != np.float64:
            frame[key] = frame[key].astype(np.float64)


def export_frames(
    frames: Iterable[pd.DataFrame],
    path: str | os.PathLike[str] | list[str | os.PathLike[str]],
) -> tuple[Path, int]:
    """Write chunks of one table as CSV or Parquet (by the suffix), atomically, one chunk in
    memory at a time (a Parquet row group per chunk, CSV appended); several paths are written
    in the same pass. Returns the (first) path and the row count."""
    paths = [Path(p) for p in (path if isinstance(path, list) else [path])]
    for p in paths:
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise UserError(
                f"{p}: unknown export format {suffix or '(none)'}; use a .csv or .parquet file name"
            )
    writers: list[_ChunkWriter] = []
    rows = 0
    try:
        for p in paths:
            writers.append(_ChunkWriter(p))
        for frame in frames:
            for w in writers:
                w.write(frame)
            rows += len(frame)
        for w in writers:
            w.finish()
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or paths[0]} ({exc.strerror})") from None
    finally:
        for w in writers:
            w.discard()
    return paths[0], rows


class _ChunkWriter:
    """One output file written chunk by chunk into a temporary file, renamed when finished."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self.tmp = Path(name)
        self.fh: Any = open(self.tmp, "w", encoding="utf-8", newline="") if self.csv else None
        self.writer: Any = None
        self.schema: Any = None
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.csv:
            frame.to_csv(self.fh, index=False, header=self.header, lineterminator="\n")
            self.header = False
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.schema is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.schema = pa.schema(
                [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema],
                metadata=table.schema.metadata,
            )
            table = table.cast(self.schema)
            self.writer = pq.ParquetWriter(self.tmp, self.schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self.writer.write_table(table)

    def finish(self) -> None:
        if self.csv:
            self.fh.close()
        elif self.writer is not None:
            self.writer.close()
            self.writer = None
        else:  # no rows: an empty table
            pd.DataFrame().to_parquet(self.tmp, engine="pyarrow", index=False)
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        if self.fh is not None and not self.fh.closed:
            self.fh.close()
        if self.writer is not None:
            self.writer.close()
        if self.tmp.exists():
            self.tmp.unlink()
