"""Daily price data: read, normalise, validate, cache and download.

Every price frame that leaves this module has a tz-naive ``DatetimeIndex`` named ``date`` and the
columns ``open high low close adj_close volume`` (float64), holding **raw** (unadjusted) prices:
the article's $80 / $90 / $130 levels are raw prices, so adjusting would move them.

Sources, in order (:func:`load_prices`):

1. an explicit CSV path (``csv=``);
2. the cache ``<data dir>/<TICKER>.csv``, where the data dir is ``data_dir=`` (the CLI's
   ``--data-dir``), else the ``CRWV_BT_DATA_DIR`` environment variable, else ``data/``;
3. a yfinance download (``auto_adjust=False``), written to the cache atomically.

A cache that ends before the requested end (or more than a few days before today) is used with a
warning naming its last date; it is refreshed only by ``crwv-bt data fetch`` so that runs stay
reproducible and never touch the network behind the user's back.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError

COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"]
DATA_DIR_ENV = "CRWV_BT_DATA_DIR"
DEFAULT_DATA_DIR = "data"

# Header spellings we accept, mapped to our names: our own lowercase format, Yahoo's CSV export
# ("Date,Open,High,Low,Close,Adj Close,Volume") and yfinance's frame columns.
_ALIASES = {
    "date": "date",
    "datetime": "date",
    "timestamp": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj close": "adj_close",
    "adj_close": "adj_close",
    "adjclose": "adj_close",
    "adjusted_close": "adj_close",
    "volume": "volume",
}
# Columns yfinance adds with actions=True; they carry no price and are dropped.
_IGNORED = {"dividends", "stock splits", "stock_splits", "capital gains", "capital_gains"}


class DataWarning(UserWarning):
    """Something about the data a user should know, but that does not stop a run."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a price table; ``row`` is the 1-based line in the CSV file."""

    row: int | None
    date: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.date:
            where.append(self.date)
        prefix = f"{' '.join(where)}: " if where else ""
        return prefix + self.message


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``explicit``, else ``$CRWV_BT_DATA_DIR``, else ``data/``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else Path(DEFAULT_DATA_DIR)


# --------------------------------------------------------------------------------------------
# Normalising
# --------------------------------------------------------------------------------------------


def normalize_frame(raw: pd.DataFrame, source: str, ticker: str | None = None) -> pd.DataFrame:
    """Map any accepted layout to our columns, without validating values.

    Accepts our lowercase layout, Yahoo's export, and yfinance 1.x frames whose columns are a
    two-level ``(Price, Ticker)`` index (the ticker level is dropped after selecting ``ticker``).
    The date may be a column or the index; a tz-aware index is converted to its *local* date
    (backtrader would otherwise shift it to UTC, which moves US sessions to the wrong day).
    """
    df = raw.copy()
    if isinstance(df.columns, pd.MultiIndex):
        df = _drop_ticker_level(df, source, ticker)
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.name not in (None, "date", "Date"):
        pass
    if isinstance(df.index, pd.DatetimeIndex):
        df = df.reset_index(names="date")
    rename: dict[str, str] = {}
    unknown: list[str] = []
    for col in df.columns:
        key = str(col).strip().lower()
        if key in _ALIASES:
            rename[col] = _ALIASES[key]
        elif key in _IGNORED or key in ("index", "unnamed: 0", ""):
            continue
        else:
            unknown.append(str(col))
    if unknown:
        raise DataError(
            f"{source}: unknown column(s) {', '.join(repr(u) for u in unknown)}; "
            f"expected {','.join(['date', *COLUMNS])} (or Yahoo's Date,Open,High,Low,Close,Adj Close,Volume)"
        )
    df = df.rename(columns=rename)
    df = df[[c for c in df.columns if c in rename.values()]]
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise DataError(f"{source}: column(s) {', '.join(dup)} appear twice; keep one of each")
    required = ["date", "open", "high", "low", "close", "volume"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"expected {','.join(['date', *COLUMNS])}"
        )
    if "adj_close" not in df.columns:
        # No adjusted close (e.g. an auto-adjusted export): raw close is the honest stand-in for
        # a ticker with no dividends or splits, and nothing in the engine trades on adj_close.
        df["adj_close"] = df["close"]
    return df[["date", *COLUMNS]]


def _drop_ticker_level(df: pd.DataFrame, source: str, ticker: str | None) -> pd.DataFrame:
    # yfinance 1.x: columns like ("Close", "CRWV"); the ticker level may be first or second.
    levels = [list(df.columns.get_level_values(i)) for i in range(df.columns.nlevels)]
    price_level = next(
        (i for i, vals in enumerate(levels) if any(str(v).lower() in _ALIASES for v in vals)),
        None,
    )
    if price_level is None:
        raise DataError(f"{source}: no price columns (Open/High/Low/Close/Volume) in the frame")
    other = [i for i in range(df.columns.nlevels) if i != price_level]
    tickers = sorted({str(v) for i in other for v in levels[i]})
    if len(tickers) > 1:
        want = (ticker or "").upper()
        if want not in tickers:
            raise DataError(
                f"{source}: frame holds tickers {', '.join(tickers)}; ask for one of them"
            )
        df = df.xs(want, axis=1, level=other[0])
    else:
        df = df.copy()
        df.columns = df.columns.get_level_values(price_level)
    return df


def _parse_dates(df: pd.DataFrame, source: str) -> pd.DataFrame:
    col = df["date"]
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        # Keep the exchange-local calendar date; never convert to UTC first.
        parsed = col.dt.tz_localize(None)
    else:
        parsed = pd.to_datetime(col, errors="coerce", format="mixed")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}: cannot parse date {str(col.iloc[i])!r}; "
                "write dates as YYYY-MM-DD"
            )
    out = df.copy()
    out["date"] = parsed.dt.normalize()
    return out


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def find_problems(df: pd.DataFrame) -> list[Problem]:
    """Every problem in a normalised frame (``date`` column plus :data:`COLUMNS`).

    Checked: empty table, NaN or empty fields, non-numeric values, duplicate dates, unsorted
    dates, non-positive prices, negative volume, ``high < max(open, close)``,
    ``low > min(open, close)``, ``high < low``.
    """
    problems: list[Problem] = []
    if len(df) == 0:
        return [Problem(None, None, "no rows; the file has a header but no prices")]
    dates = df["date"]
    line = np.arange(len(df)) + 2  # header is line 1

    def ds(i: int | np.integer) -> str | None:
        d = dates.iloc[int(i)]
        return None if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")

    values = {}
    for col in COLUMNS:
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        for i in np.flatnonzero(num.isna().to_numpy()):
            what = (
                "empty"
                if (pd.isna(raw.iloc[i]) or str(raw.iloc[i]).strip() == "")
                else (f"not a number ({raw.iloc[i]!r})")
            )
            problems.append(Problem(int(line[i]), ds(i), f"{col} is {what}"))
        values[col] = num.to_numpy(dtype=float)

    d = pd.DatetimeIndex(dates)
    for i in np.flatnonzero(d.duplicated()):
        problems.append(Problem(int(line[i]), ds(i), "duplicate date; keep one row per session"))
    diffs = np.flatnonzero(d[1:] < d[:-1]) + 1
    for i in diffs:
        problems.append(
            Problem(
                int(line[i]),
                ds(i),
                f"date is before the previous row's {ds(i - 1)}; sort the rows by date",
            )
        )
    with np.errstate(invalid="ignore"):
        for col in PRICE_COLUMNS:
            for i in np.flatnonzero(values[col] <= 0):
                problems.append(
                    Problem(
                        int(line[i]), ds(i), f"{col} is {values[col][i]:g}; prices must be positive"
                    )
                )
        for i in np.flatnonzero(values["volume"] < 0):
            problems.append(
                Problem(
                    int(line[i]),
                    ds(i),
                    f"volume is {values['volume'][i]:g}; volume cannot be negative",
                )
            )
        o, h, lo, c = (values[k] for k in ("open", "high", "low", "close"))
        top = np.maximum(o, c)
        bottom = np.minimum(o, c)
        for i in np.flatnonzero(h < top):
            problems.append(
                Problem(int(line[i]), ds(i), f"high {h[i]:g} is below max(open, close) {top[i]:g}")
            )
        for i in np.flatnonzero(lo > bottom):
            problems.append(
                Problem(
                    int(line[i]), ds(i), f"low {lo[i]:g} is above min(open, close) {bottom[i]:g}"
                )
            )
        for i in np.flatnonzero((h < lo) & ~(h < top) & ~(lo > bottom)):
            problems.append(Problem(int(line[i]), ds(i), f"high {h[i]:g} is below low {lo[i]:g}"))
    problems.sort(key=lambda p: p.row or 0)
    return problems


def missing_sessions(index: pd.DatetimeIndex) -> list[pd.Timestamp]:
    """NYSE sessions between the first and last date that the index lacks.

    Uses ``exchange_calendars`` (XNYS). Returns an empty list when it is not installed.
    """
    if len(index) < 2:
        return []
    sessions = _nyse_sessions(index[0].strftime("%Y-%m-%d"), index[-1].strftime("%Y-%m-%d"))
    return list(sessions.difference(index))


@lru_cache(maxsize=16)
def _nyse_sessions(start: str, end: str) -> pd.DatetimeIndex:
    try:
        import exchange_calendars as xcals
    except ImportError:  # pragma: no cover - it is a declared dependency
        return pd.DatetimeIndex([])
    with warnings.catch_warnings():
        # exchange_calendars 4.x trips pandas 3.1 deprecation warnings inside its constructor
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=start, end=end)
        sessions = pd.DatetimeIndex(cal.sessions_in_range(start, end))
    return sessions.tz_localize(None) if sessions.tz is not None else sessions


def validate(df: pd.DataFrame, source: str, *, calendar_check: bool = True) -> pd.DataFrame:
    """Normalised frame -> clean, indexed, float frame; raises :class:`DataError` on a problem."""
    df = _parse_dates(df, source)
    problems = find_problems(df)
    if problems:
        more = (
            f" ({len(problems) - 1} more: run `crwv-bt data check {source}`)"
            if len(problems) > 1
            else ""
        )
        raise DataError(f"{source}: {problems[0]}; fix or remove the row{more}")
    out = df.set_index("date")[COLUMNS].astype(float)
    out.index = pd.DatetimeIndex(out.index, name="date")
    out.columns = pd.Index(COLUMNS)  # drop yfinance's "Price" level name
    if calendar_check:
        gaps = missing_sessions(out.index)
        if gaps:
            listed = ", ".join(g.strftime("%Y-%m-%d") for g in gaps[:5])
            warnings.warn(
                f"{source}: {len(gaps)} NYSE session(s) missing ({listed}{', ...' if len(gaps) > 5 else ''}); "
                "fills around them may be off",
                DataWarning,
                stacklevel=2,
            )
    return out


# --------------------------------------------------------------------------------------------
# Reading, writing, downloading
# --------------------------------------------------------------------------------------------


def read_price_csv(path: str | os.PathLike[str], ticker: str | None = None) -> pd.DataFrame:
    """Read and validate one price CSV (our format or Yahoo's export)."""
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"{p}: file not found; check the path or the data dir (--data-dir / ${DATA_DIR_ENV})"
        )
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a CSV file")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{p}: file is empty; expected a header {','.join(['date', *COLUMNS])} and rows"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{p}: not a readable CSV ({first}); expected comma-separated {','.join(['date', *COLUMNS])}"
        ) from None
    raw = raw.replace({"": np.nan, "null": np.nan, "NaN": np.nan, "nan": np.nan})
    return validate(normalize_frame(raw, str(p), ticker), str(p))


def write_price_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a price frame in our format, atomically (temp file in the same dir, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out = df[COLUMNS].copy()
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "date"
    text = out.to_csv(float_format="%.6f", lineterminator="\n")
    atomic_write_text(p, text)
    return p


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and ``os.replace`` (no half-written file)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write bytes atomically: a reader sees the old file or the new one, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download(ticker: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Download daily raw prices with ``yfinance.download(auto_adjust=False)`` and validate them.

    Raises :class:`DataError` (with how to use a CSV instead) on no network, an empty frame or an
    unknown ticker.
    """
    how = (
        f"download a daily CSV for {ticker} elsewhere and pass it with --csv FILE, "
        f"or put it at <data dir>/{ticker}.csv"
    )
    try:
        import yfinance as yf
    except ImportError:  # pragma: no cover
        raise DataError(f"yfinance is not installed; {how}") from None
    # yfinance logs each failure itself (and swallows it); collect those records instead of
    # letting them reach the terminal, and say it once, below.
    log = logging.getLogger("yfinance")
    collected = _Collect()
    saved = (log.level, log.propagate)
    log.addHandler(collected)
    log.setLevel(logging.ERROR)
    log.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = yf.download(
                ticker,
                start=start,
                end=end,
                interval="1d",
                auto_adjust=False,
                actions=False,
                progress=False,
                threads=False,
            )
    except Exception as exc:  # yfinance raises many types for network failures
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"download of {ticker} failed ({msg}); {how}") from None
    finally:
        log.removeHandler(collected)
        log.setLevel(saved[0])
        log.propagate = saved[1]
    if frame is None or len(frame) == 0:
        reason = _failure_reason(collected.messages)
        raise DataError(f"download of {ticker} returned no rows ({reason}); {how}")
    df = normalize_frame(frame, f"yfinance download of {ticker}", ticker)
    df = df.dropna(subset=["open", "high", "low", "close"], how="all")
    if len(df) == 0:
        raise DataError(f"download of {ticker} returned only empty rows; {how}")
    return validate(df, f"yfinance download of {ticker}", calendar_check=False)


class _Collect(logging.Handler):
    """Keeps the messages of the log records it receives."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _failure_reason(messages: list[str]) -> str:
    """A short reason for an empty yfinance download, from what yfinance logged."""
    text = " ".join(messages)
    if "resolve host" in text or "DNSError" in text or "onnection" in text:
        return "no network: could not reach Yahoo Finance"
    if "delisted" in text or "not found" in text.lower() or "No data found" in text:
        return "unknown or delisted ticker"
    return "no network, unknown ticker, or no trading in the range"


def fetch(
    ticker: str, start: str | None = None, data_dir_: str | os.PathLike[str] | None = None
) -> Path:
    """Download ``ticker`` and write it to the cache atomically; returns the cache path."""
    ticker = ticker.upper()
    frame = download(ticker, start=start)
    path = data_dir(data_dir_) / f"{ticker}.csv"
    try:
        return write_price_csv(frame, path)
    except OSError as exc:
        raise DataError(
            f"cannot write {path} ({exc.strerror}); choose a writable --data-dir"
        ) from None


def load_prices(
    ticker: str,
    start: str | date | None = None,
    end: str | date | None = None,
    *,
    csv: str | os.PathLike[str] | None = None,
    data_dir_: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    min_bars: int = 1,
    today: date | None = None,
) -> pd.DataFrame:
    """A validated daily frame for ``ticker`` between ``start`` and ``end`` (both inclusive).

    Parameters
    ----------
    ticker : symbol, e.g. ``"CRWV"``; names the cache file ``<data dir>/<TICKER>.csv``.
    start, end : optional bounds (inclusive), ``YYYY-MM-DD``.
    csv : read this file instead of the cache.
    data_dir_ : the data directory (default: ``$CRWV_BT_DATA_DIR``, else ``data/``).
    allow_download : download with yfinance when there is no cache.
    min_bars : fewer bars than this in the range is an error (a strategy's warm-up).
    """
    ticker = ticker.upper()
    if csv is not None:
        frame = read_price_csv(csv, ticker)
        source = str(csv)
    else:
        path = data_dir(data_dir_) / f"{ticker}.csv"
        source = str(path)
        if path.exists():
            frame = read_price_csv(path, ticker)
            _warn_if_stale(frame, source, ticker, end, today or date.today())
        elif allow_download:
            frame = download(ticker)
            try:
                write_price_csv(frame, path)
            except OSError as exc:
                warnings.warn(
                    f"could not cache {ticker} at {path} ({exc.strerror})",
                    DataWarning,
                    stacklevel=2,
                )
        else:
            raise DataError(
                f"no price file for {ticker} at {path}; run `crwv-bt data fetch {ticker}` or "
                f"point --data-dir / ${DATA_DIR_ENV} at a folder holding {ticker}.csv"
            )
    return slice_range(frame, start, end, source, min_bars=min_bars)


def slice_range(
    frame: pd.DataFrame,
    start: str | date | None,
    end: str | date | None,
    source: str,
    *,
    min_bars: int = 1,
) -> pd.DataFrame:
    """Rows between ``start`` and ``end`` (inclusive); errors on an empty or too-short range."""
    s = _parse_bound(start, "--start")
    e = _parse_bound(end, "--end")
    if s is not None and e is not None and s > e:
        raise DataError(f"start {s.date()} is after end {e.date()}; swap them")
    out = frame.loc[(frame.index >= s) if s is not None else slice(None)]
    if e is not None:
        out = out.loc[out.index <= e]
    if len(out) == 0:
        raise DataError(
            f"{source}: no rows between {s.date() if s is not None else 'the start'} and "
            f"{e.date() if e is not None else 'the end'}; the file covers "
            f"{frame.index[0].date()} to {frame.index[-1].date()}"
        )
    if len(out) < min_bars:
        raise DataError(
            f"{source}: {len(out)} bars from {out.index[0].date()} to {out.index[-1].date()}, but the "
            f"strategy needs at least {min_bars} (its indicator warm-up); widen --start/--end or "
            "shorten the indicator periods"
        )
    return out


def _parse_bound(value: str | date | None, name: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise DataError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None


def _warn_if_stale(
    frame: pd.DataFrame, source: str, ticker: str, end: str | date | None, today: date
) -> None:
    last = frame.index[-1].date()
    wanted = _parse_bound(end, "--end") if end is not None else None
    limit = wanted.date() if wanted is not None else today - timedelta(days=4)
    if last < limit:
        warnings.warn(
            f"{source}: cache for {ticker} ends {last}; using it as is "
            f"(refresh with `crwv-bt data fetch {ticker}`)",
            DataWarning,
            stacklevel=3,
        )


def fingerprint(frame: pd.DataFrame, ticker: str) -> dict[str, object]:
    """Identity of a price frame: ticker, first and last date, rows, sha256 of its canonical CSV.

    The hash covers the dates and all six columns written with 6 decimals, so the same prices
    read from our format or Yahoo's export give the same fingerprint.
    """
    canon = frame[COLUMNS].copy()
    canon.index = canon.index.strftime("%Y-%m-%d")
    text = canon.to_csv(float_format="%.6f", lineterminator="\n", header=False)
    return {
        "ticker": ticker.upper(),
        "first": frame.index[0].strftime("%Y-%m-%d"),
        "last": frame.index[-1].strftime("%Y-%m-%d"),
        "rows": int(len(frame)),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def check_file(path: str | os.PathLike[str]) -> tuple[pd.DataFrame | None, list[str]]:
    """Read a CSV and list *every* problem (for ``crwv-bt data check``), without raising."""
    p = Path(path)
    messages: list[str] = []
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
        raw = raw.replace({"": np.nan, "null": np.nan, "NaN": np.nan, "nan": np.nan})
        df = _parse_dates(normalize_frame(raw, str(p)), str(p))
    except DataError as exc:
        return None, [str(exc)]
    except FileNotFoundError:
        return None, [f"{p}: file not found"]
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        return None, [f"{p}: not a readable CSV ({type(exc).__name__})"]
    messages.extend(str(pr) for pr in find_problems(df))
    frame = None
    if not messages:
        frame = df.set_index("date")[COLUMNS].astype(float)
        gaps = missing_sessions(pd.DatetimeIndex(frame.index))
        messages.extend(f"{g.strftime('%Y-%m-%d')}: missing NYSE session (warning)" for g in gaps)
    return frame, messages


def iter_warnings(caught: Iterable[warnings.WarningMessage]) -> list[str]:
    """One-line texts of caught :class:`DataWarning` records."""
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
