"""Evaluation engines for sweeps: one explicit table (:data:`ENGINES`), chosen in one place.

An engine scores many parameter combinations of one strategy on one price window. It takes an
:class:`EngineInput` (the signature every engine shares, written once) and returns one
:data:`Outcome` per parameter dict: ``(metrics, returns)``, the
:func:`engine.analysis.metrics.compute_metrics` values as a plain dict keyed by
:data:`engine.analysis.metrics.METRIC_KEYS`, and the equity curve's daily simple returns as a
float32 array of ``len(prices) - 1`` values (one per bar after the first).

* ``backtrader``: each combination is :func:`engine.backtest.harness.run_backtest` plus
  ``compute_metrics`` against the same buy-and-hold run, exactly as ``crwv-bt run`` scores it,
  so a sweep row and a single run agree to the last bit.
* ``fast``: the compiled kernels of :mod:`engine.fast` (the same fill rules, sizing, costs and
  metrics, checked against the harness by ``tests/fast/test_fast_equivalence.py``); whole
  shares only; it runs its own threads, in large chunks.

:func:`default_engine` picks the first engine of :data:`PREFERRED` that covers a strategy;
:func:`get_engine` checks a requested one. To add an engine, write an
``evaluate(EngineInput) -> list[Outcome]`` function and add a row to :data:`ENGINES`: there is
no other list of engines, and importing a module registers nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.metrics import METRIC_KEYS, compute_metrics, plain_columns
from engine.analysis.returns import daily_returns
from engine.backtest.harness import run_backtest
from engine.data.fingerprint import fingerprint
from engine.errors import ParamError
from engine.fast import scope as fast_scope
from engine.params import suggest
from engine.result import Costs
from strategies import STRATEGIES, lookup

Outcome = tuple[dict[str, Any], np.ndarray]


@dataclass(frozen=True)
class Scores:
    """Many :data:`Outcome` s column by column: what an engine may return instead of a list.

    ``columns`` maps every :data:`~engine.analysis.metrics.METRIC_KEYS` entry to one value per
    combination: a list of the Python scalars ``compute_metrics`` gives (NaN as a float), or a
    numpy array of them (:func:`engine.fast.api.metrics_arrays`: float64, int64); ``returns`` is
    the ``combinations x (bars - 1)`` float32 matrix of daily returns. Iterating gives the same
    ``(metrics, returns)`` pairs as a list of outcomes; the sweep store writes the columns as
    they are (no dict per combination). ``same``, when the engine knows it, gives per
    combination the row whose outcome its own is a copy of (an input the engine ran once), so
    that the store hashes each outcome once (:meth:`engine.sweep.store.Batch.prepare`).
    """

    columns: dict[str, Any]  # list or numpy array per metric
    returns: np.ndarray
    same: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.returns.shape[0])

    def __iter__(self) -> Iterator[Outcome]:
        columns = plain_columns(self.columns)
        keys = list(columns)
        rows = zip(*columns.values(), strict=True)
        for values, ret in zip(rows, self.returns, strict=True):
            yield dict(zip(keys, values, strict=True)), ret

    @classmethod
    def of(cls, outcomes: Scores | list[Outcome], bars: int) -> Scores:
        """``outcomes`` as :class:`Scores` (a list of outcomes is transposed; ``bars`` sizes an
        empty returns matrix)."""
        if isinstance(outcomes, Scores):
            return outcomes
        columns: dict[str, list[Any]] = {k: [] for k in METRIC_KEYS}
        for metrics, _ in outcomes:
            for key, col in columns.items():
                col.append(metrics.get(key))
        width = max(bars - 1, 0)
        returns = np.empty((len(outcomes), width), dtype=np.float32)
        for i, (_, ret) in enumerate(outcomes):
            returns[i] = np.asarray(ret, dtype=np.float32)
        return cls(columns, returns)


@dataclass(frozen=True)
class EngineInput:
    """What an engine scores: combinations of one strategy on one window, with the run settings.

    ``params_list`` holds *resolved* parameter dicts; ``data_fp`` is the window's fingerprint
    (computed once by the caller); ``benchmark`` the SPY adjusted close for alpha/beta, or None;
    ``jobs`` the threads of an engine that runs its own (None: every CPU).
    """

    strategy: str
    params_list: list[dict[str, Any]]
    prices: pd.DataFrame
    costs: Costs
    cash: float
    fractional: bool = False
    ticker: str = "CRWV"
    data_fp: dict[str, Any] | None = None
    benchmark: pd.Series | None = None
    jobs: int | None = None


Evaluate = Callable[[EngineInput], "list[Outcome] | Scores"]


@dataclass(frozen=True)
class EngineSpec:
    """One engine and how the sweep drives it.

    ``covers(strategy)``: it handles that strategy; ``fractional``: it handles ``--fractional``;
    ``chunk``: combinations per task it works best with (None: the sweep's default);
    ``threaded``: it parallelises itself with threads and takes ``jobs`` (the local backend
    then runs it in the sweep's own process).
    """

    evaluate: Evaluate
    covers: Callable[[str], bool] = lambda strategy: True
    fractional: bool = True
    chunk: int | None = None
    threaded: bool = False


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
    key = (data_fp["sha256"], costs, float(cash), bool(fractional), ticker)
    if key not in _BUY_HOLD:
        run = run_backtest(
            STRATEGIES["buy_hold"],
            prices,
            name="buy_hold",
            cash=cash,
            costs=costs.benchmark(),
            fractional=fractional,
            ticker=ticker,
            data_fp=data_fp,
        )
        _BUY_HOLD[key] = run.equity
        while len(_BUY_HOLD) > _BUY_HOLD_MAX:
            _BUY_HOLD.popitem(last=False)
    return _BUY_HOLD[key]


def returns_on(equity: pd.Series, index: pd.Index, cash: float) -> np.ndarray:
    """:func:`daily_returns` on ``index`` as float32 (bars before the first record hold ``cash``)."""
    if not equity.index.equals(index):
        equity = equity.reindex(index).ffill().fillna(cash)
    return daily_returns(equity).to_numpy(dtype=np.float32)


def plain_metrics(metrics: pd.Series) -> dict[str, Any]:
    """A metrics Series as a dict of Python scalars (NaN and inf kept as floats)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        out[str(key)] = value.item() if isinstance(value, np.generic) else value
    return out


def evaluate_backtrader(inp: EngineInput) -> list[Outcome]:
    """Score each parameter dict with the backtrader harness (see the module docstring)."""
    cls = lookup(inp.strategy)
    fp = inp.data_fp or fingerprint(inp.prices, inp.ticker)
    bh = buy_hold_equity(
        inp.prices, inp.costs, inp.cash, fractional=inp.fractional, ticker=inp.ticker, data_fp=fp
    )
    out: list[Outcome] = []
    for params in inp.params_list:
        run = run_backtest(
            cls,
            inp.prices,
            params,
            cash=inp.cash,
            costs=inp.costs,
            fractional=inp.fractional,
            ticker=inp.ticker,
            data_fp=fp,
        )
        metrics = compute_metrics(
            run.equity, run.trades, position=run.position, buy_hold=bh, benchmark=inp.benchmark
        )
        out.append((plain_metrics(metrics), returns_on(run.equity, inp.prices.index, inp.cash)))
    return out


# ------------------------------------------------------------------------------------ fast


def evaluate_fast(inp: EngineInput) -> Scores:
    """Score the combinations with the compiled kernels, on ``inp.jobs`` threads.

    Same results as :func:`evaluate_backtrader` (the equivalence suite checks fills and every
    metric); ``fractional=True`` is not covered. The result is columnar (:class:`Scores`):
    the kernels' metrics matrix and returns go to the store without a dict per combination.
    """
    if not fast_scope.supports(inp.strategy, fractional=inp.fractional):
        why = "fractional shares" if inp.fractional else f"strategy {inp.strategy!r}"
        raise ParamError(f"the fast engine does not cover {why}; use --engine backtrader")
    if not inp.params_list:
        return Scores.of([], len(inp.prices))
    # the kernels (numba) are imported by the first sweep that runs them, not by every command
    from engine.fast import api as fast_api

    metrics: list[np.ndarray] = []
    returns: list[np.ndarray] = []
    same: list[np.ndarray] = []
    for chunk in fast_api.evaluate_arrays(
        inp.strategy,
        fast_api.columns_from_dicts(inp.params_list),
        inp.prices,
        inp.costs,
        inp.cash,
        benchmark=inp.benchmark,
        want_returns=True,
        data_key=inp.data_fp.get("sha256") if inp.data_fp else None,
        jobs=inp.jobs,
    ):
        assert chunk.returns is not None
        metrics.append(chunk.metrics)
        returns.append(chunk.returns)
        rows = np.arange(chunk.stop - chunk.start) if chunk.same is None else chunk.same
        same.append(rows + chunk.start)
    matrix = metrics[0] if len(metrics) == 1 else np.concatenate(metrics)
    rets = returns[0] if len(returns) == 1 else np.concatenate(returns)
    return Scores(fast_api.metrics_arrays(matrix, inp.prices), rets, np.concatenate(same))


# ------------------------------------------------------------------------------------ the table

#: Every engine, by the name ``--engine`` takes (``backtrader`` first in messages).
ENGINES: dict[str, EngineSpec] = {
    "backtrader": EngineSpec(evaluate_backtrader),
    # whole shares only; big chunks (a compiled call scores thousands a second); own threads
    "fast": EngineSpec(
        evaluate_fast, covers=fast_scope.supports, fractional=False, chunk=8192, threaded=True
    ),
}
#: The default engine: the first of these that covers the strategy (and the share sizing).
PREFERRED = ("fast", "backtrader")


def default_engine(strategy: str, fractional: bool = False) -> str:
    """The first engine of :data:`PREFERRED` that covers ``strategy`` (``fast`` when it can)."""
    for name in PREFERRED:
        spec = ENGINES.get(name)
        if spec is not None and spec.covers(strategy) and (spec.fractional or not fractional):
            return name
    return "backtrader"


def get_engine(name: str, strategy: str | None = None, fractional: bool = False) -> EngineSpec:
    """The engine called ``name``; a :class:`ParamError` for an unknown one or one that does
    not cover ``strategy`` (or fractional shares, with ``fractional``)."""
    if name not in ENGINES:
        names = list(ENGINES)
        raise ParamError(
            f"unknown engine {name!r}{suggest(name, names)}; available: {', '.join(names)}"
        )
    spec = ENGINES[name]
    if strategy is not None and not spec.covers(strategy):
        raise ParamError(
            f"engine {name!r} does not cover strategy {strategy!r}; use --engine backtrader"
        )
    if fractional and not spec.fractional:
        raise ParamError(f"engine {name!r} does not cover --fractional; use --engine backtrader")
    return spec
