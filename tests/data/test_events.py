"""Events files (engine.data.events): parsing and validation, reaction sessions, trades, stand-aside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import events as ev
from engine.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SESSIONS = pd.bdate_range("2025-08-11", periods=10)  # Mon 11 .. Fri 22 August


def _events(*rows: tuple[str, str, str]) -> pd.DataFrame:
    doc = {
        "event": [
            {"date": d, "kind": k, "timing": t, "title": f"{k} {d}", "source": "test"}
            for d, k, t in rows
        ]
    }
    return ev.parse_events(doc)


def _write(folder: Path, text: str) -> Path:
    (folder / "events").mkdir(parents=True, exist_ok=True)
    path = folder / "events" / "XYZ.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_event_files_parse_and_cite_sources() -> None:
    for path in sorted((REPO / "data" / "events").glob("*.toml")):
        frame = ev.load_events(path.stem, REPO / "data")
        assert len(frame) >= 5, path
        assert frame["source"].str.len().min() > 10
        assert frame["date"].is_monotonic_increasing
    crwv = ev.load_events("CRWV", REPO / "data")
    earnings = crwv[crwv.kind == "earnings"]["date"].dt.date.astype(str).tolist()
    assert earnings[:2] == ["2025-05-14", "2025-08-12"]
    assert "lockup" in set(crwv.kind) and "ipo" in set(crwv.kind)


def test_missing_file_is_no_events(tmp_path: Path) -> None:
    assert ev.load_events("NOPE", tmp_path).empty


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('[[event]]\ndate = "2025-13-01"\n', "not a date"),
        ("[[event]]\ndate = 2025-05-14\nkind = 'party'\n", "kind='party'"),
        (
            "[[event]]\ndate = 2025-05-14\nkind = 'earnings'\ntiming = 'after_close'\ntitle = 'Q1'\n",
            "'source' is missing",
        ),
        (
            "[[event]]\ndate = 2025-05-14\nkind = 'earnings'\ntiming = 'later'\n",
            "timing='later'",
        ),
        ("[[event]\n", "not a readable TOML"),
        (
            "[[event]]\ndate = 2025-05-14\nkind = 'ipo'\ntiming = 'during'\ntitle = 'x'\n"
            "source = 'y'\nwhen = 1\n",
            "unknown field 'when'",
        ),
    ],
)
def test_malformed_entries_are_named(tmp_path: Path, body: str, match: str) -> None:
    _write(tmp_path, body)
    with pytest.raises(DataError, match=match):
        ev.load_events("XYZ", tmp_path)


def test_reaction_session_by_timing() -> None:
    frame = _events(
        ("2025-08-12", "earnings", "after_close"),  # Tue after the close -> Wed
        ("2025-08-13", "ipo", "during"),  # Wed -> Wed
        ("2025-08-16", "other", "before_open"),  # Saturday -> Monday
        ("2025-08-22", "earnings", "after_close"),  # last session, after the close -> none
    )
    got = ev.reaction_sessions(frame, SESSIONS).dt.strftime("%m-%d").tolist()
    assert got[:3] == ["08-13", "08-13", "08-18"] and pd.isna(
        ev.reaction_sessions(frame, SESSIONS)[3]
    )
    chart = ev.chart_events(frame, SESSIONS)
    assert chart["label"].tolist() == ["E", "IPO", "*"]


def test_trade_events_inside_round_trips() -> None:
    frame = _events(("2025-08-12", "earnings", "after_close"), ("2025-08-20", "lockup", "during"))
    trades = pd.DataFrame(
        {
            "entry_date": pd.to_datetime(["2025-08-11", "2025-08-14", "2025-08-20"]),
            "exit_date": pd.to_datetime(["2025-08-13", "2025-08-19", pd.NaT]),
        }
    )
    got = ev.trade_events(trades, frame, SESSIONS)
    assert got[["trade", "kind"]].values.tolist() == [[1, "earnings"], [3, "lockup"]]
    assert got["session"].iloc[0] == pd.Timestamp("2025-08-13")


def test_stand_aside_mask_by_hand() -> None:
    frame = _events(("2025-08-14", "earnings", "after_close"), ("2025-08-12", "lockup", "during"))
    # reaction session Fri 15th (position 4): flat at the closes of the 2 sessions before it
    mask = ev.stand_aside_mask(frame, SESSIONS, 2)
    assert SESSIONS[mask].strftime("%d").tolist() == ["13", "14"]
    assert not ev.stand_aside_mask(frame, SESSIONS, 0).any()
    both = ev.stand_aside_mask(frame, SESSIONS, 1, kinds=("earnings", "lockup"))
    assert np.flatnonzero(both).tolist() == [0, 3]


def test_next_earnings_is_the_first_report_traded_after_the_last_session() -> None:
    frame = _events(
        ("2025-08-12", "earnings", "after_close"),
        ("2025-08-22", "lockup", "after_close"),
        ("2025-08-29", "earnings", "after_close"),  # a Friday, after the last session (Fri 22)
        ("2025-10-01", "earnings", "before_open"),
    )
    assert ev.next_earnings(frame, SESSIONS) == {
        "date": "2025-08-29",
        "timing": "after_close",
        "title": "earnings 2025-08-29",
        "session": "2025-09-01",  # past the data, sessions are weekdays (as the strategies count)
        "sessions_ahead": 6,  # Mon 25 .. Fri 29, Mon 1
    }
    # a report after the last session's close is first traded on the next one
    on_last = _events(("2025-08-22", "earnings", "after_close"))
    got = ev.next_earnings(on_last, SESSIONS)
    assert got is not None and (got["session"], got["sessions_ahead"]) == ("2025-08-25", 1)
    # inside the data it is the session itself; one traded already is not next
    assert ev.next_earnings(_events(("2025-08-22", "earnings", "before_open")), SESSIONS) is None
    assert ev.next_earnings(_events(("2025-08-12", "earnings", "during")), SESSIONS) is None
    assert ev.next_earnings(ev.empty_events(), SESSIONS) is None


def test_fill_earnings() -> None:
    frame = _events(
        ("2025-08-12", "earnings", "after_close"),
        ("2025-08-14", "lockup", "after_close"),
        ("2025-08-29", "earnings", "after_close"),  # after the last session (Fri 22)
    )
    got = ev.fill_earnings({"stand_aside": 2, "earnings": ""}, frame, SESSIONS)
    assert got["earnings"] == "2025-08-13,2025-09-01"  # next weekday; the Labor Day holiday aside
    assert ev.fill_earnings({"stand_aside": 0, "earnings": ""}, frame, SESSIONS)["earnings"] == ""
    mine = {"stand_aside": 1, "earnings": "2025-08-20"}
    assert ev.fill_earnings(mine, frame, SESSIONS) == mine
