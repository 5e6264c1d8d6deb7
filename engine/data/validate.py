"""Price tables: accepted layouts, normalisation and validation (no I/O).

:func:`normalize_frame` maps our lowercase layout, Yahoo's CSV export and yfinance 1.x frames
(two-level ``(Price, Ticker)`` columns) to ``date`` + :data:`COLUMNS`; :func:`find_problems`
lists every problem in a table; :func:`validate` turns a normalised table into the indexed float
frame the engine uses, or raises :class:`engine.errors.DataError` naming the first problem.
Missing NYSE sessions are a :class:`DataWarning`, not an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from engine.errors import DataError

COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"]

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


def parse_dates(df: pd.DataFrame, source: str) -> pd.DataFrame:
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

    Uses ``exchange_calendars`` (XNYS).
    """
    if len(index) < 2:
        return []
    sessions = _nyse_sessions(index[0].strftime("%Y-%m-%d"), index[-1].strftime("%Y-%m-%d"))
    return list(sessions.difference(index))


@lru_cache(maxsize=16)
def _nyse_sessions(start: str, end: str) -> pd.DatetimeIndex:
    sessions = pd.DatetimeIndex(_nyse_calendar(start, end).sessions_in_range(start, end))
    return sessions.tz_localize(None) if sessions.tz is not None else sessions


_CALENDAR: list[Any] = []  # [(first, last, calendar)]: the one XNYS calendar built so far


def _nyse_calendar(start: str, end: str) -> Any:
    """An XNYS calendar covering ``start`` to ``end``: built once and reused for every range
    inside it (a run checks the ticker and then the benchmark, whose ranges differ; building
    a calendar costs ~0.3 s whatever its span), rebuilt over the union when a range falls out."""
    if _CALENDAR:
        first, last, cal = _CALENDAR[0]
        if first <= start and end <= last:
            return cal
        start, end = min(start, first), max(end, last)
    with warnings.catch_warnings():
        # exchange_calendars 4.x trips pandas 3.1 deprecation warnings inside its constructor
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=start, end=end)
    _CALENDAR[:] = [(start, end, cal)]
    return cal


def validate(df: pd.DataFrame, source: str, *, calendar_check: bool = True) -> pd.DataFrame:
    """Normalised frame -> clean, indexed, float frame; raises :class:`DataError` on a problem."""
    df = parse_dates(df, source)
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
