"""Price files: read and write price CSVs, find them in the data dir, fall back to a download.

Every price frame that leaves this module has a tz-naive ``DatetimeIndex`` named ``date`` and the
columns ``open high low close adj_close volume`` (float64), holding **raw** (unadjusted) prices:
the article's $80 / $90 / $130 levels are raw prices, so adjusting would move them. The table
layout and its checks are :mod:`engine.data.validate`; the download is :mod:`engine.data.download`.

Sources, in order (:func:`load_prices`):

1. an explicit CSV path (``csv=``);
2. the cache ``<data dir>/<TICKER>.csv``, where the data dir is ``data_dir=`` (the CLI's
   ``--data-dir``), else the ``CRWV_BT_DATA_DIR`` environment variable, else ``data/`` in the
   working folder, else the snapshot bundled with the project (``data/`` beside ``engine/``), so
   ``crwv-bt`` works from any folder;
3. a yfinance download (``auto_adjust=False``), written to the cache atomically.

A cache that ends before the requested end (or more than a few days before today) is used with a
warning naming its last date; it is refreshed only by ``crwv-bt data fetch`` so that runs stay
reproducible and never touch the network behind the user's back.
"""

from __future__ import annotations

import os
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from engine.checks import check_date
from engine.data.download import download
from engine.data.validate import (
    COLUMNS,
    DataWarning,
    find_problems,
    missing_sessions,
    normalize_frame,
    odd_sessions,
    parse_dates,
    validate,
)
from engine.errors import DataError, ParamError
from engine.files import atomic_write_text

DATA_DIR_ENV = "CRWV_BT_DATA_DIR"
DEFAULT_DATA_DIR = "data"
# the snapshot bundled with the project: data/ beside the engine package
BUNDLED_DATA_DIR = Path(__file__).resolve().parents[2] / DEFAULT_DATA_DIR


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``explicit``, else ``$CRWV_BT_DATA_DIR``, else ``data/`` when the
    working folder has one, else the bundled snapshot (when the project ships it), else ``data/``
    (where a download would be cached)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    local = Path(DEFAULT_DATA_DIR)
    if not local.is_dir() and BUNDLED_DATA_DIR.is_dir():
        return BUNDLED_DATA_DIR
    return local


# --------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------


def read_price_csv(path: str | os.PathLike[str], ticker: str | None = None) -> pd.DataFrame:
    """Read and validate one price CSV (our format or Yahoo's export)."""
    p = Path(path)
    return validate(normalize_frame(_read_raw(p), str(p), ticker), str(p))


def _read_raw(p: Path) -> pd.DataFrame:
    """A CSV's cells as text (empty and NaN-like cells as NaN); DataError when unreadable."""
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
    return raw.replace({"": np.nan, "null": np.nan, "NaN": np.nan, "nan": np.nan})


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
        stamp = pd.Timestamp(value).normalize()
    except (ValueError, TypeError, OverflowError):
        raise DataError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None
    if stamp is pd.NaT:
        raise DataError(f"{name} {value!r} is not a date; use YYYY-MM-DD")
    try:
        check_date(stamp.date(), name)  # the plausible range of daily prices (engine.checks)
    except ParamError as exc:
        raise DataError(str(exc)) from None
    return stamp


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


def check_file(path: str | os.PathLike[str]) -> tuple[pd.DataFrame | None, list[str]]:
    """Read a CSV and list *every* problem (for ``crwv-bt data check``), without raising;
    warnings (ignored columns, missing NYSE sessions, zero volume, weekend rows) end in
    ``(warning)``."""
    p = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            df = parse_dates(normalize_frame(_read_raw(p), str(p)), str(p))
        except DataError as exc:
            return None, [str(exc)]
    notes = [f"{w.message} (warning)" for w in caught if issubclass(w.category, DataWarning)]
    messages = [str(pr) for pr in find_problems(df)]
    frame = None
    if not messages:
        frame = df.set_index("date")[COLUMNS].astype(float)
        notes += [f"{line} (warning)" for line in odd_sessions(frame, str(p))]
        gaps = missing_sessions(pd.DatetimeIndex(frame.index))
        notes.extend(f"{g.strftime('%Y-%m-%d')}: missing NYSE session (warning)" for g in gaps)
    return frame, messages + notes
