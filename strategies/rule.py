"""The backtrader strategy of a rule: the reference the fast engine's signal kernel is checked against.

:func:`rule_strategy` turns a :class:`engine.rules.Rule` into a :class:`RuleStrategy` subclass
whose ``params`` are the rule's (declared once, in the rule file), so the harness, the CLI,
sweeps and reports treat it like any registered strategy. Each function of the language is
built from backtrader's own indicators (:data:`BUILDERS`); arithmetic and comparisons are
backtrader line operations, so backtrader decides when every value first exists and calls
``next`` from the first bar on which all of them do.

Orders (the harness's fill rules apply to all of them)
------------------------------------------------------
* **Entry**: when flat, ``entry`` true on a close sends a market buy with all the cash (whole
  shares, sized at that close), filled at the next open; tagged ``entry``.
* **Exit**: when holding, ``exit`` true on a close (or the ``max_bars``-th close in the
  market) cancels the resting protective orders and sends a market sell of the whole
  position, filled at the next open; tagged ``exit`` / ``max bars``.
* **Protective orders**: on the close of the session the entry filled in (unless the rule
  exits on it), a sell stop at the higher of ``fill * (1 - stop_loss)`` and ``highest close
  since the entry * (1 - trailing_stop)`` and a sell limit at ``fill * (1 + take_profit)``, one
  OCO group (at most one fills; the stop is tried first, so a session that reaches both is a
  stop); with ``atr_stop`` M, the stop is at ``fill - M x ATR(14)`` of the entry signal's close
  when that is higher (tagged ``atr stop``). They rest from the next session on. When the trailing level rises above the resting
  stop on a close, the group is cancelled and sent again at the new level. Tagged ``stop loss``,
  ``trailing stop`` (whichever level the stop is at) and ``take profit``.
* **Standing aside before earnings** (a rule with ``stand_aside = N``; parameters
  ``stand_aside`` and ``earnings`` as :class:`strategies.base.SignalStrategy`'s): on a close
  after which the next session is one of the ``stand_aside`` sessions before an earnings
  reaction session, a held position is closed out as on an exit (tagged ``stand aside``) and
  no entry is sent; entries resume with a fill at the reaction session's open.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import backtrader as bt

from engine.rules import Node, Rule, parse_rules, scalar
from engine.rules.rule import MAINTENANCE
from strategies.base import (
    ArticleStrategy,
    aside_next,
    aside_problems,
    aside_window,
    reaction_dates,
)


class _Logic(bt.functions.Logic):
    """A line computed from lines and numbers, clocked by its first line argument.

    backtrader clocks a line operation by its first argument, or by the strategy when that is a
    plain number, and in runonce mode the strategy's buffer is still empty when the operation
    is computed: ``Or(False, line)`` would hold nothing. A rule always has a line among the
    arguments (constant expressions are folded), so clock by it.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._clock = next(a for a in args if isinstance(a, bt.LineRoot))


class SafeDiv(_Logic):
    """``a / b``, NaN where ``b`` is 0 (backtrader's ``/`` raises ZeroDivisionError there)."""

    def __init__(self, a: Any, b: Any) -> None:
        super().__init__(a, b)
        self.a, self.b = self.args

    def next(self) -> None:
        b = self.b[0]
        self[0] = self.a[0] / b if b else math.nan

    def once(self, start: int, end: int) -> None:
        dst, srca, srcb = self.array, self.a.array, self.b.array
        for i in range(start, end):
            b = srcb[i]
            dst[i] = srca[i] / b if b else math.nan


class AllOf(_Logic):
    """``a and b and ...`` (backtrader's ``And``: ``bool(x and y)``, so NaN counts as true)."""

    def next(self) -> None:
        self[0] = float(all(bool(a[0]) for a in self.args))

    def once(self, start: int, end: int) -> None:
        dst, arrays = self.array, [a.array for a in self.args]
        for i in range(start, end):
            dst[i] = float(all(bool(a[i]) for a in arrays))


class AnyOf(_Logic):
    """``a or b or ...``."""

    def next(self) -> None:
        self[0] = float(any(bool(a[0]) for a in self.args))

    def once(self, start: int, end: int) -> None:
        dst, arrays = self.array, [a.array for a in self.args]
        for i in range(start, end):
            dst[i] = float(any(bool(a[i]) for a in arrays))


class Not(_Logic):
    """``not a`` on a condition line (1.0 / 0.0)."""

    def __init__(self, a: Any) -> None:
        super().__init__(a)
        self.a = self.args[0]

    def next(self) -> None:
        self[0] = float(not self.a[0])

    def once(self, start: int, end: int) -> None:
        dst, src = self.array, self.a.array
        for i in range(start, end):
            dst[i] = float(not src[i])


def _cross(up: bool, a: Any, b: Any) -> Any:
    if not isinstance(a, bt.LineRoot):  # a number on the left: the mirror cross of b against it
        a, b, up = b, a, not up
    return (bt.ind.CrossUp if up else bt.ind.CrossDown)(a, b).lines[0]


def _roc(x: Any, n: int) -> Any:
    past = x(-n)
    return SafeDiv(x - past, past)


#: How each function of :data:`engine.rules.FUNCTIONS` is built: ``(strategy, *args) -> line``.
BUILDERS: dict[str, Any] = {
    "sma": lambda s, x, n: bt.ind.SMA(x, period=n).lines[0],
    "ema": lambda s, x, n: bt.ind.EMA(x, period=n).lines[0],
    "rsi": lambda s, x, n: bt.ind.RSI(
        x, period=n, movav=bt.ind.SmoothedMovingAverage, safediv=True
    ).lines[0],
    "macd": lambda s, x, f, sl: (
        bt.ind.EMA(x, period=f).lines[0] - bt.ind.EMA(x, period=sl).lines[0]
    ),
    "macd_signal": lambda s, x, f, sl, sg: (
        bt.ind.MACD(x, period_me1=f, period_me2=sl, period_signal=sg).signal
    ),
    "macd_hist": lambda s, x, f, sl, sg: (
        bt.ind.MACDHisto(x, period_me1=f, period_me2=sl, period_signal=sg).histo
    ),
    "bb_upper": lambda s, x, n, k: bt.ind.BollingerBands(x, period=n, devfactor=k).top,
    "bb_lower": lambda s, x, n, k: bt.ind.BollingerBands(x, period=n, devfactor=k).bot,
    "atr": lambda s, n: bt.ind.ATR(s.data, period=n).lines[0],
    "highest": lambda s, x, n: bt.ind.Highest(x, period=n).lines[0],
    "lowest": lambda s, x, n: bt.ind.Lowest(x, period=n).lines[0],
    "roc": lambda s, x, n: _roc(x, n),
    "shift": lambda s, x, n: x(-n),
    "crosses_above": lambda s, a, b: _cross(True, a, b),
    "crosses_below": lambda s, a, b: _cross(False, a, b),
}
_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class LineBuilder:
    """Backtrader lines for rule expressions, one per distinct sub-expression."""

    def __init__(self, strategy: bt.Strategy, params: dict[str, Any]) -> None:
        self.s = strategy
        self.params = params
        self.memo: dict[str, Any] = {}

    def build(self, node: Node) -> Any:
        """A line (or a plain number / bool for a constant expression)."""
        if not node.series:
            return scalar(node, self.params)
        key = node.key()
        if key not in self.memo:
            self.memo[key] = self._make(node)
        return self.memo[key]

    def _make(self, node: Node) -> Any:
        k = node.kind
        if k == "price":
            return getattr(self.s.data, str(node.value))
        if k == "call":
            args = [
                self.build(a) if a.series else _number(scalar(a, self.params)) for a in node.args
            ]
            return BUILDERS[str(node.value)](self.s, *args)
        args = [self.build(a) for a in node.args]
        if k == "neg":
            return -args[0]
        if k == "not":
            return Not(args[0])
        if k == "and":
            return AllOf(*args)
        if k == "or":
            return AnyOf(*args)
        if node.value == "/":
            return SafeDiv(*args)
        return _OPS[str(node.value)](*args)


def _number(v: float | bool) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def _true(line: Any) -> bool:
    return bool(line[0]) if isinstance(line, bt.LineRoot) else bool(line)


class RuleStrategy(ArticleStrategy):
    """A rule run by backtrader (see the module docstring); subclassed per rule."""

    rule: Rule | None = None

    @classmethod
    def warmup(cls, p: dict) -> int:
        assert cls.rule is not None
        return cls.rule.warmup(p)

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        assert cls.rule is not None
        problems = cls.rule.check_params(p)
        if cls.rule.stand_aside is not None:
            problems += aside_problems(p)
        return problems

    @classmethod
    def stop_distance(cls, p: dict) -> float:
        """The tighter of ``stop_loss`` and ``trailing_stop`` (the stop's first level is the
        higher of the two, both measured from the fill)."""
        assert cls.rule is not None
        o = cls.rule.order_values(p)
        return min((d for d in (o.stop_loss, o.trailing_stop) if d > 0), default=0.0)

    @classmethod
    def atr_multiple(cls, p: dict) -> float:
        assert cls.rule is not None
        return cls.rule.order_values(p).atr_stop

    def __init__(self) -> None:
        rule = type(self).rule
        assert rule is not None
        values = {name: getattr(self.p, name) for name in rule.params}
        lines = LineBuilder(self, values)
        self.entry_line = lines.build(rule.entry)
        self.exit_line = lines.build(rule.exit) if rule.exit is not None else False
        self.orders_ = rule.order_values(values)
        self.pending: bt.Order | None = None
        self.stop_order: bt.Order | None = None
        self.target_order: bt.Order | None = None
        self.stop_price = 0.0
        self.placed = False  # the protective group of this trade has been sent
        self.held = 0  # closes in the market in the current trade
        self.high = 0.0  # highest close since the entry (the fill price first)
        self.atr_d = (
            0.0  # the ATR stop's distance, set on the entry's close (ArticleStrategy.enter)
        )
        self.atr = self.stop_atr()
        aside = rule.stand_aside is not None
        self.aside_sessions = int(self.p.stand_aside) if aside else 0
        self.reactions = reaction_dates(self.p.earnings) if aside else set()

    def notify_order(self, order: bt.Order) -> None:
        # backtrader notifies a *clone* of each order: orders are matched on their ref
        if order.alive():
            return
        if self.same(order, self.pending):
            self.pending = None
        if self.same(order, self.stop_order):
            self.stop_order = None
        if self.same(order, self.target_order):
            self.target_order = None

    def next(self) -> None:
        held = self.position.size != 0
        self.held = self.held + 1 if held else 0
        if not held:
            self.placed = False
        if self.pending is not None:
            return
        aside = aside_next(self, self.aside_sessions, self.reactions)
        short = type(self).rule.side == "short"  # type: ignore[union-attr]
        if not held:
            if not aside and _true(self.entry_line):
                self.pending = self.enter("entry", short)
            return
        close = self.data.close[0]
        if self.held == 1:
            self.high = self.position.price  # the extreme close: highest long, lowest short
        self.high = min(self.high, close) if short else max(self.high, close)
        max_bars = self.orders_.max_bars
        if aside:
            self.pending = self.close_out("stand aside")
        elif _true(self.exit_line):
            self.pending = self.close_out("exit")
        elif max_bars and self.held >= max_bars:
            self.pending = self.close_out("max bars")
        elif short and self.broker.getvalue() < MAINTENANCE * (-self.position.size * close):
            self.pending = self.close_out("margin call")
        else:
            self.protect()

    def aside_window(self) -> dict | None:
        """:func:`strategies.base.aside_window` of a rule with ``stand_aside`` (None without)."""
        return aside_window(self, self.aside_sessions, self.reactions)

    def next_entry(self) -> dict | None:
        """:meth:`ArticleStrategy.would_enter` for the rule's side."""
        return self.would_enter(type(self).rule.side)  # type: ignore[union-attr]

    def signal_state(self) -> dict:
        """The rule's conditions on this close, for ``crwv-bt today``."""
        rule = type(self).rule
        assert rule is not None
        entry = _true(self.entry_line)
        values: dict[str, Any] = {"entry": entry, "close": float(self.data.close[0])}
        if self.position.size != 0:
            parts = []
            if rule.exit is not None:
                values["exit"] = _true(self.exit_line)
                parts.append(f"exit `{rule.exit.text}` is {str(values['exit']).lower()}")
            level, reason = self.stop_level()
            if level > 0:
                parts.append(f"{reason} at {level:.2f}")
            if self.orders_.max_bars:
                parts.append(f"{self.held} of max {self.orders_.max_bars} closes held")
            state = "short" if self.position.size < 0 else "long"
            return {"state": state, "text": "; ".join(parts) or "holds", "values": values}
        text = (
            f"entry `{rule.entry.text}` is {str(entry).lower()}: enters on a close where it is true"
        )
        return {"state": "flat", "text": text, "values": values}

    # ------------------------------------------------------------------ protective orders
    def stop_level(self) -> tuple[float, str]:
        """(price of the protective stop, its reason); price 0 without one. Short: a buy stop
        above, at the lower of the two levels."""
        o = self.orders_
        price, atr_d = self.position.price, self.atr_d
        if self.position.size < 0:
            loss = price * (1.0 + o.stop_loss) if o.stop_loss > 0 else 0.0
            trail = self.high * (1.0 + o.trailing_stop) if o.trailing_stop > 0 else 0.0
            level, reason = loss, "stop loss"
            if trail > 0 and (loss == 0 or trail < loss):
                level, reason = trail, "trailing stop"
            if atr_d > 0 and (level == 0 or price + atr_d < level):
                level, reason = price + atr_d, "atr stop"
            return level, reason
        loss = price * (1.0 - o.stop_loss) if o.stop_loss > 0 else 0.0
        trail = self.high * (1.0 - o.trailing_stop) if o.trailing_stop > 0 else 0.0
        level, reason = loss, "stop loss"
        if trail > loss:
            level, reason = trail, "trailing stop"
        if atr_d > 0 and price - atr_d > level:
            level, reason = price - atr_d, "atr stop"
        return level, reason

    def protect(self) -> None:
        """Send the protective group after the entry; move the stop when the trail tightens
        (up for a long, down for a short)."""
        level, reason = self.stop_level()
        short = self.position.size < 0
        if not self.placed:
            self.placed = True
            self.send_group(level, reason)
        elif self.stop_order is not None and (
            level < self.stop_price if short else level > self.stop_price
        ):
            self.cancel(self.stop_order)  # accepted on an earlier bar: off the book at once
            self.send_group(level, reason)

    def send_group(self, level: float, reason: str) -> None:
        size = self.position.size
        short = size < 0
        out = self.buy if short else self.sell
        size = abs(size)
        self.stop_order = None
        self.target_order = None
        if level > 0:
            stop = out(exectype=bt.Order.Stop, price=level, size=size)
            self.stop_order = self.tagged(stop, reason)
            self.stop_price = level
        if self.orders_.take_profit > 0:
            tp = -self.orders_.take_profit if short else self.orders_.take_profit
            price = self.position.price * (1.0 + tp)
            limit = out(exectype=bt.Order.Limit, price=price, size=size, oco=self.stop_order)
            self.target_order = self.tagged(limit, "take profit")

    def close_out(self, reason: str) -> bt.Order | None:
        """Cancel the protective group, then close the position at the next open."""
        leader = self.stop_order or self.target_order
        self.stop_order = self.target_order = None
        if leader is not None and leader.alive():
            self.cancel(leader)  # the OCO group goes with it
            if leader.alive():  # still awaiting acceptance: join its group, one of them fills
                size = self.position.size
                out = self.buy if size < 0 else self.sell
                return self.tagged(out(size=abs(size), oco=leader), reason)
        return self.close_all(reason)


_CLASSES: dict[str, type[RuleStrategy]] = {}
_TEXTS: set[str] = set()


def rule_strategy(rule: Rule) -> type[RuleStrategy]:
    """The :class:`RuleStrategy` subclass of ``rule`` (its params, alias and summary), one per
    rule: it is also registered under :meth:`engine.rules.Rule.ref` for :func:`registered`."""
    ref = rule.ref()
    if ref not in _CLASSES:
        _CLASSES[ref] = _make(rule)
    return _CLASSES[ref]


def registered(ref: str) -> type[RuleStrategy] | None:
    """The class of a rule loaded in this process by its ref (``rule:NAME@SHA12``)."""
    return _CLASSES.get(ref)


def register_texts(texts: tuple[str, ...] | list[str]) -> None:
    """Load rules from their TOML text (a worker process receiving a sweep's rules); a text
    already loaded in this process is not parsed again."""
    for text in texts:
        if text not in _TEXTS:
            for rule in parse_rules(text).values():
                rule_strategy(rule)
            _TEXTS.add(text)


def _make(rule: Rule) -> type[RuleStrategy]:
    return type(
        f"Rule_{rule.name}",
        (RuleStrategy,),
        {
            "__module__": __name__,
            "__doc__": rule.description or f"Rule {rule.name}",
            "alias": rule.name,
            "summary": rule.description,
            "params": tuple(rule.params.items())
            + (
                (("stand_aside", rule.stand_aside), ("earnings", ""))
                if rule.stand_aside is not None
                else ()
            ),
            "rule": rule,
            "own_sizing": rule.sizing,
        },
    )
