"""Each backtrader 1.9.78.123 breakage we work around, shown broken upstream and fixed in ours."""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from engine.backtest import bt_compat
from engine.errors import DataError
from engine.testing.prices import bars


def _run_with(indicator_cls: type, prices: pd.DataFrame) -> list[float]:
    seen: list[float] = []

    class Probe(bt.Strategy):
        def __init__(self) -> None:
            self.sma = bt.ind.SMA(self.data.close, period=2)
            self.ind = indicator_cls(self.data.close)

        def next(self) -> None:
            seen.append(self.ind.lines.out[0])

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt_compat.feed(prices))
    cerebro.addstrategy(Probe)
    cerebro.run()
    return seen


def test_bindlines_breaks_upstream() -> None:
    class Fake:
        pass

    # upstream bindlines reaches `isinstance(owner, collections.Iterable)` before touching self
    with pytest.raises(AttributeError, match="Iterable"):
        bt.LineIterator.bindlines(Fake(), owner=5, own=None)


def test_compat_bindlines_binds_owner_lines() -> None:
    prices = bars([(10,), (12,), (14,), (16,)])

    class Bound(bt_compat.CompatIndicator):
        lines = ("out",)

        def __init__(self) -> None:
            # an SMA bound to our "out" line through bindlines: upstream would raise here
            inner = _Inner(self.data)
            inner.bindlines(owner="out", own="val")

    class _Inner(bt_compat.CompatIndicator):
        lines = ("val",)

        def __init__(self) -> None:
            self.lines.val = bt.ind.SMA(self.data, period=2)

    assert _run_with(Bound, prices) == [11.0, 13.0, 15.0]


def test_tz_aware_index_is_shifted_upstream_and_kept_local_by_us() -> None:
    prices = bars([(10,), (11,), (12,)])
    aware = prices.copy()
    aware.index = aware.index.tz_localize("Asia/Tokyo")

    def first_date(frame: pd.DataFrame, use_compat: bool) -> str:
        out: list[str] = []

        class Probe(bt.Strategy):
            def next(self) -> None:
                out.append(self.data.datetime.date(0).isoformat())

        cerebro = bt.Cerebro(stdstats=False)
        feed = bt_compat.feed(frame) if use_compat else bt.feeds.PandasData(dataname=frame)
        cerebro.adddata(feed)
        cerebro.addstrategy(Probe)
        cerebro.run()
        return out[0]

    assert (
        first_date(aware, use_compat=False) == "2025-08-17"
    )  # upstream: moved to UTC, a day early
    assert first_date(aware, use_compat=True) == "2025-08-18"


def test_two_level_columns_are_refused_with_a_hint() -> None:
    prices = bars([(10,), (11,)])
    prices.columns = pd.MultiIndex.from_product([prices.columns, ["CRWV"]])
    with pytest.raises(DataError, match="two-level columns"):
        bt_compat.feed(prices)


def test_plots_do_not_depend_on_the_global_backend() -> None:
    import backtrader.plot  # noqa: F401 - forces matplotlib.use("TkAgg") upstream
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2, 3])
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # Agg canvas: works headless whatever the backend says
    assert buf.getvalue().startswith(b"\x89PNG")
    assert matplotlib.get_backend()  # no exception: nothing called pyplot.show or cerebro.plot
