"""``crwv-bt today``: what each strategy's plan says on the last bar (see :mod:`engine.backtest.today`).

Exit codes: 0 nothing goes out at the next open, 3 an order was sent on the last close (it goes
out at the next open), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import warnings

from engine import params as params_mod
from engine.backtest.today import plan_today
from engine.cli.options import (
    add_cost_options,
    add_data_options,
    add_rule_options,
    costs_from,
    load_window,
    registry,
    rule_classes,
    strategy_class,
)
from engine.data.events import load_events
from engine.errors import ParamError
from engine.jobs.runner import Config, with_earnings
from engine.report.today import format_today
from engine.variants import default_variants_path, find_variant, load_variants
from strategies import lookup


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``today`` to the CLI."""
    p = sub.add_parser(
        "today",
        help="each strategy on the last bar: position, working orders, signal; exit 3 if an order goes out at the next open",
        description="Replay each strategy to the last bar of the data and print what a trader acts "
        "on. Exit codes: 0 nothing to do, 3 an order goes out at the next open, 2 bad input.",
    )
    p.add_argument("--strategy", action="append", help="registered name (repeatable; default all)")
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="parameter override (repeatable)"
    )
    p.add_argument("--config", help="variants TOML file (with --variant)")
    p.add_argument("--variant", help="one variant of --config (default strategies/variants.toml)")
    add_rule_options(p)
    p.add_argument("--json", action="store_true", help="print the state as one JSON document")
    add_data_options(p)
    add_cost_options(p)
    p.set_defaults(func=cmd_today)


def configs_from(args: argparse.Namespace) -> list:
    """The configurations of ``--strategy`` / ``--param`` / ``--config --variant`` / ``--rules
    [--rule]`` (rules alone when no ``--strategy`` is given, labelled by the rule's name)."""
    reg = registry()
    overrides = params_mod.parse_assignments(args.param)
    rules = [Config(cls.alias, cls, {}) for cls in rule_classes(args)]
    if args.config or args.variant:
        path = args.config or str(default_variants_path())
        variants = load_variants(path, reg)
        if args.variant:
            variants = [find_variant(variants, args.variant, path)]
        rules = [Config(c.label, c.strategy_cls, dict(overrides)) for c in rules]
        return [
            Config(v.name, lookup(v.strategy), {**v.params, **overrides}, v.sizing)
            for v in variants
        ] + rules
    names = args.strategy or ([] if rules else list(reg))
    configs = [Config(n, strategy_class(n), {}) for n in names]
    taken = {c.label for c in configs}
    configs += [
        Config(f"{c.label} (rule)", c.strategy_cls, {}) if c.label in taken else c for c in rules
    ]
    if not overrides:
        return configs
    out = []
    for c in configs:
        declared = params_mod.declared(c.strategy_cls)
        out.append(
            Config(c.label, c.strategy_cls, {k: v for k, v in overrides.items() if k in declared})
        )
    unknown = [
        k for k in overrides if not any(k in params_mod.declared(c.strategy_cls) for c in configs)
    ]
    if unknown:
        raise ParamError(f"unknown parameter {unknown[0]!r}; see `crwv-bt strategies`")
    return out


def cmd_today(args: argparse.Namespace) -> int:
    costs = costs_from(args)
    configs = configs_from(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # today reports staleness itself
        prices = load_window(args, min_bars=_warmup(configs) + 1)
    events = load_events(args.ticker, args.data_dir)
    configs = with_earnings(configs, events, prices)
    report = plan_today(
        configs,
        prices,
        ticker=args.ticker,
        cash=args.cash,
        costs=costs,
        fractional=args.fractional,
        end=args.end,
        events=events,
    )
    print(json.dumps(report, indent=2) if args.json else format_today(report))
    return int(report["exit_code"])


def _warmup(configs: list) -> int:
    return max(
        (
            int(
                getattr(c.strategy_cls, "warmup", lambda p: 0)(
                    params_mod.resolve(c.strategy_cls, c.params)
                )
            )
            for c in configs
        ),
        default=0,
    )
