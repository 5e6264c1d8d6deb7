"""Test helpers for the regression check: a seeded synthetic price history in a temp data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data import write_price_csv


def walk_prices(
    n: int = 260, seed: int = 7, start: str = "2025-03-28", level: float = 100.0
) -> pd.DataFrame:
    """A valid daily frame: a seeded random walk (3% daily moves) with consistent OHLC bars."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, 0.03, n)))
    open_ = np.r_[level, close[:-1]] * np.exp(rng.normal(0.0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.0, 0.02, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.0, 0.02, n))
    index = pd.bdate_range(start, periods=n, name="date")
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close}, index=index
    ).round(4)
    frame["adj_close"] = frame["close"]
    frame["volume"] = 1_000_000.0
    return frame


def write_data_dir(folder: Path, n: int = 260, seed: int = 7, spy: bool = False) -> Path:
    """``folder`` with CRWV.csv (and SPY.csv when ``spy``) of :func:`walk_prices`."""
    folder.mkdir(parents=True, exist_ok=True)
    write_price_csv(walk_prices(n, seed), folder / "CRWV.csv")
    if spy:
        write_price_csv(walk_prices(n, seed + 1, level=500.0), folder / "SPY.csv")
    return folder


VARIANTS = """
[tight_stop]
strategy = "swing"
params = { stop = 84.0 }

[rsi_mid_exit]
strategy = "rsi"
params = { exit_below_mid = true }
"""
