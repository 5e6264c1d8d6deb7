"""What ``crwv-bt sweep`` and ``crwv-bt walkforward`` do once their options are parsed.

The parsers are :mod:`engine.cli.sweep_cmd`; it imports this module only when one of the two
commands runs, because this module imports the sweep stage (numba and the compiled kernels,
matplotlib, tqdm), which the other commands do not need.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pandas as pd

from engine.cli.options import (
    add_cost_options,
    costs_from,
    default_out,
    load_window,
    one_rule,
    strategy_class,
)
from engine.cli.run_cmd import run_command
from engine.data.events import load_events
from engine.errors import ParamError
from engine.fast.api import default_jobs
from engine.files import atomic_write_text
from engine.folders import reserved, take_names
from engine.jobs.runner import grid_earnings, load_benchmark
from engine.jobs.tickers import parse_tickers, travel_params
from engine.report.display import format_value
from engine.sizing import DEFAULT as DEFAULT_SIZING
from engine.sizing import canonical
from engine.sweep.constraints import parse_constraints
from engine.sweep.engines import default_engine
from engine.sweep.grid import GridStream, build_combinations, parse_grid
from engine.sweep.outputs import (
    CSV_TOP,
    FULL_CSV_MAX,
    format_overfit,
    format_top,
    format_walkforward,
    write_sweep_files,
    write_walkforward_files,
)
from engine.sweep.run import SweepInterrupted, run_sweep_stream, sweep_spec
from engine.sweep.selection import metric_order, pick_heatmap_axes, summarise_view
from engine.sweep.store import SweepStore, code_version
from engine.sweep.store_view import SweepView
from engine.sweep.tasks import SweepData, make_job
from engine.sweep.tickers import across_tickers
from engine.sweep.walkforward import make_folds, run_walkforward

#: The files a sweep / a walk-forward writes whatever its options (charts are named by them).
SWEEP_FILES = ("sweep.csv", "sweep.parquet", "summary.json", "overfit.json", "sweep.html")
WALKFORWARD_FILES = (
    "walkforward_folds.csv",
    "walkforward_equity.csv",
    "walkforward.json",
    "walkforward.png",
)


def _prepare(args: argparse.Namespace, bars_for: str = "window") -> dict[str, Any]:
    """Strategy, grid, constraints, prices and the combinations: every check before running.

    With ``--rules FILE --rule NAME`` the rule is the strategy: ``args.strategy`` becomes its
    ref (``rule:NAME@SHA12``, the name it has in the store) and its text goes to the workers.
    """
    rule = _rule(args)
    if not args.grid:
        raise ParamError("give at least one --grid KEY=SPEC, e.g. --grid fast=5:30:5")
    if args.scheduler and args.backend != "dask":
        raise ParamError("--scheduler needs --backend dask")
    if args.jobs is not None and args.jobs < 1:
        raise ParamError(f"--jobs {args.jobs} must be at least 1")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise ParamError(f"--chunk-size {args.chunk_size} must be at least 1")
    cls = strategy_class(args.strategy)
    args.engine = args.engine or default_engine(args.strategy, args.fractional)
    axes = parse_grid(cls, args.grid)
    constraints = parse_constraints(args.constraint, cls)
    metric_order(args.metric)
    costs = costs_from(args)
    prices = load_window(args)
    # standing aside before earnings: the events file's report dates (as `run`)
    axes = grid_earnings(cls, axes, lambda: load_events(args.ticker, args.data_dir), prices)
    bars = args.train if bars_for == "train" else len(prices)
    combos: Any
    if bars_for == "window" and args.random is None:  # a sweep streams its grid
        combos = GridStream(cls, axes, constraints, bars)  # scanned unless the store knows it
    else:
        combos = build_combinations(
            cls, axes, constraints, sample=args.random, seed=args.seed, bars=bars
        )
    bench = load_benchmark(args.data_dir, prices)
    texts = (rule.text(),) if rule is not None else ()
    data = SweepData(prices, args.ticker.upper(), bench, texts)
    return {
        "cls": cls,
        "axes": axes,
        "combos": combos,
        "data": data,
        "costs": costs,
        "rule": rule,
        "constraints": args.constraint or [],
        "bars": bars,
    }


def _rule(args: argparse.Namespace) -> Any:
    """The rule of ``--rules`` / ``--rule`` (``args.strategy`` set to its ref), or None."""
    if args.rules and args.strategy and not args.strategy.startswith("rule:"):
        # (a ``rule:`` strategy is this rule's ref, set by an earlier call: sweep --tickers)
        raise ParamError("give --strategy NAME or --rules FILE --rule NAME, not both")
    if not args.rules and not args.rule:
        if not args.strategy:
            raise ParamError(
                "give --strategy NAME (see `crwv-bt strategies`) or --rules FILE --rule NAME"
            )
        return None
    rule = one_rule(args).rule
    assert rule is not None
    args.strategy = rule.ref()
    return rule


def _name(args: argparse.Namespace, prep: dict[str, Any]) -> str:
    rule = prep.get("rule")
    return f"rule {rule.name} ({args.strategy})" if rule is not None else args.strategy


def _sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "backend": args.backend,
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "chunk_size": args.chunk_size,
        "progress": not args.no_progress,
    }


def _describe(args: argparse.Namespace, prep: dict[str, Any], what: str) -> str:
    combos, prices = prep["combos"], prep["data"].prices
    count = _count(combos)
    parts = [f"{count:,} combinations"]
    if combos.sampled is not None:
        parts.append(f"drawn at random (seed {args.seed}) from a grid of {combos.grid_size:,}")
    elif count != combos.grid_size:
        parts.append(f"of a grid of {combos.grid_size:,}")
    if combos.rejected:
        what_removed = "draws rejected" if combos.sampled is not None else "removed"
        parts.append(f"{combos.rejected:,} {what_removed} by --constraint")
    backend = f"dask ({args.scheduler or 'local cluster'})" if args.backend == "dask" else "local"
    return (
        f"{what} {_name(args, prep)} on {args.ticker.upper()} {prices.index[0].date()} to {prices.index[-1].date()} "
        f"({len(prices)} bars): {', '.join(parts)}; engine {args.engine}, backend {backend}, "
        f"{args.jobs or default_jobs()} jobs; store {args.store}"
    )


def _count(combos: Any) -> int:
    """Runnable combinations of a :class:`GridStream` or a :class:`Combinations`."""
    return int(combos.count) if hasattr(combos, "count") else len(combos.params)


def _chunks(combos: Any, size: int = 8_192) -> Any:
    """The combinations' parameter dicts, ``size`` at a time (a stream, with their canonical
    JSON, or a list)."""
    if hasattr(combos, "text_chunks"):
        return combos.text_chunks(size)
    return (combos.params[lo : lo + size] for lo in range(0, len(combos.params), size))


def _header(args: argparse.Namespace, prep: dict[str, Any]) -> dict[str, Any]:
    prices = prep["data"].prices
    rule = prep.get("rule")
    return {
        "strategy": args.strategy,
        **({"rule": rule.text(), "rules_file": args.rules} if rule is not None else {}),
        "ticker": args.ticker.upper(),
        "start": str(prices.index[0].date()),
        "end": str(prices.index[-1].date()),
        "bars": len(prices),
        "grid": args.grid,
        "constraints": args.constraint or [],
        "random": args.random,
        "seed": args.seed,
        "engine": args.engine,
        "costs": prep["costs"].describe(),
        "cash": args.cash,
        "store": args.store,
        "code_version": code_version(),
    }


def _interrupted(exc: Any, store: str) -> int:
    print(
        f"interrupted: {exc.stored:,} of {exc.total:,} combinations are stored in {store}; "
        "rerun the same command to resume",
        file=sys.stderr,
    )
    return 130


def _column(frame: Any, name: str) -> str:
    return name if name in frame.columns else f"param_{name}"


# ------------------------------------------------------------------------------------ commands


def cmd_sweep(args: argparse.Namespace) -> int:
    """``crwv-bt sweep``: run the grid into the store, rank it, print and write the outputs."""
    if args.top < 1:
        raise ParamError(f"--top {args.top} must be at least 1")
    if args.pbo_splits < 2 or args.pbo_splits % 2:
        raise ParamError(f"--pbo-splits {args.pbo_splits} must be even and at least 2")
    if args.pbo_max_trials < 2:
        raise ParamError(f"--pbo-max-trials {args.pbo_max_trials} must be at least 2")
    if args.tickers:
        return _sweep_tickers(args)
    _sweep_one(args)
    return 0


def _sweep_one(args: argparse.Namespace, keep_rows: bool = False) -> pd.DataFrame | None:
    """:func:`_sweep_and_report`, its ``--out`` folder checked and claimed before the sweep
    (:func:`engine.folders.reserved`)."""
    if args.no_files:
        return _sweep_and_report(args, keep_rows)
    args.out = str(Path(args.out) if args.out else default_out("sweep"))
    with reserved(args.out, mark=True):
        return _sweep_and_report(args, keep_rows)


def _sweep_and_report(args: argparse.Namespace, keep_rows: bool = False) -> pd.DataFrame | None:
    """One sweep on ``args.ticker``: run, rank, print, write; every row when ``keep_rows``.

    A streamed grid the store has finished before (the same spec: :func:`sweep_spec`) is
    neither walked nor keyed again: its rows are read from the store's record of it.
    """
    prep = _prepare(args)
    varying = [k for k, v in prep["axes"].items() if len(v) > 1]
    heat = pick_heatmap_axes(args.heatmap, list(prep["axes"]), varying)
    job = make_job(
        prep["data"],
        args.strategy,
        costs=prep["costs"],
        cash=args.cash,
        fractional=args.fractional,
        engine=args.engine,
    )
    combos = prep["combos"]
    streamed = isinstance(combos, GridStream)
    with SweepStore(args.store) as store:
        spec = sweep_spec(job, prep["cls"], prep["axes"], prep["constraints"], prep["bars"])
        found = store.find_sweep(spec) if streamed else None
        if found is not None:
            combos.restore(found[1])
        elif streamed:
            combos.scan()
        print(_describe(args, prep, "sweep"))
        if combos.refused:
            print(f"note: {combos.refusal_text()}")
        if found is not None:
            sweep_id: int | None = found[0]
            print(f"stored 0 new row(s); {combos.count:,} were already in the store")
            view = SweepView(store, sweep=sweep_id)
        else:
            try:
                run = run_sweep_stream(
                    store,
                    prep["data"],
                    job,
                    _chunks(combos),
                    _count(combos),
                    **_sweep_options(args),
                )
            except SweepInterrupted as exc:
                raise SystemExit(_interrupted(exc, args.store)) from None
            print(f"stored {run.added:,} new row(s); {run.done_before:,} were already in the store")
            sweep_id = (
                store.save_sweep(spec, combos.info(), run.key_chunks(), run.total)
                if streamed
                else None
            )
            view = (
                SweepView(store, sweep=sweep_id)
                if sweep_id is not None
                else SweepView(store, run.key_chunks())
            )
        # Ranked in SQL: only the top rows, the chosen one and the keys are in memory; the
        # export, distribution and heatmap stream from (or aggregate in) the store.
        with view:
            summary = summarise_view(
                view,
                None,
                args.metric,
                grid_keys=list(prep["axes"]),
                bars=len(prep["data"].prices),
                min_trades=args.min_trades,
                pbo_splits=args.pbo_splits,
                pbo_max_trials=args.pbo_max_trials,
                seed=args.seed,
                top=args.top,
            )
            if heat is None or not args.heatmap:
                heat = pick_heatmap_axes(None, list(prep["axes"]), varying, summary.trials)
            _report_sweep(args, prep, summary, summary.ranked, heat)
            if not keep_rows:
                return None
            ascending = metric_order(args.metric)
            return pd.concat(list(view.ranked(args.metric, ascending)), ignore_index=True)


def _sweep_tickers(args: argparse.Namespace) -> int:
    """``sweep --tickers``: the grid on each ticker, then one table ranked by the median."""
    if args.csv:
        raise ParamError("--tickers reads each ticker from the data dir; drop --csv (or --tickers)")
    tickers = parse_tickers(args.tickers)
    _rule(args)  # a rule's ref becomes args.strategy before the first ticker
    base = Path(args.out) if args.out else default_out("sweep-tickers")
    with reserved(base, mark=True) if not args.no_files else nullcontext():
        return _sweep_each_ticker(args, tickers, base)


def _sweep_each_ticker(args: argparse.Namespace, tickers: list[str], base: Path) -> int:
    grid = list(args.grid)
    frames: dict[str, pd.DataFrame] = {}
    for ticker in tickers:
        args.ticker = ticker
        args.out = str(base / ticker)
        # the article's swing levels are CRWV dollars: elsewhere, relative levels (as `run`)
        relative = travel_params({}, strategy_class(args.strategy), ticker).get("levels")
        given = {g.split("=", 1)[0].strip() for g in grid}
        args.grid = grid + (["levels=relative"] if relative and "levels" not in given else [])
        print(f"\n== {ticker}")
        rows = _sweep_one(args, keep_rows=True)
        if rows is not None:
            frames[ticker] = rows
    keys = [g.split("=", 1)[0].strip() for g in grid]
    table = across_tickers(frames, keys, args.metric, ascending=metric_order(args.metric), top=None)
    print(f"\n{args.metric} by ticker, best median first (top {args.top}):")
    shown = table.head(args.top).copy()
    for col in [*tickers, "median"]:
        if col in shown:
            shown[col] = shown[col].map(lambda v: format_value(args.metric, v))
    print(shown.to_string())
    if not args.no_files:
        take_names(base, ["robustness.csv"])
        atomic_write_text(base / "robustness.csv", table.to_csv())
        print(f"wrote {base / 'robustness.csv'} (every combination) and one folder per ticker")
    return 0


def rerun_argv(args: argparse.Namespace, prep: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The ``crwv-bt run`` arguments that run one combination of this sweep: the strategy (or
    rule), ``--param`` for each grid key, and the data and cost options (``--sizing`` and
    ``--borrow-fee`` too) that differ from the defaults."""
    rule = prep.get("rule")
    argv = (
        ["--rules", str(args.rules), "--rule", rule.name]
        if rule is not None
        else ["--strategy", args.strategy]
    )
    for key in prep["axes"]:
        argv += ["--param", f"{key}={param_text(params[key])}"]
    if args.ticker.upper() != "CRWV":
        argv += ["--ticker", args.ticker.upper()]
    for opt in ("start", "end", "csv", "data_dir"):
        if getattr(args, opt, None):
            argv += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
    for opt, default in (
        ("cash", 100_000.0),
        ("commission", None),
        ("commission_min", None),
        ("commission_max", None),
        ("slippage", None),
    ):
        value = getattr(args, opt, None)
        if value is not None and value != (default if default is not None else _DEFAULTS[opt]):
            argv += [f"--{opt.replace('_', '-')}", f"{value:g}"]
    if args.fractional:
        argv.append("--fractional")
    sizing = canonical(getattr(args, "sizing", None) or DEFAULT_SIZING)
    if sizing != DEFAULT_SIZING:  # the winner reruns with the sweep's position size
        argv += ["--sizing", sizing]
    if getattr(args, "borrow_fee", 0.0):
        argv += ["--borrow-fee", f"{args.borrow_fee:g}"]
    return argv


def param_text(value: Any) -> str:
    """A parameter value as ``--param`` takes it back (exact for floats, lists as a,b,c)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(param_text(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def _cost_defaults() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    add_cost_options(parser)
    ns = parser.parse_args([])
    return {
        k: getattr(ns, k) for k in ("commission", "commission_min", "commission_max", "slippage")
    }


_DEFAULTS = _cost_defaults()


def _chosen_params(summary: Any) -> dict[str, Any]:
    """The chosen combination's resolved parameters (from the store's JSON, exact)."""
    key = summary.chosen["key"]
    row = summary.view.conn.execute("SELECT params FROM runs WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0])


def _report_sweep(
    args: argparse.Namespace,
    prep: dict[str, Any],
    summary: Any,
    frame: Any,
    heat: tuple[str, str] | None,
) -> None:
    """Print the top rows, the overfitting statistics, the warnings and the command that reruns
    the winner; write files; with ``--rerun-best``, rerun it."""

    print(format_top(summary, args.top))
    print(format_overfit(summary.overfit))
    for note in summary.warnings:
        print(f"warning: {note}")
    argv = rerun_argv(args, prep, _chosen_params(summary))
    line = "crwv-bt run " + " ".join(shlex.quote(a) for a in argv)
    print(f"rerun the chosen combination: {line}")
    out = None
    if not args.no_files:
        out = Path(args.out) if args.out else default_out("sweep")
        take_names(out, SWEEP_FILES)
        written = write_sweep_files(
            out,
            summary,
            {**_header(args, prep), "rerun_argv": argv},
            heatmap=(_column(frame, heat[0]), _column(frame, heat[1])) if heat else None,
            others=args.heatmap_others,
            plots=not args.no_plots,
            top=args.top,
            rerun=line,
            full_csv=args.full_csv,
        )
        take_names(out, [p.name for p in written if p.parent == out], check=False)
        print(f"wrote {len(written)} files to {out}/ (open sweep.html)")
        if summary.combinations > FULL_CSV_MAX and not args.full_csv:
            print(
                f"note: sweep.csv holds the best {CSV_TOP:,} of {summary.combinations:,} rows; "
                "every row is in sweep.parquet and the store (--full-csv writes them all)"
            )
    if args.rerun_best:
        extra = ["--no-files"] if out is None else ["--out", str(out / "best")]
        if args.no_plots:
            extra.append("--no-plots")
        print(f"\n== the chosen combination, rerun: {line}")
        code = run_command([*argv, *extra])
        if code:
            raise SystemExit(code)


def cmd_walkforward(args: argparse.Namespace) -> int:
    """``crwv-bt walkforward``: per fold, sweep the training window and trade the winner after it."""
    prep = _prepare(args, bars_for="train")
    if args.no_files:
        return _walkforward(args, prep)
    args.out = str(Path(args.out) if args.out else default_out("walkforward"))
    with reserved(args.out, mark=True):
        return _walkforward(args, prep)


def _walkforward(args: argparse.Namespace, prep: dict[str, Any]) -> int:
    folds = make_folds(len(prep["data"].prices), args.train, args.test, args.anchored)
    print(_describe(args, prep, "walk-forward") + f"; {len(folds)} folds")
    if prep["combos"].refused:
        print(f"note: {prep['combos'].refusal_text()}")
    with SweepStore(args.store) as store:
        try:
            wf = run_walkforward(
                store,
                prep["data"],
                args.strategy,
                prep["combos"].params,
                train=args.train,
                test=args.test,
                anchored=args.anchored,
                metric=args.metric,
                min_trades=args.min_trades,
                costs=prep["costs"],
                cash=args.cash,
                fractional=args.fractional,
                grid_keys=list(prep["axes"]),
                engine=args.engine,
                **_sweep_options(args),
            )
        except SweepInterrupted as exc:
            return _interrupted(exc, args.store)
    print(format_walkforward(wf))
    for note in wf.warnings:
        print(f"warning: {note}")
    if not args.no_files:
        out = Path(args.out)
        take_names(out, WALKFORWARD_FILES)
        written = write_walkforward_files(out, wf, _header(args, prep), plots=not args.no_plots)
        print(f"wrote {len(written)} files to {out}/")
    return 0
