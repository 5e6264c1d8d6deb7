"""The registry: the one list of strategies. The engine never imports a strategy by name."""

from __future__ import annotations

from strategies.buy_hold import BuyAndHold
from strategies.confluence import Confluence
from strategies.ma_trend import MATrend
from strategies.macd import MACDMomentum
from strategies.rsi import RSIRebound
from strategies.swing import SwingPlan

STRATEGIES = {
    "swing": SwingPlan,
    "ma_trend": MATrend,
    "macd": MACDMomentum,
    "rsi": RSIRebound,
    "confluence": Confluence,
    "buy_hold": BuyAndHold,
}

__all__ = ["STRATEGIES"]
