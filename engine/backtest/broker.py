"""The broker side of the harness: the retail commission and the broker that resizes gapped buys.

* :class:`RetailCommission` - ``max(shares x per_share, minimum)`` capped at a fraction of the
  fill value (the numbers of :class:`engine.result.Costs`);
* :class:`HonestBroker` - backtrader's ``BackBroker``, except that a buy a gap-up made
  unaffordable is resized to what the cash covers (:func:`affordable_size`) instead of rejected.
"""

from __future__ import annotations

import math

import backtrader as bt


class RetailCommission(bt.CommInfoBase):
    """Per-share commission with a minimum and a cap (see :class:`engine.result.Costs`)."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("per_share", 0.005),  # dollars per share
        ("minimum", 1.0),  # dollars per order
        ("max_pct", 0.01),  # cap, fraction of the fill value
    )

    def _getcommission(self, size, price, pseudoexec):  # type: ignore[no-untyped-def]
        shares = abs(size)
        if shares == 0:
            return 0.0
        fee = max(shares * self.p.per_share, self.p.minimum)
        return min(fee, shares * price * self.p.max_pct)


class HonestBroker(bt.brokers.BackBroker):
    """BackBroker that resizes a buy a gap made unaffordable instead of rejecting it."""

    params = (
        ("fractional", False),  # allow fractional shares
        ("sizing", "all_in"),  # how strategies size entries (engine.sizing; they read it here)
    )

    def _execute(self, order, ago=None, price=None, cash=None, position=None, dtcoc=None):  # type: ignore[no-untyped-def]
        if ago is not None and price is not None and order.isbuy():
            self._fit_to_cash(order, price)
        return super()._execute(
            order, ago=ago, price=price, cash=cash, position=position, dtcoc=dtcoc
        )

    def _fit_to_cash(self, order: bt.Order, price: float) -> None:
        size = order.executed.remsize
        comminfo = self.getcommissioninfo(order.data)
        if size * price + comminfo.getcommission(size, price) <= self.cash + 1e-9:
            return
        fitted = affordable_size(self.cash, price, comminfo, fractional=self.p.fractional)
        if fitted <= 0 or fitted >= size:
            return  # nothing affordable: backtrader rejects it (Margin) and we note it
        order.info["resized_from"] = size
        order.size = fitted
        order.created.size = fitted
        order.executed.remsize = fitted


def affordable_size(
    cash: float, price: float, comminfo: bt.CommInfoBase, *, fractional: bool
) -> float:
    """Largest size whose value plus commission fits in ``cash`` (whole shares unless fractional)."""
    if price <= 0 or cash <= 0:
        return 0.0
    per_share = getattr(comminfo.p, "per_share", 0.0)
    size = cash / (price + per_share)
    if not fractional:
        size = math.floor(size)
    else:
        size = math.floor(size * 1e6) / 1e6
    step = 1.0 if not fractional else 1e-6
    while size > 0 and size * price + comminfo.getcommission(size, price) > cash + 1e-9:
        size -= step
    return max(size, 0.0)
