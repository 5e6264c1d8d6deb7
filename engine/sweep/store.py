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
<metric keys>  one column per :data:`engine.analysis.metrics.METRIC_KEYS` entry (NaN stored as NULL)
=============  ===============================================================================
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.metrics import METRIC_KEYS
from engine.errors import UserError
from engine.files import canonical_json

SCHEMA_VERSION = 1
EXPORT_CHUNK = 50_000  # rows per streamed chunk (a Parquet row group, a CSV append)
FIXED_COLUMNS = [
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


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<package version>+g<commit>`` (``.dirty`` with uncommitted changes), or the version."""
    try:
        base = version("crwv-backtest")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        base = "0+unknown"
    root = Path(__file__).resolve().parents[2]  # the checkout: engine/sweep/store.py
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
        cols = FIXED_COLUMNS + ["returns"] + self.metric_keys
        sql = (
            f"INSERT OR IGNORE INTO runs ({', '.join(quote_name(c) for c in cols)}) "
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
        cols = ", ".join(quote_name(c) for c in FIXED_COLUMNS + self.metric_keys)
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
        return expand_rows(raw, self.metric_keys)

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
        floats = float_columns(self.conn, self.metric_keys, f"FROM runs {where}", args)
        cols = FIXED_COLUMNS + self.metric_keys
        cur = self.conn.execute(
            f"SELECT {', '.join(quote_name(c) for c in cols)} FROM runs {where} ORDER BY rowid",
            args,
        )
        while rows := cur.fetchmany(chunk):
            frame = expand_rows(
                pd.DataFrame.from_records(rows, columns=cols, coerce_float=True),
                self.metric_keys,
                list(names),
            )
            unify_floats(frame, floats)
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


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def expand_rows(
    raw: pd.DataFrame, metric_keys: list[str], names: list[str] | None = None
) -> pd.DataFrame:
    """Parameter JSON -> one column per parameter (list values as ``a,b,c`` text); ``names``
    fixes the parameter columns (a chunk of a larger table), otherwise the rows' own."""
    params = [json.loads(p) for p in raw["params"]]
    if names is None:
        names = list(dict.fromkeys(k for p in params for k in p))
    columns: dict[str, list[Any]] = {}
    for name in names:
        label = f"param_{name}" if name in metric_keys or name in FIXED_COLUMNS else name
        columns[label] = [_cell(p.get(name)) for p in params]
    metrics = raw[metric_keys].copy()
    for key in metric_keys:
        if key not in ("start", "end") and metrics[key].dtype == object:
            metrics[key] = pd.to_numeric(metrics[key].astype(float))  # NULL -> NaN
    out = pd.concat(
        [
            pd.DataFrame(columns, index=raw.index),
            metrics,
            raw[[c for c in FIXED_COLUMNS if c != "params"]],
        ],
        axis=1,
    )
    out.attrs["param_columns"] = list(columns)
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return value


def float_columns(
    conn: sqlite3.Connection, metric_keys: list[str], source: str, args: tuple[Any, ...] = ()
) -> set[str]:
    keys = [k for k in metric_keys if k not in ("start", "end")]
    parts = ", ".join(
        f"MAX({quote_name(k)} IS NULL OR typeof({quote_name(k)}) = 'real')" for k in keys
    )
    row = conn.execute(f"SELECT {parts} {source}", args).fetchone()
    return {k for k, v in zip(keys, row, strict=True) if v}


def json_path(name: str) -> str:
    return '$."' + name.replace('"', '\\"') + '"'


def unify_floats(frame: pd.DataFrame, floats: set[str]) -> None:
    """Cast the metric columns that are float anywhere in the sweep to float64 (in place)."""
    for key in floats:
        if key in frame and frame[key].dtype != np.float64:
            frame[key] = frame[key].astype(np.float64)
