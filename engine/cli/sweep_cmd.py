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

The sweep and walk-forward commands run in :mod:`engine.cli.sweep_run`, which imports the sweep
stage (numba and the compiled kernels, tqdm; matplotlib only when charts are drawn): +0.26 s
on top of ``import engine.cli.main`` (0.64 s; medians of 7 fresh interpreters, load ~2). This
module imports it only when one of them runs, so ``crwv-bt --help`` and the other commands start
without it; ``sweep export`` needs only the store and runs here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine import checks
from engine.cli.options import add_cost_options, add_data_options, add_rule_options
from engine.errors import UserError
from engine.folders import check_file_target
from engine.sweep.export import export_frame, export_frames
from engine.sweep.store import SweepStore

DEFAULT_STORE = Path("results") / "sweeps.sqlite"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` (with its ``export`` subcommand) and ``walkforward`` to the CLI."""
    _add_sweep(sub)
    _add_walkforward(sub)


def _add_sweep(sub: argparse._SubParsersAction) -> None:
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
    sweep.add_argument(
        "--rerun-best",
        action="store_true",
        help="then run the chosen combination as `crwv-bt run` does (report in OUT/best/)",
    )
    sweep.add_argument(
        "--full-csv",
        action="store_true",
        help="write every row to sweep.csv even above 100,000 combinations (default: the best "
        "10,000 there; every row is in sweep.parquet and the store)",
    )
    sweep.add_argument(
        "--tickers",
        metavar="A,B,...",
        help="run the grid on each ticker (one folder each) and rank the combinations by the "
        "median of --metric over the tickers; the swing plan uses relative levels off CRWV",
    )
    add_data_options(sweep)
    add_cost_options(sweep)
    sweep.set_defaults(func=_run_sweep)
    ssub = sweep.add_subparsers(dest="sweep_command", metavar="{export}")
    export = ssub.add_parser("export", help="write a sweep store's rows to CSV or Parquet")
    export.add_argument(
        "--store", default=str(DEFAULT_STORE), help=f"sweep store (default {DEFAULT_STORE})"
    )
    export.add_argument("--out", required=True, help="output file: NAME.csv or NAME.parquet")
    export.add_argument("--strategy", help="only this strategy's rows")
    export.set_defaults(func=cmd_export)


def _add_walkforward(sub: argparse._SubParsersAction) -> None:
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
    wf.set_defaults(func=_run_walkforward)


def _grid_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", help="registered strategy name (see `crwv-bt strategies`)")
    add_rule_options(p, several=False)
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


# ------------------------------------------------------------------------------------ commands


def _check_options(args: argparse.Namespace) -> None:
    """The options of ``sweep`` / ``walkforward`` checked here, before the sweep stage loads
    (the others are checked in :mod:`engine.cli.sweep_run`)."""
    checks.min_trades(args.min_trades, f"--min-trades {args.min_trades}")


def _run_sweep(args: argparse.Namespace) -> int:
    _check_options(args)
    # The sweep stage loads here, when the command runs: see the module docstring.
    from engine.cli import sweep_run

    return sweep_run.cmd_sweep(args)


def _run_walkforward(args: argparse.Namespace) -> int:
    _check_options(args)
    # The sweep stage loads here, when the command runs: see the module docstring.
    from engine.cli import sweep_run

    return sweep_run.cmd_walkforward(args)


def cmd_export(args: argparse.Namespace) -> int:
    """``crwv-bt sweep export``: a store's rows to CSV or Parquet."""
    check_file_target(args.out, "--out")  # before reading the store
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
