"""Evaluation engines for sweeps: a name -> a function that scores many combinations at once.

An engine is any callable

.. code-block:: python

    evaluate(strategy, params_list, prices, costs, cash, **options) -> list[Outcome]

where ``strategy`` is a registry name (:data:`strategies.STRATEGIES`), ``params_list`` a list
of *resolved* parameter dicts, ``prices`` the validated window, and each :data:`Outcome` a pair
``(metrics, returns)``: the :func:`engine.metrics.compute_metrics` values as a plain dict keyed
by :data:`engine.metrics.METRIC_KEYS`, and the equity curve's daily simple returns as a float32
array of ``len(prices) - 1`` values (one per bar after the first). ``options`` are keyword-only:
``fractional`` (bool), ``ticker`` (str), ``data_fp`` (the window's fingerprint, computed once by
the caller) and ``benchmark`` (SPY adjusted close for alpha/beta, or None).

``backtrader`` is built in: each combination is :func:`engine.harness.run_backtest` plus
:func:`engine.metrics.compute_metrics` against the same buy-and-hold run, exactly as
``crwv-bt run`` scores it, so a sweep row and a single run agree to the last bit. Other engines
(the compiled ``fast`` one) call :func:`register_engine` when their module is imported; the
sweep imports :data:`ENGINE_MODULES` to find them, so no list of engines lives anywhere else.
"""

from __future__ import annotations

import importlib
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ParamError
from engine.result import Costs

Outcome = tuple[dict[str, Any], np.ndarray]

#: Modules that register an engine when imported (missing ones are skipped).
ENGINE_MODULES = ("engine.fast",)


#: ``evaluate(strategy, params_list, prices, costs, cash, **options) -> list[Outcome]``
Engine = Callable[..., list[Outcome]]


_ENGINES: dict[str, Engine] = {}
_COVERS: dict[str, Callable[[str], bool]] = {}
#: The default engine: the first of these that covers the strategy (and the share sizing).
PREFERRED = ("fast", "backtrader")


@dataclass(frozen=True)
class EngineInfo:
    """How the sweep should drive an engine.

    ``fractional``: it handles ``--fractional``; ``chunk``: combinations per task it works best
    with (None: the sweep's default); ``threaded``: it parallelises itself with threads and
    takes ``jobs=`` (the local backend then runs it in the sweep's own process).
    """

    fractional: bool = True
    chunk: int | None = None
    threaded: bool = False


_INFO: dict[str, EngineInfo] = {}


def register_engine(
    name: str,
    evaluate: Engine,
    covers: Callable[[str], bool] | None = None,
    *,
    fractional: bool = True,
    chunk: int | None = None,
    threaded: bool = False,
) -> None:
    """Make ``evaluate`` available as ``--engine name``.

    ``covers(strategy)`` says whether the engine handles that strategy (default: all); the
    keywords are its :class:`EngineInfo`.
    """
    _ENGINES[name] = evaluate
    _COVERS[name] = covers or (lambda strategy: True)
    _INFO[name] = EngineInfo(fractional, chunk, threaded)


def engine_info(name: str) -> EngineInfo:
    """How to drive engine ``name`` (defaults for one registered without keywords)."""
    return _INFO.get(name, EngineInfo())


def default_engine(strategy: str, fractional: bool = False) -> str:
    """The first engine of :data:`PREFERRED` that covers ``strategy`` (``fast`` when it can)."""
    names = available()
    for name in PREFERRED:
        covered = name in names and _COVERS[name](strategy)
        if covered and (engine_info(name).fractional or not fractional):
            return name
    return "backtrader"


_DISCOVERED: list[str] = []


def _discover() -> None:
    for module in ENGINE_MODULES:
        if module in _DISCOVERED:
            continue
        _DISCOVERED.append(module)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
        except Exception as exc:  # a half-written engine must not break --engine backtrader
            warnings.warn(
                f"{module} failed to import ({type(exc).__name__}: {exc}); its engine is unavailable",
                stacklevel=2,
            )


def available() -> list[str]:
    """Registered engine names (``backtrader`` first)."""
    _discover()
    return list(_ENGINES)


def get_engine(name: str, strategy: str | None = None, fractional: bool = False) -> Engine:
    """The engine called ``name``; a :class:`ParamError` for an unknown one or one that does
    not cover ``strategy`` (or fractional shares, with ``fractional``)."""
    from engine.params import suggest

    if name not in _ENGINES:  # look for engines in their modules only when needed
        _discover()
    names = list(_ENGINES)
    if name not in _ENGINES:
        raise ParamError(
            f"unknown engine {name!r}{suggest(name, names)}; available: {', '.join(names)}"
        )
    if strategy is not None and not _COVERS[name](strategy):
        raise ParamError(
            f"engine {name!r} does not cover strategy {strategy!r}; use --engine backtrader"
        )
    if fractional and not engine_info(name).fractional:
        raise ParamError(f"engine {name!r} does not cover --fractional; use --engine backtrader")
    return _ENGINES[name]


# ------------------------------------------------------------------------------------ backtrader

_BUY_HOLD: OrderedDict[tuple[Any, ...], pd.Series] = OrderedDict()
_BUY_HOLD_MAX = 64  # windows remembered per process (walk-forward folds, several costs)


def buy_hold_equity(
    prices: pd.DataFrame,
    costs: Costs,
    cash: float,
    *,
    fractional: bool,
    ticker: str,
    data_fp: dict[str, Any],
) -> pd.Series:
    """Equity of the buy-and-hold benchmark on this window, run once per process and cached."""
    from engine.harness import run_backtest
    from strategies import STRATEGIES

    key = (data_fp["sha256"], costs, float(cash), bool(fractional), ticker)
    if key not in _BUY_HOLD:
        run = run_backtest(
            STRATEGIES["buy_hold"],
            prices,
            name="buy_hold",
            cash=cash,
            costs=costs,
            fractional=fractional,
            ticker=ticker,
            data_fp=data_fp,
        )
        _BUY_HOLD[key] = run.equity
        while len(_BUY_HOLD) > _BUY_HOLD_MAX:
            _BUY_HOLD.popitem(last=False)
    return _BUY_HOLD[key]


def daily_returns(equity: pd.Series, index: pd.Index, cash: float) -> np.ndarray:
    """Daily simple returns on ``index`` as float32 (bars before the first record hold ``cash``)."""
    if not equity.index.equals(index):
        equity = equity.reindex(index).ffill().fillna(cash)
    values = equity.to_numpy(dtype=float)
    return (values[1:] / values[:-1] - 1.0).astype(np.float32)


def plain_metrics(metrics: pd.Series) -> dict[str, Any]:
    """A metrics Series as a dict of Python scalars (NaN and inf kept as floats)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        out[str(key)] = value.item() if isinstance(value, np.generic) else value
    return out


def evaluate_backtrader(
    strategy: str,
    params_list: list[dict[str, Any]],
    prices: pd.DataFrame,
    costs: Costs,
    cash: float,
    *,
    fractional: bool = False,
    ticker: str = "CRWV",
    data_fp: dict[str, Any] | None = None,
    benchmark: pd.Series | None = None,
) -> list[Outcome]:
    """Score each parameter dict with the backtrader harness (see the module docstring)."""
    from engine.data import fingerprint
    from engine.harness import run_backtest
    from engine.metrics import compute_metrics
    from strategies import STRATEGIES

    cls = STRATEGIES[strategy]
    fp = data_fp or fingerprint(prices, ticker)
    bh = buy_hold_equity(prices, costs, cash, fractional=fractional, ticker=ticker, data_fp=fp)
    out: list[Outcome] = []
    for params in params_list:
        run = run_backtest(
            cls,
            prices,
            params,
            cash=cash,
            costs=costs,
            fractional=fractional,
            ticker=ticker,
            data_fp=fp,
        )
        metrics = compute_metrics(
            run.equity, run.trades, position=run.position, buy_hold=bh, benchmark=benchmark
        )
        out.append((plain_metrics(metrics), daily_returns(run.equity, prices.index, cash)))
    return out


register_engine("backtrader", evaluate_backtrader)
