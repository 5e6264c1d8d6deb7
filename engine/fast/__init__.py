"""The fast sweep engine: compiled kernels that reproduce the backtrader harness fill for fill.

Public API (see :mod:`engine.fast.api`):

* :func:`supports` - which strategies it covers (all built-in ones, whole-share sizing);
* :func:`evaluate` - the ``fast`` engine of :mod:`engine.sweep_engines` (registered on import);
* :func:`evaluate_arrays` - the batch API: parameter columns in, metric matrices out, streamed;
* :func:`simulate` - one combination with fills, trades, equity and metrics (tests, debugging).

Importing this package compiles nothing; the kernels are compiled (and cached on disk by numba)
on first use.
"""

from __future__ import annotations

from engine.fast.api import Chunk, evaluate, evaluate_arrays, metrics_dicts, supports
from engine.fast.kmetrics import NUM_KEYS
from engine.fast.trace import FastRun, simulate

__all__ = [
    "Chunk",
    "FastRun",
    "NUM_KEYS",
    "evaluate",
    "evaluate_arrays",
    "metrics_dicts",
    "simulate",
    "supports",
]


def _register() -> None:
    try:
        from engine.sweep_engines import register_engine
    except ImportError:  # the sweep module is optional for the kernels
        return
    # whole shares only; big chunks (a compiled call scores thousands a second); own threads
    register_engine("fast", evaluate, covers=supports, fractional=False, chunk=2048, threaded=True)


_register()
