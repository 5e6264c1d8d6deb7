"""The sweep half of the Python API: :func:`sweep` and :func:`walkforward` (docs/api.md).

Loaded by :func:`engine.api.sweep` / :func:`engine.api.walkforward` when first called: it imports
the sweep stage (numba, the compiled kernels, matplotlib). Everything here is the machinery
``crwv-bt sweep`` and ``crwv-bt walkforward`` run (:mod:`engine.sweep`): the same grid checks,
engines, resumable store, ranking, Deflated Sharpe Ratio and PBO; only the printing differs.

::

    import engine.api as bt
    sw = bt.sweep("ma_trend", grid={"mode": "cross", "fast": range(5, 30, 5), "slow": [50, 150]},
                  constraints=["fast < slow"], metric="sharpe")
    sw.frame.head()          # every combination, best first
    sw.best                  # the chosen row's parameters
    sw.dsr, sw.pbo           # overfitting statistics of the choice
    sw.heatmap("fast", "slow")
    sw.rerun_best()          # the winner as a full backtest (engine.api.Result)
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engine import params as params_mod
from engine.api import backtests as api
from engine.data.events import load_events
from engine.errors import ParamError
from engine.jobs.runner import grid_earnings, load_benchmark
from engine.result import Costs
from engine.sweep.charts import heatmap_figure
from engine.sweep.constraints import parse_constraints
from engine.sweep.engines import default_engine
from engine.sweep.grid import MAX_AXIS_VALUES, GridStream, build_combinations, parse_values
from engine.sweep.run import run_sweep_stream
from engine.sweep.selection import (
    Overfit,
    heatmap_table,
    metric_order,
    pick_heatmap_axes,
    summarise_view,
)
from engine.sweep.store import SweepStore
from engine.sweep.store_view import SweepView
from engine.sweep.tasks import SweepData, make_job
from engine.sweep.walkforward import WalkForward, make_folds, run_walkforward
from strategies import STRATEGIES


@dataclass(frozen=True)
class _Setup:
    """A checked sweep: strategy name (a rule's ref), class, axes, data, costs, settings."""

    name: str
    cls: type
    axes: dict[str, tuple[Any, ...]]
    data: SweepData
    costs: Costs
    cash: float
    fractional: bool
    engine: str
    constraints: tuple[Any, ...]


def _strategy_name(strategy: Any) -> tuple[str, type, tuple[str, ...]]:
    """``(name, class, rule texts)``: a sweep's workers look the strategy up by its name."""
    cls = api.strategy_class(strategy)
    rule = getattr(cls, "rule", None)
    if rule is not None:
        return rule.ref(), cls, (rule.text(),)
    for name, registered in STRATEGIES.items():
        if registered is cls:
            return name, cls, ()
    raise ParamError(
        f"{cls.__name__} is not registered: a sweep runs a registered strategy "
        f"({', '.join(STRATEGIES)}) or a rule (its workers look strategies up by name); "
        "add it to strategies/__init__.py"
    )


def grid_axes(cls: type, grid: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """``{key: values}``: each value a list/range of values, one value, or a ``--grid`` SPEC
    text (``"5:50:5"``, ``"5,10,20"``, ``"94,90,86|95,91,87"`` for a list parameter)."""
    if not isinstance(grid, Mapping) or not grid:
        raise ParamError(
            "grid: give a dict parameter -> values, e.g. grid={'fast': range(5, 30, 5)}"
        )
    declared = params_mod.declared(cls)
    axes: dict[str, tuple[Any, ...]] = {}
    for key, spec in grid.items():
        if key not in declared:
            raise ParamError(
                f"unknown grid key {key!r} for {params_mod.strategy_name(cls)}"
                f"{params_mod.suggest(str(key), declared)}; known: {', '.join(declared) or '(none)'}"
            )
        if isinstance(spec, str):
            axes[key] = parse_values(cls, key, spec)
            continue
        list_param = isinstance(declared[key], tuple)
        scalar = not isinstance(spec, Iterable) or (
            list_param and all(not isinstance(v, Iterable) for v in spec)
        )
        values = [spec] if scalar else list(spec)
        if not values:
            raise ParamError(f"grid {key!r} has no values")
        coerced = tuple(dict.fromkeys(params_mod.coerce(cls, key, v) for v in values))
        if len(coerced) > MAX_AXIS_VALUES:
            raise ParamError(
                f"grid {key!r} gives {len(coerced):,} values (max {MAX_AXIS_VALUES:,}); use fewer"
            )
        axes[key] = coerced
    return axes


def _setup(
    strategy: Any,
    grid: Mapping[str, Any],
    constraints: Iterable[str] | str | None,
    prices: pd.DataFrame | None,
    ticker: str | None,
    start: Any,
    end: Any,
    engine: str | None,
    metric: str,
    data_dir: Any,
    cash: float,
    costs: Costs | None,
    fractional: bool,
    cost_fields: dict[str, Any],
) -> _Setup:
    name, cls, texts = _strategy_name(strategy)
    axes = grid_axes(cls, grid)
    if isinstance(constraints, str):
        constraints = [constraints]
    checked = parse_constraints(list(constraints or []), cls)
    metric_order(metric)  # an unknown metric fails before anything runs
    if not isinstance(fractional, bool):
        raise ParamError(f"fractional={fractional!r} must be True or False")
    costs = api.make_costs(costs, cash=cash, **cost_fields)
    window, symbol = api.price_window(prices, ticker, start, end, data_dir=data_dir)
    # standing aside before earnings: the ticker's report dates, as the CLI's sweep
    axes = grid_earnings(cls, axes, lambda: load_events(symbol, data_dir), window)
    bench = load_benchmark(None if data_dir is None else str(data_dir), window)
    engine = engine or default_engine(name, fractional)
    return _Setup(
        name,
        cls,
        axes,
        SweepData(window, symbol, bench, texts),
        costs,
        float(cash),
        fractional,
        engine,
        checked,
    )


def _store_path(store: str | os.PathLike[str] | None, tmp: str) -> str:
    return str(store) if store is not None else str(Path(tmp) / "sweep.sqlite")


def _options(jobs: int | None, backend: str, progress: bool) -> dict[str, Any]:
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ParamError(f"jobs={jobs!r} must be a whole number >= 1 (or None: every core)")
    if backend not in ("local", "dask"):
        raise ParamError(f"backend={backend!r}: choose 'local' or 'dask'")
    return {"backend": backend, "jobs": jobs, "progress": progress}


@dataclass(eq=False)
class SweepResult:
    """A ranked sweep (:func:`sweep`'s result).

    Attributes
    ----------
    frame : every combination, best first: ``rank``, the parameters (a column each; a name
        shared with a metric is ``param_NAME``), every metric, ``eligible`` (enough trades)
    metric : the metric the ranking is by
    overfit : the Deflated Sharpe Ratio and the PBO with their inputs
        (:class:`engine.sweep.selection.Overfit`)
    warnings : what the terminal prints as ``warning:`` lines (few trades, short window, DSR,
        PBO, unused parameters, ties, distinct results)
    combinations : how many combinations ran
    distinct : how many distinct results they gave (identical daily returns and trades count
        once): the Deflated Sharpe Ratio's number of trials
    unused : grid parameters that never changed a result (given the others)
    top : the best ``top`` distinct results, as the terminal's table: each result once, with
        ``same`` = how many combinations share it and ``rank`` its place in :attr:`frame`
    """

    frame: pd.DataFrame
    metric: str
    overfit: Overfit
    warnings: list[str]
    strategy: str
    grid_names: dict[str, str]
    varying: list[str]
    setup: _Setup = field(repr=False)
    combinations: int = 0
    distinct: int = 0
    unused: list[str] = field(default_factory=list)
    top: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def best(self) -> dict[str, Any]:
        """The chosen combination's grid parameters (the first row of :attr:`frame`)."""
        row, cls = self.frame.iloc[0], self.setup.cls
        return {
            name: params_mod.coerce(cls, name, _plain(row[label]))
            for label, name in self.grid_names.items()
        }

    @property
    def best_metrics(self) -> pd.Series:
        """The chosen row: rank, parameters and metrics."""
        return self.frame.iloc[0]

    @property
    def dsr(self) -> float:
        """Deflated Sharpe Ratio of the chosen row: the probability that its Sharpe ratio beats
        the best of as many worthless trials (NaN when undefined; see ``overfit.notes``)."""
        d = self.overfit.dsr
        return float(d.dsr) if d is not None else math.nan

    @property
    def pbo(self) -> float:
        """Probability of backtest overfitting (CSCV): how often the in-sample best ranks
        below the median out of sample (NaN when not computed; see ``overfit.notes``)."""
        p = self.overfit.pbo
        return float(p.pbo) if p is not None else math.nan

    def heatmap(
        self, x: str | None = None, y: str | None = None, others: str = "best"
    ) -> pd.DataFrame:
        """``metric`` by ``y`` (rows) and ``x`` (columns); the other varying parameters fixed at
        the chosen row's values (``others="best"``) or aggregated (``mean``, ``median``, ``max``,
        ``min``). Default axes: those ``crwv-bt sweep`` picks."""
        names = list(self.grid_names.values())
        varying = [self.grid_names[c] for c in self.varying]
        wanted = f"{x},{y}" if x is not None or y is not None else None
        axes = pick_heatmap_axes(wanted, names, varying)
        if axes is None:
            raise ParamError("a heatmap needs two parameters that vary in the grid")
        label = {n: c for c, n in self.grid_names.items()}
        return heatmap_table(
            self.frame, label[axes[0]], label[axes[1]], self.metric, others, self.varying
        )

    def heatmap_figure(
        self, x: str | None = None, y: str | None = None, others: str = "best"
    ) -> Any:
        """:meth:`heatmap` drawn as the sweep folder's ``heatmap.png`` (a matplotlib Figure)."""
        table = self.heatmap(x, y, others)
        return heatmap_figure(table, str(table.columns.name), str(table.index.name), self.metric)

    def rerun_best(self, **overrides: Any) -> api.Result:
        """The chosen combination as a full backtest on the same window and costs (trades,
        fills, the report's chart); ``overrides`` change parameters or settings."""
        s = self.setup
        params = {**self.best, **overrides}
        return api.backtest(
            s.cls,
            s.data.prices,
            s.data.ticker,
            cash=s.cash,
            costs=s.costs,
            fractional=s.fractional,
            **params,
        )

    def _repr_html_(self) -> str:
        top = self.frame.head(10)
        return (
            f"<p><b>{self.strategy}</b>: {self.combinations:,} combinations ranked by "
            f"{self.metric}; DSR {self.dsr:.2f}, PBO {self.pbo:.0%}</p>"
            + top.to_html(max_cols=20)
            + "".join(f"<p>warning: {w}</p>" for w in self.warnings)
        )


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, list):
        return tuple(value)
    return value


def sweep(
    strategy: Any,
    grid: Mapping[str, Any],
    constraints: Iterable[str] | str | None = None,
    *,
    metric: str = "sharpe",
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    engine: str | None = None,
    store: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    backend: str = "local",
    random: int | None = None,
    seed: int = 0,
    min_trades: int = 0,
    pbo_splits: int = 16,
    pbo_max_trials: int = 2_000,
    cash: float = api.DEFAULT_CASH,
    costs: Costs | None = None,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    sizing: str | None = None,
    borrow_fee: float | None = None,
    fractional: bool = False,
    data_dir: Any = None,
    progress: bool = False,
    top: int = 10,
) -> SweepResult:
    """Run every combination of ``grid`` (``crwv-bt sweep``) and rank them by ``metric``.

    Parameters
    ----------
    strategy : a registered name or a rule (classes must be registered: workers look them up)
    grid : parameter -> values (a list, a range, one value, or a SPEC text ``"5:50:5"``)
    constraints : expressions every combination must satisfy, e.g. ``["fast < slow"]``
    metric : the ranking metric (default ``sharpe``; drawdown duration and volatility rank
        ascending)
    prices, ticker, start, end, cash, costs, commission, commission_min, commission_max,
        slippage, sizing, borrow_fee, fractional, data_dir : as :func:`engine.api.backtest`
    engine : ``"fast"`` (compiled) or ``"backtrader"``; default: fast where it covers the
        strategy
    store : a SQLite store to keep (and resume from); default a temporary one
    jobs : worker processes / fast-engine threads (default every core); backend ``local`` or
        ``dask``
    random, seed : run ``random`` combinations drawn with ``seed`` instead of all
    min_trades : only combinations with at least this many closed trades can be chosen
    pbo_splits, pbo_max_trials : the PBO's CSCV blocks and its sample cap (``--pbo-*``)
    top : distinct results in :attr:`SweepResult.top` (``--top``; the ties warning counts them)
    progress : show the progress bar

    Returns
    -------
    :class:`SweepResult`
    """
    opts = _options(jobs, backend, progress)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ParamError(f"top={top!r} must be a whole number >= 1")
    if not isinstance(pbo_splits, int) or pbo_splits < 2 or pbo_splits % 2:
        raise ParamError(f"pbo_splits={pbo_splits!r} must be even and at least 2")
    if not isinstance(pbo_max_trials, int) or pbo_max_trials < 2:
        raise ParamError(f"pbo_max_trials={pbo_max_trials!r} must be at least 2")
    s = _setup(
        strategy,
        grid,
        constraints,
        prices,
        ticker,
        start,
        end,
        engine,
        metric,
        data_dir,
        cash,
        costs,
        fractional,
        dict(
            commission=commission,
            commission_min=commission_min,
            commission_max=commission_max,
            slippage=slippage,
            sizing=sizing,
            borrow_fee=borrow_fee,
        ),
    )
    bars = len(s.data.prices)
    combos: Any
    if random is None:
        combos = GridStream(s.cls, s.axes, s.constraints, bars).scan()
        count = int(combos.count)
        chunks = combos.text_chunks(8_192)
    else:
        combos = build_combinations(
            s.cls, s.axes, s.constraints, sample=random, seed=seed, bars=bars
        )
        count = len(combos.params)
        chunks = (combos.params[lo : lo + 8_192] for lo in range(0, count, 8_192))
    job = make_job(
        s.data, s.name, costs=s.costs, cash=s.cash, fractional=s.fractional, engine=s.engine
    )
    ascending = metric_order(metric)
    with tempfile.TemporaryDirectory(prefix="crwv-sweep-") as tmp:
        with SweepStore(_store_path(store, tmp)) as db:
            run = run_sweep_stream(db, s.data, job, chunks, count, **opts)
            with SweepView(db, run.key_chunks()) as view:
                summary = summarise_view(
                    view,
                    run.digests,
                    metric,
                    grid_keys=list(s.axes),
                    bars=bars,
                    min_trades=min_trades,
                    pbo_splits=pbo_splits,
                    returns_of=db.returns_matrix,
                    pbo_max_trials=pbo_max_trials,
                    seed=seed,
                    top=top,
                )
                frame = pd.concat(list(view.ranked(metric, ascending, min_trades)))
    varying = [c for c, n in summary.grid_names.items() if len(s.axes[n]) > 1]
    return SweepResult(
        frame=frame,
        metric=metric,
        overfit=summary.overfit,
        warnings=list(summary.warnings),
        strategy=s.name,
        grid_names=dict(summary.grid_names),
        varying=varying,
        setup=s,
        combinations=summary.combinations,
        distinct=summary.trials.distinct if summary.trials else summary.combinations,
        unused=list(summary.trials.unused) if summary.trials else [],
        top=summary.ranked,
    )


def walkforward(
    strategy: Any,
    grid: Mapping[str, Any],
    constraints: Iterable[str] | str | None = None,
    *,
    train: int,
    test: int,
    anchored: bool = False,
    metric: str = "sharpe",
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    engine: str | None = None,
    store: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    backend: str = "local",
    random: int | None = None,
    seed: int = 0,
    min_trades: int = 0,
    cash: float = api.DEFAULT_CASH,
    costs: Costs | None = None,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    sizing: str | None = None,
    borrow_fee: float | None = None,
    fractional: bool = False,
    data_dir: Any = None,
    progress: bool = False,
) -> WalkForward:
    """Walk-forward optimisation (``crwv-bt walkforward``): per fold, sweep ``grid`` on the
    ``train`` bars, trade the winner on the next ``test`` bars; stitch the out-of-sample runs.

    Returns the :class:`engine.sweep.walkforward.WalkForward`: ``folds`` (each winner's
    parameters, in- and out-of-sample metric), ``equity`` (the stitched out-of-sample account),
    ``oos_metrics``, ``is_mean`` / ``oos_mean``, ``warnings``. Other arguments: :func:`sweep`.
    """
    opts = _options(jobs, backend, progress)
    for label, value in (("train", train), ("test", test)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParamError(f"{label}={value!r} must be a whole number of bars >= 1")
    s = _setup(
        strategy,
        grid,
        constraints,
        prices,
        ticker,
        start,
        end,
        engine,
        metric,
        data_dir,
        cash,
        costs,
        fractional,
        dict(
            commission=commission,
            commission_min=commission_min,
            commission_max=commission_max,
            slippage=slippage,
            sizing=sizing,
            borrow_fee=borrow_fee,
        ),
    )
    make_folds(len(s.data.prices), train, test, anchored)  # too short a window fails here
    combos = build_combinations(s.cls, s.axes, s.constraints, sample=random, seed=seed, bars=train)
    with tempfile.TemporaryDirectory(prefix="crwv-walkforward-") as tmp:
        with SweepStore(_store_path(store, tmp)) as db:
            return run_walkforward(
                db,
                s.data,
                s.name,
                combos.params,
                train=train,
                test=test,
                anchored=anchored,
                metric=metric,
                min_trades=min_trades,
                costs=s.costs,
                cash=s.cash,
                fractional=s.fractional,
                grid_keys=list(s.axes),
                engine=s.engine,
                **opts,
            )
