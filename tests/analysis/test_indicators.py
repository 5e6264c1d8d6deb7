"""engine.analysis.indicators equals backtrader's indicators on real CRWV history and on a seeded path."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from engine.analysis import indicators
from engine.backtest import bt_compat
from engine.testing.prices import bars, chart_prices, random_path


def backtrader_values(prices: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, float]] = []

    class Probe(bt.Strategy):
        def __init__(self) -> None:
            self.sma = bt.ind.SMA(self.data.close, period=20)
            self.ema = bt.ind.EMA(self.data.close, period=12)
            self.macd = bt.ind.MACDHisto(self.data.close)
            self.rsi = bt.ind.RSI(self.data.close, period=14, safediv=True)

        def prenext(self) -> None:
            self.next()

        def next(self) -> None:
            def val(line) -> float:  # noqa: ANN001
                return float(line[0]) if len(line) else float("nan")

            rows.append(
                {
                    "sma": val(self.sma),
                    "ema": val(self.ema),
                    "macd": val(self.macd.macd),
                    "signal": val(self.macd.signal),
                    "hist": val(self.macd.histo),
                    "rsi": val(self.rsi),
                }
            )

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt_compat.feed(prices))
    cerebro.addstrategy(Probe)
    cerebro.run()
    return pd.DataFrame(rows, index=prices.index)


def ours(prices: pd.DataFrame) -> pd.DataFrame:
    close = prices["close"]
    m = indicators.macd(close)
    return pd.DataFrame(
        {
            "sma": indicators.sma(close, 20),
            "ema": indicators.ema(close, 12),
            "macd": m["macd"],
            "signal": m["signal"],
            "hist": m["hist"],
            "rsi": indicators.rsi(close, 14),
        }
    )


def _compare(prices: pd.DataFrame) -> None:
    ref = backtrader_values(prices)
    got = ours(prices)
    for col in ref:
        # backtrader fills its warm-up with NaN too; compare where it has values
        mask = ~np.isnan(ref[col].to_numpy())
        np.testing.assert_allclose(
            got[col].to_numpy()[mask], ref[col].to_numpy()[mask], rtol=1e-9, atol=1e-9, err_msg=col
        )
        assert np.isnan(got[col].to_numpy()[~mask]).all(), col


def test_indicators_match_backtrader_on_crwv(crwv: pd.DataFrame) -> None:
    _compare(crwv)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indicators_match_backtrader_on_random_paths(seed: int) -> None:
    _compare(random_path(seed, 120))


def test_rsi_safediv_edges() -> None:
    up_only = pd.Series(np.arange(30.0))
    assert indicators.rsi(up_only, 14).iloc[-1] == 100.0
    flat = pd.Series([5.0] * 30)
    assert indicators.rsi(flat, 14).iloc[-1] == 50.0
    assert indicators.rsi(flat, 14).iloc[:14].isna().all()


# --------------------------------------------------------------------------- by hand


def test_sma_and_ema_by_hand() -> None:
    s = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    assert indicators.sma(s, 3).tolist()[2:] == [2.0, 3.0, 4.0]
    assert indicators.sma(s, 3).isna().sum() == 2
    # span 3: alpha = 0.5, seeded (as backtrader) with the SMA of the first 3 values = 2
    assert indicators.ema(s, 3).tolist()[2:] == [2.0, 3.0, 4.0]


def test_macd_warmup_and_histogram() -> None:
    close = chart_prices(80)["close"]
    m = indicators.macd(close)
    assert m["macd"].isna().sum() == 25 and m["signal"].isna().sum() == 33
    line = indicators.ema(close, 12) - indicators.ema(close, 26)
    assert m["macd"].iloc[-1] == pytest.approx(line.iloc[-1])
    assert m["hist"].iloc[-1] == pytest.approx(m["macd"].iloc[-1] - m["signal"].iloc[-1])


def test_rsi_wilder_by_hand() -> None:
    close = pd.Series([10.0, 11.0, 10.5, 11.5, 11.0, 12.0])
    n = 3
    got = indicators.rsi(close, n)
    assert got.iloc[:n].isna().all()
    diffs = close.diff().iloc[1:].tolist()  # +1, -0.5, +1, -0.5, +1
    # Wilder, seeded with the mean of the first n moves, then avg = avg + (x - avg) / n
    gain = sum(max(d, 0.0) for d in diffs[:n]) / n
    loss = sum(max(-d, 0.0) for d in diffs[:n]) / n
    for d in diffs[n:]:
        gain += (max(d, 0.0) - gain) / n
        loss += (max(-d, 0.0) - loss) / n
    assert got.iloc[-1] == pytest.approx(100 - 100 / (1 + gain / loss))
    assert indicators.rsi(pd.Series(np.arange(30.0)), 14).iloc[-1] == 100.0
    assert indicators.rsi(pd.Series([5.0] * 30), 14).iloc[-1] == 50.0


def test_atr_by_hand() -> None:
    frame = bars([(10, 11, 9, 10), (10, 12, 9, 11), (11, 11, 8, 9), (9, 13, 9, 12)])
    # true ranges from bar 1: max(3, 2, 1) = 3, max(3, 0, 3) = 3, max(4, 4, 0) = 4
    got = indicators.atr(frame, 2)
    assert np.isnan(got.iloc[:2]).all()
    assert got.iloc[2] == pytest.approx(3.0) and got.iloc[3] == pytest.approx((3.0 + 4.0) / 2)
