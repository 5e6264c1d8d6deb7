"""The registry: the one list of strategies. The engine never imports a strategy by name."""

from __future__ import annotations

from strategies.buy_hold import BuyAndHold
from strategies.swing import SwingPlan

STRATEGIES = {
    "swing": SwingPlan,
    "buy_hold": BuyAndHold,
}

__all__ = ["STRATEGIES"]
