"""The sweep store: one SQLite file, one row per (strategy, parameters, data, costs, engine).

Why SQLite: a sweep commits each finished batch of combinations at once, so a killed sweep loses
only what was in flight; rerunning the same command asks the store which keys are done and runs
the rest. The file is the resume state, the result table and the export source in one, needs no
server, and tolerates a reader (``crwv-bt sweep export``) while a sweep writes (WAL mode).

View ``runs``: what to query
----------------------------
One row per stored combination (``SELECT p_fast, p_slow, sharpe FROM runs``), joined from the
three tables below; its ``rowid`` is the combination's ``combos.rowid``.

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
created_at     UTC time the row's batch was stored (ISO 8601)
returns        always empty (kept for queries written for schema 1: the daily returns are in
               ``run_returns``, below)
result         64-bit hash of the stored returns and the closed-trade count: two rows with the same
               value produced the same result (the trial count and the ties use it)
sr             per-bar Sharpe ratio of the stored (float32) returns, ``mean / std`` (``ddof=1``):
               the Deflated Sharpe Ratio's trials, read without the returns
p_<name>       one typed column per parameter (numbers as numbers, text as text, booleans as
               0/1, list values as ``a,b,c`` text); a strategy's parameters are added as columns
               the first time it is stored
<metric keys>  one column per :data:`engine.analysis.metrics.METRIC_KEYS` entry (NaN stored as NULL)
=============  ===============================================================================

Tables (schema 3)
-----------------
``combos``      one narrow row per combination: ``key`` (unique: index :data:`KEY_INDEX`), ``job``, ``params``,
                ``outcome`` and the ``p_<name>`` columns; the rowid is the run id.
``jobs``        the provenance every row of one stored batch shares (strategy, engine, ticker,
                data window, settings, code version, ``created_at``): written once per batch,
                not once per combination.
``outcomes``    ``result``, ``sr``, ``n_returns`` (``bars - 1``) and the metric columns, once per distinct outcome;
                ``id`` is a 64-bit hash of the result and the metric values, so the 863,880
                runnable combinations of the 1,000,000-point MA grid share 25,093 rows.
``run_returns`` the daily returns of the equity curve, float32 little-endian (``bars - 1``
                values; the columns of the PBO matrix), once per distinct ``result``.

Why split: a sweep wrote ~60 values per combination through SQLite's row engine (4.9 GB of disk
writes for the 1M grid, the bulk of its wall time); most of them repeat from row to row.

Tables ``sweeps`` and ``sweep_rows``
------------------------------------
A finished sweep is recorded once (``sweeps``: an id, its ``spec`` - the hash of strategy,
grid, constraints, data, costs, engine and code version - and what its grid expanded to, as
JSON) with its rows in grid order (``sweep_rows``: ``sweep``, ``pos``, ``run`` = ``runs.rowid``).
The same command again finds its spec there and neither walks the grid nor keys a combination.
``sweep_columns`` (created when first written; a store without it is the same schema 3) keeps a
recorded sweep's columns as the read path builds them, once, as Arrow IPC (``sweep``, ``spec``,
``meta``, ``digest``, ``data``; see :mod:`engine.sweep.column_cache`).

Stores of an older version are upgraded in place the first time they are opened, in one
transaction: schema 1 (returns inline, no typed columns) gets its ``result``, ``sr`` and
parameter columns filled, and schema 1 and 2's wide ``runs`` table is split into the tables
above (rowids kept, so recorded sweeps still point at their rows).

Recognising its own file
------------------------
A store is marked with ``PRAGMA application_id`` = :data:`APPLICATION_ID`. Before anything
is written, :func:`check_store_file` opens an existing file read-only and refuses (one line,
the file left byte-identical) another program's database (no marker, and tables or ``runs``
columns a store of an older version would not have), a damaged file (``PRAGMA quick_check``)
and returns blobs whose size is not ``4 * (bars - 1)`` (cut or overwritten). A store of an
older version passes by its shape and gets the marker. On a 288 MB store of 100,000 rows the
check took 1.2 s (quick_check 0.6 s, blob sizes 0.5 s; load average 5.8).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import sqlite3
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.deflated_sharpe import per_period_sharpe
from engine.analysis.metrics import METRIC_KEYS
from engine.errors import UserError, os_error, short_path
from engine.files import canonical_json

SCHEMA_VERSION = 3
PARAM_PREFIX = "p_"  # typed parameter columns: p_fast, p_slow, ...
RESULT_COLUMNS = ["result", "sr"]
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
#: provenance columns: in ``jobs`` (``key`` and ``params`` are per combination, in ``combos``)
JOB_COLUMNS = [c for c in FIXED_COLUMNS if c not in ("key", "params")]
_CREATE = (
    """CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    strategy TEXT NOT NULL,
    engine TEXT NOT NULL,
    ticker TEXT NOT NULL,
    data_start TEXT NOT NULL,
    data_end TEXT NOT NULL,
    data_bars INTEGER NOT NULL,
    data_sha TEXT NOT NULL,
    settings TEXT NOT NULL,
    code_version TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    result INTEGER NOT NULL,
    sr REAL,
    n_returns INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS combos (
    key TEXT NOT NULL,
    job INTEGER NOT NULL,
    params TEXT NOT NULL,
    outcome INTEGER NOT NULL
)""",
)
#: ``combos.key`` is unique through this named index (stores made before 2026-12-04 have the
#: same constraint inline, as SQLite's ``sqlite_autoindex_combos_1``). A named index can be
#: dropped while an empty store takes a whole sweep and built once at its end
#: (:meth:`SweepStore.bulk`): a million inserts on random pages of the index, rewritten into
#: the WAL at every commit, cost ~3x the sorted build.
KEY_INDEX = "combos_key"
_KEY_INDEXES = (KEY_INDEX, "sqlite_autoindex_combos_1")
_CREATE_SWEEPS = (
    """CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL UNIQUE,
    info TEXT NOT NULL,
    total INTEGER NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS sweep_rows (
    sweep INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    run INTEGER NOT NULL,
    PRIMARY KEY (sweep, pos)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS run_returns (
    result INTEGER PRIMARY KEY,
    returns BLOB NOT NULL
)""",
)
#: A recorded sweep's columns as its read builds them, kept once (engine/sweep/column_cache.py);
#: created when first written, so a store without it is the same schema 3
_CREATE_SWEEP_COLUMNS = """CREATE TABLE IF NOT EXISTS sweep_columns (
    sweep INTEGER PRIMARY KEY,
    spec TEXT NOT NULL,
    meta TEXT NOT NULL,
    digest TEXT NOT NULL,
    data BLOB NOT NULL
)"""
#: A row's returns: in ``run_returns`` by its result (rows stored since schema 2, one blob per
#: distinct result), else inline (rows of a schema-1 store).
RETURNS_OF_ROW = (
    "COALESCE((SELECT rr.returns FROM run_returns rr WHERE rr.result = runs.result), runs.returns)"
)


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


@dataclass(frozen=True)
class Prepared:
    """A :class:`Batch`'s SQL rows (:meth:`Batch.prepare`): ``results`` per row, one ``blob`` per
    distinct result, the params' canonical JSON ``texts``, the rows grouped by their parameter
    names with those columns, each row's ``outcome`` id, and per distinct outcome its id,
    result, Sharpe ratio and metric values (``firsts``: numpy columns, one entry per outcome),
    made SQL rows by :meth:`outcome_rows`."""

    results: list[int]
    blobs: dict[int, bytes]
    texts: list[str]
    groups: list[tuple[tuple[str, ...], list[int] | None, list[list[Any]]]]
    outcomes: list[int]
    outcome_ids: list[int] = dataclasses.field(default_factory=list)
    outcome_results: list[int] = dataclasses.field(default_factory=list)
    sharpes: list[float | None] = dataclasses.field(default_factory=list)
    firsts: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def outcome_rows(
        self, known: set[int] | frozenset[int] = frozenset()
    ) -> list[tuple[int, int, float | None, dict[str, Any]]]:
        """``(id, result, sr, {metric: SQL value})`` of each distinct outcome not in ``known``
        (ids a store has written already: their values are not converted again)."""
        new = [j for j, oid in enumerate(self.outcome_ids) if oid not in known]
        if not new:
            return []
        values = {k: [_sql_value(v) for v in a[new].tolist()] for k, a in self.firsts.items()}
        return [
            (
                self.outcome_ids[j],
                self.outcome_results[j],
                self.sharpes[j],
                {k: v[at] for k, v in values.items()},
            )
            for at, j in enumerate(new)
        ]


@dataclass(frozen=True)
class Batch:
    """Evaluated combinations of one job, column by column: what :meth:`SweepStore.add` writes
    in one go (no object per combination).

    ``metrics`` maps metric keys to one value per combination (missing keys are NULL);
    ``returns`` is the ``len(keys) x (bars - 1)`` float32 matrix of daily returns; ``texts``
    the canonical JSON of each parameter dict when the caller has it (the combination's key
    was hashed from it), else it is computed here; ``same`` (:attr:`engine.sweep.engines.
    Scores.same`), when the engine gave it, the row whose metrics and returns each row's are
    copies of: only those rows' returns are hashed.
    """

    strategy: str
    engine: str
    ticker: str
    data: dict[str, Any]  # start, end, bars, sha
    settings: dict[str, Any]
    keys: list[str]
    params: list[dict[str, Any]]
    metrics: dict[str, Any]  # a list or a numpy array per metric (engines.Scores.columns)
    returns: np.ndarray
    texts: list[str] | None = None
    prepared: Prepared | None = None
    same: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def prepare(self) -> Batch:
        """This batch with its SQL columns computed (:class:`Prepared`): the result hashes, the
        Sharpe ratios and blobs once per distinct result, the parameter and metric columns as
        SQL values. Pure computation, so it runs where the batch is evaluated (a worker, the
        fast engine's helper thread) rather than in the thread that writes the store."""
        if self.prepared is not None:
            return self
        n = len(self)
        if n == 0:
            return dataclasses.replace(self, prepared=Prepared([], {}, [], [], []))
        rets = np.ascontiguousarray(self.returns, dtype="<f4").reshape(n, -1)
        trades = self.metrics.get("n_trades")
        trades = [None] * n if trades is None or len(trades) == 0 else trades
        results = result_hashes(rets, trades, self.same)
        # one row per distinct result: its blob is stored once and its Sharpe ratio computed
        # once (rows with the same result have the same returns)
        unique: dict[int, int] = {}
        for i, r in enumerate(results):
            unique.setdefault(r, i)
        texts = self.texts if self.texts is not None else [canonical_json(p) for p in self.params]
        groups = []
        for names, idx in _by_names(self.params):
            params = _take(self.params, idx)
            groups.append(
                (names, idx, [_param_sql_column(list(map(itemgetter(k), params))) for k in names])
            )
        arrays = {k: metric_array(v) for k, v in self.metrics.items()}
        outcomes, firsts = outcome_ids(results, arrays)
        rows = list(firsts.values())
        sharpes = matrix_sharpes(rets[rows])
        prepared = Prepared(
            results=results,
            blobs={r: rets[i].tobytes() for r, i in unique.items()},
            texts=texts,
            groups=groups,
            outcomes=outcomes,
            outcome_ids=list(firsts),
            outcome_results=[results[i] for i in rows],
            sharpes=list(sharpes),
            firsts={k: a[rows] for k, a in arrays.items()},
        )
        return dataclasses.replace(self, prepared=prepared)

    @classmethod
    def of_rows(cls, rows: list[Row]) -> list[Batch]:
        """``rows`` as batches: one per run of rows sharing their provenance and the length of
        their returns (in order of first appearance)."""
        groups: dict[tuple[Any, ...], list[Row]] = {}
        for r in rows:
            head = (
                r.strategy,
                r.engine,
                r.ticker,
                canonical_json(r.data),
                canonical_json(r.settings),
                len(r.returns),
            )
            groups.setdefault(head, []).append(r)
        out = []
        for group in groups.values():
            first = group[0]
            keys = dict.fromkeys(k for r in group for k in r.metrics)
            metrics = {k: [r.metrics.get(k) for r in group] for k in keys}
            returns = np.empty((len(group), len(first.returns)), dtype=np.float32)
            for i, r in enumerate(group):
                returns[i] = np.asarray(r.returns, dtype=np.float32)
            out.append(
                cls(
                    first.strategy,
                    first.engine,
                    first.ticker,
                    first.data,
                    first.settings,
                    [r.key for r in group],
                    [r.params for r in group],
                    metrics,
                    returns,
                )
            )
        return out


def returns_blob(returns: Any) -> bytes:
    """Daily returns as stored: float32, little-endian."""
    return np.asarray(returns, dtype="<f4").tobytes()


def result_hash(blob: bytes, n_trades: Any) -> int:
    """The ``result`` column: a signed 64-bit hash of the returns and the closed-trade count."""
    trades = b"" if n_trades is None or n_trades != n_trades else str(int(n_trades)).encode()
    digest = hashlib.blake2b(blob + b"|" + trades, digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def result_hashes(returns: np.ndarray, trades: Any, same: np.ndarray | None = None) -> list[int]:
    """:func:`result_hash` of each row of a C-ordered little-endian float32 returns matrix (its
    bytes hashed in place, not copied into a blob per row). ``same[i]``, when given, is a row
    whose returns and trade count row ``i``'s are a copy of: each such row is hashed once and
    its hash given to every row that names it."""
    if same is not None and len(same) == len(trades):
        hashed = np.unique(same)
        if len(hashed) < len(same):
            at = np.zeros(len(same), dtype=np.int64)
            at[hashed] = np.arange(len(hashed))
            own = result_hashes(returns[hashed], [trades[i] for i in hashed.tolist()])
            return list(map(own.__getitem__, at[same].tolist()))
    matrix: Any = np.ascontiguousarray(returns, dtype="<f4")  # numpy's stubs lack Buffer
    view = memoryview(matrix).cast("B")
    width = returns.shape[1] * 4 if returns.ndim == 2 else 0
    tails: dict[Any, bytes] = {}
    out = []
    blake2b = hashlib.blake2b
    for i, t in enumerate(trades):
        tail = tails.get(t) if t == t else None  # (NaN is no dict key: it never equals itself)
        if tail is None:
            tail = b"|" + (b"" if t is None or t != t else str(int(t)).encode())
            if t == t:
                tails[t] = tail
        h = blake2b(view[i * width : (i + 1) * width], digest_size=8)
        h.update(tail)
        out.append(int.from_bytes(h.digest(), "little", signed=True))
    return out


def metric_array(values: Any) -> np.ndarray:
    """A metric column as numpy: int64 (whole numbers), float64 (numbers; None and NaN as NaN)
    or objects (text, anything else)."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        arr = np.empty(0)  # ragged: objects below
    kind = arr.dtype.kind if len(arr) == len(values) else "O"
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        return arr.astype(np.float64, copy=False)
    if kind == "O":
        try:
            return np.array(values, dtype=np.float64)
        except (ValueError, TypeError):
            pass
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


_NULL = b"N" + bytes(8)


def _encoded(arr: np.ndarray | None, n: int) -> np.ndarray | list[bytes]:
    """Each value of a metric column as the bytes :func:`outcome_ids` hashes: ``F`` and the
    float64 (whole numbers too), ``N`` and 8 zero bytes for NULL/NaN - as an ``n x 9`` uint8
    matrix for a numeric column - or ``S``, the UTF-8 text and a NUL (a list, for objects)."""
    if arr is None:
        return np.frombuffer(_NULL * n, dtype=np.uint8).reshape(n, 9)
    if arr.dtype.kind in "if":
        values = arr.astype("<f8")
        nan = np.isnan(values)
        out = np.empty((n, 9), dtype=np.uint8)
        out[:, 0] = np.where(nan, ord("N"), ord("F"))
        out[:, 1:] = np.where(nan, 0.0, values).astype("<f8").view(np.uint8).reshape(n, 8)
        return out
    return [_encode_value(v) for v in arr.tolist()]


def _encode_value(v: Any) -> bytes:
    if isinstance(v, str):
        return b"S" + v.encode() + b"\0"
    if v is None or (isinstance(v, float) and v != v):
        return _NULL
    if isinstance(v, (int, float, np.generic)):
        return b"F" + np.float64(v).astype("<f8").tobytes()
    return b"S" + repr(v).encode() + b"\0"


def outcome_ids(
    results: list[int], metrics: dict[str, np.ndarray]
) -> tuple[list[int], dict[int, int]]:
    """Each row's outcome id, and the first row of each distinct one (id -> row, in row order).

    The id is a signed 64-bit blake2b hash of the row's ``result`` and its values of every
    :data:`METRIC_KEYS` entry (:func:`_encoded`; a missing key hashes as NULL). Rows with the
    same ``result`` nearly always have the same metrics: the rows are grouped by result in
    numpy and compared with their group's first row, and only one row per group (and any row
    that differs from its group's first) is hashed. ``metrics``: :func:`metric_array` columns.
    """
    n = len(results)
    if n == 0:
        return [], {}
    res = np.asarray(results, dtype=np.int64)
    _, first, inverse = np.unique(res, return_index=True, return_inverse=True)
    rep = first[inverse.reshape(-1)]
    same = np.ones(n, dtype=bool)
    for arr in metrics.values():
        other = arr[rep]
        if arr.dtype.kind == "f":
            same &= (arr == other) | (np.isnan(arr) & np.isnan(other))
        else:
            same &= np.asarray(arr == other, dtype=bool)
    hashed = np.unique(np.concatenate([first, np.flatnonzero(~same)]))
    # the hashed rows' bytes, key by key: runs of numeric columns as one matrix
    parts: list[list[bytes]] = [[] for _ in hashed]
    block: list[np.ndarray] = []

    def flush() -> None:
        if block:
            mat = np.ascontiguousarray(np.concatenate(block, axis=1))
            width = mat.shape[1]
            raw = mat.tobytes()
            for j in range(len(hashed)):
                parts[j].append(raw[j * width : (j + 1) * width])
            block.clear()

    for key in METRIC_KEYS:
        column = metrics.get(key)
        enc = _encoded(None if column is None else column[hashed], len(hashed))
        if isinstance(enc, np.ndarray):
            block.append(enc)
        else:
            flush()
            for j, b in enumerate(enc):
                parts[j].append(b)
    flush()
    blake2b = hashlib.blake2b
    by_row: dict[int, int] = {}
    for j, i in enumerate(hashed.tolist()):
        h = blake2b(int(res[i]).to_bytes(8, "little", signed=True), digest_size=8)
        h.update(b"".join(parts[j]))
        by_row[i] = int.from_bytes(h.digest(), "little", signed=True)
    if same.all():
        ids = [by_row[i] for i in rep.tolist()]
    else:
        ids = [
            by_row[r] if s else by_row[i]
            for i, (r, s) in enumerate(zip(rep.tolist(), same.tolist(), strict=True))
        ]
    firsts: dict[int, int] = {}
    for i in hashed.tolist():
        firsts.setdefault(by_row[i], i)
    return ids, firsts


def blob_sharpes(blobs: list[bytes]) -> list[float | None]:
    """The ``sr`` column of each returns blob: per-bar Sharpe (``mean / std``, ``ddof=1``) of the
    float32 values, computed as the Deflated Sharpe Ratio computes it on a returns matrix (a
    ``T x N`` C-ordered float64 matrix); NaN as None."""
    out: list[float | None] = [None] * len(blobs)
    by_len: dict[int, list[int]] = {}
    for i, b in enumerate(blobs):
        by_len.setdefault(len(b), []).append(i)
    for size, idx in by_len.items():
        if size < 8:  # fewer than 2 returns: undefined
            continue
        m = np.frombuffer(b"".join(blobs[i] for i in idx), dtype="<f4").reshape(len(idx), -1)
        sr = np.asarray(per_period_sharpe(np.ascontiguousarray(m.T, dtype=float)))
        for i, v in zip(idx, sr.tolist(), strict=True):
            out[i] = None if v != v else v
    return out


def matrix_sharpes(returns: np.ndarray) -> list[float | None]:
    """:func:`blob_sharpes` of the rows of a ``combinations x T`` float32 returns matrix."""
    if returns.shape[1] < 2:
        return [None] * returns.shape[0]
    sr = np.asarray(per_period_sharpe(np.ascontiguousarray(returns.T, dtype=float)))
    return [None if v != v else v for v in sr.tolist()]


def _by_names(params: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[int] | None]]:
    """The parameter names of the rows, with the rows that have them (None: every row)."""
    if len(names := {tuple(p) for p in params}) == 1:
        return [(names.pop(), None)]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(tuple(p), []).append(i)
    return list(groups.items())


def _take(values: list[Any], idx: list[int] | None) -> list[Any]:
    return values if idx is None else [values[i] for i in idx]


def _param_sql_column(values: list[Any]) -> list[Any]:
    """:func:`param_sql` of each value (a column of plain ints or text passes as it is)."""
    kinds = set(map(type, values))
    if kinds <= {int, str, type(None)}:
        return values
    return [param_sql(v) for v in values]


def param_sql(value: Any) -> Any:
    """A parameter as its typed column holds it (lists as ``a,b,c`` text, booleans 0/1)."""
    if value is None or isinstance(value, (int, str)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, (list, tuple)):
        return _cell(list(value))
    if isinstance(value, np.generic):
        return param_sql(value.item())
    return str(value)


def param_column(name: str) -> str:
    return PARAM_PREFIX + name


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


#: ``PRAGMA application_id`` of a sweep store ("CRWB"): the marker that a file is ours.
APPLICATION_ID = 0x43525742
_OUR_TABLES = frozenset(
    [
        "runs",
        "combos",
        "jobs",
        "outcomes",
        "sweeps",
        "sweep_rows",
        "sweep_columns",
        "run_returns",
        "sqlite_sequence",
    ]
)


def check_store_file(path: Path) -> str:
    """What is wrong with ``path`` as a sweep store ('' when it is one, an older one, or new).

    Read-only: the file is opened with ``mode=ro`` and not changed. A store is recognised by
    its :data:`APPLICATION_ID`; a store of an older version (no marker) by its tables and the
    ``runs`` columns it was made with. ``PRAGMA quick_check`` must pass (a damaged page is
    found here, before anything is written)."""
    if not path.exists() or path.stat().st_size == 0:
        return ""
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        return f"cannot open it ({exc})"
    try:
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app != APPLICATION_ID and tables:  # a database without tables holds nothing to harm
            cols = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
            older = app == 0 and "runs" in tables and tables <= _OUR_TABLES
            if not (older and {*FIXED_COLUMNS, "returns"} <= cols):
                shown = ", ".join(sorted(tables)[:4]) or "no tables"
                return f"not a crwv-bt sweep store (a SQLite database of another program: {shown})"
        bad = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
        if bad != ["ok"]:
            return "damaged (" + " ".join("; ".join(bad).split())[:160] + ")"
        if "combos" in tables or "runs" in tables:
            return _returns_problem(conn, tables)
    except sqlite3.DatabaseError as exc:
        return f"damaged or not a SQLite database ({exc})"
    finally:
        conn.close()
    return ""


def _returns_problem(conn: sqlite3.Connection, tables: set[str]) -> str:
    """A stored returns blob whose size is not ``4 * (bars - 1)`` bytes (cut or overwritten,
    or missing); ``length()`` reads a blob's size from its record header, not the blob. In a
    schema-3 store this reads one row per distinct outcome, not one per combination."""
    if "outcomes" in tables:
        row = conn.execute(
            "SELECT o.id, length(rr.returns), o.n_returns FROM outcomes o "
            "LEFT JOIN run_returns rr ON rr.result = o.result "
            "WHERE length(rr.returns) IS NOT 4 * o.n_returns LIMIT 1"
        ).fetchone()
        if row is None:
            return ""
        key = conn.execute("SELECT key FROM combos WHERE outcome = ? LIMIT 1", (row[0],)).fetchone()
        what = f"combination {key[0]}" if key else f"outcome {row[0]}"
        size = "missing" if row[1] is None else f"{row[1]} bytes"
        return f"damaged (the stored returns of {what} are {size}, not {4 * row[2]} bytes)"
    cols = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    size = f"length({RETURNS_OF_ROW})" if "result" in cols else "length(runs.returns)"
    row = conn.execute(
        f"SELECT key, {size}, data_bars FROM runs WHERE {size} IS NOT 4 * (data_bars - 1) LIMIT 1"
    ).fetchone()
    if row is None:
        return ""
    return f"damaged (the stored returns of combination {row[0]} are {row[1]} bytes, not {4 * (row[2] - 1)})"


def _is_current(path: Path) -> bool:
    """Whether ``path`` looks, by its 100-byte header, like a store of this version in WAL mode
    (the open then writes nothing, so its check may run beside the caller's reads)."""
    try:
        with path.open("rb") as f:
            head = f.read(100)
    except OSError:
        return False
    return (
        len(head) == 100
        and head.startswith(b"SQLite format 3\0")
        and head[18:20] == b"\x02\x02"
        and int.from_bytes(head[60:64], "big") == SCHEMA_VERSION
        and int.from_bytes(head[68:72], "big") == APPLICATION_ID
    )


def _start_check(path: Path) -> tuple[threading.Thread, list[Any]]:
    """:func:`check_store_file` on a thread (SQLite releases the GIL while it reads)."""
    box: list[Any] = [""]

    def run() -> None:
        try:
            box[0] = check_store_file(path)
        except BaseException as exc:  # handed to the caller by SweepStore.verified
            box[0] = exc

    thread = threading.Thread(target=run, name="store-check", daemon=True)
    thread.start()
    return thread, box


@dataclass
class _Written:
    """Ids a connection has committed (``done``) and those its open transaction has written
    (``pending``: done once it commits, forgotten if it rolls back)."""

    done: set[int] = dataclasses.field(default_factory=set)
    pending: set[int] = dataclasses.field(default_factory=set)

    def commit(self) -> None:
        self.done |= self.pending
        self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()


@dataclass
class BulkLoad:
    """What :meth:`SweepStore.bulk` did: whether the key index was dropped for the load
    (``deferred``) and how many later copies of a key were deleted when it was built."""

    deferred: bool = False
    removed: int = 0


class SweepStore:
    """A sweep store file (created on first use). Use as a context manager.

    Parameters
    ----------
    path : the SQLite file; its folder is created when missing
    defer_check : check a store of this version (:func:`check_store_file`, ~0.4 s for 300 MB)
        on a thread while the caller reads, not before opening it; writes wait for it, and a
        caller that only reads calls :meth:`verified` before it shows anything
    """

    def __init__(self, path: str | os.PathLike[str], *, defer_check: bool = False) -> None:
        self.path = Path(path)
        shown = short_path(self.path)
        try:
            if self.path.is_dir():
                raise UserError(f"--store {shown} is a folder; give a file name (NAME.sqlite)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a part of the path is a file
            raise UserError(
                f"cannot create the sweep store {shown}: a part of the path is a file, not a "
                "folder; check the path"
            ) from None
        except OSError as exc:
            raise os_error(
                exc, "create the sweep store", self.path, "pick another --store"
            ) from None
        # read-only: nothing is written before it passes. With ``defer_check`` a store of this
        # version is checked on a thread while the caller reads; every write waits for it
        self._pending: tuple[threading.Thread, list[Any]] | None = None
        self._refused = False  # the open check found a problem (nothing is kept at close)
        self._keep: tuple[int, Callable[[], tuple[str, bytes, str] | None], int] | None = None
        if defer_check and _is_current(self.path):
            self._pending = _start_check(self.path)
        else:
            self._refuse(check_store_file(self.path))
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self.verified()  # a damaged file: the check's refusal, not the symptom
            raise UserError(
                f"{shown}: not a usable sweep store ({exc}); pick another --store"
            ) from None
        except OSError as exc:
            raise os_error(
                exc, "create the sweep store", self.path, "pick another --store"
            ) from None

    def _refuse(self, problem: str) -> None:
        if problem:
            raise UserError(
                f"{short_path(self.path)}: {problem}; pick another --store "
                "(this file is left as it was)"
            )

    def verified(self) -> None:
        """Wait for the open check deferred to a thread (``defer_check``): its one-line refusal
        of a file that is not a sound store. Every write calls it first; a caller that only
        reads calls it before it shows what it read."""
        if self._pending is not None:
            thread, box = self._pending
            thread.join()
            self._pending = None
            self._refused = bool(box[0])
            if isinstance(box[0], BaseException):
                raise box[0]
            self._refuse(box[0])

    def _open(self) -> None:
        """Connect, and create or upgrade the tables (a store of this version: no write)."""
        self.conn = sqlite3.connect(self.path, timeout=30.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # checkpoint the WAL every 64 MB, not every 4 MB: a sweep commits a chunk of rows
        # (~2 KB each) at a time, and each checkpoint writes and syncs the database file
        self.conn.execute("PRAGMA wal_autocheckpoint=16384")
        schema = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if schema > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: written by a newer crwv-backtest (store schema {schema}, this "
                f"version reads {SCHEMA_VERSION}); upgrade, or pick another --store"
            )
        self._jobs: dict[tuple[Any, ...], int] = {}
        # outcome ids and results this connection has committed: a later batch does not
        # convert their metric values or bind their returns again (INSERT OR IGNORE would drop
        # them)
        self._outcomes, self._results = _Written(), _Written()
        kinds = dict(self.conn.execute("SELECT name, type FROM sqlite_master"))
        if kinds.get("runs") == "table":  # schema 1 or 2: split in one transaction
            self.verified()
            self._migrate()
        if not {"sweeps", "sweep_rows", "run_returns", "jobs", "outcomes", "combos"} <= set(kinds):
            self.verified()
            for sql in (*_CREATE_SWEEPS, *_CREATE):
                self.conn.execute(sql)
        self._ensure_key_index()
        self.metric_keys = self._ensure_metric_columns()
        self.param_names = {
            c[len(PARAM_PREFIX) :]
            for c in _columns(self.conn, "combos")
            if c.startswith(PARAM_PREFIX)
        }
        self._refresh_view()
        if schema != SCHEMA_VERSION:
            self.verified()
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if int(self.conn.execute("PRAGMA application_id").fetchone()[0]) != APPLICATION_ID:
            self.verified()
            self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        self.conn.commit()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            self.verified()  # a damaged file read while it was checked: the check's refusal
        finally:
            self.close()
        if isinstance(exc, sqlite3.DatabaseError):  # damaged after the open check, or locked
            raise UserError(
                f"{short_path(self.path)}: the sweep store failed ({exc}); it may be damaged: "
                "export what you need and pick another --store"
            ) from None

    def close(self) -> None:
        self.conn.close()
        keep, self._keep = self._keep, None
        if keep is not None and self._pending is None and not self._refused:
            self._write_kept(*keep)

    def _ensure_metric_columns(self, table: str = "outcomes") -> list[str]:
        """Add a column for any metric key ``table`` lacks (metrics added after it was made)."""
        have = _columns(self.conn, table)
        for key in METRIC_KEYS:
            if key not in have:
                self.verified()
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote_name(key)}")
        return list(METRIC_KEYS)

    def _refresh_view(self) -> None:
        """(Re)create the ``runs`` view over ``combos``, ``jobs`` and ``outcomes`` with every
        parameter and metric column they have (left as it is when it already has them)."""
        combos, outcomes = _columns(self.conn, "combos"), _columns(self.conn, "outcomes")
        parts = []
        for name in FIXED_COLUMNS:
            parts.append(f"{'c' if name in ('key', 'params') else 'j'}.{name} AS {name}")
            if name == "key":
                parts.insert(0, "c.rowid AS rowid")
        parts += ["X'' AS returns", "o.result AS result", "o.sr AS sr"]
        parts += [
            f"c.{quote_name(c)} AS {quote_name(c)}" for c in combos if c.startswith(PARAM_PREFIX)
        ]
        parts += [
            f"o.{quote_name(c)} AS {quote_name(c)}"
            for c in outcomes
            if c not in ("id", "result", "sr", "n_returns")
        ]
        sql = (
            f"CREATE VIEW runs AS SELECT {', '.join(parts)} FROM combos c "
            "JOIN jobs j ON j.id = c.job JOIN outcomes o ON o.id = c.outcome"
        )
        row = self.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()
        if row is None or row[0] != sql:
            self.verified()
            self.conn.execute("DROP VIEW IF EXISTS runs")
            self.conn.execute(sql)

    def _migrate(self) -> None:
        """Split the wide ``runs`` table of a schema-1 or -2 store into ``combos``, ``jobs`` and
        ``outcomes`` (rowids kept: ``sweep_rows`` points at them), moving schema 1's inline
        returns to ``run_returns``. One transaction: an error leaves the store as it was."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            have = _columns(self.conn, "runs")
            for col, kind in (("result", "INTEGER"), ("sr", "REAL")):
                if col not in have:
                    self.conn.execute(f"ALTER TABLE runs ADD COLUMN {col} {kind}")
            metric_keys = self._ensure_metric_columns("runs")
            names = {c[len(PARAM_PREFIX) :] for c in have if c.startswith(PARAM_PREFIX)}
            self._upgrade_rows(names)  # schema 1: result, sr and the parameter columns
            self.conn.execute("ALTER TABLE runs RENAME TO _runs_v2")
            for sql in (*_CREATE_SWEEPS, *_CREATE):
                self.conn.execute(sql)
            self._ensure_metric_columns()
            self._add_param_columns(dict.fromkeys(sorted(names)), set())
            self.conn.execute(
                "INSERT OR IGNORE INTO run_returns (result, returns) "
                "SELECT result, returns FROM _runs_v2 WHERE length(returns) > 0"
            )
            pcols = [param_column(n) for n in sorted(names)]
            cols = ["rowid", "key", "params", *JOB_COLUMNS, "result", "sr", *pcols, *metric_keys]
            nj, npc = len(JOB_COLUMNS), len(pcols)
            bars_at = JOB_COLUMNS.index("data_bars")
            cur = self.conn.execute(
                f"SELECT {', '.join(quote_name(c) for c in cols)} FROM _runs_v2 ORDER BY rowid"
            )
            insert_combo = (
                f"INSERT INTO combos (rowid, key, job, params, outcome"
                f"{''.join(', ' + quote_name(c) for c in pcols)}) "
                f"VALUES ({', '.join('?' * (5 + npc))})"
            )
            insert_outcome = (
                f"INSERT OR IGNORE INTO outcomes (id, result, sr, n_returns"
                f"{''.join(', ' + quote_name(k) for k in metric_keys)}) "
                f"VALUES ({', '.join('?' * (4 + len(metric_keys)))})"
            )
            while rows := cur.fetchmany(EXPORT_CHUNK):
                columns = list(zip(*rows, strict=True))
                results = list(columns[3 + nj])
                mcols = columns[5 + nj + npc :]
                ids, firsts = outcome_ids(
                    results, {k: metric_array(c) for k, c in zip(metric_keys, mcols, strict=True)}
                )
                self.conn.executemany(
                    insert_outcome,
                    (
                        (
                            oid,
                            results[i],
                            rows[i][4 + nj],
                            rows[i][3 + bars_at] - 1,
                            *rows[i][5 + nj + npc :],
                        )
                        for oid, i in firsts.items()
                    ),
                )
                self.conn.executemany(
                    insert_combo,
                    (
                        (
                            row[0],
                            row[1],
                            self._job(row[3 : 3 + nj]),
                            row[2],
                            oid,
                            *row[5 + nj : 5 + nj + npc],
                        )
                        for row, oid in zip(rows, ids, strict=True)
                    ),
                )
            self.conn.execute("DROP TABLE _runs_v2")
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            self._jobs.clear()
            raise
        try:  # give the wide table's pages back (1M rows: ~1 GB -> ~0.3 GB, in ~2 s)
            self.conn.execute("VACUUM")
        except sqlite3.OperationalError:
            pass  # (no room for the copy VACUUM makes): the store works as it is, only larger

    def _job(self, provenance: tuple[Any, ...]) -> int:
        """The ``jobs`` row of these :data:`JOB_COLUMNS` values (inserted on first use)."""
        job = self._jobs.get(provenance)
        if job is None:
            cur = self.conn.execute(
                f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' * len(JOB_COLUMNS))})",
                provenance,
            )
            job = self._jobs[provenance] = int(cur.lastrowid or 0)
        return job

    def _upgrade_rows(self, names: set[str]) -> None:
        """Fill ``result``, ``sr`` and the parameter columns of schema-1 rows (wide ``runs``)."""
        cur = self.conn.execute(
            'SELECT rowid, params, returns, "n_trades" FROM runs WHERE result IS NULL'
        )
        while rows := cur.fetchmany(EXPORT_CHUNK):
            sharpes = blob_sharpes([r[2] for r in rows])
            groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for (rowid, text, blob, trades), sr in zip(rows, sharpes, strict=True):
                params = json.loads(text)
                self._add_param_columns(params, names, "runs")
                group = tuple(params)
                values = (result_hash(blob, trades), sr, *(param_sql(params[k]) for k in group))
                groups.setdefault(group, []).append((*values, rowid))
            for group, updates in groups.items():
                sets = ", ".join(f"{quote_name(param_column(k))} = ?" for k in group)
                self.conn.executemany(
                    f"UPDATE runs SET result = ?, sr = ?{', ' if sets else ''}{sets} WHERE rowid = ?",
                    updates,
                )

    def _add_param_columns(
        self, params: dict[str, Any], names: set[str], table: str = "combos"
    ) -> bool:
        """Add a ``p_<name>`` column to ``table`` for each of ``params`` not in ``names``;
        whether any was added."""
        added = False
        for name in params:
            if name not in names:
                self.conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN {quote_name(param_column(name))}"
                )
                names.add(name)
                added = True
        return added

    # ------------------------------------------------------------------ writing

    @contextmanager
    def bulk(self, load: bool = False) -> Iterator[BulkLoad]:
        """While many rows go in: 64 MB of page cache (default 2 MB); afterwards the cache is
        released (reads do not need it).

        ``load``: the rows are a whole sweep going into an empty store. Its key index is then
        dropped and built once at the end, sorted (a million keys: ~1 s), instead of taking each
        insert on a random page of it, pages that every commit writes to the WAL again (5.7 s
        of CPU for 863,880 rows in 83 commits, against 2.4 s). Until it is built, ``INSERT OR
        IGNORE`` no longer stops a second copy of a key: a later copy is deleted when the index
        is built (:attr:`BulkLoad.removed`), which keeps the first, as the index would have. A
        load that dies before the end (``kill -9``) leaves a store without the index; the next
        open builds it (:meth:`_ensure_key_index`). A store made before the index had a name
        (its key ``UNIQUE`` inline) loads with the index in place, as before."""
        self.conn.execute("PRAGMA cache_size=-65536")
        state = BulkLoad(deferred=load and self._drop_key_index())
        try:
            yield state
        finally:
            try:
                if state.deferred:
                    state.removed = self._ensure_key_index()
            finally:
                self.conn.execute("PRAGMA cache_size=-2000")
                self.conn.execute("PRAGMA shrink_memory")

    def _combos_indexes(self) -> set[str]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'combos'"
            )
        }

    def _drop_key_index(self) -> bool:
        """Drop the named key index when ``combos`` is empty; whether it was dropped."""
        self.verified()
        self.conn.execute("BEGIN IMMEDIATE")  # no writer beside this one between look and drop
        try:
            empty = self.conn.execute("SELECT 1 FROM combos LIMIT 1").fetchone() is None
            named = KEY_INDEX in self._combos_indexes()
            if empty and named:
                self.conn.execute(f"DROP INDEX {KEY_INDEX}")
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return empty and named

    def _ensure_key_index(self) -> int:
        """Build the key index when ``combos`` has none (a bulk load's end, or the next open
        after one that died); returns how many rows were deleted as later copies of a key."""
        if self._combos_indexes() & set(_KEY_INDEXES):
            return 0
        self.verified()
        create = f"CREATE UNIQUE INDEX IF NOT EXISTS {KEY_INDEX} ON combos (key)"
        try:
            self.conn.execute(create)
            self.conn.commit()
            return 0
        except sqlite3.IntegrityError:
            pass
        with self.conn:
            removed = self.conn.execute(
                "DELETE FROM combos WHERE rowid NOT IN (SELECT MIN(rowid) FROM combos GROUP BY key)"
            ).rowcount
            self.conn.execute(create)
        return int(removed)

    def add(self, rows: Iterable[Row] | Batch) -> int:
        """Insert rows (or a :class:`Batch`) in one transaction (``INSERT OR IGNORE``); returns
        how many were new."""
        batches = [rows] if isinstance(rows, Batch) else Batch.of_rows(list(rows))
        batches = [b for b in batches if len(b)]
        if not batches:
            return 0
        self.verified()
        version, now = code_version(), datetime.now(UTC).isoformat(timespec="seconds")
        try:
            with self.conn:
                added = sum(self._insert(batch, version, now) for batch in batches)
        except BaseException:
            self._jobs.clear()  # rolled back: the jobs rows written in it are gone
            self._outcomes.rollback()
            self._results.rollback()
            raise
        self._outcomes.commit()
        self._results.commit()
        return added

    def _insert(self, batch: Batch, version: str, now: str) -> int:
        """Write one batch (inside the caller's transaction); returns how many rows were new.

        The rows are the ``zip`` of the batch's prepared columns (:meth:`Batch.prepare`, done
        where the batch was evaluated when it came prepared), so nothing per combination is
        built in Python but the tuple ``executemany`` binds.
        """
        prep = batch.prepare().prepared
        assert prep is not None
        known = self._results.done
        self.conn.executemany(
            "INSERT OR IGNORE INTO run_returns (result, returns) VALUES (?, ?)",
            [(r, blob) for r, blob in prep.blobs.items() if r not in known],
        )
        self._results.pending.update(prep.blobs)
        data = batch.data
        bars = int(data["bars"])
        job = self._job(
            (
                batch.strategy,
                batch.engine,
                batch.ticker,
                data["start"],
                data["end"],
                bars,
                data["sha"],
                canonical_json(batch.settings),
                version,
                now,
            )
        )
        keys = self.metric_keys
        self.conn.executemany(
            f"INSERT OR IGNORE INTO outcomes (id, result, sr, n_returns"
            f"{''.join(', ' + quote_name(k) for k in keys)}) "
            f"VALUES ({', '.join('?' * (4 + len(keys)))})",
            (
                (oid, result, sr, bars - 1, *(values.get(k) for k in keys))
                for oid, result, sr, values in prep.outcome_rows(self._outcomes.done)
            ),
        )
        self._outcomes.pending.update(prep.outcome_ids)
        new = 0
        for names, idx, pcols in prep.groups:
            if self._add_param_columns(dict.fromkeys(names), self.param_names):
                self._refresh_view()
            cols = ["key", "job", "params", "outcome", *(param_column(k) for k in names)]
            sql = (
                f"INSERT OR IGNORE INTO combos ({', '.join(quote_name(c) for c in cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})"
            )
            before = self.conn.total_changes
            # (not strict: the job is an endless repeat)
            self.conn.executemany(
                sql,
                zip(
                    _take(batch.keys, idx),
                    itertools.repeat(job),
                    _take(prep.texts, idx),
                    _take(prep.outcomes, idx),
                    *pcols,
                    strict=False,
                ),
            )
            new += self.conn.total_changes - before
        return new

    # ------------------------------------------------------------------ sweeps

    def find_sweep(self, spec: str) -> tuple[int, dict[str, Any]] | None:
        """The id and info of the finished sweep recorded under ``spec``, or None."""
        row = self.conn.execute("SELECT id, info FROM sweeps WHERE spec = ?", (spec,)).fetchone()
        return (int(row[0]), json.loads(row[1])) if row else None

    def last_rowid(self) -> int:
        """The highest run id stored (0: none); rows added later have higher ones."""
        return int(self.conn.execute("SELECT MAX(rowid) FROM combos").fetchone()[0] or 0)

    def save_sweep(
        self,
        spec: str,
        info: dict[str, Any],
        key_chunks: Callable[[], Iterable[list[str]]],
        total: int,
        after: int | None = None,
    ) -> int | None:
        """Record a finished sweep: ``spec``, ``info`` and its rows in grid order (``key_chunks()``
        gives the keys, in chunks; it is called again when the first reading does not link
        them). None (nothing recorded) when some key is not stored.

        ``after``: the :meth:`last_rowid` before the sweep ran. When the rows stored since are
        exactly its keys in grid order (a sweep whose combinations were all new, run in order),
        their rowids are taken as they are instead of looking each key up."""
        self.verified()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.conn:
            old = self.find_sweep(spec)
            if old is not None:
                return old[0]
            cur = self.conn.execute(
                "INSERT INTO sweeps (spec, info, total, created_at) VALUES (?, ?, ?, ?)",
                (spec, canonical_json(info), int(total), now),
            )
            sweep = int(cur.lastrowid or 0)
            if after is not None and self._link_new_rows(sweep, key_chunks(), total, after):
                return sweep
            pos = 0
            self.conn.execute("DROP TABLE IF EXISTS temp._link")
            self.conn.execute("CREATE TEMP TABLE _link (key TEXT, pos INTEGER)")
            for keys in key_chunks():
                self.conn.executemany(
                    "INSERT INTO _link VALUES (?, ?)", ((k, pos + i) for i, k in enumerate(keys))
                )
                pos += len(keys)
            linked = self.conn.execute(
                "INSERT OR IGNORE INTO sweep_rows SELECT ?, _link.pos, combos.rowid "
                "FROM _link JOIN combos ON combos.key = _link.key",
                (sweep,),
            ).rowcount
            self.conn.execute("DROP TABLE temp._link")
            if linked != total or pos != total:
                self.conn.execute("DELETE FROM sweep_rows WHERE sweep = ?", (sweep,))
                self.conn.execute("DELETE FROM sweeps WHERE id = ?", (sweep,))
                return None
        return sweep

    def _link_new_rows(
        self, sweep: int, key_chunks: Iterable[list[str]], total: int, after: int
    ) -> bool:
        """``sweep_rows`` of ``sweep`` from the rows stored after rowid ``after``, when they are
        the keys of ``key_chunks`` in that order; False (nothing written) when they are not."""
        lo, hi, count = self.conn.execute(
            "SELECT MIN(rowid), MAX(rowid), COUNT(*) FROM combos WHERE rowid > ?", (int(after),)
        ).fetchone()
        # ``total`` rows over ``total`` consecutive rowids: no gap (a bulk load's end may have
        # deleted a second copy of a key, leaving one)
        if total == 0 or count != total or hi - lo != total - 1:
            return False
        start = lo
        for keys in key_chunks:
            if not keys:
                continue
            stop = start + len(keys) - 1
            if stop > hi or not self._keys_in_rowids(keys, start, stop):
                return False
            start = stop + 1
        if start != hi + 1:
            return False
        self.conn.execute(
            "INSERT INTO sweep_rows (sweep, pos, run) SELECT ?, rowid - ?, rowid FROM combos "
            "WHERE rowid BETWEEN ? AND ?",
            (sweep, lo, lo, hi),
        )
        return True

    def _keys_in_rowids(self, keys: list[str], lo: int, hi: int) -> bool:
        """Whether rows ``lo .. hi`` of ``combos`` hold ``keys`` in that order: compared as one
        text of each side's keys joined by commas (``group_concat`` in the rowid scan's order;
        were SQLite to join them in another, the texts would differ and the caller would look
        the keys up instead: slower, not wrong), or row by row when a key holds a comma."""
        text = ",".join(keys)
        if text.count(",") == len(keys) - 1:
            stored = self.conn.execute(
                "SELECT group_concat(key, ',') FROM combos WHERE rowid BETWEEN ? AND ?", (lo, hi)
            ).fetchone()[0]
            return bool(stored == text)
        rows = self.conn.execute(
            "SELECT key FROM combos WHERE rowid BETWEEN ? AND ? ORDER BY rowid", (lo, hi)
        )
        return [r[0] for r in rows] == keys

    def kept_columns(self, sweep: int) -> tuple[str, bytes, str] | None:
        """``(meta, data, digest)`` kept for recorded sweep ``sweep`` under its current spec
        (:mod:`engine.sweep.column_cache`), or None."""
        if not self._has_table("sweep_columns"):
            return None
        row = self.conn.execute(
            "SELECT k.meta, k.data, k.digest FROM sweep_columns k "
            "JOIN sweeps s ON s.id = k.sweep AND s.spec = k.spec WHERE k.sweep = ?",
            (int(sweep),),
        ).fetchone()
        return None if row is None else (row[0], bytes(row[1]), row[2])

    def keep_columns(
        self, sweep: int, make: Callable[[], tuple[str, bytes, str] | None], wait_ms: int = 2000
    ) -> None:
        """Keep a recorded sweep's columns, ``make()`` = ``(meta, data, digest)`` (None: none),
        replacing what was kept for it, when the store closes (only if its open check passed).

        Written then, on a connection of its own, because the columns were read by another
        SQLite library (the ADBC driver's) in this process: its connections' close releases
        this library's POSIX locks on the file, so a write on a connection that was open
        meanwhile is not seen by other processes until it closes. A cache: nothing is kept
        (and nothing fails) when the file cannot be written then (read-only, or another
        writer holds it past ``wait_ms``)."""
        self._keep = (int(sweep), make, int(wait_ms))

    def _write_kept(
        self, sweep: int, make: Callable[[], tuple[str, bytes, str] | None], wait_ms: int
    ) -> None:
        made = make()
        if made is None:
            return
        meta, data, digest = made
        try:
            conn = sqlite3.connect(self.path, timeout=wait_ms / 1000)
        except sqlite3.Error:
            return
        try:
            with conn:
                conn.execute(_CREATE_SWEEP_COLUMNS)
                conn.execute(
                    "INSERT OR REPLACE INTO sweep_columns (sweep, spec, meta, digest, data) "
                    "SELECT id, spec, ?, ?, ? FROM sweeps WHERE id = ?",
                    (meta, digest, data, sweep),
                )
        except sqlite3.OperationalError:  # read-only, locked, no room: read from SQL next time
            pass
        finally:
            conn.close()

    def _has_table(self, name: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
            is not None
        )

    def returns_by_run(self, runs: list[int]) -> np.ndarray:
        """``T x N`` float32 daily returns of the rows with these rowids, in that order."""
        out: np.ndarray | None = None
        for lo in range(0, len(runs), 20_000):
            part = runs[lo : lo + 20_000]
            marks = ",".join("?" * len(part))
            blobs = dict(
                self.conn.execute(
                    f"SELECT rowid, {RETURNS_OF_ROW} FROM runs WHERE rowid IN ({marks})", part
                )
            )
            for j, run in enumerate(part):
                col = self._decode(blobs.get(run), run)
                if out is None:
                    out = np.empty((col.size, len(runs)), dtype=np.float32)
                if col.size != out.shape[0]:
                    raise UserError(
                        "stored returns have different lengths: the rows span different windows"
                    )
                out[:, lo + j] = col
        return out if out is not None else np.empty((0, 0), dtype=np.float32)

    def _decode(self, blob: Any, row: object) -> np.ndarray:
        """A stored returns blob as float32; a missing or cut blob is a one-line error."""
        if not isinstance(blob, bytes) or len(blob) % 4:
            size = f"{len(blob)} bytes" if isinstance(blob, bytes) else "missing"
            raise UserError(
                f"{short_path(self.path)}: the stored returns of {row} are damaged ({size}, not "
                "whole float32 values); pick another --store, or delete that row"
            )
        return np.frombuffer(blob, dtype="<f4")

    # ------------------------------------------------------------------ reading

    def is_empty(self) -> bool:
        return self.conn.execute("SELECT 1 FROM combos LIMIT 1").fetchone() is None

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM combos").fetchone()[0])

    def done_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` already stored (one ``IN`` query for up to 30,000 keys)."""
        keys = list(keys)
        if len(keys) <= 30_000:
            if not keys:
                return set()
            marks = ",".join("?" * len(keys))
            cur = self.conn.execute(f"SELECT key FROM combos WHERE key IN ({marks})", keys)
            return {r[0] for r in cur}
        with self._keys_table(keys):
            cur = self.conn.execute("SELECT key FROM combos JOIN _want USING (key)")
            return {r[0] for r in cur}

    def _keys_table(self, keys: list[str]) -> _TempKeys:
        return _TempKeys(self.conn, keys)

    def frame(self, keys: list[str] | None = None, strategy: str | None = None) -> pd.DataFrame:
        """One row per combination: parameter columns, metric columns, then provenance.

        ``keys`` selects and orders the rows (missing keys are skipped); otherwise every row
        (of ``strategy``, when given) in insertion order. Returns are not included.
        """
        cols = ", ".join(quote_name(c) for c in FIXED_COLUMNS + self.metric_keys + ["result"])
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
                f"SELECT _want.pos, {RETURNS_OF_ROW} FROM runs JOIN _want USING (key) "
                "ORDER BY _want.pos"
            )
            filled = 0
            for pos, blob in cur:
                try:
                    col = self._decode(blob, keys[pos])
                except UserError:
                    cur.close()  # before the temp table is dropped (else "table is locked")
                    raise
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
        cols = FIXED_COLUMNS + self.metric_keys + ["result"]
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


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


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
            raw[_tail(raw)],
        ],
        axis=1,
    )
    out.attrs["param_columns"] = list(columns)
    return out


def _tail(raw: pd.DataFrame) -> list[str]:
    """The provenance columns of a frame: the fixed ones but ``params``, then ``result``."""
    return [c for c in FIXED_COLUMNS + ["result"] if c != "params" and c in raw]


def typed_rows(
    raw: pd.DataFrame, names: list[str], bools: set[str], metric_keys: list[str]
) -> pd.DataFrame:
    """:func:`expand_rows` of rows whose parameters were read from their typed columns
    (``p_<name>`` in ``raw``, booleans as 0/1): the same frame, without parsing JSON."""
    columns: dict[str, Any] = {}
    for name in names:
        label = f"param_{name}" if name in metric_keys or name in FIXED_COLUMNS else name
        col = raw[param_column(name)]
        columns[label] = col.astype(bool) if name in bools else col
    metrics = raw[metric_keys].copy()
    for key in metric_keys:
        if key not in ("start", "end") and metrics[key].dtype == object:
            metrics[key] = pd.to_numeric(metrics[key].astype(float))  # NULL -> NaN
    out = pd.concat(
        [pd.DataFrame(columns, index=raw.index), metrics, raw[_tail(raw)]],
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
    # a column whose first row is NULL or REAL is float; only the others need the whole scan
    first = conn.execute(
        f"SELECT {', '.join(f'typeof({quote_name(k)})' for k in keys)} {source} LIMIT 1", args
    ).fetchone()
    if first is None:
        return set()
    floats = {k for k, t in zip(keys, first, strict=True) if t in ("null", "real")}
    rest = [k for k in keys if k not in floats]
    if not rest:
        return floats
    parts = ", ".join(
        f"MAX({quote_name(k)} IS NULL OR typeof({quote_name(k)}) = 'real')" for k in rest
    )
    row = conn.execute(f"SELECT {parts} {source}", args).fetchone()
    return floats | {k for k, v in zip(rest, row, strict=True) if v}


def json_path(name: str) -> str:
    return '$."' + name.replace('"', '\\"') + '"'


def unify_floats(frame: pd.DataFrame, floats: set[str]) -> None:
    """Cast the metric columns that are float anywhere in the sweep to float64 (in place)."""
    for key in floats:
        if key in frame and frame[key].dtype != np.float64:
            frame[key] = frame[key].astype(np.float64)
