"""MA trend: reclaim and hold the 60-day average (article rule 2)."""

from __future__ import annotations

import backtrader as bt

from strategies.base import SignalStrategy

MODES = ("reclaim", "cross")
EXIT_LINES = ("slow", "fast")


def _state(state: str, text: str, values: dict) -> dict:
    return {"state": state, "text": text, "values": values}


class MATrend(SignalStrategy):
    """Long once the close reclaims the slow SMA and holds it; flat when it loses it (rule 2).

    Article: "price fell below both [the 20-day and 60-day averages] ... if price *reclaims and
    holds* the 60-day average (about $125 then), that is the signal that the trend is turning
    strong."

    Entry
        ``mode="reclaim"`` (default): a *reclaim* starts with a close above the slow SMA right
        after a close at or below it (both with a full ``slow``-bar average). The reclaim *holds*
        once ``hold_bars`` consecutive closes are above the slow SMA; on that close a buy is sent.
        One entry per reclaim: after an exit, a new entry needs a new close at or below the slow
        SMA and a new run of ``hold_bars`` closes above it. A run already under way on the first
        bar with a full average is not a reclaim (we never saw the close below), so it is not
        traded. With ``exit_on="fast"`` the entry also waits, within the same run, for a close
        above the fast SMA, so that it is never sent on a close that already meets the exit.

        ``mode="cross"``: the golden cross, the fast SMA crossing above the slow SMA (the cross
        needs a full average on the bar before, so a fast SMA that starts above the slow one is
        not a cross).
    Exit
        ``mode="reclaim"``: the close falls below the slow SMA ("out when the close loses it"),
        or below the fast SMA with ``exit_on="fast"`` (the article's 20-day variant). A close
        exactly on an average is not an exit (it does end a run of closes above the slow SMA,
        and may start a new reclaim). ``mode="cross"``: the death cross,
        the fast SMA crossing below the slow SMA (``hold_bars`` and ``exit_on`` are not used).
    Orders
        Market orders sent on the signal close, filled at the next session's open: a buy with all
        the cash (whole shares), a sell of the whole position; fills tagged ``signal``.

    Parameters
    ----------
    fast : int
        Fast SMA length, bars (default 20).
    slow : int
        Slow SMA length, bars (default 60); must be longer than ``fast``.
    hold_bars : int
        Consecutive closes above the slow SMA that confirm a reclaim (default 3).
    mode : str
        ``"reclaim"`` (reclaim and hold the slow SMA) or ``"cross"`` (20/60 golden/death cross).
    exit_on : str
        ``"slow"`` (exit when the close loses the slow SMA) or ``"fast"`` (when it loses the fast
        SMA); reclaim mode only.
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

    alias = "ma_trend"
    summary = "long once the close reclaims the 60-day SMA for N closes; out when it loses it"
    params = (
        ("fast", 20),  # fast SMA length, bars (exit line with exit_on=fast; cross mode)
        ("slow", 60),  # slow SMA length, bars: the average to reclaim
        ("hold_bars", 3),  # consecutive closes above the slow SMA that confirm a reclaim
        ("mode", "reclaim"),  # "reclaim" (reclaim and hold the slow SMA) or "cross" (20/60 cross)
        ("exit_on", "slow"),  # reclaim mode: exit when the close loses the "slow" or "fast" SMA
    )

    @classmethod
    def signal_warmup(cls, p: dict) -> int:
        """Bars up to and including the first close that can signal (its fill is on the next bar).

        Reclaim: the first full slow SMA (bar ``slow``) must see the close at or below it, then
        ``hold_bars`` closes above it. Cross: the cross needs a full slow SMA on the bar before.
        """
        if p["mode"] == "cross":
            return int(p["slow"]) + 1
        return int(p["slow"]) + int(p["hold_bars"])

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems = super().check_params(p)
        for name in ("fast", "slow", "hold_bars"):
            if p[name] < 1:
                problems.append(f"{name}={p[name]} must be a positive number of bars")
        if 1 <= p["slow"] <= p["fast"]:
            problems.append(
                f"fast={p['fast']} must be shorter than slow={p['slow']}; lower fast or raise slow"
            )
        if p["mode"] not in MODES:
            problems.append(f"mode={p['mode']!r} is unknown; choose one of {', '.join(MODES)}")
        if p["exit_on"] not in EXIT_LINES:
            problems.append(
                f"exit_on={p['exit_on']!r} is unknown; choose one of {', '.join(EXIT_LINES)}"
            )
        return problems

    def __init__(self) -> None:
        super().__init__()
        self.slow_sma = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.fast_sma = None
        self.cross = None
        if self.p.mode == "cross":
            self.fast_sma = bt.ind.SMA(self.data.close, period=self.p.fast)
            # CrossOver compares with the previous bar, so its first value comes one bar after
            # the slow SMA's first: a fast SMA that starts above the slow one is not a cross.
            self.cross = bt.ind.CrossOver(self.fast_sma, self.slow_sma)
        elif self.p.exit_on == "fast":
            self.fast_sma = bt.ind.SMA(self.data.close, period=self.p.fast)
        # Reclaim state: closes above the slow SMA since the last close at or below it (None until
        # such a close has been seen), and whether this run has already been traded.
        self.run: int | None = None
        self.run_traded = False

    def next(self) -> None:
        if self.p.mode == "reclaim":
            self._update_run()
        super().next()

    def _update_run(self) -> None:
        if self.data.close[0] > self.slow_sma[0]:
            if self.run is not None:
                self.run += 1
            if self.position.size > 0:
                self.run_traded = True  # held during this run: no second entry in it
        else:
            self.run = 0
            self.run_traded = False

    def stood_aside(self) -> None:
        # out for the report, not because the reclaim failed: the same run may be re-entered
        self.run_traded = False

    def _exit_line(self) -> float:
        return self.fast_sma[0] if self.p.exit_on == "fast" else self.slow_sma[0]

    def entry_signal(self) -> bool:
        if self.p.mode == "cross":
            return self.cross[0] > 0
        held = self.run is not None and self.run >= self.p.hold_bars and not self.run_traded
        if held and self.data.close[0] > self._exit_line():
            self.run_traded = True
            return True
        return False

    def rules_state(self) -> dict:
        close, slow = float(self.data.close[0]), float(self.slow_sma[0])
        values = {"close": close, f"sma_{self.p.slow}": slow}
        held = self.position.size > 0
        if self.p.mode == "cross":
            fast = float(self.fast_sma[0])
            values[f"sma_{self.p.fast}"] = fast
            rel = f"SMA {self.p.fast} {fast:.2f} vs SMA {self.p.slow} {slow:.2f}"
            if held:
                return _state("long", f"{rel}: exits when SMA {self.p.fast} crosses below", values)
            return _state("flat", f"{rel}: enters when SMA {self.p.fast} crosses above", values)
        values.update(run=self.run, hold_bars=self.p.hold_bars)
        line = self._exit_line()
        name = f"SMA {self.p.fast if self.p.exit_on == 'fast' else self.p.slow}"
        if held:
            return _state(
                "long",
                f"close {close:.2f} vs {name} at {line:.2f}: exits on a close below it",
                values,
            )
        return _state("flat", self._flat_text(close, slow), values)

    def _flat_text(self, close: float, slow: float) -> str:
        rel = f"close {close:.2f} vs SMA {self.p.slow} at {slow:.2f}"
        if self.run is None:
            return f"{rel}: waits for a close at or below it, then {self.p.hold_bars} closes above"
        if self.run_traded:
            return f"{rel}: this reclaim was traded; waits for a close at or below it and a new reclaim"
        if close <= slow:
            return f"{rel}: needs {self.p.hold_bars} closes above"
        left = max(self.p.hold_bars - self.run, 0)
        return f"{rel}: {self.run} close(s) above, needs {left} more"

    def exit_signal(self) -> bool:
        if self.p.mode == "cross":
            return self.cross[0] < 0
        return self.data.close[0] < self._exit_line()
