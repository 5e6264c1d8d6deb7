"""The built-in signal strategies as signals of the one kernel (the classes stay the reference).

Each long/flat class of :mod:`strategies` (``buy_hold``, ``ma_trend``, ``macd``, ``rsi``,
``confluence``) is written here in the rule language, with its kernel switches, once per
*variant*: the text parameters (``mode``, ``exit_on``) and the switches that change the
conditions (``exit_below_mid``, ``fail_count``) pick the variant of each combination; the other
parameters are the program's parameters. The equivalence suite checks every variant against the
class on real CRWV and on synthetic paths, fill for fill.

Two internal functions cover what the language does not say: ``_run_above`` (``MATrend``'s
closes above the slow SMA since one at or below) and ``_early`` (``MACDMomentum``'s shrinking
histogram); the rest is the language's own (``crosses_above`` is backtrader's ``CrossOver > 0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from engine import params as params_mod
from engine.fast import signals as K
from engine.fast.program import ALL_FUNCTIONS, Program, Signal
from engine.rules import parse
from strategies import STRATEGIES

SIG = (
    K.REASON_SIGNAL,
    K.REASON_SIGNAL,
    K.REASON_STOP,
)  # SignalStrategy tags entries and exits "signal"


@dataclass(frozen=True)
class Builtin:
    """A class's program, its parameter columns and how a combination picks its variant."""

    program: Program
    variant: Callable[[dict[str, np.ndarray]], np.ndarray]


def _signal(
    params: dict,
    arm: int = K.ARM_NONE,
    reasons: tuple = SIG,
    orders: dict | None = None,
    **conds: str,
) -> Signal:
    nodes = {
        role: parse(text, params, f"built-in {role}", ALL_FUNCTIONS) for role, text in conds.items()
    }
    orders = dict(orders or {})
    if "atr_stop" in params:  # SignalStrategy's ATR stop: a protective stop of every class
        orders["atr_stop"] = "atr_stop"
    return Signal(**nodes, arm=arm, reasons=reasons, orders=orders)  # type: ignore[arg-type]


def _numeric(cls: type) -> dict:
    return {k: v for k, v in params_mod.declared(cls).items() if not isinstance(v, str)}


def _ma_trend(cls: type) -> Builtin:
    p = _numeric(cls)
    slow = "sma(close, slow)"
    run = f"_run_above(close, {slow}) >= hold_bars"
    rearm = f"close <= {slow}"  # a close at or below the slow SMA starts a new reclaim
    signals = [
        _signal(
            p, K.ARM_REARM, entry=f"{run} and close > {slow}", exit=f"close < {slow}", rearm=rearm
        ),
        _signal(
            p,
            K.ARM_REARM,
            entry=f"{run} and close > sma(close, fast)",
            exit="close < sma(close, fast)",
            rearm=rearm,
        ),
        _signal(
            p,
            entry=f"crosses_above(sma(close, fast), {slow})",
            exit=f"crosses_below(sma(close, fast), {slow})",
        ),
    ]

    def variant(cols: dict[str, np.ndarray]) -> np.ndarray:
        cross = np.asarray(cols["mode"]).astype(str) == "cross"
        fast = np.asarray(cols["exit_on"]).astype(str) == "fast"
        return np.where(cross, 2, np.where(fast, 1, 0)).astype(np.int64)

    return Builtin(Program(signals, list(p)), variant)


def _macd(cls: type) -> Builtin:
    p = _numeric(cls)
    line, sig = "macd(close, fast, slow)", "macd_signal(close, fast, slow, signal)"
    early = "_early(macd_hist(close, fast, slow, signal), early_bars) > 0"
    entry = f"(not above_zero or {line} > 0) and (crosses_above({line}, {sig}) or {early})"
    signals = [_signal(p, entry=entry, exit=f"crosses_below({line}, {sig})")]
    return Builtin(Program(signals, list(p)), lambda cols: _zeros(cols))


def _rsi(cls: type) -> Builtin:
    p = _numeric(cls)
    rsi = "rsi(close, period)"
    entry, exit_ = f"crosses_above({rsi}, oversold)", f"{rsi} >= overbought"
    stop = {"stop_loss": "stop_pct"}
    signals = [
        _signal(p, orders=stop, entry=entry, exit=exit_),
        _signal(p, orders=stop, entry=entry, exit=exit_, mark=f"{rsi} > mid", exit2=f"{rsi} < mid"),
    ]
    return Builtin(
        Program(signals, list(p)),
        lambda cols: np.asarray(cols["exit_below_mid"]).astype(bool).astype(np.int64),
    )


def _confluence(cls: type) -> Builtin:
    p = _numeric(cls)
    a = "close > sma(close, sma_period)"
    b = "macd(close, macd_fast, macd_slow) > macd_signal(close, macd_fast, macd_slow, macd_signal)"
    c = "rsi(close, rsi_period) > rsi_mid"
    entry = f"{a} and {b} and {c}"
    exits = [  # at least fail_count of the three checks fail
        f"not ({a} and {b} and {c})",
        f"not (({a} and {b}) or ({a} and {c}) or ({b} and {c}))",
        f"not ({a} or {b} or {c})",
    ]
    signals = [_signal(p, entry=entry, exit=e) for e in exits]
    return Builtin(
        Program(signals, list(p)),
        lambda cols: np.asarray(cols["fail_count"]).astype(np.int64) - 1,
    )


def _buy_hold(cls: type) -> Builtin:
    signal = _signal(
        {}, arm=K.ARM_ONCE, reasons=(K.REASON_ENTRY, K.REASON_SIGNAL, K.REASON_STOP), entry="true"
    )
    return Builtin(Program([signal], []), lambda cols: _zeros(cols))


def _zeros(cols: dict[str, np.ndarray]) -> np.ndarray:
    m = len(next(iter(cols.values()))) if cols else 1
    return np.zeros(m, dtype=np.int64)


MAKERS: dict[str, Callable[[type], Builtin]] = {
    "buy_hold": _buy_hold,
    "ma_trend": _ma_trend,
    "macd": _macd,
    "rsi": _rsi,
    "confluence": _confluence,
}


@cache
def builtin(name: str) -> Builtin:
    """The compiled signal of registered strategy ``name`` (one of :data:`MAKERS`)."""
    return MAKERS[name](STRATEGIES[name])
