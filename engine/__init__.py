"""crwv-backtest: the engine, one subpackage per stage (see docs/architecture.md).

The Python API is one module, :mod:`engine.api` (docs/api.md)::

    import engine.api as bt
    bt.backtest("ma_trend", mode="cross", fast=10, slow=50)

It is reached from here as ``engine.api`` (loaded on first use: importing ``engine``, as every
command does, loads nothing else). Its functions are not copied to this namespace because two of
their names are stage packages: ``engine.backtest`` (the harness) and ``engine.sweep``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "api":
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    # engine.api imports every stage below it (~1 s; `import engine` alone: 0.1 s): on first use
    import engine.api  # (not `from engine import api`: that asks this hook again)

    return engine.api
