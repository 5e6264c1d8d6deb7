"""Dated events per ticker (``<data dir>/events/<TICKER>.toml``): loading, and where they fall.

One home for the event logic every consumer shares: the static and interactive price charts
draw :func:`chart_events` as markers, the report lists :func:`trade_events` beside the trades,
and the "stand aside before earnings" option reads :func:`stand_aside_mask`.

The file format is documented in ``data/events/CRWV.toml``. An event's **reaction session** is
the first session whose prices can reflect it: the event's own date when it came out before the
open or during the session, the next session when it came out after the close (or on a day with
no session).
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data.load import data_dir as resolve_data_dir
from engine.errors import DataError

EVENT_KINDS = ("ipo", "earnings", "lockup", "price", "article", "index", "other")
TIMINGS = ("before_open", "during", "after_close")
EVENT_COLUMNS = ["date", "kind", "title", "timing", "source", "url", "note"]
#: Short marker labels for the charts.
KIND_LABELS = {
    "ipo": "IPO",
    "earnings": "E",
    "lockup": "L",
    "price": "H",
    "article": "A",
    "index": "I",
    "other": "*",
}


def events_path(ticker: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data dir>/events/<TICKER>.toml`` (data dir as :func:`engine.data.load.data_dir`)."""
    return resolve_data_dir(data_dir) / "events" / f"{ticker.upper()}.toml"


def empty_events() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
    frame["date"] = pd.Series(dtype="datetime64[ns]")
    return frame


def load_events(ticker: str, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The ticker's events sorted by date (:data:`EVENT_COLUMNS`); empty when it has no file.

    A malformed file raises :class:`engine.errors.DataError` naming the file, the entry and
    what to fix.
    """
    path = events_path(ticker, data_dir)
    if not path.exists():
        return empty_events()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(
            f"{path}: not a readable TOML events file ({exc}); fix or remove it"
        ) from exc
    return parse_events(doc, str(path))


def parse_events(doc: dict[str, Any], origin: str = "events") -> pd.DataFrame:
    """Validate the parsed TOML (``[[event]]`` tables) into the events frame."""
    entries = doc.get("event", [])
    if not isinstance(entries, list):
        raise DataError(f"{origin}: 'event' must be an array of tables ([[event]])")
    rows = [_entry(e, k, origin) for k, e in enumerate(entries, start=1)]
    if not rows:
        return empty_events()
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def _entry(e: Any, k: int, origin: str) -> dict[str, Any]:
    where = f"{origin}: event {k}"
    if not isinstance(e, dict):
        raise DataError(f"{where} is not a table")
    when = e.get("date")
    if isinstance(when, str):
        try:
            when = date.fromisoformat(when)
        except ValueError:
            when = None
    if not isinstance(when, date):
        raise DataError(f"{where}: date={e.get('date')!r} is not a date; write date = YYYY-MM-DD")
    for key, choices in (("kind", EVENT_KINDS), ("timing", TIMINGS)):
        if e.get(key) not in choices:
            raise DataError(
                f"{where} ({when}): {key}={e.get(key)!r}; choose one of {', '.join(choices)}"
            )
    for key in ("title", "source"):
        if not str(e.get(key, "")).strip():
            raise DataError(f"{where} ({when}): '{key}' is missing; every event names its {key}")
    unknown = sorted(set(e) - set(EVENT_COLUMNS))
    if unknown:
        raise DataError(
            f"{where} ({when}): unknown field {unknown[0]!r}; fields: {', '.join(EVENT_COLUMNS)}"
        )
    return {c: (when if c == "date" else str(e.get(c, ""))) for c in EVENT_COLUMNS}


# --------------------------------------------------------------------------- placement
def reaction_sessions(events: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.Series:
    """Per event, the first session of ``sessions`` whose prices can reflect it (NaT past the end)."""
    sessions = pd.DatetimeIndex(sessions)
    dates = pd.DatetimeIndex(events["date"]).normalize()
    after = (events["timing"] == "after_close").to_numpy()
    pos = sessions.searchsorted(dates, side="left")
    pos = np.where(after, sessions.searchsorted(dates, side="right"), pos)
    out = [sessions[p] if p < len(sessions) else pd.NaT for p in pos]
    return pd.Series(pd.DatetimeIndex(out), index=events.index, name="session")


def chart_events(events: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """The events inside the chart's window, with the session each marker sits on.

    Columns: the event's, plus ``session`` and ``label`` (:data:`KIND_LABELS`). An event is
    drawn on its reaction session, so an after-close report sits on the gap it caused.
    """
    if len(events) == 0 or len(sessions) == 0:
        return events.assign(
            session=pd.Series(dtype="datetime64[ns]"), label=pd.Series(dtype=object)
        )
    sessions = pd.DatetimeIndex(sessions)
    at = reaction_sessions(events, sessions)
    inside = at.notna() & (pd.DatetimeIndex(events["date"]) >= sessions[0] - pd.Timedelta(days=4))
    out = events.loc[inside].assign(session=at[inside])
    return out.assign(label=out["kind"].map(KIND_LABELS).fillna("*")).reset_index(drop=True)


def trade_events(
    trades: pd.DataFrame, events: pd.DataFrame, sessions: pd.DatetimeIndex
) -> pd.DataFrame:
    """Events whose reaction session falls inside a round trip (entry to exit, both included).

    One row per (trade, event): ``trade`` (the trade's row number, from 1), ``entry_date``,
    ``exit_date``, the event's ``session``, ``date``, ``kind``, ``title`` and ``source``.
    """
    cols = ["trade", "entry_date", "exit_date", "session", "date", "kind", "title", "source"]
    if len(trades) == 0 or len(events) == 0:
        return pd.DataFrame(columns=cols)
    at = reaction_sessions(events, sessions)
    rows = []
    for k, (entry, exit_) in enumerate(
        zip(trades["entry_date"], trades["exit_date"], strict=True), 1
    ):
        last = pd.Timestamp(sessions[-1]) if pd.isna(exit_) else pd.Timestamp(exit_)
        hit = at.notna() & (at >= pd.Timestamp(entry)) & (at <= last)
        for j in np.flatnonzero(hit.to_numpy()):
            ev = events.iloc[j]
            rows.append(
                [k, entry, exit_, at.iloc[j], ev["date"], ev["kind"], ev["title"], ev["source"]]
            )
    return pd.DataFrame(rows, columns=cols)


def stand_aside_mask(
    events: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    n_sessions: int,
    kinds: tuple[str, ...] = ("earnings",),
) -> np.ndarray:
    """Boolean per session: True where the position must be flat at the close.

    For each event of ``kinds`` with reaction session ``p``, the ``n_sessions`` sessions before
    it (``p - n .. p - 1``): being flat at the close of ``p - 1`` is "no position through the
    report". A strategy reads ``mask[t + 1]`` on the close of ``t``: exit now (the market order
    fills at ``t + 1``'s open) and send no entry.
    """
    sessions = pd.DatetimeIndex(sessions)
    mask = np.zeros(len(sessions), dtype=bool)
    if n_sessions <= 0 or len(events) == 0:
        return mask
    chosen = events[events["kind"].isin(kinds)]
    at = reaction_sessions(chosen, sessions).dropna()
    for p in sessions.get_indexer(pd.DatetimeIndex(at)):
        mask[max(p - n_sessions, 0) : p] = True
    return mask


def fill_earnings(
    params: dict[str, Any], events: pd.DataFrame, sessions: pd.DatetimeIndex
) -> dict[str, Any]:
    """``params`` with ``earnings`` set to the reaction sessions of the earnings events when the
    strategy stands aside (``stand_aside`` > 0) and leaves ``earnings`` empty; else unchanged.

    Reports after the data's last session still count near its end (``crwv-bt today``): their
    sessions are taken as weekdays (holidays aside).
    """
    if int(params.get("stand_aside", 0) or 0) <= 0 or str(params.get("earnings", "")).strip():
        return params
    earnings = events[events["kind"] == "earnings"]
    at = reaction_sessions(earnings, _past_the_data(earnings, sessions)).dropna()
    return {**params, "earnings": ",".join(d.date().isoformat() for d in at)}


def _past_the_data(events: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``sessions`` followed by the weekdays after the last one up to a week past the last
    event: the sessions past the data, holidays aside (as a stand-aside strategy counts them)."""
    sessions = pd.DatetimeIndex(sessions)
    if len(events) and len(sessions):
        last_event = pd.DatetimeIndex(events["date"]).max()
        future = pd.bdate_range(
            sessions[-1] + pd.Timedelta(days=1), last_event + pd.Timedelta(days=7)
        )
        sessions = sessions.append(future)
    return sessions


def next_earnings(events: pd.DataFrame, sessions: pd.DatetimeIndex) -> dict[str, Any] | None:
    """The first earnings report whose reaction session comes after the last of ``sessions``
    (``crwv-bt today``), or None when the events hold none.

    Keys: ``date``, ``timing``, ``title`` (the event's), ``session`` (its reaction session,
    YYYY-MM-DD) and ``sessions_ahead`` (1: the session after the last one). Past the data the
    sessions are weekdays, holidays aside, as :func:`fill_earnings` and the stand-aside option
    count them.
    """
    earnings = events[events["kind"] == "earnings"]
    sessions = pd.DatetimeIndex(sessions)
    if not len(earnings) or not len(sessions):
        return None
    ahead = _past_the_data(earnings, sessions)
    at = reaction_sessions(earnings, ahead)
    later = at.notna() & (at > sessions[-1])
    if not later.any():
        return None
    first = int(np.flatnonzero(later.to_numpy())[0])
    event, session = earnings.iloc[first], pd.Timestamp(at.iloc[first])
    return {
        "date": pd.Timestamp(event["date"]).date().isoformat(),
        "timing": str(event["timing"]),
        "title": str(event["title"]),
        "session": session.date().isoformat(),
        "sessions_ahead": int(ahead.get_loc(session)) - (len(sessions) - 1),
    }
