"""A rule: entry and exit conditions, protective orders and parameters with defaults.

A :class:`Rule` is plain data (the checked expressions of :mod:`engine.rules.expr`); both
engines run it (:mod:`strategies.rule` on backtrader, :mod:`engine.fast` compiled), and this
module holds what they share: the parameters' checks, the protective orders' values and the
warm-up.

Protective orders (all optional, each a number or the name of a parameter; 0 switches it off)
---------------------------------------------------------------------------------------------
``stop_loss``      a sell stop at ``entry fill price * (1 - stop_loss)``, 0 < stop_loss < 1
``take_profit``    a sell limit at ``entry fill price * (1 + take_profit)``, take_profit > 0
``trailing_stop``  a sell stop at ``highest close since the entry * (1 - trailing_stop)`` (the
                   entry fill price counts as the first close), raised at each close, never
                   lowered; with ``stop_loss`` too, one stop at the higher of the two levels
``max_bars``       sell at the open ``max_bars`` sessions after the entry fill (a market order
                   sent on the close before), a whole number >= 1
``atr_stop``       M: a sell stop at ``entry fill price - M x ATR(14)``, the ATR of the entry
                   signal's close (Wilder's, :data:`engine.sizing.STOP_ATR_PERIOD`); with
                   ``stop_loss`` / ``trailing_stop`` too, one stop at the highest level (tagged
                   ``atr stop`` when it is this one); M >= 0. The rule's warm-up is then at least
                   ATR(14)'s, 15 bars

Standing aside before earnings (optional)
-----------------------------------------
``stand_aside``    N sessions: flat at the close of each of the N sessions before an earnings
                   reaction session (a held position is sold at the open of the first, tagged
                   ``stand aside``; no entry fills inside the window). The rule's strategy then
                   has the parameters ``stand_aside`` (default N) and ``earnings`` (the reaction
                   sessions; ``crwv-bt`` fills them from ``data/events/<TICKER>.toml``), as every
                   long/flat strategy (:class:`strategies.base.SignalStrategy`).

Side
----
``side = "short"`` mirrors all of it: the entry sells short, the exit buys to cover, the stop
is a buy stop at ``fill * (1 + stop_loss)`` or ``lowest close since the entry * (1 +
trailing_stop)`` (the lower of the two, lowered at each close, never raised), the target a buy
limit at ``fill * (1 - take_profit)``. A short is covered at the next open when the account
falls under the maintenance margin (:data:`MAINTENANCE` of the short's value) on a close.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from engine.rules.expr import Node
from engine.rules.functions import FUNCTIONS, PERIOD
from engine.sizing import STOP_ATR_PERIOD

PROTECTIVE = ("stop_loss", "take_profit", "trailing_stop", "max_bars", "atr_stop")
SIDES = ("long", "short")
#: Reg T margin of a short: the initial requirement (50% of the short's value; with cash-only
#: sizing a short is never worth more than the cash, so it never binds) and the maintenance
#: requirement: equity under 30% of the short's value at a close covers it at the next open.
INITIAL_MARGIN = 0.5
MAINTENANCE = 0.3


@dataclass(frozen=True)
class Orders:
    """The protective orders of one parameter set (0 = off)."""

    stop_loss: float = 0.0
    take_profit: float = 0.0
    trailing_stop: float = 0.0
    max_bars: int = 0
    atr_stop: float = 0.0  # a multiple of ATR(14) from the entry fill


def scalar(node: Node, params: dict[str, Any]) -> float | bool:
    """Value of a constant expression (numbers and parameters only); ``x / 0`` is NaN."""
    k = node.kind
    if k in ("num", "bool"):
        return node.value  # type: ignore[return-value]
    if k == "param":
        return params[str(node.value)]  # type: ignore[no-any-return]
    vals = [scalar(a, params) for a in node.args]
    if k == "neg":
        return -float(vals[0])
    if k == "not":
        return not vals[0]
    if k == "and":
        return all(bool(v) for v in vals)
    if k == "or":
        return any(bool(v) for v in vals)
    a, b = float(vals[0]), float(vals[1])
    op = node.value
    if k == "arith":
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if b else math.nan
    return {
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
        "==": a == b,
        "!=": a != b,
    }[str(op)]


@dataclass(frozen=True)
class Rule:
    """One named rule, checked (see :func:`engine.rules.load.load_rules`)."""

    name: str
    entry: Node
    exit: Node | None
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    help: dict[str, str] = field(default_factory=dict)
    orders: dict[str, float | str] = field(default_factory=dict)
    source: str = ""
    stand_aside: int | None = None  # default sessions to stand aside (None: no such option)
    sizing: str = ""  # the rule's own position sizing (engine.sizing), "" = the run's
    side: str = "long"  # "long" or "short" (see the module docstring)

    # ---------------------------------------------------------------- structure
    def conditions(self) -> list[tuple[str, Node]]:
        """``[("entry", node), ("exit", node)]`` (exit left out when the rule has none)."""
        out = [("entry", self.entry)]
        if self.exit is not None:
            out.append(("exit", self.exit))
        return out

    def nodes(self) -> list[Node]:
        """Every node of every condition, parents first."""
        return [n for _, cond in self.conditions() for n in cond.walk()]

    # ---------------------------------------------------------------- one parameter set
    def order_values(self, params: dict[str, Any]) -> Orders:
        """The protective orders with ``params`` filled in (unchecked: see :meth:`check_params`)."""
        vals: dict[str, Any] = {}
        for key in PROTECTIVE:
            raw = self.orders.get(key, 0)
            vals[key] = params[raw] if isinstance(raw, str) else raw
        return Orders(
            float(vals["stop_loss"]),
            float(vals["take_profit"]),
            float(vals["trailing_stop"]),
            int(vals["max_bars"]),
            float(vals["atr_stop"]),
        )

    def check_params(self, params: dict[str, Any]) -> list[str]:
        """Problems with one parameter set: function periods and protective orders."""
        problems: list[str] = []
        for node in self.nodes():
            if node.kind != "call":
                continue
            fn = FUNCTIONS[str(node.value)]
            for arg, kind, label in zip(node.args, fn.kinds, fn.args, strict=True):
                if arg.series:
                    continue
                v = float(scalar(arg, params))
                if not math.isfinite(v):
                    problems.append(f"{node.text}: {label} = {arg.text} is not a finite number")
                elif kind == PERIOD and (v != int(v) or v < 1):
                    names = ", ".join(f"{p}={params[p]!r}" for p in arg.params())
                    problems.append(
                        f"{node.text}: {label} = {arg.text} gives {v:g}"
                        + (f" with {names}" if names else "")
                        + "; periods are whole numbers >= 1"
                    )
        problems += self._check_orders(params)
        return list(dict.fromkeys(problems))

    def _check_orders(self, params: dict[str, Any]) -> list[str]:
        out = []
        for key in PROTECTIVE:
            raw = self.orders.get(key, 0)
            v = params[raw] if isinstance(raw, str) else raw
            src = f"{key} = {raw}" + (f" ({v!r})" if isinstance(raw, str) else "")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                out.append(f"{src} must be a number")
            elif key in ("stop_loss", "trailing_stop") and not 0 <= v < 1:
                out.append(f"{src} must be a fraction in [0, 1), e.g. 0.1 for 10% below (0 = off)")
            elif key == "take_profit" and v < 0:
                out.append(f"{src} must be >= 0, e.g. 0.35 for 35% above the entry (0 = off)")
            elif key == "max_bars" and (v != int(v) or v < 0):
                out.append(f"{src} must be a whole number of sessions >= 0 (0 = off)")
            elif key == "atr_stop" and v < 0:
                out.append(
                    f"{src} must be >= 0, e.g. 2 for a stop 2 x ATR(14) from the entry (0 = off)"
                )
        return out

    def warmup(self, params: dict[str, Any]) -> int:
        """Bars up to and including the first close the rule is evaluated on.

        The largest warm-up of every series in ``entry`` and ``exit`` (1 for prices only; 0
        when neither condition reads a series, e.g. ``entry = "true"``: the first bar).
        Remembered per distinct value of the parameters it depends on (a sweep asks for each
        combination).
        """
        memo = self.__dict__.setdefault("_warmups", {})
        key = tuple(params[p] for p in self.period_params())
        if key not in memo:
            nodes = self.__dict__.setdefault("_node_warmups", {})
            warm = (series_warmup(n, params, nodes) for _, n in self.conditions())
            memo[key] = max(warm, default=0)
        if "atr_stop" in self.orders and self.order_values(params).atr_stop > 0:
            return max(int(memo[key]), STOP_ATR_PERIOD + 1)  # ATR(14)'s, as the function's
        return int(memo[key])

    def period_params(self) -> tuple[str, ...]:
        """The parameters a function's periods (or other number arguments) read."""
        cached = self.__dict__.get("_period_params")
        if cached is None:
            names = [
                p
                for node in self.nodes()
                if node.kind == "call"
                for arg in node.args
                if not arg.series
                for p in arg.params()
            ]
            cached = self.__dict__["_period_params"] = tuple(dict.fromkeys(names))
        return tuple(cached)

    # ---------------------------------------------------------------- identity and display
    def digest(self) -> str:
        """sha256 of what decides the fills: conditions, protective orders, parameter defaults
        and the rule's sizing (when it has one).

        The description and the parameter help are left out: rewording them moves nothing.
        """
        parts: dict[str, Any] = {
            "entry": self.entry.key(),
            "exit": self.exit.key() if self.exit is not None else None,
            "orders": {k: self.orders[k] for k in sorted(self.orders)},
            "params": {k: [type(v).__name__, v] for k, v in self.params.items()},
        }
        if self.stand_aside is not None:  # left out otherwise: older refs stay as they were
            parts["stand_aside"] = self.stand_aside
        if self.sizing:  # only when set: the refs of rules without one do not move
            parts["sizing"] = self.sizing
        if self.side != "long":
            parts["side"] = self.side
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def ref(self) -> str:
        """``rule:NAME@SHA12``: the strategy name a rule goes by in sweeps, stores and baselines."""
        return f"rule:{self.name}@{self.digest()[:12]}"

    def text(self) -> str:
        """The rule as it would be written in its TOML file (for reports)."""
        lines = [f"[{self.name}]"]
        if self.description:
            lines.append(f"description = {json.dumps(self.description)}")
        if self.params:
            inner = ", ".join(f"{k} = {_toml(v)}" for k, v in self.params.items())
            lines.append(f"params = {{ {inner} }}")
        lines.append(f'entry = "{self.entry.text}"')
        if self.exit is not None:
            lines.append(f'exit = "{self.exit.text}"')
        for key in PROTECTIVE:
            if key in self.orders:
                raw = self.orders[key]
                lines.append(f'{key} = "{raw}"' if isinstance(raw, str) else f"{key} = {raw!r}")
        if self.stand_aside is not None:
            lines.append(f"stand_aside = {self.stand_aside}")
        if self.sizing:
            lines.append(f'sizing = "{self.sizing}"')
        if self.side != "long":
            lines.append(f'side = "{self.side}"')
        return "\n".join(lines)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def series_warmup(node: Node, params: dict[str, Any], memo: dict | None = None) -> int:
    """Warm-up of ``node`` in bars (0 for a constant): see :mod:`engine.rules.functions`.

    ``memo`` (optional) remembers each function call's warm-up per value of its parameters.
    """
    if node.kind == "price":
        return 1
    if not node.series:
        return 0
    if node.kind != "call":
        return max(series_warmup(a, params, memo) for a in node.args)
    key = (node.key(), tuple(params[p] for p in node.params()))
    if memo is not None and key in memo:
        return int(memo[key])
    fn = FUNCTIONS[str(node.value)]
    w = [series_warmup(a, params, memo) for a in node.args]
    v = [math.nan if a.series else float(scalar(a, params)) for a in node.args]
    out = fn.warmup(w, v)
    if memo is not None:
        memo[key] = out
    return out
