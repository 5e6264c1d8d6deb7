"""What the fast engine covers and how many threads it runs, without importing its kernels.

The sweep's engine table (:mod:`engine.sweep.engines`) asks which strategies the fast engine
covers to pick the default engine; a sweep the store already holds runs nothing, so it must not
pay for numba and the compiled kernels (~0.2-0.3 s of imports) to get that answer. This module
is the one home of the list: :data:`engine.fast.builtins.MAKERS` compiles a signal for each of
:data:`BUILTINS` (a test checks the two agree), :data:`SWING` has its own kernel, and every rule
(``rule:...``) is interpreted.
"""

from __future__ import annotations

import os

from strategies import RULE_PREFIX

#: registered strategies whose signal the fast engine compiles (engine/fast/builtins.py)
BUILTINS = ("buy_hold", "ma_trend", "macd", "rsi", "confluence")
SWING = "swing"  # the swing plan: a kernel of its own (engine/fast/swing.py)


def covers(strategy: str) -> bool:
    """True for the built-in strategies and every rule (the fast engine runs them all)."""
    return strategy == SWING or strategy in BUILTINS or strategy.startswith(RULE_PREFIX)


def supports(strategy: str, *, fractional: bool = False) -> bool:
    """True when the fast engine reproduces ``strategy``: every built-in strategy and every
    rule (by its ref), with whole-share sizing."""
    return covers(strategy) and not fractional


def default_jobs() -> int:
    """Threads for the compiled batches: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
