"""The Python API: backtests, comparisons, sweeps and walk-forwards from a notebook or a script.

::

    import engine.api as bt

    res = bt.backtest("ma_trend", mode="cross", fast=10, slow=50)   # CRWV, the data dir
    res.metrics["sharpe"], res.trades, res.fills, res.equity
    res.plot()                                           # interactive (plotly) figure
    bt.compare(["ma_trend", "macd", "buy_hold"]).metrics
    sw = bt.sweep("ma_trend", grid={"mode": "cross", "fast": range(5, 30, 5), "slow": [50, 100]},
                  constraints=["fast < slow"])
    sw.best, sw.dsr, sw.pbo, sw.heatmap("fast", "slow"), sw.rerun_best()

``crwv-bt run`` and ``crwv-bt compare`` call :func:`compare` (one path, not two); the run folder
they write is :meth:`Comparison.write`. ``crwv-bt sweep`` calls
:func:`engine.api.sweeps.ranked_sweep` (as :func:`sweep` does) and ``crwv-bt walkforward``
:func:`engine.api.sweeps.walkforward`. The code lives in two modules of this package:
:mod:`engine.api.backtests` (backtests, comparisons, the input checks) and :mod:`engine.api.sweeps`
(sweeps, walk-forwards), loaded when :func:`sweep` or :func:`walkforward` is first called (it
imports the sweep stage: numba's kernels, matplotlib, +0.7 s).

Inputs, checked here before anything runs (bad input raises a
:class:`~engine.errors.UserError` whose one-line message says what to change):

* ``strategy``: a registered name (``"swing"``, see ``crwv-bt strategies``), a strategy class,
  a rule (:class:`engine.rules.Rule`, TOML text holding one rule, ``"FILE.toml"`` with one rule
  or ``"FILE.toml:NAME"``), or a rule ref ``rule:NAME@SHA12`` loaded in this process;
* ``prices``: None (``<data dir>/<TICKER>.csv``, as the CLI) or any daily OHLCV DataFrame: our
  lowercase layout, Yahoo's column names, or a yfinance download (``(Price, Ticker)``
  MultiIndex columns; with one ticker its symbol becomes ``ticker``);
* costs: ``cash``, ``commission`` (per share), ``commission_min``, ``commission_max`` (fraction
  of the value), ``slippage`` (fraction) and ``fractional``, or a whole ``costs=Costs(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import checks
from engine.api.backtests import (
    DEFAULT_CASH,
    Comparison,
    Result,
    backtest,
    bands_frame,
    compare,
    make_costs,
    mc_settings,
    price_window,
    strategy_class,
    strategy_config,
)


def sweep(strategy: Any, grid: Mapping[str, Any], *args: Any, **options: Any) -> Any:
    """Run every combination of ``grid`` and rank it: :func:`engine.api.sweeps.sweep` (its
    arguments, and the :class:`~engine.api.sweeps.SweepResult` it returns, are documented there
    and in docs/api.md)."""
    _check_options(options)
    # The sweep stage loads numba's kernels and matplotlib (+0.7 s, see engine/cli/sweep_cmd.py):
    # imported when a sweep runs, so backtest() and `crwv-bt run` never pay for it.
    from engine.api import sweeps as api_sweep

    return api_sweep.sweep(strategy, grid, *args, **options)


def walkforward(strategy: Any, grid: Mapping[str, Any], *args: Any, **options: Any) -> Any:
    """Walk-forward optimisation of ``grid``: :func:`engine.api.sweeps.walkforward`."""
    _check_options(options)
    # the sweep stage, loaded when used (see sweep above)
    from engine.api import sweeps as api_sweep

    return api_sweep.walkforward(strategy, grid, *args, **options)


def _check_options(options: Mapping[str, Any]) -> None:
    """The keyword options of :func:`sweep` / :func:`walkforward` checked before the sweep stage
    loads (the others are checked in :mod:`engine.api.sweeps`)."""
    if "min_trades" in options:
        checks.min_trades(options["min_trades"], f"min_trades={options['min_trades']!r}")


__all__ = [
    "DEFAULT_CASH",
    "Comparison",
    "Result",
    "backtest",
    "bands_frame",
    "compare",
    "make_costs",
    "mc_settings",
    "price_window",
    "strategy_class",
    "strategy_config",
    "sweep",
    "walkforward",
]
