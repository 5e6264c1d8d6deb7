"""``--tickers CRWV,NVDA,...`` for ``crwv-bt run`` and ``crwv-bt compare``: the same
configurations on each ticker of the data dir, one robustness table (see :mod:`engine.jobs.tickers`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.analysis.metrics import METRIC_KEYS
from engine.api.backtests import run_window
from engine.cli import montecarlo_opts
from engine.cli.options import costs_from, default_out
from engine.data.events import load_events
from engine.data.load import load_prices
from engine.errors import ParamError
from engine.files import atomic_write_text
from engine.folders import reserved, take_names
from engine.jobs.tickers import (
    parse_tickers,
    partial_medians,
    rank_strategies,
    robustness_table,
    run_tickers,
)
from engine.report import interactive
from engine.report.extras import Extras
from engine.report.run_folder import write_run
from engine.report.tickers import format_table, render_tickers_html, window_note


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tickers",
        metavar="A,B,...",
        help="run on each of these tickers from the data dir and print one robustness table "
        "(each metric by ticker, plus the median); the swing plan uses relative levels off CRWV",
    )


def run(args: argparse.Namespace, configs: list, rank_by: str | None) -> int:
    """The multi-ticker ``run`` / ``compare``: table, per-ticker folders, robustness files."""
    if args.csv:
        raise ParamError("--tickers reads each ticker from the data dir; drop --csv (or --tickers)")
    tickers = parse_tickers(args.tickers)
    costs = costs_from(args)
    mc = montecarlo_opts.settings_from(args)
    if args.no_files:
        return _run(args, configs, rank_by, tickers, costs, mc, None)
    out = Path(args.out) if args.out else _default_out(rank_by)
    with reserved(out, mark=True):  # checked and claimed before the runs
        return _run(args, configs, rank_by, tickers, costs, mc, out)


def _run(
    args: argparse.Namespace,
    configs: list,
    rank_by: str | None,
    tickers: list[str],
    costs: Any,
    mc: Any,
    out: Path | None,
) -> int:

    def load(ticker: str) -> Any:
        return load_prices(ticker, args.start, args.end, data_dir_=args.data_dir)

    def one(cfgs: list, prices: Any, ticker: str) -> Any:
        # the one path of run / compare (engine.api), per ticker
        return run_window(
            cfgs,
            prices,
            ticker,
            cash=args.cash,
            costs=costs,
            fractional=args.fractional,
            data_dir=args.data_dir,
        ).batch

    runs = run_tickers(configs, tickers, load, one)
    table = robustness_table(runs)
    if rank_by:
        table = _ranked(table, rank_by)
    print(f"{window_note(runs)}; {costs.describe()}")
    print(format_table(table))
    if rank_by and rank_by in table.index.get_level_values("metric"):
        for label, missing in partial_medians(table, rank_by).items():
            print(
                f"note: {label} has no {rank_by} on {', '.join(missing)}: its median is over "
                "fewer tickers, so it ranks after the configurations measured on every ticker"
            )
    extras = {}
    for r in runs:
        got: dict[str, Any] = {}
        if mc is not None:
            print(f"\n== {r.ticker}")
            got = montecarlo_opts.report(r.batch, r.batch.prices, r.configs, mc)
        extras[r.ticker] = Extras(
            events=load_events(r.ticker, args.data_dir),
            monte_carlo=got.get("results"),
            summaries=got.get("summaries"),
        )
    if out is not None:
        written = _write(out, runs, table, args, extras)
        print(
            f"wrote {written} files to {out}/ (open {out / 'report.html'}; one folder per ticker)"
        )
    return 0


def _ranked(table: Any, metric: str) -> Any:
    if metric not in table.index.get_level_values("metric"):
        if metric not in METRIC_KEYS:
            raise ParamError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_KEYS)}")
        return table
    return rank_strategies(
        table, metric, ascending=metric in ("max_drawdown_duration", "volatility")
    )


def _default_out(rank_by: str | None) -> Path:
    return default_out("compare-tickers" if rank_by else "run-tickers")


def _write(out: Path, runs: list, table: Any, args: argparse.Namespace, extras: dict) -> int:
    take_names(out, ["robustness.csv", "report.html"])
    count = 0
    charts = {}
    for r in runs:
        b = r.batch
        count += len(
            write_run(
                out / r.ticker,
                b.results,
                b.metrics,
                b.prices,
                plots=not args.no_plots,
                buy_hold=b.buy_hold,
                extras=extras.get(r.ticker),
            )
        )
        if not args.no_plots:
            fig = interactive.comparison_figure(b.results, b.buy_hold)
            charts[r.ticker] = interactive.chart_html(fig, f"growth-{r.ticker}", rescale=False)
    atomic_write_text(out / "robustness.csv", table.to_csv())
    atomic_write_text(out / "report.html", render_tickers_html(runs, table, charts))
    return count + 2
