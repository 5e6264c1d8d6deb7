"""MACD momentum: golden cross in, death cross out (article rule 3)."""

from __future__ import annotations

import math

import backtrader as bt

from strategies.base import SignalStrategy


class MACDMomentum(SignalStrategy):
    """Long on the MACD golden cross, flat on the death cross (rule 3).

    Article: "MACD (12, 26, 9): death cross in July: momentum bearish; the histogram bars are
    shrinking (converging), read as the selling momentum fading."

    MACD is backtrader's ``MACDHisto``: EMA(``fast``) - EMA(``slow``) of the close, each EMA
    seeded with the simple average of its first ``period`` closes (the usual definition); the
    signal line is the same EMA(``signal``) of the MACD line; histogram = MACD - signal.

    Entry
        The golden cross: MACD crosses above its signal line (it was below, or last below when
        equal, on the previous bar). The cross needs a full signal line on the bar before, so
        the first possible one is on bar ``slow + signal``. Early variant (``early_bars`` K > 0):
        also enter when the histogram is negative and has risen toward zero on each of the last
        K bars (``histo[0] > histo[-1] > ... > histo[-K]``), the article's "histogram bars
        shrinking". With ``above_zero`` every entry also needs MACD > 0; a cross skipped by the
        filter is not taken later.
    Exit
        The death cross: MACD crosses below its signal line. It is an event, not a level, so an
        early entry (made while MACD is still below its signal) is held until MACD has crossed
        above the signal and back below it, however far the price falls meanwhile.
    Orders
        Market orders sent on the signal close, filled at the next session's open: a buy with all
        the cash (whole shares), a sell of the whole position; fills tagged ``signal``.

    Parameters
    ----------
    fast : int
        Fast EMA length, bars (default 12).
    slow : int
        Slow EMA length, bars (default 26); must be longer than ``fast``.
    signal : int
        Signal-line EMA length, bars (default 9).
    early_bars : int
        K: early entry after K bars of a negative, shrinking histogram (default 0 = off).
    above_zero : bool
        Only enter when MACD > 0 (default False).
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

    alias = "macd"
    summary = "long on the MACD(12, 26, 9) golden cross, out on the death cross"
    params = (
        ("fast", 12),  # fast EMA length, bars
        ("slow", 26),  # slow EMA length, bars
        ("signal", 9),  # signal-line EMA length, bars
        ("early_bars", 0),  # enter early after K bars of a negative, shrinking histogram (0 = off)
        ("above_zero", False),  # only enter when the MACD line is above zero
    )

    @classmethod
    def signal_warmup(cls, p: dict) -> int:
        """Bars up to and including the first close that can signal (its fill is on the next bar).

        The signal line is first valid on bar ``slow + signal - 1``; a cross needs one bar more
        (an early entry needs K bars more, so it never comes before the first possible cross).
        """
        return int(p["slow"]) + int(p["signal"])

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems = super().check_params(p)
        for name in ("fast", "slow", "signal"):
            if p[name] < 1:
                problems.append(f"{name}={p[name]} must be a positive number of bars")
        if 1 <= p["slow"] <= p["fast"]:
            problems.append(
                f"fast={p['fast']} must be shorter than slow={p['slow']}; lower fast or raise slow"
            )
        if p["early_bars"] < 0:
            problems.append(
                f"early_bars={p['early_bars']} cannot be negative; "
                "use 0 to switch the early entry off"
            )
        return problems

    def __init__(self) -> None:
        super().__init__()
        self.macd = bt.ind.MACDHisto(
            self.data.close,
            period_me1=self.p.fast,
            period_me2=self.p.slow,
            period_signal=self.p.signal,
        )
        # +1 golden cross, -1 death cross; first value one bar after the signal line's first.
        self.cross = bt.ind.CrossOver(self.macd.macd, self.macd.signal)

    def _early(self) -> bool:
        k = self.p.early_bars
        if k <= 0 or len(self) <= k:
            return False
        histo = [self.macd.histo[-i] for i in range(k + 1)]  # newest first
        if any(math.isnan(h) for h in histo):
            return False  # the histogram had no full signal line K bars ago
        return histo[0] < 0 and all(histo[i] > histo[i + 1] for i in range(k))

    def entry_signal(self) -> bool:
        if self.p.above_zero and not self.macd.macd[0] > 0:
            return False
        return self.cross[0] > 0 or self._early()

    def rules_state(self) -> dict:
        m, s = float(self.macd.macd[0]), float(self.macd.signal[0])
        values = {"macd": m, "signal": s, "histogram": m - s}
        rel = f"MACD {m:.2f} vs signal {s:.2f} (histogram {m - s:+.2f})"
        if self.position.size > 0:
            return {
                "state": "long",
                "text": f"{rel}: exits when MACD crosses below its signal",
                "values": values,
            }
        text = f"{rel}: enters when MACD crosses above its signal"
        if self.p.early_bars > 0:
            text += f", or after {self.p.early_bars} bars of a negative, shrinking histogram"
        if self.p.above_zero:
            text += " (only with MACD above zero)"
        return {"state": "flat", "text": text, "values": values}

    def exit_signal(self) -> bool:
        return self.cross[0] < 0
