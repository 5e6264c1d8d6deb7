"""Workarounds for backtrader 1.9.78.123 on today's stack, kept in our code (site-packages untouched).

Known breakages (each has a test in ``tests/backtest/test_bt_compat.py``):

1. ``cerebro.plot()`` imports ``backtrader.plot``, which calls ``matplotlib.use("TkAgg")`` and
   fails on a headless machine. We never call it: :mod:`engine.report.figures` draws on
   ``matplotlib.figure.Figure`` objects with the Agg canvas, which ignores the global backend.
2. ``LineIterator.bindlines`` tests ``isinstance(x, collections.Iterable)``, removed in Python
   3.10, and raises ``AttributeError``. :class:`CompatIndicator` (the base of our indicators)
   overrides it with ``collections.abc.Iterable``.
3. ``PandasData`` converts a tz-aware index to UTC, moving a US session to the wrong calendar
   day for any zone east of UTC, and keeping 05:00 timestamps for New York.
   :func:`to_feed_frame` keeps each bar's *local* calendar date and drops the zone.
4. yfinance 1.x returns two-level ``(Price, Ticker)`` columns that ``PandasData`` cannot map.
   :func:`to_feed_frame` accepts only our flat, validated layout; :mod:`engine.data`
   flattens yfinance frames before they get here.
"""

from __future__ import annotations

import collections.abc

import backtrader as bt
import pandas as pd
from backtrader.utils import date2num

from engine.errors import DataError


class CompatIndicator(bt.Indicator):
    """``bt.Indicator`` whose ``bindlines`` works on Python >= 3.10 (see breakage 2)."""

    def bindlines(self, owner=None, own=None):  # type: ignore[no-untyped-def]
        if not owner:
            owner = 0
        if isinstance(owner, str) or not isinstance(owner, collections.abc.Iterable):
            owner = [owner]
        if not own:
            own = range(len(owner))
        if isinstance(own, str) or not isinstance(own, collections.abc.Iterable):
            own = [own]
        for lineowner, lineown in zip(owner, own, strict=False):
            if isinstance(lineowner, str):
                lownerref = getattr(self._owner.lines, lineowner)
            else:
                lownerref = self._owner.lines[lineowner]
            if isinstance(lineown, str):
                lownref = getattr(self.lines, lineown)
            else:
                lownref = self.lines[lineown]
            lownref.addbinding(lownerref)
        return self

    bind2lines = bindlines
    bind2line = bindlines


FEED_COLUMNS = ["open", "high", "low", "close", "volume"]


def to_feed_frame(prices: pd.DataFrame) -> pd.DataFrame:
    """A frame ``PandasData`` reads correctly: flat columns, tz-naive midnight dates."""
    if isinstance(prices.columns, pd.MultiIndex):
        raise DataError(
            "price frame has two-level columns (yfinance 1.x layout); load it with "
            "engine.data.load_prices or engine.data.normalize_frame first"
        )
    missing = [c for c in FEED_COLUMNS if c not in prices.columns]
    if missing:
        raise DataError(f"price frame lacks column(s) {', '.join(missing)}")
    idx = pd.DatetimeIndex(prices.index)
    if idx.tz is not None:
        # Keep the exchange-local date; PandasData would convert to UTC.
        idx = idx.tz_localize(None)
    frame = prices[FEED_COLUMNS].astype(float).copy()
    frame.index = idx.normalize()
    frame["openinterest"] = 0.0
    return frame


class ArrayPandasData(bt.feeds.PandasData):
    """``PandasData`` that reads each bar from NumPy arrays taken once at ``start()``.

    ``PandasData._load`` calls ``DataFrame.iloc`` once per field per bar, which is ~40% of a
    backtest's run time on daily data (sweeps run thousands). The values loaded are the same
    floats, so results are identical (``tests/sweep/test_sweep.py`` checks it on every strategy).
    """

    def start(self) -> None:  # type: ignore[override]
        super().start()
        frame = self.p.dataname
        self._columns = [
            (getattr(self.lines, name), frame.iloc[:, self._colmapping[name]].to_numpy())
            for name in self.getlinealiases()
            if name != "datetime" and self._colmapping[name] is not None
        ]
        self._dtnums = [date2num(t.to_pydatetime()) for t in frame.index]

    def _load(self) -> bool:  # type: ignore[override]
        self._idx += 1
        if self._idx >= len(self._dtnums):
            return False
        for line, values in self._columns:
            line[0] = values[self._idx]
        self.lines.datetime[0] = self._dtnums[self._idx]
        return True


def feed(prices: pd.DataFrame) -> bt.feeds.PandasData:
    """The backtrader data feed for a validated price frame."""
    return ArrayPandasData(
        dataname=to_feed_frame(prices),
        datetime=None,
        open="open",
        high="high",
        low="low",
        close="close",
        volume="volume",
        openinterest="openinterest",
    )
