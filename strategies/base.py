"""Shared base classes for the article's strategies.

* :class:`ArticleStrategy` - order helpers that tag every order with a *reason* (shown in the
  fills table and the charts), whole-share all-in sizing, and the two class hooks the engine
  discovers: ``warmup(params)`` (bars an indicator needs before the first signal) and
  ``check_params(params)`` (impossible combinations, refused before the run).
* :class:`SignalStrategy` - long/flat strategies driven by two conditions evaluated on each
  close: ``entry_signal()`` and ``exit_signal()``. A signal on bar t's close sends a market order
  that fills at bar t+1's open.
"""

from __future__ import annotations

import math

import backtrader as bt


class ArticleStrategy(bt.Strategy):
    """Base of every registered strategy (not registered itself)."""

    alias = ""  # registry name, e.g. "swing"
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

    def buy_all(self, reason: str = "signal") -> bt.Order | None:
        """Market buy with all the cash, sized at this bar's close; fills at the next open."""
        size = self.affordable(self.data.close[0])
        if size <= 0:
            return None
        return self.tagged(self.buy(size=size), reason)

    def sell_all(self, reason: str = "signal") -> bt.Order | None:
        """Market sell of the whole position; fills at the next open."""
        size = self.position.size
        if size <= 0:
            return None
        return self.tagged(self.sell(size=size), reason)


class SignalStrategy(ArticleStrategy):
    """Long/flat on close-to-close signals; one market order at a time."""

    def __init__(self) -> None:
        self.pending: bt.Order | None = None

    def entry_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def exit_signal(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def notify_order(self, order: bt.Order) -> None:
        # backtrader notifies a *clone* of each order: match on ``ref``, never on identity
        if self.same(order, self.pending) and not order.alive():
            self.pending = None

    def exit_order(self) -> bt.Order | None:
        """The order sent when ``exit_signal()`` fires (default: market sell of everything)."""
        return self.sell_all("signal")

    def while_holding(self) -> None:
        """Called on each close in the market without an exit signal (e.g. to place a stop)."""

    def next(self) -> None:
        if self.pending is not None:
            return
        if self.position.size <= 0:
            if self.entry_signal():
                self.pending = self.buy_all("signal")
        elif self.exit_signal():
            self.pending = self.exit_order()
        else:
            self.while_holding()
