"""Price tables: accepted layouts, normalisation and validation (no I/O).

:func:`normalize_frame` maps our lowercase layout, Yahoo's CSV export (``download`` or
``Ticker.history().to_csv()``, whose dates carry a UTC offset that changes with daylight
saving), TradingView's chart export (``time`` in Unix seconds) and yfinance 1.x frames
(two-level ``(Price, Ticker)`` columns) to ``date`` + :data:`COLUMNS`; other columns are
dropped with one :class:`DataWarning` naming them. :func:`parse_dates` reads the dates;
:func:`find_problems` lists every problem in a table, values outside the plausible ranges of
:mod:`engine.checks` included; :func:`validate` turns a normalised table into the indexed float
frame the engine uses, or raises :class:`engine.errors.DataError` naming the first problem.
Missing NYSE sessions, sessions without volume and weekend rows are a :class:`DataWarning`
each (one line), not an error.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from engine.checks import DATE_RANGE, PRICE_RANGE, VOLUME_MAX
from engine.errors import DataError

COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"]

# Header spellings we accept, mapped to our names: our own lowercase format, Yahoo's CSV export
# ("Date,Open,High,Low,Close,Adj Close,Volume") and yfinance's frame columns.
_ALIASES = {
    "date": "date",
    "datetime": "date",
    "timestamp": "date",
    "time": "date",  # TradingView's chart export (Unix seconds)
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
        # a chart export carries its indicators (TradingView's "Plot", "MA"...): read the
        # prices, say once what was left out
        shown = ", ".join(repr(u[:40]) for u in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        warnings.warn(
            f"{source}: ignored column(s) {shown}{more}; only date,{','.join(COLUMNS)} are read",
            DataWarning,
            stacklevel=2,
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


# A date with a time and a UTC offset, as ``Ticker.history().to_csv()`` writes it
# ("2025-03-28 00:00:00-04:00"): the session is the date as written (the exchange's local date),
# whatever the offset, which changes with daylight saving inside one file.
_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?"
)
# Unix seconds, as TradingView's chart export writes them (9 or 10 digits: 1973 to 2286)
_UNIX = re.compile(r"\d{9,10}(?:\.0*)?")


def parse_dates(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """The ``date`` column as tz-naive session dates, each inside :data:`engine.checks.DATE_RANGE`.

    Accepted: ``YYYY-MM-DD`` (and what pandas reads as a date), a date with a time and a UTC
    offset (the date as written: the exchange's local date), a tz-aware column (its local
    date, never converted to UTC first), and Unix seconds (the UTC date: a US daily bar's
    stamp, at midnight UTC or at the 9:30 open, falls on its session's date).
    """
    col = df["date"]
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        parsed = col.dt.tz_localize(None)  # keep the exchange-local calendar date
    elif pd.api.types.is_datetime64_dtype(col.dtype):
        parsed = col
    else:
        parsed = _parse_text_dates(col)
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: line {i + 2}: cannot parse date {str(col.iloc[i])[:40]!r}; "
                "write dates as YYYY-MM-DD"
            )
    days = pd.DatetimeIndex(parsed).normalize()
    first, last = (pd.Timestamp(d) for d in DATE_RANGE)
    outside = (days < first) | (days > last)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{source}: line {i + 2}: date {days[i].date()} is outside the plausible range "
            f"{DATE_RANGE[0]} to {DATE_RANGE[1]}; fix or remove the row"
        )
    out = df.copy()
    out["date"] = days
    return out


def _parse_text_dates(col: pd.Series) -> pd.Series:
    """Text dates -> naive timestamps (NaT where a cell does not parse)."""
    text = col.astype("string").str.strip()
    filled = text.fillna("")
    if len(text) and filled.str.fullmatch(_UNIX).all():
        seconds = filled.astype(float)
        return pd.to_datetime(seconds, unit="s", utc=True).dt.tz_localize(None)
    local = filled.str.extract(f"^{_STAMP.pattern}$", expand=False)
    text = local.where(local.notna(), text)
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return parsed
    except (ValueError, OverflowError, TypeError):
        # offsets or zones pandas will not mix in one column: one cell at a time
        return pd.Series([_one_date(t) for t in text], index=col.index, dtype="datetime64[us]")


def _one_date(text: object) -> pd.Timestamp | None:
    try:
        stamp = pd.Timestamp(str(text))
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def find_problems(df: pd.DataFrame) -> list[Problem]:
    """Every problem in a normalised frame (``date`` column plus :data:`COLUMNS`).

    Checked: empty table, NaN or empty fields, non-numeric values, duplicate dates, unsorted
    dates, non-positive prices, negative volume, infinite values, values outside the plausible
    ranges (:data:`engine.checks.PRICE_RANGE`, :data:`engine.checks.VOLUME_MAX`),
    ``high < max(open, close)``, ``low > min(open, close)``, ``high < low``.
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
        problems += _implausible(values, line, ds)
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


def _implausible(values: dict[str, np.ndarray], line: np.ndarray, ds: Any) -> list[Problem]:
    """Infinite values and positive values outside the plausible ranges (engine.checks): a
    price of 1e300 or 1e-300 is a broken export, not a market (it once broke alpha/beta and
    gave a volatility of 4,949%)."""
    low, high = PRICE_RANGE
    out = []
    with np.errstate(invalid="ignore"):
        for col in PRICE_COLUMNS:
            v = values[col]
            for i in np.flatnonzero(np.isposinf(v) | ((v > 0) & ((v < low) | (v > high)))):
                why = (
                    "a price must be a finite number"
                    if np.isinf(v[i])
                    else f"outside the plausible range of prices ({low:g} to {high:g})"
                )
                out.append(Problem(int(line[i]), ds(i), f"{col} is {v[i]:g}; {why}"))
        v = values["volume"]
        for i in np.flatnonzero(np.isposinf(v) | (v > VOLUME_MAX)):
            why = (
                "volume must be a finite number"
                if np.isinf(v[i])
                else f"above the plausible {VOLUME_MAX:g} shares a session"
            )
            out.append(Problem(int(line[i]), ds(i), f"volume is {v[i]:g}; {why}"))
    return out


def odd_sessions(frame: pd.DataFrame, source: str) -> list[str]:
    """One line each for sessions with zero volume and for rows dated on a weekend: allowed
    (a halted session, a data vendor's quirk) but worth a look."""
    out = []
    for what, mask in (
        ("session(s) with zero volume", (frame["volume"] == 0).to_numpy()),
        ("row(s) dated on a weekend", pd.DatetimeIndex(frame.index).day_of_week.to_numpy() >= 5),
    ):
        if mask.any():
            days = [d.strftime("%Y-%m-%d") for d in frame.index[mask][:5]]
            more = ", ..." if mask.sum() > 5 else ""
            out.append(
                f"{source}: {int(mask.sum())} {what} ({', '.join(days)}{more}); check the source"
            )
    return out


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
    for line in odd_sessions(out, source):
        warnings.warn(line, DataWarning, stacklevel=2)
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
