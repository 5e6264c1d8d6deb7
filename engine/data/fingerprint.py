"""The identity of a price frame: what a run, a sweep row and a baseline record about their data."""

from __future__ import annotations

import hashlib

import pandas as pd

from engine.data.validate import COLUMNS


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
