"""Position sizing: how many shares an entry asks for (``--sizing``, a variant's or rule's ``sizing``).

A sizing is written ``KIND[:VALUE[:SPLIT]]`` and travels as that text in
:attr:`engine.result.Costs.sizing` (so every command, store key and engine that knows the costs
knows the sizing); :func:`parse_sizing` checks it and gives the numbers.

=================  ===============================================================================
``all_in``         every dollar of cash (the default: results and baselines made before sizing
                   existed are unchanged)
``fraction:F``     ``F`` (0 < F <= 1) of the account value at the signal's close
``fixed:D``        ``D`` dollars (> 0)
``shares:N``       ``N`` shares (a whole number >= 1)
``risk:F``         as many shares as lose ``F`` (0 < F < 1) of the account value at the signal's
                   close if the stop fills at its price: ``shares = floor(F * value / (entry -
                   stop))``, commissions and slippage at the stop not counted. Needs a stop (the
                   swing plan's, a rule's ``stop_loss`` / ``trailing_stop``, ``rsi``'s
                   ``stop_pct``); refused without one
=================  ===============================================================================

Signal entries (every long/flat strategy and rule) are sized at the signal's close: the entry
price is estimated as ``close * (1 + slippage)`` and, for ``risk``, the stop as that price times
``1 - d``, ``d`` being the strategy's stop distance (the tighter of a rule's stop-loss and
trailing fractions). An ATR stop (``atr_stop`` = M, a signal strategy's parameter or a rule's
key) sits M x ATR(:data:`STOP_ATR_PERIOD`) at the signal's close away from the fill, a real
stop order resting from the session after the fill; ``risk`` then takes that many dollars per
share as the risk (the smaller of the two distances when there is also a fractional stop).
Dollar modes (``all_in``, ``fraction``, ``fixed``) buy the largest whole
size whose slipped cost plus commission fits the dollars.

The swing plan's tranches share one budget: ``SPLIT`` is ``equal`` (the default: equal dollars per
tranche for the dollar modes, equal shares for ``shares``, equal risk for ``risk``) or ``shares``
(the same number of shares in every tranche). Risk per tranche is measured from its limit price,
the worst price it can fill at, to the plan's stop.

Cash only: a size the cash cannot cover is cut to what it covers, and the run notes it (as a
buy a gap-up made unaffordable is resized at the fill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

from engine.checks import LIMIT
from engine.errors import ParamError
from engine.result import Costs

KINDS = ("all_in", "fraction", "fixed", "shares", "risk")
SPLITS = ("equal", "shares")
#: kernel codes of the kinds and splits (the fast engine's cost vector carries them)
KIND_CODES = {k: i for i, k in enumerate(KINDS)}
SPLIT_CODES = {s: i for i, s in enumerate(SPLITS)}
DEFAULT = "all_in"
EXAMPLE = "all_in, fraction:0.5, fixed:25000, shares:100 or risk:0.01"
#: the ATR of an ``atr_stop`` (Wilder's, as backtrader's ``ATR`` and the rule language's ``atr``)
STOP_ATR_PERIOD = 14


@dataclass(frozen=True)
class Sizing:
    """A parsed sizing: ``kind`` (one of :data:`KINDS`), ``value`` and the tranche ``split``."""

    kind: str = DEFAULT
    value: float = 0.0
    split: str = "equal"

    def text(self) -> str:
        """The canonical text (``risk:0.01``; ``:shares`` only when it is not the default)."""
        if self.kind == DEFAULT:
            return DEFAULT
        tail = "" if self.split == "equal" else f":{self.split}"
        return f"{self.kind}:{self.value:g}{tail}"

    @property
    def needs_stop(self) -> bool:
        return self.kind == "risk"


@cache
def parse_sizing(text: str) -> Sizing:
    """``"risk:0.01"`` -> :class:`Sizing`; a :class:`ParamError` naming what is wrong otherwise."""
    raw = str(text).strip()
    parts = [p.strip() for p in raw.split(":")]
    kind = parts[0]
    if kind not in KINDS:
        raise ParamError(f"--sizing {raw!r}: unknown kind {kind!r}; use {EXAMPLE}")
    if len(parts) > 3:
        raise ParamError(f"--sizing {raw!r}: write KIND:VALUE[:SPLIT], e.g. risk:0.01:shares")
    split = parts[2] if len(parts) == 3 else "equal"
    if split not in SPLITS:
        raise ParamError(
            f"--sizing {raw!r}: tranche split {split!r}; use {' or '.join(SPLITS)} (e.g. risk:0.01:shares)"
        )
    if kind == DEFAULT:
        if len(parts) > 1:
            raise ParamError(f"--sizing {raw!r}: all_in takes no value; write all_in")
        return Sizing()
    if len(parts) < 2 or not parts[1]:
        raise ParamError(f"--sizing {raw!r}: {kind} needs a value, e.g. {_example(kind)}")
    try:
        value = float(parts[1])
    except ValueError:
        raise ParamError(
            f"--sizing {raw!r}: {parts[1]!r} is not a number; e.g. {_example(kind)}"
        ) from None
    if not math.isfinite(value):
        raise ParamError(f"--sizing {raw!r}: the value must be a finite number")
    if abs(value) > LIMIT:  # engine.checks' one limit: past it a size loops on float rounding
        raise ParamError(f"--sizing {raw!r}: the value must be at most {LIMIT:g}")
    problem = {
        "fraction": "a fraction in (0, 1]" if not 0 < value <= 1 else "",
        "fixed": "dollars > 0" if value <= 0 else "",
        "shares": "a whole number of shares >= 1" if value < 1 or value != int(value) else "",
        "risk": "a fraction of the account in (0, 1), e.g. 0.01 for 1%"
        if not 0 < value < 1
        else "",
    }[kind]
    if problem:
        raise ParamError(f"--sizing {raw!r}: {kind} takes {problem}")
    return Sizing(kind, value, split)


def _example(kind: str) -> str:
    return {
        "fraction": "fraction:0.5",
        "fixed": "fixed:25000",
        "shares": "shares:100",
        "risk": "risk:0.01",
    }[kind]


def canonical(text: str) -> str:
    """The canonical text of a sizing (checked)."""
    return parse_sizing(text).text()


def effective(run_wide: str, own: str) -> str:
    """The sizing a configuration runs with: its own (a variant's or rule's ``sizing``) unless
    the run asks for one other than ``all_in`` (``--sizing`` wins)."""
    return own if own and run_wide == DEFAULT else run_wide


def sized_costs(strategy_cls: type, costs: Costs) -> Costs:
    """``costs`` with the sizing the strategy runs with (a rule's own unless ``--sizing`` says
    otherwise: :func:`engine.sizing.effective`)."""
    sizing = effective(costs.sizing, getattr(strategy_cls, "own_sizing", ""))
    return costs if sizing == costs.sizing else replace(costs, sizing=sizing)


def refuse_without_stop(sizing: Sizing, strategy: str, has_stop: bool) -> None:
    """The one-line refusal of ``risk`` sizing for a strategy with no stop to measure risk to."""
    if sizing.needs_stop and not has_stop:
        raise ParamError(
            f"--sizing {sizing.text()}: {strategy} has no stop to measure the risk to; give it one "
            "(--param atr_stop=2 for a stop 2 x ATR(14) from the entry; a rule's stop_loss, "
            "trailing_stop or atr_stop; rsi's stop_pct) or size with fraction:, fixed: or shares:"
        )


def signal_size(
    sizing: Sizing,
    close: float,
    value: float,
    cash: float,
    slippage: float,
    stop_distance: float,
    affordable: object,
    step: float = 1.0,
    stop_dollars: float = 0.0,
) -> tuple[float, float]:
    """(shares a signal entry asks for, shares the cash covers) at the signal's close.

    ``affordable(dollars)`` is the largest size whose slipped cost plus commission at ``close``
    fits ``dollars`` (the strategy's own rule, so that ``all_in`` is exactly today's size);
    ``step`` is 1 for whole shares; ``stop_dollars`` an ATR stop's distance (0: none). The
    entry is the smaller of the two; the caller notes a cut.
    """
    cover = affordable(cash)  # type: ignore[operator]
    kind = sizing.kind
    if kind == "all_in":
        return cover, cover
    if kind == "fraction":
        return affordable(sizing.value * value), cover  # type: ignore[operator]
    if kind == "fixed":
        return affordable(sizing.value), cover  # type: ignore[operator]
    if kind == "shares":
        return sizing.value, cover
    per_share = close * (1.0 + slippage) * stop_distance
    if stop_dollars > 0 and (per_share <= 0 or stop_dollars < per_share):
        per_share = stop_dollars
    if per_share <= 0:
        return 0.0, cover
    return math.floor(sizing.value * value / per_share / step) * step, cover


def tranche_sizes(
    sizing: Sizing,
    prices: list[float],
    stop: float,
    value: float,
    affordable: object,
    step: float = 1.0,
) -> list[float]:
    """Shares each tranche of a ladder asks for (not ``all_in``: the plan keeps its own rule).

    ``prices`` are the limit prices (all above ``stop``), ``value`` the account value at the
    close the ladder is sent on, ``affordable(price, dollars)`` the strategy's whole-share rule.
    The budget is the mode's (dollars, shares or dollars at risk); ``split`` shares it equally
    or as the same number of shares per tranche. The caller cuts each to the cash left.
    """
    n = len(prices)
    kind, split = sizing.kind, sizing.split
    if kind == "shares":
        total = sizing.value
        base = math.floor(total / n / step) * step
        extra = round((total - base * n) / step)
        return [base + (step if k < extra else 0.0) for k in range(n)]
    if kind == "risk":
        budget = sizing.value * value
        if split == "shares":
            per = sum(p - stop for p in prices)
            return [math.floor(budget / per / step) * step] * n
        return [math.floor(budget / n / (p - stop) / step) * step for p in prices]
    dollars = sizing.value * value if kind == "fraction" else sizing.value
    if split == "shares":
        return [math.floor(dollars / sum(prices) / step) * step] * n
    return [affordable(p, dollars / n) for p in prices]  # type: ignore[operator]
