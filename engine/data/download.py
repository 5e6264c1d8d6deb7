"""Daily prices from Yahoo Finance with yfinance: raw (unadjusted) prices, validated.

The only module that talks to the network. :func:`download` asks ``yfinance.download`` for daily
bars with ``auto_adjust=False`` (the article's levels are raw prices), flattens yfinance 1.x's
two-level columns and validates the frame; any failure is one :class:`DataError` saying how to
use a CSV instead. Writing the result to the cache is :func:`engine.data.load.fetch`'s job.
"""

from __future__ import annotations

import logging
import warnings

import pandas as pd

from engine.data.validate import normalize_frame, validate
from engine.errors import DataError


def download(ticker: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Download daily raw prices with ``yfinance.download(auto_adjust=False)`` and validate them.

    Raises :class:`DataError` (with how to use a CSV instead) on no network, an empty frame or an
    unknown ticker.
    """
    how = (
        f"download a daily CSV for {ticker} elsewhere and pass it with --csv FILE, "
        f"or put it at <data dir>/{ticker}.csv"
    )
    # Imported here, not at the top: yfinance takes ~1.1 s to import (measured +1083 ms after
    # pandas) and only a download needs it, while every run imports this module.
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
