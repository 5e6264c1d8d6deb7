"""``crwv-bt sweep``, ``crwv-bt sweep export`` and ``crwv-bt walkforward`` (see :func:`register`).

Examples::

    crwv-bt sweep --strategy ma_trend --grid fast=5:50:5 --grid slow=20:120:10 \\
        --constraint "fast < slow" --metric sharpe --top 10
    crwv-bt sweep --strategy ma_trend --grid fast=5:50:1 --grid slow=20:150:1 --random 500 --seed 7
    crwv-bt sweep --strategy ma_trend --grid fast=5:50:5 --grid slow=20:120:10 \\
        --backend dask --scheduler tcp://10.0.0.5:8786
    crwv-bt sweep export --store results/sweeps.sqlite --out ma.parquet --strategy ma_trend
    crwv-bt walkforward --strategy ma_trend --grid fast=5:30:5 --grid slow=40:100:10 \\
        --train 200 --test 60 [--anchored]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.errors import ParamError

DEFAULT_STORE = Path("results") / "sweeps.sqlite"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` (with its ``export`` subcommand) and ``walkforward`` to the CLI."""
    from engine.cli import add_cost_options, add_data_options

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter grid in parallel into a resumable store; rank, heatmap, DSR and PBO",
        description="Run every combination of a parameter grid (resumable: rerun the same command "
        "to finish an interrupted sweep). `crwv-bt sweep export` writes a store to CSV/Parquet.",
    )
    _grid_options(sweep)
    sweep.add_argument(
        "--top", type=int, default=10, help="rows shown in the terminal (default 10)"
    )
    sweep.add_argument(
        "--heatmap",
        metavar="X,Y",
        help="two grid keys for the heatmap (default: the first two that vary)",
    )
    sweep.add_argument(
        "--heatmap-others",
        default="best",
        choices=["best", "mean", "median", "max", "min"],
        help="the other parameters in the heatmap: fixed at the chosen row's values, or aggregated (default best)",
    )
    sweep.add_argument(
        "--pbo-splits", type=int, default=16, help="CSCV blocks for the PBO (even, default 16)"
    )
    sweep.add_argument(
        "--pbo-max-trials",
        type=int,
        default=2_000,
        metavar="N",
        help="PBO ranks at most N combinations: a larger sweep's PBO uses a random sample of N "
        "(seeded by --seed); the DSR always counts every combination (default 2000)",
    )
    add_data_options(sweep)
    add_cost_options(sweep)
    sweep.set_defaults(func=cmd_sweep)
    ssub = sweep.add_subparsers(dest="sweep_command", metavar="{export}")
    export = ssub.add_parser("export", help="write a sweep store's rows to CSV or Parquet")
    export.add_argument(
        "--store", default=str(DEFAULT_STORE), help=f"sweep store (default {DEFAULT_STORE})"
    )
    export.add_argument("--out", required=True, help="output file: NAME.csv or NAME.parquet")
    export.add_argument("--strategy", help="only this strategy's rows")
    export.set_defaults(func=cmd_export)

    wf = sub.add_parser(
        "walkforward",
        help="optimise a grid on rolling/anchored training windows, trade each winner out of sample",
        description="Walk-forward analysis: per fold, sweep the grid on the training window, run the "
        "winner on the following test window; stitch the out-of-sample equity.",
    )
    _grid_options(wf)
    wf.add_argument(
        "--train", type=int, required=True, metavar="BARS", help="training window, bars"
    )
    wf.add_argument("--test", type=int, required=True, metavar="BARS", help="test window, bars")
    wf.add_argument(
        "--anchored", action="store_true", help="training windows all start at the first bar"
    )
    add_data_options(wf)
    add_cost_options(wf)
    wf.set_defaults(func=cmd_walkforward)


def _grid_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", help="registered strategy name (see `crwv-bt strategies`)")
    p.add_argument(
        "--grid",
        action="append",
        metavar="KEY=SPEC",
        help="start:stop:step (inclusive) or a,b,c (repeatable)",
    )
    p.add_argument(
        "--constraint",
        action="append",
        metavar="EXPR",
        help='keep combinations where EXPR holds, e.g. "fast < slow" (repeatable)',
    )
    p.add_argument(
        "--random", type=int, metavar="N", help="run N combinations drawn at random instead of all"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for --random (default 0)")
    p.add_argument("--metric", default="sharpe", help="rank by this metric key (default sharpe)")
    p.add_argument(
        "--min-trades",
        type=int,
        default=0,
        help="only combinations with at least this many closed trades can be chosen",
    )
    p.add_argument(
        "--jobs",
        type=int,
        help="worker processes, or threads of the fast engine (default: all cores)",
    )
    p.add_argument(
        "--backend",
        choices=["local", "dask"],
        default="local",
        help="local process pool or a Dask cluster",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)",
    )
    p.add_argument(
        "--engine",
        help="evaluation engine: fast (compiled; the default for every strategy it covers) or "
        "backtrader (the reference harness)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        help="combinations per task (default: automatic, at most 16; 2048 with the fast engine)",
    )
    p.add_argument(
        "--store",
        default=str(DEFAULT_STORE),
        help=f"SQLite results store (default {DEFAULT_STORE})",
    )
    p.add_argument("--out", help="output folder (default: a new folder under results/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG charts")
    p.add_argument("--no-files", action="store_true", help="print only, write no output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# ------------------------------------------------------------------------------------ shared


def _prepare(args: argparse.Namespace, bars_for: str = "window") -> dict[str, Any]:
    """Strategy, grid, constraints, prices and the combinations: every check before running."""
    from engine.cli import costs_from, load_window, strategy_class
    from engine.runner import load_benchmark
    from engine.sweep import SweepData
    from engine.sweep_engines import default_engine
    from engine.sweep_grid import GridStream, build_combinations, parse_constraints, parse_grid
    from engine.sweep_report import metric_order

    if not args.strategy:
        raise ParamError("give --strategy NAME (see `crwv-bt strategies`)")
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
    bars = args.train if bars_for == "train" else len(prices)
    combos: Any
    if bars_for == "window" and args.random is None:  # a sweep streams its grid
        combos = GridStream(cls, axes, constraints, bars).scan()
    else:
        combos = build_combinations(
            cls, axes, constraints, sample=args.random, seed=args.seed, bars=bars
        )
    data = SweepData(prices, args.ticker.upper(), load_benchmark(args.data_dir, prices))
    return {"cls": cls, "axes": axes, "combos": combos, "data": data, "costs": costs}


def _sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "backend": args.backend,
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "chunk_size": args.chunk_size,
        "progress": not args.no_progress,
    }


def _describe(args: argparse.Namespace, prep: dict[str, Any], what: str) -> str:
    from engine.sweep import default_jobs

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
        f"{what} {args.strategy} on {args.ticker.upper()} {prices.index[0].date()} to {prices.index[-1].date()} "
        f"({len(prices)} bars): {', '.join(parts)}; engine {args.engine}, backend {backend}, "
        f"{args.jobs or default_jobs()} jobs; store {args.store}"
    )


def _count(combos: Any) -> int:
    """Runnable combinations of a :class:`GridStream` or a :class:`Combinations`."""
    return int(combos.count) if hasattr(combos, "count") else len(combos.params)


def _chunks(combos: Any, size: int = 8_192) -> Any:
    """The combinations' parameter dicts, ``size`` at a time (a stream or a list)."""
    if hasattr(combos, "chunks"):
        return combos.chunks(size)
    return (combos.params[lo : lo + size] for lo in range(0, len(combos.params), size))


def _header(args: argparse.Namespace, prep: dict[str, Any]) -> dict[str, Any]:
    from engine.store import code_version

    prices = prep["data"].prices
    return {
        "strategy": args.strategy,
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
    from engine.store import SweepStore, SweepView
    from engine.sweep import SweepInterrupted, make_job, run_sweep_stream
    from engine.sweep_report import pick_heatmap_axes, summarise_view

    if args.top < 1:
        raise ParamError(f"--top {args.top} must be at least 1")
    if args.pbo_splits < 2 or args.pbo_splits % 2:
        raise ParamError(f"--pbo-splits {args.pbo_splits} must be even and at least 2")
    if args.pbo_max_trials < 2:
        raise ParamError(f"--pbo-max-trials {args.pbo_max_trials} must be at least 2")
    prep = _prepare(args)
    varying = [k for k, v in prep["axes"].items() if len(v) > 1]
    heat = pick_heatmap_axes(args.heatmap, list(prep["axes"]), varying)
    print(_describe(args, prep, "sweep"))
    if prep["combos"].refused:
        print(f"note: {prep['combos'].refusal_text()}")
    job = make_job(
        prep["data"],
        args.strategy,
        costs=prep["costs"],
        cash=args.cash,
        fractional=args.fractional,
        engine=args.engine,
    )
    combos = prep["combos"]
    with SweepStore(args.store) as store:
        try:
            run = run_sweep_stream(
                store, prep["data"], job, _chunks(combos), _count(combos), **_sweep_options(args)
            )
        except SweepInterrupted as exc:
            return _interrupted(exc, args.store)
        print(f"stored {run.added:,} new row(s); {run.done_before:,} were already in the store")
        # Ranked in SQL: only the top rows, the chosen one and the keys are in memory; the
        # export, distribution and heatmap stream from (or aggregate in) the store.
        with SweepView(store, run.key_chunks()) as view:
            summary = summarise_view(
                view,
                run.digests,
                args.metric,
                grid_keys=list(prep["axes"]),
                bars=len(prep["data"].prices),
                min_trades=args.min_trades,
                pbo_splits=args.pbo_splits,
                returns_of=store.returns_matrix,
                pbo_max_trials=args.pbo_max_trials,
                seed=args.seed,
                top=args.top,
            )
            _report_sweep(args, prep, summary, summary.ranked, heat)
    return 0


def _report_sweep(
    args: argparse.Namespace,
    prep: dict[str, Any],
    summary: Any,
    frame: Any,
    heat: tuple[str, str] | None,
) -> None:
    """Print the top rows, the overfitting statistics and the warnings; write files."""
    from engine.cli import default_out
    from engine.sweep_report import format_overfit, format_top, write_sweep_files

    print(format_top(summary, args.top))
    print(format_overfit(summary.overfit))
    for note in summary.warnings:
        print(f"warning: {note}")
    if args.no_files:
        return
    out = Path(args.out) if args.out else default_out("sweep")
    written = write_sweep_files(
        out,
        summary,
        _header(args, prep),
        heatmap=(_column(frame, heat[0]), _column(frame, heat[1])) if heat else None,
        others=args.heatmap_others,
        plots=not args.no_plots,
        top=args.top,
    )
    print(f"wrote {len(written)} files to {out}/")


def cmd_export(args: argparse.Namespace) -> int:
    from engine.errors import UserError
    from engine.store import SweepStore, export_frame, export_frames

    if not Path(args.store).exists():
        raise UserError(
            f"{args.store}: no sweep store there; run `crwv-bt sweep` first or pass --store PATH"
        )
    with SweepStore(args.store) as store:
        counts = dict(store.iter_strategies())
        if args.strategy and not counts.get(args.strategy):
            raise UserError(f"{args.store}: no rows for strategy {args.strategy!r}")
        if args.strategy or len(counts) == 1:  # one parameter set: stream in chunks
            path, rows = export_frames(store.frames(strategy=args.strategy), args.out)
        else:  # several strategies' parameter columns: one table in memory, as before
            frame = store.frame()
            path, rows = export_frame(frame, args.out), len(frame)
    print(f"wrote {rows:,} rows to {path}")
    return 0


def cmd_walkforward(args: argparse.Namespace) -> int:
    from engine.cli import default_out
    from engine.store import SweepStore
    from engine.sweep import SweepInterrupted
    from engine.walkforward import (
        format_walkforward,
        make_folds,
        run_walkforward,
        write_walkforward_files,
    )

    prep = _prepare(args, bars_for="train")
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
        out = Path(args.out) if args.out else default_out("walkforward")
        written = write_walkforward_files(out, wf, _header(args, prep), plots=not args.no_plots)
        print(f"wrote {len(written)} files to {out}/")
    return 0
