"""Rule files: TOML, one table per rule, every rule checked before anything runs.

.. code-block:: toml

    [ema_rsi]
    description = "Close crosses above the 50-day EMA while RSI(14) > 50; 10% trailing stop"
    params = { len = 50, floor = 50 }
    help = { len = "EMA length, bars", floor = "RSI must be above this" }
    entry = "crosses_above(close, ema(close, len)) and rsi(close, 14) > floor"
    exit = "close < ema(close, len)"
    trailing_stop = 0.10
    max_bars = 20

Keys: ``entry`` (required), ``exit`` (required unless a protective order can close the trade;
write ``exit = "false"`` for a rule that never sells), ``description``, ``params`` (name ->
number or true/false: the defaults; declared here once, the CLI, sweeps and reports discover
them), ``help`` (name -> one line shown next to the parameter), the protective orders of
:mod:`engine.rules.rule` (a number, or the name of a parameter so that it can be swept), and
``stand_aside`` (sessions to be flat before each earnings report: the rule then has the
parameters ``stand_aside`` and ``earnings`` of every long/flat strategy; see
:mod:`strategies.rule`).
"""

from __future__ import annotations

import hashlib
import keyword
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ParamError
from engine.rules.expr import LITERALS, RuleError, parse, suggest
from engine.rules.functions import FUNCTIONS, PRICES
from engine.rules.rule import PROTECTIVE, SIDES, Rule
from engine.sizing import parse_sizing

KEYS = (
    "entry",
    "exit",
    "description",
    "params",
    "help",
    *PROTECTIVE,
    "stand_aside",
    "sizing",
    "side",
)
#: Parameters a rule with ``stand_aside`` gets (the option of every long/flat strategy).
ASIDE_PARAMS = ("stand_aside", "earnings")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RuleBook:
    """The rules of one file, in file order, and the file's identity."""

    path: str
    rules: dict[str, Rule]
    sha256: str

    def get(self, name: str) -> Rule:
        """The rule called ``name``, or a :class:`RuleError` with a hint."""
        if name in self.rules:
            return self.rules[name]
        raise RuleError(
            f"{self.path}: no rule {name!r}{suggest(name, list(self.rules))}; "
            f"rules in this file: {', '.join(self.rules)}"
        )


def load_rules(path: str | Path) -> RuleBook:
    """Read and check every rule of a TOML file.

    Raises
    ------
    RuleError
        a missing or unreadable file, invalid TOML, or any rule that does not check out
        (one line: the file, the rule, the key and what to change).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise RuleError(f"{p}: rule file not found; check the --rules path") from None
    except OSError as exc:
        raise RuleError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleError(f"{p}: not UTF-8 text; save the rule file as UTF-8") from None
    return RuleBook(str(p), parse_rules(text, str(p)), hashlib.sha256(raw).hexdigest())


def parse_rules(text: str, source: str = "<rules>") -> dict[str, Rule]:
    """Rules from TOML text (``source`` names it in messages)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML ({exc}); fix the syntax") from None
    except RecursionError:
        raise RuleError(f"{source}: not valid TOML (nested too deeply); fix the syntax") from None
    if not doc:
        raise RuleError(f'{source}: no rules; add a table like [my_rule] with entry = "..."')
    return {name: rule_from_table(name, table, source) for name, table in doc.items()}


def rule_from_table(name: str, table: Any, source: str = "<rules>") -> Rule:
    """One checked :class:`Rule` from its TOML table."""
    where = f"{source}: [{name}]"
    if not _NAME.match(name):
        raise RuleError(
            f"{where}: rule names are letters, digits and _ (not starting with a digit)"
        )
    if not isinstance(table, dict):
        raise RuleError(f'{where} must be a table with entry = "..." (and exit = "...")')
    extra = [k for k in table if k not in KEYS]
    if extra:
        raise RuleError(
            f"{where}: unknown key {extra[0]!r}{suggest(extra[0], list(KEYS))}; keys: {', '.join(KEYS)}"
        )
    params = _params(where, table.get("params", {}))
    helps = _help(where, table.get("help", {}), params)
    if "entry" not in table:
        raise RuleError(f'{where}: no entry; add entry = "..." (e.g. "close > sma(close, 20)")')
    entry = _condition(where, "entry", table["entry"], params)
    exit_ = _condition(where, "exit", table["exit"], params) if "exit" in table else None
    orders = {k: _order(where, k, table[k], params) for k in PROTECTIVE if k in table}
    if exit_ is None and not any(v != 0 for v in orders.values()):
        raise RuleError(
            f'{where}: no way out of a trade; add exit = "..." or a protective order '
            '(stop_loss, take_profit, trailing_stop, max_bars, atr_stop), or exit = "false" to hold'
        )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"{where}: description must be text")
    aside = _stand_aside(where, table.get("stand_aside"))
    sizing = _sizing(where, table.get("sizing", ""), orders)
    side = table.get("side", "long")
    if side not in SIDES:
        raise RuleError(f'{where}: side = {side!r}; use "long" or "short"')
    rule = Rule(name, entry, exit_, params, description, helps, orders, source, aside, sizing, side)
    problems = rule.check_params(params)
    if problems:
        raise RuleError(f"{where}: with the default parameters, {problems[0]}")
    return rule


def _sizing(where: str, raw: Any, orders: dict[str, Any]) -> str:
    """The rule's ``sizing`` (engine.sizing), canonical; risk sizing needs a stop order."""
    if raw == "":
        return ""
    if not isinstance(raw, str):
        raise RuleError(f'{where}: sizing must be text, e.g. sizing = "risk:0.01"')
    try:
        sizing = parse_sizing(raw)
    except ParamError as exc:
        raise RuleError(f"{where}: {str(exc).replace('--sizing', 'sizing')}") from None
    if sizing.needs_stop and not any(orders.get(k, 0) != 0 for k in ("stop_loss", "trailing_stop")):
        raise RuleError(
            f'{where}: sizing = "{raw}" needs a stop to measure the risk to; add stop_loss or '
            "trailing_stop, or size with fraction:, fixed: or shares:"
        )
    return sizing.text()


def _params(where: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: params must be a table, e.g. params = {{ len = 50 }}")
    reserved = {*PRICES, *FUNCTIONS, *LITERALS}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not _NAME.match(key) or keyword.iskeyword(key):
            raise RuleError(
                f"{where}: parameter name {key!r} must be a plain word (letters, digits, _)"
            )
        if key in reserved:
            raise RuleError(f"{where}: parameter {key!r} shadows a price or function; rename it")
        if key in ASIDE_PARAMS:
            raise RuleError(
                f"{where}: parameter {key!r} is reserved for standing aside before earnings; "
                "write stand_aside = N as a key of the rule (it becomes the parameter)"
            )
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise RuleError(f"{where}: parameter {key} = {value} must be a finite number")
            out[key] = value
        else:
            raise RuleError(
                f"{where}: parameter {key} = {value!r} must be a number or true/false "
                "(a rule's parameters are numbers it compares, periods and switches)"
            )
    return out


def _stand_aside(where: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise RuleError(
            f"{where}: stand_aside = {raw!r} must be a whole number of sessions >= 0 "
            "(e.g. 2: flat at the closes of the 2 sessions before each earnings report; 0 = off)"
        )
    return raw


def _help(where: str, raw: Any, params: dict[str, Any]) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise RuleError(
            f'{where}: help must be a table of text, e.g. help = {{ len = "EMA length" }}'
        )
    for key in raw:
        if key not in params:
            raise RuleError(
                f"{where}: help for unknown parameter {key!r}{suggest(key, list(params))}"
            )
    return dict(raw)


def _condition(where: str, key: str, raw: Any, params: dict[str, Any]):  # noqa: ANN202
    if not isinstance(raw, str):
        raise RuleError(f'{where}: {key} must be text, e.g. {key} = "close > sma(close, 20)"')
    node = parse(raw, params, f"{where} {key}")
    if node.vtype != "bool":
        raise RuleError(
            f"{where} {key}: {raw.strip()!r} is a number, not a condition; compare it, e.g. "
            f"{raw.strip()} > 0"
        )
    return node


def _order(where: str, key: str, raw: Any, params: dict[str, Any]) -> float | str:
    if isinstance(raw, str):
        name = raw.strip()
        if name not in params:
            raise RuleError(
                f"{where}: {key} = {raw!r} is not a parameter{suggest(name, list(params))}; "
                "give a number or the name of a parameter"
            )
        if isinstance(params[name], bool):
            raise RuleError(
                f"{where}: {key} = {raw!r} is a true/false parameter; it needs a number"
            )
        return name
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise RuleError(f"{where}: {key} = {raw!r} must be a number or a parameter name")
    return raw
