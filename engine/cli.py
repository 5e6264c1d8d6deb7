"""``crwv-bt``: the command line (also ``python -m engine``).

Every user error (bad data, an unknown strategy or parameter, an impossible combination, a failed
download) is printed as one line ``error: ...`` on stderr with exit code 2, never a traceback.
Warnings about the data (a stale cache, missing sessions) are printed as ``warning: ...``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import ParamError, UserError

DEFAULT_TICKER = "CRWV"


# ------------------------------------------------------------------------------------ options


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Data selection options shared by run / compare / sweep / walkforward."""
    p.add_argument("--ticker", default=DEFAULT_TICKER, help="symbol (default CRWV)")
    p.add_argument("--start", help="first date, YYYY-MM-DD (default: first bar)")
    p.add_argument("--end", help="last date, YYYY-MM-DD (default: last bar)")
    p.add_argument("--csv", help="read prices from this CSV instead of the data dir")
    p.add_argument("--data-dir", help="price cache folder (default $CRWV_BT_DATA_DIR, else data/)")


def add_cost_options(p: argparse.ArgumentParser) -> None:
    """Cash and cost options shared by every command that trades."""
    from engine.result import Costs

    d = Costs()
    p.add_argument("--cash", type=float, default=100_000.0, help="starting cash (default 100000)")
    p.add_argument(
        "--commission",
        type=float,
        default=d.commission_per_share,
        help=f"commission per share, dollars (default {d.commission_per_share})",
    )
    p.add_argument(
        "--commission-min",
        type=float,
        default=d.commission_min,
        help=f"minimum commission per order (default {d.commission_min})",
    )
    p.add_argument(
        "--commission-max",
        type=float,
        default=d.commission_max_pct,
        help=f"commission cap, fraction of the fill value (default {d.commission_max_pct})",
    )
    p.add_argument(
        "--slippage",
        type=float,
        default=d.slippage,
        help=f"slippage, fraction of the price (default {d.slippage} = 5 bp)",
    )
    p.add_argument("--fractional", action="store_true", help="allow fractional shares")


def costs_from(args: argparse.Namespace):  # noqa: ANN201
    from engine.result import Costs

    for name in ("commission", "commission_min", "commission_max", "slippage"):
        value = getattr(args, name)
        if value < 0:
            raise ParamError(
                f"--{name.replace('_', '-')} {value:g} is negative; costs must be >= 0"
            )
    if args.slippage >= 0.1:
        raise ParamError(
            f"--slippage {args.slippage:g} is a fraction (0.0005 = 5 bp); give a value below 0.1"
        )
    if args.cash <= 0:
        raise ParamError(f"--cash {args.cash:g} must be positive")
    return Costs(args.commission, args.commission_min, args.commission_max, args.slippage)


def load_window(args: argparse.Namespace, min_bars: int = 1):  # noqa: ANN201
    from engine.data import load_prices

    return load_prices(
        args.ticker, args.start, args.end, csv=args.csv, data_dir_=args.data_dir, min_bars=min_bars
    )


def registry() -> dict[str, Any]:
    from strategies import STRATEGIES

    return STRATEGIES


def strategy_class(name: str) -> type:
    from engine.params import suggest

    reg = registry()
    if name not in reg:
        raise ParamError(
            f"unknown strategy {name!r}{suggest(name, list(reg))}; known: {', '.join(reg)} (see `crwv-bt strategies`)"
        )
    return reg[name]


def default_out(kind: str = "run") -> Path:
    return Path("results") / f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


# ------------------------------------------------------------------------------------ commands


def cmd_run(args: argparse.Namespace) -> int:
    from engine import params as params_mod
    from engine.runner import Config

    reg = registry()
    overrides = params_mod.parse_assignments(args.param)
    if args.config or args.variant:
        configs = _variant_configs(args, reg)
        if overrides:
            configs = [Config(c.label, c.strategy_cls, {**c.params, **overrides}) for c in configs]
    else:
        names = args.strategy or list(reg)
        configs = [Config(n, strategy_class(n), {}) for n in names]
        configs = _apply_overrides(configs, overrides)
    return _run_and_report(args, configs, rank_by=None)


def _apply_overrides(configs: list, overrides: dict[str, str]) -> list:
    """Give each KEY=VALUE to every selected strategy that declares KEY."""
    from engine import params as params_mod
    from engine.runner import Config

    if not overrides:
        return configs
    known: dict[str, list[str]] = {}
    for c in configs:
        for key in params_mod.declared(c.strategy_cls):
            known.setdefault(key, []).append(c.label)
    for key in overrides:
        if key not in known:
            names = ", ".join(c.label for c in configs)
            raise ParamError(
                f"unknown parameter {key!r} for {names}{params_mod.suggest(key, list(known))}; see `crwv-bt strategies`"
            )
    out = []
    for c in configs:
        declared = params_mod.declared(c.strategy_cls)
        mine = {k: v for k, v in overrides.items() if k in declared}
        out.append(Config(c.label, c.strategy_cls, mine))
    return out


def _variant_configs(args: argparse.Namespace, reg: dict[str, type]) -> list:
    from engine.runner import Config
    from engine.variants import default_variants_path, find_variant, load_variants

    if args.variant and not args.config:
        args.config = str(default_variants_path())
    variants = load_variants(args.config, reg)
    if args.variant:
        variants = [find_variant(variants, args.variant, args.config)]
    return [Config(v.name, reg[v.strategy], v.params) for v in variants]


def cmd_compare(args: argparse.Namespace) -> int:
    configs = _variant_configs(args, registry())
    return _run_and_report(args, configs, rank_by=args.metric)


def _run_and_report(args: argparse.Namespace, configs: list, rank_by: str | None) -> int:
    from engine import report
    from engine.runner import load_benchmark, rank, run_configs

    costs = costs_from(args)
    warm = max(
        (getattr(c.strategy_cls, "warmup", lambda p: 0)(_resolved(c)) for c in configs), default=0
    )
    prices = load_window(args, min_bars=warm + 1)
    batch = run_configs(
        configs,
        prices,
        buy_hold_cls=registry()["buy_hold"],
        ticker=args.ticker,
        cash=args.cash,
        costs=costs,
        fractional=args.fractional,
        benchmark=load_benchmark(args.data_dir, prices),
    )
    metrics = batch.metrics
    results = batch.results
    if rank_by:
        from engine.metrics import METRIC_KEYS

        if rank_by not in METRIC_KEYS:
            from engine.params import suggest

            raise ParamError(
                f"unknown metric {rank_by!r}{suggest(rank_by, METRIC_KEYS)}; choose one of {', '.join(METRIC_KEYS)}"
            )
        order = rank(metrics, rank_by, ascending=rank_by in ("max_drawdown_duration", "volatility"))
        metrics = {k: metrics[k] for k in order}
        results = sorted(results, key=lambda r: order.index(r.strategy))
    print(
        f"{args.ticker.upper()} {prices.index[0].date()} to {prices.index[-1].date()} ({len(prices)} bars); {costs.describe()}"
    )
    print(report.format_table(metrics))
    for r in results:
        _print_notes(r)
    out = Path(args.out) if args.out else default_out("compare" if rank_by else "run")
    if not args.no_files:
        written = report.write_run(
            out, results, metrics, prices, plots=not args.no_plots, buy_hold=batch.buy_hold
        )
        print(f"wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    return 0


def _print_notes(result) -> None:  # noqa: ANN001
    """Notes of one run; the routine gap resizes are counted, not listed (fills.csv has them)."""
    resized = [n for n in result.notes if "resized from" in n]
    for note in result.notes:
        if note not in resized:
            print(f"note: {result.strategy}: {note}")
    if resized:
        print(
            f"note: {result.strategy}: {len(resized)} buy(s) resized at the fill because a gap made them unaffordable (fills.csv: resized_from)"
        )


def _resolved(cfg) -> dict:  # noqa: ANN001
    from engine import params as params_mod

    return params_mod.resolve(cfg.strategy_cls, cfg.params)


def cmd_strategies(args: argparse.Namespace) -> int:
    from engine import params as params_mod

    for name, cls in registry().items():
        print(f"{name}  ({cls.__name__})")
        print(f"  {cls.summary}")
        docs = params_mod.describe(cls)
        for key, default in params_mod.declared(cls).items():
            print(f"    {key:<20} {_fmt_default(default):<22} {docs.get(key, '')}")
        print()
    return 0


def _fmt_default(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return str(value)


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from engine.data import fetch

    path = fetch(args.ticker, start=args.start, data_dir_=args.data_dir)
    print(f"wrote {path}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from engine.data import check_file

    frame, problems = check_file(args.file)
    errors = [p for p in problems if not p.endswith("(warning)")]
    if frame is not None:
        print(
            f"{args.file}: {len(frame)} rows, {frame.index[0].date()} to {frame.index[-1].date()}"
        )
    for p in problems:
        print(f"  {p}")
    if errors:
        print(f"{args.file}: {len(errors)} problem(s); fix them before running", file=sys.stderr)
        return 2
    print(f"{args.file}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from engine import report

    path = report.rebuild_report(Path(args.dir))
    print(f"wrote {path}")
    return 0


# ------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crwv-bt", description="Backtest the CRWV article's trading rules."
    )
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser(
        "run", help="run strategies (default: all of them on CRWV) and write a report"
    )
    run.add_argument(
        "--strategy", action="append", help="registered name (repeatable; default all)"
    )
    run.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="parameter override (repeatable)"
    )
    run.add_argument(
        "--config", help="variants TOML file (with --variant; default strategies/variants.toml)"
    )
    run.add_argument("--variant", help="run one variant of --config")
    _add_output(run)
    add_data_options(run)
    add_cost_options(run)
    run.set_defaults(func=cmd_run)

    cmp_ = sub.add_parser("compare", help="run every variant of a TOML file side by side")
    cmp_.add_argument(
        "--config", required=True, help="variants TOML file, e.g. strategies/variants.toml"
    )
    cmp_.add_argument("--metric", default="sharpe", help="rank by this metric key (default sharpe)")
    cmp_.set_defaults(variant=None, func=cmd_compare)
    _add_output(cmp_)
    add_data_options(cmp_)
    add_cost_options(cmp_)

    lst = sub.add_parser("strategies", help="list strategies, their parameters and rules")
    lst.set_defaults(func=cmd_strategies)

    data = sub.add_parser("data", help="fetch or check price files")
    dsub = data.add_subparsers(dest="data_command", required=True)
    fetch = dsub.add_parser("fetch", help="download daily prices with yfinance into the data dir")
    fetch.add_argument("ticker")
    fetch.add_argument("--start", help="first date, YYYY-MM-DD")
    fetch.add_argument("--data-dir", help="folder to write <TICKER>.csv into")
    fetch.set_defaults(func=cmd_data_fetch)
    check = dsub.add_parser("check", help="list every problem in a price CSV")
    check.add_argument("file")
    check.set_defaults(func=cmd_data_check)

    rep = sub.add_parser("report", help="rebuild report.html from a run folder without rerunning")
    rep.add_argument("dir")
    rep.set_defaults(func=cmd_report)

    for register in _extra_commands():
        register(sub)
    return parser


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="output folder (default: a new folder under results/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG charts")
    p.add_argument("--no-files", action="store_true", help="print the table only, write nothing")


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands defined in their own modules (sweep, walkforward, regress)."""
    import importlib

    out = []
    for mod in ("engine.sweep_cli", "engine.regress_cli"):
        try:
            out.append(importlib.import_module(mod).register)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return out


def _format_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or [])])
    old = warnings.showwarning
    warnings.showwarning = _format_warning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        warnings.showwarning = old


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
