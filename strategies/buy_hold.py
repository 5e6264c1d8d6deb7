"""Buy and hold: the benchmark every report compares against."""

from __future__ import annotations

from strategies.base import ArticleStrategy


class BuyAndHold(ArticleStrategy):
    """Buy once with all the cash and hold to the end (article rule 6).

    Entry
        On the first bar's close a market buy is sent; it fills at the next session's open
        (on CRWV: the IPO day's close, 2025-03-28, fills at 2025-03-31's open).
    Exit
        None: the position is still open at the last bar and is valued at the last close.
    Orders
        One market order for as many whole shares as the cash covers at the signal close plus
        slippage and commission; resized at the fill if a gap-up makes it unaffordable.

    Parameters
    ----------
    (none)
    """

    alias = "buy_hold"
    summary = "buy all at the first fill the harness allows (next open), hold to the end"
    params = ()

    def __init__(self) -> None:
        self.sent = False

    def signal_state(self) -> dict:
        if self.position.size > 0:
            return {"state": "long", "text": "holds to the end; never sells", "values": {}}
        return {"state": "flat", "text": "buys with all the cash at the next open", "values": {}}

    def next(self) -> None:
        if not self.sent:
            self.sent = self.buy_all("entry") is not None
