"""RSI rebound: buy the climb back out of oversold (article rule 4)."""

from __future__ import annotations

import backtrader as bt

from strategies.base import SignalStrategy


class RSIRebound(SignalStrategy):
    """Long when RSI climbs back above ``oversold``; out at ``overbought`` (rule 4).

    Article: "RSI (14): dropped below 30 (oversold), then recovered to the 40-50 range: a
    rebound, not yet the strong zone (above 50)."

    RSI is Wilder's: backtrader's ``RSI`` with ``SmoothedMovingAverage`` (alpha = 1/period,
    seeded with the simple average of the first ``period`` up/down moves) and ``safediv`` (100
    when there is no down move, 50 when the price has not moved at all).

    Entry
        RSI crosses back above ``oversold`` from below: it was below (or last below, when equal)
        on the previous bar and is above it now. The first RSI is on bar ``period + 1``, so the
        first possible cross is on bar ``period + 2``.
    Exit
        RSI at or above ``overbought``. With ``exit_below_mid``, also when RSI falls back below
        ``mid`` after having closed above it during the trade (from the entry fill's close on).
        With ``stop_pct`` > 0, a protective stop (below).
    Orders
        Market orders sent on the signal close, filled at the next session's open: a buy with all
        the cash (whole shares), a sell of the whole position; fills tagged ``signal``.
        ``stop_pct`` > 0: on the close of the entry fill's session a sell stop for the whole
        position is placed at ``entry_price * (1 - stop_pct)`` (fills tagged ``stop``; a short's
        is a buy stop at ``entry_price * (1 + stop_pct)``; with ``atr_stop`` too, the tighter
        level: :class:`strategies.base.SignalStrategy`). It rests
        from the next session on: the harness sees daily bars only and backtrader activates an
        order on the bar after it is sent. When a signal exit is sent, the stop is cancelled
        first (it is live at the broker by then, so the cancel is immediate); on the entry
        session itself no stop has been sent yet. Either way at most one sell can fill.

    Parameters
    ----------
    period : int
        RSI length, bars (default 14).
    oversold : float
        Oversold level the RSI must climb back above to enter (default 30).
    overbought : float
        Exit when RSI reaches this level (default 70).
    exit_below_mid : bool
        Also exit when RSI falls back below ``mid`` after having been above it (default False).
    mid : float
        The strong-zone line for ``exit_below_mid`` (default 50).
    stop_pct : float
        Protective stop distance below the entry fill price, a fraction (default 0 = off).
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

    alias = "rsi"
    summary = "long when RSI(14) climbs back above 30, out at 70 (or back below 50)"
    params = (
        ("period", 14),  # RSI length, bars (Wilder smoothing)
        ("oversold", 30.0),  # enter when RSI crosses back above this level
        ("overbought", 70.0),  # exit when RSI reaches this level
        ("exit_below_mid", False),  # also exit when RSI falls back below mid after being above it
        ("mid", 50.0),  # strong-zone line used by exit_below_mid
        ("stop_pct", 0.0),  # protective sell stop this fraction below the entry fill (0 = off)
    )

    @classmethod
    def stop_distance(cls, p: dict) -> float:
        return float(p["stop_pct"])

    @classmethod
    def signal_warmup(cls, p: dict) -> int:
        """Bars up to and including the first close that can signal (its fill is on the next bar).

        The first RSI value is on bar ``period + 1``; a cross needs the one before it too.
        """
        return int(p["period"]) + 2

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems = super().check_params(p)
        if p["period"] < 1:
            problems.append(f"period={p['period']} must be a positive number of bars")
        if not 0 < p["oversold"] < p["overbought"] < 100:
            problems.append(
                f"oversold={p['oversold']:g} and overbought={p['overbought']:g} must satisfy "
                "0 < oversold < overbought < 100; e.g. oversold=30 overbought=70"
            )
        if not p["oversold"] < p["mid"] < p["overbought"]:
            problems.append(
                f"mid={p['mid']:g} must lie between oversold={p['oversold']:g} and "
                f"overbought={p['overbought']:g}; e.g. mid=50"
            )
        if p["exit_below_mid"] and p["side"] != "long":
            problems.append(
                f"exit_below_mid=true exits a long only; with side={p['side']} set it to false"
            )
        if not 0 <= p["stop_pct"] < 1:
            problems.append(
                f"stop_pct={p['stop_pct']:g} must be a fraction in [0, 1), e.g. 0.1 for a stop 10% "
                "below the entry; 0 switches the stop off"
            )
        return problems

    def __init__(self) -> None:
        super().__init__()
        self.rsi = bt.ind.RSI(
            self.data.close,
            period=self.p.period,
            movav=bt.ind.SmoothedMovingAverage,
            safediv=True,
        )
        # +1 when RSI crosses above oversold; first value one bar after the first RSI.
        self.rebound = bt.ind.CrossOver(self.rsi, self.p.oversold)
        self.was_strong = False  # RSI closed above mid during the current trade

    def entry_signal(self) -> bool:
        if self.rebound[0] > 0:
            self.was_strong = False
            return True
        return False

    def exit_signal(self) -> bool:
        rsi = self.rsi[0]
        if rsi >= self.p.overbought:
            return True
        if self.p.exit_below_mid:
            if self.was_strong and rsi < self.p.mid:
                return True
            self.was_strong = self.was_strong or rsi > self.p.mid
        return False

    def rules_state(self) -> dict:
        rsi = float(self.rsi[0])
        values = {"rsi": rsi}
        if self.position.size > 0:
            text = f"RSI {rsi:.1f}: exits at {self.p.overbought:g}"
            if self.p.exit_below_mid:
                if self.was_strong:
                    text += f" or on a close back below {self.p.mid:g} (it has been above)"
                else:
                    text += f", or below {self.p.mid:g} once it has closed above it"
            return {"state": "long", "text": text, "values": values}
        where = "oversold" if rsi < self.p.oversold else "above the oversold line"
        text = f"RSI {rsi:.1f} ({where}): enters when it crosses back above {self.p.oversold:g}"
        if rsi >= self.p.oversold:
            text += " (it must first fall below it)"
        return {"state": "flat", "text": text, "values": values}
