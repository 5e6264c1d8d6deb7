"""Shared base classes for the article's strategies.

* :class:`ArticleStrategy` - order helpers that tag every order with a *reason* (shown in the
  fills table and the charts), whole-share all-in sizing, and the two class hooks the engine
  discovers: ``warmup(params)`` (bars an indicator needs before the first signal) and
  ``check_params(params)`` (impossible combinations, refused before the run).
* :class:`SignalStrategy` - strategies driven by two conditions evaluated on each close:
  ``entry_signal()`` and ``exit_signal()``, traded long (the default), short or both ways
  (``side``). A signal on bar t's close sends a market order that fills at bar t+1's open.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import backtrader as bt

from engine.rules.rule import MAINTENANCE
from engine.sizing import Sizing, parse_sizing, signal_size

#: ``side`` of a signal strategy: ``long`` (the default), ``short`` (the exit signal sells short,
#: the entry signal covers) or ``both`` (long on the entry signal, short on the exit signal,
#: each reversing the other)
SIDES = ("long", "short", "both")


class ArticleStrategy(bt.Strategy):
    """Base of every registered strategy (not registered itself)."""

    alias = ""  # registry name, e.g. "swing"
    own_sizing = ""  # a rule's own sizing (engine.sizing); "" = the run's --sizing
    summary = ""  # one-line rules, shown by `crwv-bt strategies`
    params = ()

    @classmethod
    def warmup(cls, p: dict) -> int:
        """Bars needed before the first possible signal (0: none)."""
        return 0

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        """Problems with a parameter set (empty when it is valid)."""
        return []

    @classmethod
    def stop_distance(cls, p: dict) -> float:
        """The protective stop's distance below the entry fill, a fraction (0: no stop).

        ``--sizing risk:F`` sizes an entry from it (:mod:`engine.sizing`) and is refused when
        :meth:`has_stop` is false.
        """
        return 0.0

    @classmethod
    def has_stop(cls, p: dict) -> bool:
        """True when the strategy rests a stop that risk sizing can measure the risk to."""
        return cls.stop_distance(p) > 0

    # ------------------------------------------------------------------ state (crwv-bt today)

    def signal_state(self) -> dict:
        """Where the rules stand on this close, for ``crwv-bt today``.

        ``state`` (one word), ``text`` (what holds now and what would change it) and ``values``
        (the numbers behind it). Strategies override it with their own rules.
        """
        held = self.position.size > 0
        return {"state": "long" if held else "flat", "text": "", "values": {}}

    # ------------------------------------------------------------------ sizing and orders

    def affordable(self, price: float, cash: float | None = None) -> float:
        """Largest size whose cost at ``price`` (slippage and commission included) fits in cash."""
        cash = self.broker.getcash() if cash is None else cash
        slip = self.broker.p.slip_perc or 0.0
        fill_price = price * (1.0 + slip)
        comminfo = self.broker.getcommissioninfo(self.data)
        fractional = bool(getattr(self.broker.p, "fractional", False))
        per_share = getattr(comminfo.p, "per_share", 0.0)
        if fill_price <= 0 or cash <= 0:
            return 0.0
        size = cash / (fill_price + per_share)
        step = 1e-6 if fractional else 1.0
        size = math.floor(size / step) * step
        while size > 0 and size * fill_price + comminfo.getcommission(size, fill_price) > cash:
            size -= step
        return max(size, 0.0)

    @staticmethod
    def same(order: bt.Order | None, other: bt.Order | None) -> bool:
        """True when two order objects are the same order (notifications carry clones)."""
        return order is not None and other is not None and order.ref == other.ref

    def tagged(self, order: bt.Order | None, reason: str) -> bt.Order | None:
        if order is not None:
            order.addinfo(reason=reason)
        return order

    def sizing(self) -> Sizing:
        """The run's sizing (``--sizing``; the broker carries it)."""
        return parse_sizing(getattr(self.broker.p, "sizing", "all_in"))

    def note(self, text: str) -> None:
        """A note for the run's report (the harness collects ``self.notes``)."""
        if not hasattr(self, "notes"):
            self.notes: list[str] = []
        self.notes.append(text)

    def when(self) -> str:
        """This session's date, for notes."""
        return bt.num2date(self.data.datetime[0]).date().isoformat()

    def buy_all(self, reason: str = "signal") -> bt.Order | None:
        """Market buy sized by the run's sizing at this bar's close (``all_in``: all the cash);
        fills at the next open. A size the cash cannot cover is cut to what it covers, noted."""
        return self.enter(reason, short=False)

    def enter(self, reason: str, short: bool, cash: float | None = None) -> bt.Order | None:
        """:meth:`buy_all`, or with ``short`` the same size sold short (the sizing and the
        cash-only cut are the long side's: a short is never worth more than the cash).
        ``cash``: the cash to size from (default the broker's; a reversal passes
        :meth:`cash_after_close`)."""
        close = self.data.close[0]
        sizing = self.sizing()
        dist = type(self).stop_distance({k: getattr(self.p, k) for k in self.p._getkeys()})
        value = self.broker.getvalue()
        cash = self.broker.getcash() if cash is None else cash
        if sizing.kind == "all_in":
            size = self.affordable(close, cash)
        else:
            fractional = bool(getattr(self.broker.p, "fractional", False))
            want, cover = signal_size(
                sizing,
                close,
                value,
                cash,
                self.broker.p.slip_perc or 0.0,
                dist,
                lambda dollars: self.affordable(close, dollars),
                1e-6 if fractional else 1.0,
            )
            size = want if want <= cover else cover
            if want > cover:
                self.note(
                    f"{self.when()}: {sizing.text()} asked for {want:g} shares; "
                    f"the cash covers {cover:g}"
                )
        if size <= 0:
            return None
        order = self.tagged(self.sell(size=size) if short else self.buy(size=size), reason)
        if dist > 0:  # the stop sits at the fill price * (1 -+ dist): the trades table's risk
            order.addinfo(risk_dist=dist)
        if sizing.kind == "risk":
            order.addinfo(risk_budget=sizing.value * value)
        return order

    def cash_after_close(self) -> float:
        """The cash once the position is closed at this close (slippage and commission
        included): what a reversal's new side is sized from, so that it fits the cash the
        close-out leaves. ``value - shares x close x slippage - commission``."""
        size = abs(self.position.size)
        close = self.data.close[0]
        slip = self.broker.p.slip_perc or 0.0
        out = close * (1.0 - slip) if self.position.size > 0 else close * (1.0 + slip)
        comminfo = self.broker.getcommissioninfo(self.data)
        return self.broker.getvalue() - size * close * slip - comminfo.getcommission(size, out)

    def close_all(self, reason: str = "signal") -> bt.Order | None:
        """Market order that makes the position flat (sell a long, buy back a short)."""
        size = self.position.size
        if size < 0:
            return self.tagged(self.buy(size=-size), reason)
        return self.sell_all(reason)

    def sell_all(self, reason: str = "signal") -> bt.Order | None:
        """Market sell of the whole position; fills at the next open."""
        size = self.position.size
        if size <= 0:
            return None
        return self.tagged(self.sell(size=size), reason)


class SignalStrategy(ArticleStrategy):
    """Trades close-to-close signals; one market order at a time (two for a reversal).

    Side (``side``): ``long`` (the default) buys on the entry signal and sells on the exit
    signal. ``short`` trades the mirror image: the exit signal sells short and the entry signal
    buys to cover (MACD: short the death cross, cover on the golden cross). ``both`` is always
    in once a signal has come: long on the entry signal, short on the exit signal, and the
    opposite signal *reverses* the position: on its close a market order closes the position
    and a second one opens the other side, both filled at the next open (the new side sized
    from the cash the close-out leaves at that close: :meth:`ArticleStrategy.cash_after_close`).
    A short is covered at the next open when the account value on a close is under 30% of the
    short's value there (``margin call``, the margin model of docs/sizing.md).

    Standing aside before earnings (every long/flat strategy): with ``stand_aside`` N > 0 the
    position is flat at the close of each of the N sessions before an earnings report's
    reaction session (the first session that trades on the news; ``earnings`` lists them, and
    ``crwv-bt`` fills it from ``data/events/<TICKER>.toml`` when it is left empty). On the close
    before that window a held position is sold at the next open (fills tagged ``stand aside``),
    and no entry is sent whose fill would land inside it; entries resume with a fill at the
    reaction session's open, after the news.
    """

    params = (
        ("side", "long"),  # "long", "short" (exit signal shorts, entry covers) or "both" (reverses)
        ("stand_aside", 0),  # sessions before each earnings reaction session to be flat (0 = off)
        (
            "earnings",
            "",
        ),  # earnings reaction sessions, comma-separated YYYY-MM-DD (from the events file)
    )

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems = aside_problems(p)
        if p["side"] not in SIDES:
            problems.append(f"side={p['side']!r} is unknown; choose one of {', '.join(SIDES)}")
        return problems

    def __init__(self) -> None:
        self.pending: bt.Order | None = None
        self._reactions = reaction_dates(self.p.earnings)

    def aside_next(self) -> bool:
        """True when the next session is inside a stand-aside window (flat by its close)."""
        return aside_next(self, int(self.p.stand_aside), self._reactions)

    def entry_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def exit_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def notify_order(self, order: bt.Order) -> None:
        # backtrader notifies a *clone* of each order: match on ``ref``, never on identity
        if self.same(order, self.pending) and not order.alive():
            self.pending = None
            if order.status == order.Completed and order.info.get("reason") == "stand aside":
                self.stood_aside()

    def stood_aside(self) -> None:
        """Called when a stand-aside exit has filled (a rule with per-run state resets it here,
        so that the position can be taken again after the report)."""

    def exit_order(self) -> bt.Order | None:
        """The order sent when the position's closing signal fires (default: a market order
        for the whole position)."""
        return self.close_all("signal")

    def while_holding(self) -> None:
        """Called on each close in the market without an exit signal (e.g. to place a stop)."""

    def next(self) -> None:
        if self.pending is not None:
            return
        aside = self.aside_next()
        size = self.position.size
        side = self.p.side
        if size == 0:
            if aside:
                return
            if side != "short" and self.entry_signal():
                self.pending = self.enter("signal", short=False)
            elif side != "long" and self.exit_signal():
                self.pending = self.enter("signal", short=True)
        elif aside:
            self.pending = self.tagged(self.exit_order(), "stand aside")
        elif self.exit_signal() if size > 0 else self.entry_signal():
            cash = self.cash_after_close()
            self.pending = self.exit_order()
            if side == "both":  # reverse: the other side, sent after the close-out
                self.pending = self.enter("signal", short=size > 0, cash=cash) or self.pending
        elif size < 0 and self.broker.getvalue() < MAINTENANCE * (-size * self.data.close[0]):
            self.pending = self.tagged(self.exit_order(), "margin call")
        else:
            self.while_holding()


def aside_problems(p: dict) -> list[str]:
    """Problems with the ``stand_aside`` / ``earnings`` parameters (the stand-aside option of every
    long/flat strategy and of a rule with ``stand_aside = N``)."""
    problems = []
    if p["stand_aside"] < 0 or p["stand_aside"] != int(p["stand_aside"]):
        problems.append(
            f"stand_aside={p['stand_aside']} must be a whole number of sessions >= 0 (0 = off)"
        )
    for day in earnings_dates(p["earnings"]):
        try:
            date.fromisoformat(str(day))
        except ValueError:
            problems.append(f"earnings: {day!r} is not a date; use YYYY-MM-DD")
            break
    return problems


def reaction_dates(text: str) -> set[date]:
    """The earnings reaction sessions of an ``earnings`` parameter."""
    return {date.fromisoformat(d) for d in earnings_dates(text)}


def aside_next(strategy: bt.Strategy, sessions: int, reactions: set[date]) -> bool:
    """True when the session after this close is inside a stand-aside window: one of the
    ``sessions`` sessions before an earnings reaction session (so flat by its close).

    Reads only the *dates* of the next ``sessions + 1`` sessions (the calendar and the report
    dates are known in advance), never their prices; past the last bar the next sessions are
    taken as the following weekdays. The fast engine computes the same flags per bar
    (:func:`engine.fast.aside.aside_row`).
    """
    if sessions <= 0 or not reactions:
        return False
    return any(_session_ahead(strategy, k) in reactions for k in range(2, sessions + 2))


def _session_ahead(strategy: bt.Strategy, k: int) -> date:
    try:
        return bt.num2date(strategy.data.datetime[k]).date()
    except IndexError:
        return _weekday_after(bt.num2date(strategy.data.datetime[0]).date(), k)


def _weekday_after(day: date, k: int) -> date:
    """The ``k``-th weekday after ``day`` (an estimate of the k-th next session)."""
    out = day
    while k > 0:
        out += timedelta(days=1)
        if out.weekday() < 5:
            k -= 1
    return out


def earnings_dates(text: str) -> list[str]:
    """``"2025-05-15, 2025-08-13"`` -> ``["2025-05-15", "2025-08-13"]``."""
    return [part.strip() for part in str(text).replace(";", ",").split(",") if part.strip()]
