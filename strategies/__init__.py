"""The registry: the one list of strategies. The engine never imports a strategy by name.

Rules (``strategies/rules/*.toml``, or any rule file) are strategies too: a loaded rule is
looked up by its ref, ``rule:NAME@SHA12`` (:meth:`engine.rules.Rule.ref`), through
:func:`lookup`, the one place a name becomes a class.
"""

from __future__ import annotations

from engine.errors import ParamError
from engine.params import suggest
from strategies.buy_hold import BuyAndHold
from strategies.confluence import Confluence
from strategies.ma_trend import MATrend
from strategies.macd import MACDMomentum
from strategies.rsi import RSIRebound
from strategies.rule import registered
from strategies.swing import SwingPlan

STRATEGIES = {
    "swing": SwingPlan,
    "ma_trend": MATrend,
    "macd": MACDMomentum,
    "rsi": RSIRebound,
    "confluence": Confluence,
    "buy_hold": BuyAndHold,
}

RULE_PREFIX = "rule:"


def lookup(name: str) -> type:
    """The class of a registered strategy, or of a rule loaded in this process (by its ref).

    Raises
    ------
    ParamError
        an unknown name (with a hint), or a rule ref that was never loaded here.
    """
    if name in STRATEGIES:
        return STRATEGIES[name]
    if name.startswith(RULE_PREFIX):
        cls = registered(name)
        if cls is None:
            raise ParamError(
                f"rule {name!r} is not loaded; give its file with --rules FILE --rule NAME"
            )
        return cls
    raise ParamError(
        f"unknown strategy {name!r}{suggest(name, list(STRATEGIES))}; known: "
        f"{', '.join(STRATEGIES)} (see `crwv-bt strategies`), or a rule with --rules FILE"
    )


__all__ = ["RULE_PREFIX", "STRATEGIES", "lookup"]
