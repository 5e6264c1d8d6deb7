"""Confluence: the article's technical checklist, all at once (article rule 5)."""

from __future__ import annotations

import backtrader as bt

from strategies.base import SignalStrategy


class Confluence(SignalStrategy):
    """Long while close > SMA, MACD > signal and RSI > 50 all hold (rule 5).

    Article: price "reclaims and holds the 60-day average" (trend turning strong); MACD after a
    "death cross in July" (a golden cross would turn momentum); RSI "recovered to the 40-50
    range: a rebound, not yet the strong zone (above 50)". The checklist together: close above
    SMA 60, MACD above its signal, RSI above 50.

    The three checks, each on the signal close:

    1. trend: close > SMA(``sma_period``);
    2. momentum: MACD(``macd_fast``, ``macd_slow``, ``macd_signal``) line > its signal line
       (backtrader's ``MACD``, EMAs seeded with a simple average);
    3. strength: Wilder RSI(``rsi_period``) > ``rsi_mid`` (backtrader's ``RSI`` with
       ``SmoothedMovingAverage``, ``safediv``).

    Entry
        All three checks hold (levels, not crossings: when flat, the first close on which all
        three hold is an entry, including the first bar on which all three indicators are full).
    Exit
        At least ``fail_count`` of the three checks fail (default 1: any of them). A check that
        is exactly at its line (e.g. RSI = 50) fails.
    Orders
        Market orders sent on the signal close, filled at the next session's open: a buy with all
        the cash (whole shares), a sell of the whole position; fills tagged ``signal``.

    Parameters
    ----------
    sma_period : int
        Trend SMA length, bars (default 60).
    macd_fast : int
        MACD fast EMA length, bars (default 12).
    macd_slow : int
        MACD slow EMA length, bars (default 26); must be longer than ``macd_fast``.
    macd_signal : int
        MACD signal-line EMA length, bars (default 9).
    rsi_period : int
        RSI length, bars (default 14).
    rsi_mid : float
        The RSI must be above this level (default 50).
    fail_count : int
        Exit when at least this many of the three checks fail, 1 to 3 (default 1).
    side : str
        ``"long"`` (default), ``"short"`` (the exit signal sells short, the entry signal covers)
        or ``"both"`` (reverses on the opposite signal); see
        :class:`strategies.base.SignalStrategy`.
    atr_stop : float
        A protective stop this many ATR(14) from the entry fill (default 0 = off); ``--sizing
        risk:F`` measures the risk to it. See :class:`strategies.base.SignalStrategy`.
    stand_aside : int
        Sessions before each earnings report to be flat (default 0 = off); see
        :class:`strategies.base.SignalStrategy`.
    earnings : str
        The reports' reaction sessions, comma-separated YYYY-MM-DD (filled from the events
        file when left empty).
    """

    alias = "confluence"
    summary = "long while close > SMA 60, MACD > signal and RSI > 50; out when one fails"
    params = (
        ("sma_period", 60),  # trend SMA length, bars: close must be above it
        ("macd_fast", 12),  # MACD fast EMA length, bars
        ("macd_slow", 26),  # MACD slow EMA length, bars
        ("macd_signal", 9),  # MACD signal-line EMA length, bars: MACD must be above it
        ("rsi_period", 14),  # RSI length, bars (Wilder smoothing)
        ("rsi_mid", 50.0),  # RSI must be above this level
        ("fail_count", 1),  # exit when at least this many of the three checks fail (1-3)
    )

    @classmethod
    def signal_warmup(cls, p: dict) -> int:
        """Bars up to and including the first close that can signal (its fill is on the next bar).

        All three indicators must be full: SMA on bar ``sma_period``, the MACD signal line on bar
        ``macd_slow + macd_signal - 1``, the RSI on bar ``rsi_period + 1``.
        """
        return max(
            int(p["sma_period"]),
            int(p["macd_slow"]) + int(p["macd_signal"]) - 1,
            int(p["rsi_period"]) + 1,
        )

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems = super().check_params(p)
        for name in ("sma_period", "macd_fast", "macd_slow", "macd_signal", "rsi_period"):
            if p[name] < 1:
                problems.append(f"{name}={p[name]} must be a positive number of bars")
        if 1 <= p["macd_slow"] <= p["macd_fast"]:
            problems.append(
                f"macd_fast={p['macd_fast']} must be shorter than macd_slow={p['macd_slow']}; "
                "lower macd_fast or raise macd_slow"
            )
        if not 0 < p["rsi_mid"] < 100:
            problems.append(f"rsi_mid={p['rsi_mid']:g} must lie strictly between 0 and 100")
        if p["fail_count"] not in (1, 2, 3):
            problems.append(
                f"fail_count={p['fail_count']} must be 1, 2 or 3 (how many of the three checks "
                "must fail to exit)"
            )
        return problems

    def __init__(self) -> None:
        super().__init__()
        self.sma = bt.ind.SMA(self.data.close, period=self.p.sma_period)
        self.macd = bt.ind.MACD(
            self.data.close,
            period_me1=self.p.macd_fast,
            period_me2=self.p.macd_slow,
            period_signal=self.p.macd_signal,
        )
        self.rsi = bt.ind.RSI(
            self.data.close,
            period=self.p.rsi_period,
            movav=bt.ind.SmoothedMovingAverage,
            safediv=True,
        )

    def checks(self) -> tuple[bool, bool, bool]:
        """(trend, momentum, strength) on the current close."""
        return (
            self.data.close[0] > self.sma[0],
            self.macd.macd[0] > self.macd.signal[0],
            self.rsi[0] > self.p.rsi_mid,
        )

    def rules_state(self) -> dict:
        close, sma = float(self.data.close[0]), float(self.sma[0])
        m, s, rsi = float(self.macd.macd[0]), float(self.macd.signal[0]), float(self.rsi[0])
        ok = self.checks()
        parts = [
            f"close {close:.2f} {'>' if ok[0] else '<='} SMA {self.p.sma_period} {sma:.2f}",
            f"MACD {m:.2f} {'>' if ok[1] else '<='} signal {s:.2f}",
            f"RSI {rsi:.1f} {'>' if ok[2] else '<='} {self.p.rsi_mid:g}",
        ]
        values = {
            "close": close,
            "sma": sma,
            "macd": m,
            "signal": s,
            "rsi": rsi,
            "checks_ok": int(sum(ok)),
        }
        if self.position.size > 0:
            tail = f"exits when {self.p.fail_count} of 3 fail ({3 - sum(ok)} failing)"
            return {"state": "long", "text": "; ".join(parts) + f": {tail}", "values": values}
        tail = f"enters when all 3 hold ({sum(ok)} of 3 now)"
        return {"state": "flat", "text": "; ".join(parts) + f": {tail}", "values": values}

    def entry_signal(self) -> bool:
        return all(self.checks())

    def exit_signal(self) -> bool:
        return sum(not ok for ok in self.checks()) >= self.p.fail_count
