"""The sweep half of the Python API: :func:`sweep` and :func:`walkforward` (docs/api.md).

Loaded by :func:`engine.api.sweep` / :func:`engine.api.walkforward` when first called: it imports
the sweep stage (numba, the compiled kernels; matplotlib only to draw). ``crwv-bt sweep`` and
``crwv-bt walkforward`` call this module too (one path): :func:`ranked_sweep` checks a sweep's
inputs, builds its grid, finds or runs and records it in the store and ranks it in SQL, for
:func:`sweep` (which reads every row into :attr:`SweepResult.frame`) and for the CLI (which
prints and streams its files from the store); :func:`walkforward` is both's walk-forward.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
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
from engine.sweep.constraints import parse_constraints
from engine.sweep.engines import default_engine
from engine.sweep.grid import (
    MAX_AXIS_VALUES,
    GridStream,
    build_combinations,
    parse_grid,
    parse_values,
)
from engine.sweep.run import run_sweep_stream, sweep_spec
from engine.sweep.selection import (
    Overfit,
    SweepSummary,
    Trials,
    heatmap_table,
    metric_order,
    pick_heatmap_axes,
    summarise_view,
)
from engine.sweep.store import SweepStore
from engine.sweep.store_view import SweepView
from engine.sweep.tasks import SweepData, make_job
from engine.sweep.walkforward import FoldWindow, WalkForward, make_folds, run_walkforward
from strategies import STRATEGIES, lookup

#: parameter dicts per chunk handed to the store and the workers
CHUNK = 8_192


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
    constraint_texts: tuple[str, ...] = ()

    @property
    def rule(self) -> Any:
        """The :class:`engine.rules.Rule` a rule strategy runs (None for a registered one)."""
        return getattr(self.cls, "rule", None)


@dataclass
class SweepPlan:
    """A checked sweep about to run: what ``ready`` (the CLI's describe line) is shown.

    ``combos`` is a :class:`~engine.sweep.grid.GridStream` for a full grid (streamed; scanned,
    or restored from the store's record of it, by the time ``ready`` sees it) or the
    :class:`~engine.sweep.grid.Combinations` of ``random`` / a walk-forward; ``bars`` the
    window the combinations were checked against; ``options`` the run's (backend, jobs, ...);
    ``folds`` a walk-forward's folds."""

    setup: _Setup
    combos: Any
    bars: int
    options: dict[str, Any]
    folds: list[FoldWindow] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Runnable combinations."""
        combos = self.combos
        return int(combos.count) if hasattr(combos, "count") else len(combos.params)

    def chunks(self, size: int = CHUNK) -> Iterator[Any]:
        """The combinations' parameter dicts, ``size`` at a time (a stream's come with their
        canonical JSON)."""
        combos = self.combos
        if hasattr(combos, "text_chunks"):
            yield from combos.text_chunks(size)
            return
        for lo in range(0, len(combos.params), size):
            yield combos.params[lo : lo + size]


@dataclass
class RankedSweep:
    """A sweep run into its store and ranked there (what :func:`ranked_sweep` yields).

    ``summary`` ranks in SQL (only the top rows are in memory); ``view`` reads every row from
    the store while the ``with`` block lasts; ``added`` / ``already`` count the rows this run
    stored and those the store held before; ``heat`` the heatmap's pair (``heatmap`` or the two
    parameters that explain most of the metric's variance)."""

    plan: SweepPlan
    summary: SweepSummary
    view: SweepView
    added: int
    already: int
    heat: tuple[str, str] | None


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


def grid_axes(cls: type, grid: Mapping[str, Any] | list[str]) -> dict[str, tuple[Any, ...]]:
    """``{key: values}``: each value a list/range of values, one value, or a ``--grid`` SPEC
    text (``"5:50:5"``, ``"5,10,20"``, ``"94,90,86|95,91,87"`` for a list parameter); or the
    CLI's ``["KEY=SPEC", ...]`` (:func:`engine.sweep.grid.parse_grid`)."""
    if isinstance(grid, list | tuple) and grid and all(isinstance(g, str) for g in grid):
        return parse_grid(cls, list(grid))
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


def _options(
    jobs: int | None,
    backend: str,
    progress: bool,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    cli: bool = False,
) -> dict[str, Any]:
    """The run options, checked (``cli`` names them as the CLI's options)."""
    if cli:  # argparse gave whole numbers and a known backend
        if scheduler and backend != "dask":
            raise ParamError("--scheduler needs --backend dask")
        if jobs is not None and jobs < 1:
            raise ParamError(f"--jobs {jobs} must be at least 1")
        if chunk_size is not None and chunk_size < 1:
            raise ParamError(f"--chunk-size {chunk_size} must be at least 1")
    else:
        if jobs is not None and not (_whole(jobs) and jobs >= 1):
            raise ParamError(f"jobs={jobs!r} must be a whole number >= 1 (or None: every core)")
        if backend not in ("local", "dask"):
            raise ParamError(f"backend={backend!r}: choose 'local' or 'dask'")
        if scheduler is not None and backend != "dask":
            raise ParamError(f"scheduler={scheduler!r} needs backend='dask'")
        if chunk_size is not None and not (_whole(chunk_size) and chunk_size >= 1):
            raise ParamError(f"chunk_size={chunk_size!r} must be a whole number >= 1")
    return {
        "backend": backend,
        "jobs": jobs,
        "scheduler": scheduler,
        "chunk_size": chunk_size,
        "progress": progress,
    }


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_ranking(top: Any, pbo_splits: Any, pbo_max_trials: Any, cli: bool = False) -> None:
    """``top`` >= 1, ``pbo_splits`` even and >= 2, ``pbo_max_trials`` >= 2 (``cli``: named as
    ``--top`` etc.; the CLI checks them before anything else)."""

    def label(key: str, value: Any) -> str:
        return f"--{key.replace('_', '-')} {value}" if cli else f"{key}={value!r}"

    if not (_whole(top) and top >= 1):
        need = "at least 1" if cli else "a whole number >= 1"
        raise ParamError(f"{label('top', top)} must be {need}")
    if not (_whole(pbo_splits) and pbo_splits >= 2 and pbo_splits % 2 == 0):
        raise ParamError(f"{label('pbo_splits', pbo_splits)} must be even and at least 2")
    if not (_whole(pbo_max_trials) and pbo_max_trials >= 2):
        raise ParamError(f"{label('pbo_max_trials', pbo_max_trials)} must be at least 2")


def _plan(
    strategy: Any,
    grid: Mapping[str, Any] | list[str],
    constraints: Iterable[str] | str | None = None,
    *,
    train: int | None = None,
    metric: str = "sharpe",
    random: int | None = None,
    seed: int = 0,
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    csv: str | os.PathLike[str] | None = None,
    data_dir: Any = None,
    engine: str | None = None,
    jobs: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    cash: float = api.DEFAULT_CASH,
    costs: Costs | None = None,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    sizing: str | None = None,
    borrow_fee: float | None = None,
    fractional: bool = False,
    cli: bool = False,
) -> SweepPlan:
    """Every check before a sweep (``train`` None) or a walk-forward runs, in the order the CLI
    reports them; the combinations: a streamed grid for a full sweep, a list otherwise."""
    if not grid:
        raise ParamError(
            "give at least one --grid KEY=SPEC, e.g. --grid fast=5:30:5"
            if cli
            else "grid: give a dict parameter -> values, e.g. grid={'fast': range(5, 30, 5)}"
        )
    opts = _options(jobs, backend, progress, scheduler, chunk_size, cli)
    if cli and isinstance(strategy, str):  # --strategy: a registered name or a loaded rule's ref
        strategy = lookup(strategy)
    name, cls, texts = _strategy_name(strategy)
    engine = engine or default_engine(name, fractional)
    axes = grid_axes(cls, grid)
    texts_given = [constraints] if isinstance(constraints, str) else list(constraints or [])
    checked = parse_constraints(texts_given, cls)
    metric_order(metric)  # an unknown metric fails before anything runs
    if not isinstance(fractional, bool):
        raise ParamError(f"fractional={fractional!r} must be True or False")
    costs = api.make_costs(
        costs,
        cash=cash,
        cli=cli,
        commission=commission,
        commission_min=commission_min,
        commission_max=commission_max,
        slippage=slippage,
        sizing=sizing,
        borrow_fee=borrow_fee,
    )
    window, symbol = api.price_window(prices, ticker, start, end, csv=csv, data_dir=data_dir)
    # standing aside before earnings: the ticker's report dates (as `run`)
    axes = grid_earnings(cls, axes, lambda: load_events(symbol, data_dir), window)
    bars = len(window) if train is None else train
    combos: Any
    if train is None and random is None:  # a sweep streams its grid
        combos = GridStream(cls, axes, checked, bars)  # scanned unless the store knows it
    else:
        combos = build_combinations(cls, axes, checked, sample=random, seed=seed, bars=bars)
    bench = load_benchmark(None if data_dir is None else str(data_dir), window)
    setup = _Setup(
        name,
        cls,
        axes,
        SweepData(window, symbol, bench, texts),
        costs,
        float(cash),
        fractional,
        engine,
        checked,
        tuple(texts_given),
    )
    return SweepPlan(setup, combos, bars, opts)


@contextmanager
def _open_store(
    store: str | os.PathLike[str] | None, prefix: str, defer_check: bool = False
) -> Iterator[SweepStore]:
    """``store``, or a temporary one removed afterwards (``defer_check``: see SweepStore)."""
    with tempfile.TemporaryDirectory(prefix=prefix) if store is None else nullcontext("") as tmp:
        path = str(store) if store is not None else str(Path(tmp) / "sweep.sqlite")
        with SweepStore(path, defer_check=defer_check) as db:
            yield db


@contextmanager
def ranked_sweep(
    strategy: Any,
    grid: Mapping[str, Any] | list[str],
    constraints: Iterable[str] | str | None = None,
    *,
    metric: str = "sharpe",
    seed: int = 0,
    store: str | os.PathLike[str] | None = None,
    min_trades: int = 0,
    pbo_splits: int = 16,
    pbo_max_trials: int = 2_000,
    top: int = 10,
    heatmap: str | None = None,
    ready: Callable[[SweepPlan], None] | None = None,
    cli: bool = False,
    **inputs: Any,
) -> Iterator[RankedSweep]:
    """The one path of a sweep (:func:`sweep` and ``crwv-bt sweep``): check the inputs, build
    the grid, find the sweep in ``store`` or run it there (resumable) and record it, rank it.

    Yields a :class:`RankedSweep` while the store is open: its ``view`` streams every row
    (the CLI's export), ``summary`` holds only the top rows. A full grid the store has
    finished before (the same :func:`~engine.sweep.run.sweep_spec`) is neither walked nor keyed
    again. ``ready(plan)`` is called once the combinations are counted, before anything runs
    (the CLI prints its describe line there; for a sweep the store holds, once it is ranked
    and the store's open check, run on a thread meanwhile, has passed); ``heatmap`` is ``"X,Y"`` (``--heatmap``); ``cli``
    names bad options as the CLI spells them. ``inputs``: the window, costs, engine and run
    options of :func:`sweep` (checked by ``_plan``).
    """
    check_ranking(top, pbo_splits, pbo_max_trials, cli)
    plan = _plan(strategy, grid, constraints, metric=metric, seed=seed, cli=cli, **inputs)
    s, combos = plan.setup, plan.combos
    keys = list(s.axes)
    varying = [k for k, v in s.axes.items() if len(v) > 1]
    heat = pick_heatmap_axes(heatmap, keys, varying)
    job = make_job(
        s.data, s.name, costs=s.costs, cash=s.cash, fractional=s.fractional, engine=s.engine
    )
    streamed = isinstance(combos, GridStream)
    # a store of this version is checked on a thread while a sweep it holds is read and ranked
    with _open_store(store, "crwv-sweep-", defer_check=True) as db:
        spec = sweep_spec(job, s.cls, s.axes, list(s.constraint_texts), plan.bars)
        found = db.find_sweep(spec) if streamed else None
        if found is not None:
            combos.restore(found[1])
        elif streamed:
            combos.scan()
        if found is not None:  # nothing runs: `ready` is called once the check has passed
            added, already = 0, plan.count
            view = SweepView(db, sweep=found[0])
        else:
            db.verified()
            if ready is not None:
                ready(plan)
            run = run_sweep_stream(db, s.data, job, plan.chunks(), plan.count, **plan.options)
            added, already = run.added, run.done_before
            sweep_id = (
                db.save_sweep(spec, combos.info(), run.key_chunks, run.total, run.after)
                if streamed
                else None
            )
            view = (
                SweepView(db, sweep=sweep_id)
                if sweep_id is not None
                else SweepView(db, run.key_chunks())
            )
        # Ranked in SQL: only the top rows, the chosen one and the keys are in memory; the
        # export, distribution and heatmap stream from (or aggregate in) the store.
        with view:
            summary = summarise_view(
                view,
                None,
                metric,
                grid_keys=keys,
                bars=len(s.data.prices),
                min_trades=min_trades,
                pbo_splits=pbo_splits,
                pbo_max_trials=pbo_max_trials,
                seed=seed,
                top=top,
            )
            if heat is None or not heatmap:
                heat = pick_heatmap_axes(None, keys, varying, summary.trials)
            db.verified()  # nothing read from the store is shown before its check has passed
            if found is not None and ready is not None:
                ready(plan)
            yield RankedSweep(plan, summary, view, added, already, heat)


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
    top: pd.DataFrame = field(default_factory=pd.DataFrame)
    trials: Trials | None = field(default=None, repr=False)

    @property
    def distinct(self) -> int:
        """How many distinct results the combinations gave (see the class docstring)."""
        return self.trials.distinct if self.trials is not None else self.combinations

    @property
    def unused(self) -> list[str]:
        """Grid parameters that never changed a result (see the class docstring)."""
        return list(self.trials.unused) if self.trials is not None else []

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
        ``min``). Default axes: those ``crwv-bt sweep`` picks (the two varying parameters that
        explain the largest share of the metric's variance)."""
        names = list(self.grid_names.values())
        varying = [self.grid_names[c] for c in self.varying]
        wanted = f"{x},{y}" if x is not None or y is not None else None
        axes = pick_heatmap_axes(wanted, names, varying, self.trials)
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
        from engine.sweep.charts import heatmap_figure  # matplotlib: only when a chart is drawn

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
    scheduler: str | None = None,
    chunk_size: int | None = None,
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
    csv: str | os.PathLike[str] | None = None,
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
        slippage, sizing, borrow_fee, fractional, data_dir, csv : as :func:`engine.api.backtest`
        and ``crwv-bt``'s options
    engine : ``"fast"`` (compiled) or ``"backtrader"``; default: fast where it covers the
        strategy
    store : a SQLite store to keep (and resume from: a grid it has finished is not run
        again); default a temporary one
    jobs : worker processes / fast-engine threads (default every core); backend ``local`` or
        ``dask`` (``scheduler``: a dask scheduler address); ``chunk_size`` combinations per task
    random, seed : run ``random`` combinations drawn with ``seed`` instead of all
    min_trades : only combinations with at least this many closed trades can be chosen
    pbo_splits, pbo_max_trials : the PBO's CSCV blocks and its sample cap (``--pbo-*``)
    top : distinct results in :attr:`SweepResult.top` (``--top``; the ties warning counts them)
    progress : show the progress bar

    Returns
    -------
    :class:`SweepResult`: the run of :func:`ranked_sweep` (``crwv-bt sweep``'s), with every
    row ranked in memory as :attr:`SweepResult.frame`.
    """
    with ranked_sweep(
        strategy,
        grid,
        constraints,
        metric=metric,
        prices=prices,
        ticker=ticker,
        start=start,
        end=end,
        csv=csv,
        data_dir=data_dir,
        engine=engine,
        store=store,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        chunk_size=chunk_size,
        random=random,
        seed=seed,
        min_trades=min_trades,
        pbo_splits=pbo_splits,
        pbo_max_trials=pbo_max_trials,
        top=top,
        cash=cash,
        costs=costs,
        commission=commission,
        commission_min=commission_min,
        commission_max=commission_max,
        slippage=slippage,
        sizing=sizing,
        borrow_fee=borrow_fee,
        fractional=fractional,
        progress=progress,
    ) as ranked:
        frame = pd.concat(list(ranked.view.ranked(metric, metric_order(metric), min_trades)))
    s, summary = ranked.plan.setup, ranked.summary
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
        top=summary.ranked,
        trials=summary.trials,
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
    scheduler: str | None = None,
    chunk_size: int | None = None,
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
    csv: str | os.PathLike[str] | None = None,
    progress: bool = False,
    _ready: Callable[[SweepPlan], None] | None = None,
    _cli: bool = False,
) -> WalkForward:
    """Walk-forward optimisation (``crwv-bt walkforward``): per fold, sweep ``grid`` on the
    ``train`` bars, trade the winner on the next ``test`` bars; stitch the out-of-sample runs.

    Returns the :class:`engine.sweep.walkforward.WalkForward`: ``folds`` (each winner's
    parameters, in- and out-of-sample metric), ``equity`` (the stitched out-of-sample account),
    ``oos_metrics``, ``is_mean`` / ``oos_mean``, ``warnings``. Other arguments: :func:`sweep`.
    ``crwv-bt walkforward`` calls this too (one path): ``_ready(plan)`` runs once the inputs
    are checked, before the folds run (its describe line); ``_cli`` names bad options as the
    CLI spells them.
    """
    if not _cli:  # the CLI's argparse gives whole numbers; make_folds names --train / --test
        for label, value in (("train", train), ("test", test)):
            if not (_whole(value) and value >= 1):
                raise ParamError(f"{label}={value!r} must be a whole number of bars >= 1")
    plan = _plan(
        strategy,
        grid,
        constraints,
        train=train,
        metric=metric,
        random=random,
        seed=seed,
        prices=prices,
        ticker=ticker,
        start=start,
        end=end,
        csv=csv,
        data_dir=data_dir,
        engine=engine,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        chunk_size=chunk_size,
        progress=progress,
        cash=cash,
        costs=costs,
        commission=commission,
        commission_min=commission_min,
        commission_max=commission_max,
        slippage=slippage,
        sizing=sizing,
        borrow_fee=borrow_fee,
        fractional=fractional,
        cli=_cli,
    )
    s = plan.setup
    plan.folds = make_folds(len(s.data.prices), train, test, anchored)  # too short a window
    if _ready is not None:
        _ready(plan)
    with _open_store(store, "crwv-walkforward-") as db:
        return run_walkforward(
            db,
            s.data,
            s.name,
            plan.combos.params,
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
            **plan.options,
        )
