"""Price data: formats, one test per validation error, the cache and the yfinance path."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.fingerprint import fingerprint
from engine.data.load import (
    DATA_DIR_ENV,
    check_file,
    data_dir,
    fetch,
    load_prices,
    read_price_csv,
    write_price_csv,
)
from engine.data.validate import COLUMNS, DataWarning, normalize_frame, validate
from engine.errors import DataError

HEADER = "date,open,high,low,close,adj_close,volume\n"
GOOD = [
    "2025-08-18,100,101,99,100.5,100.5,1000",
    "2025-08-19,100.5,102,100,101,101,1200",
    "2025-08-20,101,103,100.5,102,102,1100",
]


def write(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "X.csv") -> Path:
    p = tmp_path / name
    p.write_text(header + "\n".join(lines) + "\n")
    return p


def yf_frame(ticker: str = "CRWV", n: int = 5) -> pd.DataFrame:
    """A frame shaped like ``yfinance.download(t, auto_adjust=False)`` in yfinance 1.x."""
    idx = pd.DatetimeIndex(pd.bdate_range("2025-08-18", periods=n), name="Date")
    close = np.linspace(90, 94, n)
    cols = pd.MultiIndex.from_product(
        [["Adj Close", "Close", "High", "Low", "Open", "Volume"], [ticker]],
        names=["Price", "Ticker"],
    )
    values = np.column_stack([close, close, close + 1, close - 1, close - 0.5, np.full(n, 1e6)])
    return pd.DataFrame(values, index=idx, columns=cols)


def test_reads_our_format(tmp_path: Path) -> None:
    df = read_price_csv(write(tmp_path, GOOD))
    assert list(df.columns) == COLUMNS
    assert df.index.tz is None and df.index.name == "date"
    assert df["close"].tolist() == [100.5, 101.0, 102.0]


def test_reads_yahoo_history_export_across_a_dst_change(tmp_path: Path) -> None:
    """``Ticker.history().to_csv()`` writes each date with its UTC offset, which changes with
    daylight saving inside one file (pandas refuses to mix them); the session is the date as
    written."""
    lines = [
        "2025-10-31 00:00:00-04:00,100,101,99,100.5,1000,0.0,0.0",
        "2025-11-03 00:00:00-05:00,100.5,102,100,101,1200,0.0,0.0",
        "2025-11-04 00:00:00-05:00,101,103,100.5,102,1100,0.0,0.0",
    ]
    header = "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
    df = read_price_csv(write(tmp_path, lines, header=header))
    assert list(df.index.strftime("%Y-%m-%d")) == ["2025-10-31", "2025-11-03", "2025-11-04"]
    assert df["adj_close"].tolist() == df["close"].tolist() == [100.5, 101.0, 102.0]


def test_reads_tradingview_export_with_one_warning_for_extra_columns(tmp_path: Path) -> None:
    """TradingView's chart export: ``time`` in Unix seconds (the 9:30 open or midnight UTC,
    both on the session's date), ``Volume`` capitalised, and its indicators as extra columns:
    read, with one warning naming the columns left out."""
    ours = read_price_csv(write(tmp_path, GOOD))
    stamps = [1755523800, 1755561600, 1755696600]  # 08-18 13:30Z, 08-19 00:00Z, 08-20 13:30Z
    rows = [
        f"{t},{','.join(line.split(',')[1:5])},{line.split(',')[6]},1.5,2"
        for t, line in zip(stamps, GOOD, strict=True)
    ]
    path = write(
        tmp_path, rows, header="time,open,high,low,close,Volume,Plot,MA 20\n", name="T.csv"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tv = read_price_csv(path)
    pd.testing.assert_frame_equal(tv, ours)
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert notes == [
        f"{path}: ignored column(s) 'Plot', 'MA 20'; only date,open,high,low,close,adj_close,volume are read"
    ]
    frame, messages = check_file(path)
    assert frame is not None and messages == [f"{notes[0]} (warning)"]


def test_zero_volume_and_weekend_rows_are_one_warning_each(tmp_path: Path) -> None:
    lines = [GOOD[0], "2025-08-19,100.5,102,100,101,101,0", "2025-08-23,101,103,100.5,102,102,1100"]
    path = write(tmp_path, lines)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_price_csv(path)
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert f"{path}: 1 session(s) with zero volume (2025-08-19); check the source" in notes
    assert f"{path}: 1 row(s) dated on a weekend (2025-08-23); check the source" in notes
    _, messages = check_file(path)
    assert (
        f"{path}: 1 row(s) dated on a weekend (2025-08-23); check the source (warning)" in messages
    )


def test_reads_yahoo_export_and_fingerprint_matches(tmp_path: Path) -> None:
    ours = read_price_csv(write(tmp_path, GOOD))
    yahoo = read_price_csv(
        write(tmp_path, GOOD, header="Date,Open,High,Low,Close,Adj Close,Volume\n", name="Y.csv")
    )
    pd.testing.assert_frame_equal(ours, yahoo)
    assert fingerprint(ours, "X")["sha256"] == fingerprint(yahoo, "X")["sha256"]


@pytest.mark.parametrize(
    ("lines", "header", "message"),
    [
        (GOOD, "date,open,high,low,adj_close,volume\n", "missing column"),
        (
            ["2025-08-18,100,101,99,100.5,100.5,1000", "18/19/2025,1,1,1,1,1,1"],
            HEADER,
            "line 3: cannot parse date",
        ),
        ([GOOD[0], GOOD[0], GOOD[1]], HEADER, "line 3 2025-08-18: duplicate date"),
        ([GOOD[1], GOOD[0], GOOD[2]], HEADER, "line 3 2025-08-18: date is before"),
        (["2025-08-18,100,101,99,,100.5,1000", GOOD[1]], HEADER, "close is empty"),
        (["2025-08-18,100,101,99,abc,100.5,1000", GOOD[1]], HEADER, "close is not a number"),
        (
            ["2025-08-18,100,101,-1,100.5,100.5,1000", GOOD[1]],
            HEADER,
            "low is -1; prices must be positive",
        ),
        (["2025-08-18,100,100.2,99,100.5,100.5,1000", GOOD[1]], HEADER, "high 100.2 is below max"),
        (["2025-08-18,100,101,100.3,100.5,100.5,1000", GOOD[1]], HEADER, "low 100.3 is above min"),
        ([], HEADER, "no rows"),
        (["2025-08-18,100,inf,99,100.5,100.5,1000", GOOD[1]], HEADER, "high is inf; a price"),
        (["2025-08-18,100,101,99,100.5,100.5,inf", GOOD[1]], HEADER, "volume is inf; volume"),
        (
            ["2025-08-18,1e300,1e300,1e300,1e300,1e300,1000", GOOD[1]],
            HEADER,
            "line 2 2025-08-18: open is 1e\\+300; outside the plausible range of prices",
        ),
        (
            ["2025-08-18,1e-300,1e-300,1e-300,1e-300,1e-300,1000", GOOD[1]],
            HEADER,
            "open is 1e-300; outside the plausible range",
        ),
        (
            ["2025-08-18,100,101,99,100.5,100.5,1e20", GOOD[1]],
            HEADER,
            "above the plausible 1e\\+13",
        ),
        (
            ["1600-01-03,100,101,99,100.5,100.5,1000", GOOD[1]],
            HEADER,
            "line 2: date 1600-01-03 is outside",
        ),
        (
            [GOOD[0], "9999-12-31,100,101,99,100.5,100.5,1000"],
            HEADER,
            "line 3: date 9999-12-31 is outside",
        ),
    ],
)
def test_each_bad_file_is_one_clear_error(
    tmp_path: Path, lines: list[str], header: str, message: str
) -> None:
    path = write(tmp_path, lines, header=header)
    with pytest.raises(DataError, match=message) as info:
        read_price_csv(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "E.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="file is empty"):
        read_price_csv(empty)
    with pytest.raises(DataError, match="file not found"):
        read_price_csv(tmp_path / "nope.csv")


def test_empty_range_and_too_few_bars(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(DataError, match="no rows between 2026-01-01"):
        load_prices("X", start="2026-01-01", csv=path)
    with pytest.raises(DataError, match="needs at least 60"):
        load_prices("X", csv=path, min_bars=60)
    with pytest.raises(DataError, match="is after end"):
        load_prices("X", start="2025-08-20", end="2025-08-18", csv=path)
    with pytest.raises(DataError, match="not a date"):
        load_prices("X", start="last week", csv=path)


def test_missing_sessions_are_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD[0], GOOD[2]])  # 2025-08-19 is missing
    with pytest.warns(DataWarning, match=r"1 NYSE session\(s\) missing \(2025-08-19\)"):
        df = read_price_csv(path)
    assert len(df) == 2


def test_check_file_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path, ["2025-08-18,100,100.2,99,100.5,100.5,1000", GOOD[0], "2025-08-19,0,1,1,1,1,1"]
    )
    frame, problems = check_file(path)
    assert frame is None
    assert len(problems) >= 3
    assert any("duplicate" in p for p in problems) and any("positive" in p for p in problems)


def test_tz_aware_index_keeps_local_date() -> None:
    frame = yf_frame()
    frame.index = frame.index.tz_localize("Asia/Taipei")  # east of UTC: UTC would be the day before
    df = normalize_frame(frame, "test", "CRWV")
    out = validate(df, "test", calendar_check=False)
    assert out.index[0] == pd.Timestamp("2025-08-18") and out.index.tz is None


def test_yfinance_download_is_normalised_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yfinance

    calls: list[dict] = []

    def fake_download(ticker, **kwargs):  # noqa: ANN001, ANN202
        calls.append({"ticker": ticker, **kwargs})
        return yf_frame(ticker)

    monkeypatch.setattr(yfinance, "download", fake_download)
    df = load_prices("CRWV", data_dir_=tmp_path, today=pd.Timestamp("2025-08-22").date())
    assert calls and calls[0]["auto_adjust"] is False  # raw prices: the article's levels are raw
    assert list(df.columns) == COLUMNS and len(df) == 5
    cached = tmp_path / "CRWV.csv"
    assert cached.exists() and not list(tmp_path.glob(".*.tmp"))
    again = load_prices("CRWV", data_dir_=tmp_path, today=pd.Timestamp("2025-08-22").date())
    assert len(calls) == 1  # the cache is reused, no second download
    pd.testing.assert_frame_equal(df, again, check_freq=False)


def test_offline_download_says_how_to_use_a_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yfinance

    def offline(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ConnectionError("Failed to resolve 'query1.finance.yahoo.com'")

    monkeypatch.setattr(yfinance, "download", offline)
    with pytest.raises(DataError, match="download of CRWV failed .* --csv FILE"):
        load_prices("CRWV", data_dir_=tmp_path)
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame())
    with pytest.raises(DataError, match="returned no rows .*unknown ticker"):
        load_prices("NOPE", data_dir_=tmp_path)

    def swallowed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        # what yfinance 1.x does offline: log the error, return an empty frame
        logging.getLogger("yfinance").error(
            "['CRWV']: DNSError('curl: (6) Could not resolve host')"
        )
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", swallowed)
    with pytest.raises(DataError, match=r"no rows \(no network: could not reach Yahoo Finance\)"):
        load_prices("CRWV", data_dir_=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-written in the cache


def test_fetch_writes_atomically_and_keeps_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda *a, **k: yf_frame())
    path = fetch("crwv", data_dir_=tmp_path)
    before = path.read_bytes()

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        write_price_csv(read_price_csv(path), path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_stale_cache_is_used_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, GOOD, name="X.csv")
    with pytest.warns(DataWarning, match="cache for X ends 2025-08-20"):
        df = load_prices("X", data_dir_=tmp_path, today=pd.Timestamp("2025-12-01").date())
    assert len(df) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        load_prices("X", data_dir_=tmp_path, today=pd.Timestamp("2025-08-21").date())


def test_no_cache_and_no_download_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no price file for X"):
        load_prices("X", data_dir_=tmp_path, allow_download=False)


def test_data_dir_env_and_explicit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    assert data_dir("elsewhere") == Path("elsewhere")
    monkeypatch.delenv(DATA_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert data_dir() == Path("data")


def test_data_dir_from_any_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Outside the checkout (no data/ in the working folder) the bundled snapshot is found."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    found = data_dir()
    assert found.is_absolute() and (found / "CRWV.csv").is_file()
    assert load_prices("CRWV", allow_download=False).index[0] == pd.Timestamp("2025-03-28")


def test_real_crwv_history(crwv: pd.DataFrame) -> None:
    assert crwv.index[0] == pd.Timestamp("2025-03-28") and crwv.index[-1] == pd.Timestamp(
        "2026-10-09"
    )
    assert len(crwv) == 386
    assert crwv.loc["2025-06-20", "high"] == 187.0 and crwv.loc["2025-08-22", "close"] == 93.99


def test_atomic_write_gives_normal_permissions(tmp_path: Path) -> None:
    path = write_price_csv(read_price_csv(write(tmp_path, GOOD)), tmp_path / "out.csv")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
