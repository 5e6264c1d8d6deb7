"""The rule language: trading rules written in a text file, checked, run by both engines.

* :mod:`engine.rules.functions` - the functions, their definitions and warm-ups (the reference);
* :mod:`engine.rules.expr` - expressions parsed with ``ast`` against a whitelist;
* :mod:`engine.rules.rule` - a rule: conditions, protective orders, parameters, warm-up;
* :mod:`engine.rules.load` - TOML rule files.

Nothing here imports backtrader or numba: the backtrader strategy is :mod:`strategies.rule`,
the compiled one :mod:`engine.fast`. See ``docs/rules.md``.
"""

from __future__ import annotations

from engine.rules.expr import Node, RuleError, parse
from engine.rules.functions import FUNCTIONS, PRICES, Function
from engine.rules.load import RuleBook, load_rules, parse_rules, rule_from_table
from engine.rules.rule import PROTECTIVE, Orders, Rule, scalar, series_warmup

__all__ = [
    "FUNCTIONS",
    "PRICES",
    "PROTECTIVE",
    "Function",
    "Node",
    "Orders",
    "Rule",
    "RuleBook",
    "RuleError",
    "load_rules",
    "parse",
    "parse_rules",
    "rule_from_table",
    "scalar",
    "series_warmup",
]
