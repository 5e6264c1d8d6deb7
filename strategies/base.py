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
from engine.sizing import STOP_ATR_PERIOD, Sizing, parse_sizing, signal_size

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
    def atr_multiple(cls, p: dict) -> float:
        """M of an ATR stop, ``M x ATR(14)`` from the entry fill (``atr_stop``; 0: none)."""
        return float(p.get("atr_stop", 0.0) or 0.0)

    @classmethod
    def has_stop(cls, p: dict) -> bool:
        """True when the strategy rests a stop that risk sizing can measure the risk to."""
        return cls.stop_distance(p) > 0 or cls.atr_multiple(p) > 0

    def stop_atr(self) -> bt.Indicator | None:
        """The ATR an ``atr_stop`` is measured in (None without one). Made only with an ATR
        stop, since its warm-up (15 bars) becomes the strategy's."""
        if type(self).atr_multiple(self.param_values()) <= 0:
            return None
        return bt.ind.ATR(self.data, period=STOP_ATR_PERIOD)

    def param_values(self) -> dict:
        """This run's parameters as a dict."""
        return {k: getattr(self.p, k) for k in self.p._getkeys()}

    # ------------------------------------------------------------------ state (crwv-bt today)

    def next_entry(self) -> dict | None:
        """The entry a signal would send on this close (``crwv-bt today``), or None: a strategy
        that sends signal entries says (:meth:`would_enter`)."""
        return None

    def aside_window(self) -> dict | None:
        """The next stand-aside window after this close (``crwv-bt today``), or None: a strategy
        with the stand-aside option says (:func:`aside_window`)."""
        return None

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

    def entry_size(self, cash: float | None = None) -> tuple[float, float]:
        """(shares an entry sent on this close asks for, shares the cash covers): the run's
        sizing at this close (:func:`engine.sizing.signal_size`); ``cash`` as :meth:`enter`.
        Fixes the ATR stop's distance (``atr_d``) of the entry."""
        close = self.data.close[0]
        sizing = self.sizing()
        params = self.param_values()
        dist = type(self).stop_distance(params)
        mult = type(self).atr_multiple(params)
        # an ATR stop's distance in dollars, fixed on the signal's close for the whole trade
        self.atr_d = mult * self.atr[0] if mult > 0 else 0.0
        cash = self.broker.getcash() if cash is None else cash
        if sizing.kind == "all_in":
            size = self.affordable(close, cash)
            return size, size
        fractional = bool(getattr(self.broker.p, "fractional", False))
        return signal_size(
            sizing,
            close,
            self.broker.getvalue(),
            cash,
            self.broker.p.slip_perc or 0.0,
            dist,
            lambda dollars: self.affordable(close, dollars),
            1e-6 if fractional else 1.0,
            self.atr_d,
        )

    def enter(self, reason: str, short: bool, cash: float | None = None) -> bt.Order | None:
        """:meth:`buy_all`, or with ``short`` the same size sold short (the sizing and the
        cash-only cut are the long side's: a short is never worth more than the cash).
        ``cash``: the cash to size from (default the broker's; a reversal passes
        :meth:`cash_after_close`)."""
        sizing = self.sizing()
        value = self.broker.getvalue()
        want, cover = self.entry_size(cash)
        size = want if want <= cover else cover
        if want > cover:
            self.note(
                f"{self.when()}: {sizing.text()} asked for {want:g} shares; "
                f"the cash covers {cover:g}"
            )
        if size <= 0:
            return None
        order = self.tagged(self.sell(size=size) if short else self.buy(size=size), reason)
        dist = type(self).stop_distance(self.param_values())
        if dist > 0:  # the stop sits at the fill price * (1 -+ dist): the trades table's risk
            order.addinfo(risk_dist=dist)
        if self.atr_d > 0:  # or at the fill price -+ atr_d, when that is closer
            order.addinfo(risk_atr=self.atr_d)
        if sizing.kind == "risk":
            order.addinfo(risk_budget=sizing.value * value)
        return order

    def would_enter(self, sides: str) -> dict | None:
        """The entry a signal on this close would send, when flat (``crwv-bt today``): ``side``
        (``buy``, ``sell short`` or either), ``shares`` (the run's sizing, cut to the cash) and,
        with a stop, ``at_risk``: the dollars lost if it filled at this close and stopped out at
        its stop (slippage, commissions and gaps not counted). None when holding."""
        if self.position.size != 0:
            return None
        want, cover = self.entry_size()
        shares = min(want, cover)
        close = self.data.close[0]
        dist = type(self).stop_distance(self.param_values())
        per_share = [d for d in (close * dist, self.atr_d) if d > 0]
        return {
            "side": {"long": "buy", "short": "sell short"}.get(sides, "buy or sell short"),
            "shares": float(shares),
            "asked": float(want),
            "at_risk": float(shares * min(per_share)) if per_share else None,
        }

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

    Protective stop: with ``atr_stop`` M > 0 (or a class's own :meth:`stop_distance`, ``rsi``'s
    ``stop_pct``), on the close of the entry fill's session a stop for the whole position is
    sent at the fill price -/+ M x ATR(14) of the signal's close (the tighter of the two levels
    when both are set; below a long, above a short), tagged ``stop``; it rests from the next
    session (backtrader activates an order on the bar after it is sent) until it fills or a
    signal closes the position, which cancels it first. ``--sizing risk:F`` measures the risk
    to it. With an ATR stop the warm-up is at least ATR(14)'s, 15 bars.

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
        (
            "atr_stop",
            0.0,
        ),  # a stop this many ATR(14) from the entry, resting at the broker (0 = off)
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
        atr_stop = p["atr_stop"]
        if (
            isinstance(atr_stop, bool)
            or not isinstance(atr_stop, (int, float))
            or not atr_stop >= 0
        ):
            problems.append(
                f"atr_stop={atr_stop!r} must be a number >= 0: e.g. 2 for a stop 2 x ATR(14) from "
                "the entry (0 = off)"
            )
        return problems

    @classmethod
    def warmup(cls, p: dict) -> int:
        """:meth:`signal_warmup`, at least ATR(14)'s 15 bars with an ATR stop."""
        own = cls.signal_warmup(p)
        return max(own, STOP_ATR_PERIOD + 1) if cls.atr_multiple(p) > 0 else own

    @classmethod
    def signal_warmup(cls, p: dict) -> int:
        """Bars the signals' indicators need (each class says)."""
        return 0

    def __init__(self) -> None:
        self.pending: bt.Order | None = None
        self.stop_order: bt.Order | None = None
        self.placed = False  # the protective stop of this position has been sent
        self.atr_d = 0.0
        self.atr = self.stop_atr()
        self._reactions = reaction_dates(self.p.earnings)

    def aside_next(self) -> bool:
        """True when the next session is inside a stand-aside window (flat by its close)."""
        return aside_next(self, int(self.p.stand_aside), self._reactions)

    def aside_window(self) -> dict | None:
        """:func:`aside_window` of this strategy's ``stand_aside`` and ``earnings``."""
        return aside_window(self, int(self.p.stand_aside), self._reactions)

    def entry_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def exit_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def notify_order(self, order: bt.Order) -> None:
        # backtrader notifies a *clone* of each order: match on ``ref``, never on identity
        if order.alive():
            return
        if self.same(order, self.stop_order):
            self.stop_order = None
        if self.same(order, self.pending):
            self.pending = None
            if order.status == order.Completed and order.info.get("reason") == "stand aside":
                self.stood_aside()

    def stood_aside(self) -> None:
        """Called when a stand-aside exit has filled (a rule with per-run state resets it here,
        so that the position can be taken again after the report)."""

    def exit_order(self) -> bt.Order | None:
        """The market order that closes the position when a signal fires, after cancelling
        the protective stop."""
        stop, self.stop_order = self.stop_order, None
        if stop is None or not stop.alive():
            return self.close_all("signal")
        # The stop was sent on an earlier bar, so the broker has accepted it and cancel() takes
        # it off the book at once. Should it still be waiting for acceptance (cancel() only sees
        # accepted orders), the market order joins it in one OCO group: one fill cancels the other.
        self.cancel(stop)
        if not stop.alive():
            return self.close_all("signal")
        size = self.position.size
        out = self.sell(size=size, oco=stop) if size > 0 else self.buy(size=-size, oco=stop)
        return self.tagged(out, "signal")

    def signal_state(self) -> dict:
        """The class's reading of its rules (:meth:`rules_state`, told for a long or flat), with
        the side: a short position is covered by the entry signal the flat reading describes."""
        state = self.rules_state()
        side = self.p.side
        if self.position.size < 0:
            text = state["text"].replace("enters when", "covers when")
            return {**state, "state": "short", "text": text}
        if self.position.size == 0 and side != "long":
            how = (
                "sells short on the exit signal" if side == "short" else "short on the exit signal"
            )
            return {**state, "text": f"{state['text']} (side {side}: {how})"}
        return state

    def rules_state(self) -> dict:
        """Where the rules stand on this close (each class says), for :meth:`signal_state`."""
        return ArticleStrategy.signal_state(self)

    def next_entry(self) -> dict | None:
        """:meth:`ArticleStrategy.would_enter` for this strategy's side."""
        return self.would_enter(self.p.side)

    def stop_level(self) -> float:
        """The protective stop's price for the position (0: none): the tighter of the fill
        price -/+ :meth:`stop_distance` and -/+ the ATR distance of the entry."""
        price = self.position.price
        dist = type(self).stop_distance(self.param_values())
        if self.position.size > 0:
            level = price * (1.0 - dist) if dist > 0 else 0.0
            if self.atr_d > 0 and price - self.atr_d > level:
                level = price - self.atr_d
            return level
        level = price * (1.0 + dist) if dist > 0 else 0.0
        if self.atr_d > 0 and (level == 0 or price + self.atr_d < level):
            level = price + self.atr_d
        return level

    def while_holding(self) -> None:
        """On each close in the market without a signal: send the protective stop once (the
        close of the entry fill's session), below a long (a sell stop) or above a short."""
        if self.placed:
            return
        self.placed = True
        level = self.stop_level()
        if level <= 0:
            return
        size = self.position.size
        if size > 0:
            stop = self.sell(exectype=bt.Order.Stop, price=level, size=size)
        else:
            stop = self.buy(exectype=bt.Order.Stop, price=level, size=-size)
        self.stop_order = self.tagged(stop, "stop")

    def next(self) -> None:
        size = self.position.size
        if size == 0:
            self.placed = False
        if self.pending is not None:
            return
        aside = self.aside_next()
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
                self.placed = False
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


def aside_window(strategy: bt.Strategy, sessions: int, reactions: set[date]) -> dict | None:
    """The next stand-aside window after this close, for ``crwv-bt today``; None when the
    option is off (``sessions`` 0).

    Keys: ``sessions`` (N), ``reaction`` (the first earnings reaction session after this close,
    None when none is known) and ``out_from`` (the first of the N sessions before it: a held
    position is sold at its open and no entry fills before the reaction session's open), dates
    as YYYY-MM-DD. Sessions are counted as :func:`aside_next` reads them (weekdays past the
    last bar).
    """
    if sessions <= 0:
        return None
    now = bt.num2date(strategy.data.datetime[0]).date()
    later = sorted(d for d in reactions if d > now)
    if not later:
        return {"sessions": sessions, "reaction": None, "out_from": None}
    k = 1
    while _session_ahead(strategy, k) < later[0]:
        k += 1
    start = _session_ahead(strategy, k - sessions)
    return {"sessions": sessions, "reaction": later[0].isoformat(), "out_from": start.isoformat()}


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
