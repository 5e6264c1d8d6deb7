"""What ``crwv-bt sweep`` and ``crwv-bt walkforward`` do once their options are parsed: call
the Python API's one path (:func:`engine.api.sweeps.ranked_sweep`, which ``engine.api.sweep``
calls too, and :func:`engine.api.sweeps.walkforward`) with them, then print and write files.
The checks, the grid, the store and the ranking live there; here are the terminal's lines, the
sweep folder, ``--tickers`` (one sweep per ticker, then the robustness table) and the command
that reruns the winner.

The parsers are :mod:`engine.cli.sweep_cmd`; it imports this module only when one of the two
commands runs, because this module imports the sweep stage (numba and the compiled kernels,
tqdm; matplotlib when charts are drawn), which the other commands do not need.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

import pandas as pd

from engine.api.sweeps import RankedSweep, SweepPlan, check_ranking, ranked_sweep, walkforward
from engine.cli.options import (
    add_cost_options,
    default_out,
    one_rule,
    strategy_class,
)
from engine.cli.run_cmd import run_command
from engine.errors import ParamError
from engine.fast.scope import default_jobs
from engine.files import atomic_write_text
from engine.folders import reserved, take_names
from engine.jobs.tickers import parse_tickers, travel_params
from engine.report.display import format_value
from engine.sizing import DEFAULT as DEFAULT_SIZING
from engine.sizing import canonical
from engine.sweep.outputs import (
    CSV_TOP,
    FULL_CSV_MAX,
    format_overfit,
    format_top,
    format_walkforward,
    write_sweep_files,
    write_walkforward_files,
)
from engine.sweep.run import SweepInterrupted
from engine.sweep.selection import metric_order
from engine.sweep.store import code_version
from engine.sweep.tickers import across_tickers

#: The files a sweep / a walk-forward writes whatever its options (charts are named by them).
SWEEP_FILES = ("sweep.csv", "sweep.parquet", "summary.json", "overfit.json", "sweep.html")
WALKFORWARD_FILES = (
    "walkforward_folds.csv",
    "walkforward_equity.csv",
    "walkforward.json",
    "walkforward.png",
)


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


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The API's arguments (:func:`engine.api.sweeps.ranked_sweep` / ``walkforward``) that
    ``crwv-bt sweep`` and ``crwv-bt walkforward`` share, from their parsed options."""
    rule = _rule(args)
    return {
        "strategy": rule if rule is not None else args.strategy,
        "grid": args.grid,
        "constraints": args.constraint,
        "metric": args.metric,
        "ticker": args.ticker,
        "start": args.start,
        "end": args.end,
        "csv": args.csv,
        "data_dir": args.data_dir,
        "engine": args.engine,
        "store": args.store,
        "jobs": args.jobs,
        "backend": args.backend,
        "scheduler": args.scheduler,
        "chunk_size": args.chunk_size,
        "random": args.random,
        "seed": args.seed,
        "min_trades": args.min_trades,
        "cash": args.cash,
        "commission": args.commission,
        "commission_min": args.commission_min,
        "commission_max": args.commission_max,
        "slippage": args.slippage,
        "sizing": getattr(args, "sizing", None),
        "borrow_fee": getattr(args, "borrow_fee", None),
        "fractional": args.fractional,
        "progress": not args.no_progress,
    }


def _describe(args: argparse.Namespace, plan: SweepPlan, what: str) -> str:
    s, combos = plan.setup, plan.combos
    prices, count = s.data.prices, plan.count
    parts = [f"{count:,} combinations"]
    if combos.sampled is not None:
        parts.append(f"drawn at random (seed {args.seed}) from a grid of {combos.grid_size:,}")
    elif count != combos.grid_size:
        parts.append(f"of a grid of {combos.grid_size:,}")
    if combos.rejected:
        what_removed = "draws rejected" if combos.sampled is not None else "removed"
        parts.append(f"{combos.rejected:,} {what_removed} by --constraint")
    backend = f"dask ({args.scheduler or 'local cluster'})" if args.backend == "dask" else "local"
    name = f"rule {s.rule.name} ({s.name})" if s.rule is not None else s.name
    return (
        f"{what} {name} on {s.data.ticker} {prices.index[0].date()} to {prices.index[-1].date()} "
        f"({len(prices)} bars): {', '.join(parts)}; engine {s.engine}, backend {backend}, "
        f"{args.jobs or default_jobs()} jobs; store {args.store}"
    )


def _header(args: argparse.Namespace, plan: SweepPlan) -> dict[str, Any]:
    s = plan.setup
    prices = s.data.prices
    return {
        "strategy": s.name,
        **({"rule": s.rule.text(), "rules_file": args.rules} if s.rule is not None else {}),
        "ticker": s.data.ticker,
        "start": str(prices.index[0].date()),
        "end": str(prices.index[-1].date()),
        "bars": len(prices),
        "grid": args.grid,
        "constraints": args.constraint or [],
        "random": args.random,
        "seed": args.seed,
        "engine": s.engine,
        "costs": s.costs.describe(),
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
    check_ranking(args.top, args.pbo_splits, args.pbo_max_trials, cli=True)
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
    """One sweep on ``args.ticker`` through the API's one path
    (:func:`engine.api.sweeps.ranked_sweep`): print, write; every row when ``keep_rows``."""

    def ready(plan: SweepPlan) -> None:
        print(_describe(args, plan, "sweep"))
        if plan.combos.refused:
            print(f"note: {plan.combos.refusal_text()}")

    try:
        with ranked_sweep(
            **_options(args),
            pbo_splits=args.pbo_splits,
            pbo_max_trials=args.pbo_max_trials,
            top=args.top,
            heatmap=args.heatmap,
            ready=ready,
            cli=True,
        ) as ranked:
            print(
                f"stored {ranked.added:,} new row(s); {ranked.already:,} were already in the store"
            )
            _report_sweep(args, ranked)
            if not keep_rows:
                return None
            ascending = metric_order(args.metric)
            return pd.concat(list(ranked.view.ranked(args.metric, ascending)), ignore_index=True)
    except SweepInterrupted as exc:
        raise SystemExit(_interrupted(exc, args.store)) from None


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


def rerun_argv(args: argparse.Namespace, plan: SweepPlan, params: dict[str, Any]) -> list[str]:
    """The ``crwv-bt run`` arguments that run one combination of this sweep: the strategy (or
    rule), ``--param`` for each grid key, and the data and cost options (``--sizing`` and
    ``--borrow-fee`` too) that differ from the defaults."""
    s = plan.setup
    argv = (
        ["--rules", str(args.rules), "--rule", s.rule.name]
        if s.rule is not None
        else ["--strategy", s.name]
    )
    for key in s.axes:
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


def _report_sweep(args: argparse.Namespace, ranked: RankedSweep) -> None:
    """Print the top rows, the overfitting statistics, the warnings and the command that reruns
    the winner; write files; with ``--rerun-best``, rerun it."""
    summary, frame, heat = ranked.summary, ranked.summary.ranked, ranked.heat
    print(format_top(summary, args.top))
    print(format_overfit(summary.overfit))
    for note in summary.warnings:
        print(f"warning: {note}")
    argv = rerun_argv(args, ranked.plan, _chosen_params(summary))
    line = "crwv-bt run " + " ".join(shlex.quote(a) for a in argv)
    print(f"rerun the chosen combination: {line}")
    out = None
    if not args.no_files:
        out = Path(args.out) if args.out else default_out("sweep")
        take_names(out, SWEEP_FILES)
        written = write_sweep_files(
            out,
            summary,
            {**_header(args, ranked.plan), "rerun_argv": argv},
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
    """``crwv-bt walkforward``: per fold, sweep the training window and trade the winner after it
    (:func:`engine.api.sweeps.walkforward`); its ``--out`` folder is claimed once the inputs
    are checked."""
    plans: list[SweepPlan] = []
    with ExitStack() as claim:

        def ready(plan: SweepPlan) -> None:
            plans.append(plan)
            if not args.no_files:
                args.out = str(Path(args.out) if args.out else default_out("walkforward"))
                claim.enter_context(reserved(args.out, mark=True))
            print(_describe(args, plan, "walk-forward") + f"; {len(plan.folds)} folds")
            if plan.combos.refused:
                print(f"note: {plan.combos.refusal_text()}")

        try:
            wf = walkforward(
                **_options(args),
                train=args.train,
                test=args.test,
                anchored=args.anchored,
                _ready=ready,
                _cli=True,
            )
        except SweepInterrupted as exc:
            return _interrupted(exc, args.store)
        print(format_walkforward(wf))
        for note in wf.warnings:
            print(f"warning: {note}")
        if not args.no_files:
            out = Path(args.out)
            take_names(out, WALKFORWARD_FILES)
            written = write_walkforward_files(
                out, wf, _header(args, plans[0]), plots=not args.no_plots
            )
            print(f"wrote {len(written)} files to {out}/")
    return 0
