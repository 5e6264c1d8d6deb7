"""``crwv-bt run`` and ``crwv-bt compare``: run configurations, print the table, write the folder."""

from __future__ import annotations

import argparse
import json
import shlex
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine import api
from engine import params as params_mod
from engine.cli import montecarlo_opts, tickers_opts
from engine.cli.options import (
    add_cost_options,
    add_data_options,
    add_output_options,
    add_rule_options,
    costs_from,
    default_out,
    registry,
    rule_classes,
    strategy_class,
)
from engine.errors import ParamError, UserError
from engine.folders import reserved
from engine.jobs.runner import Config
from engine.params import suggest
from engine.report import chart_set
from engine.report.compare_html import group_marks, groups_text
from engine.report.montecarlo import format_bands
from engine.report.run_folder import older_run_folder
from engine.report.summary_table import MAX_WIDTH, summary_table
from engine.variants import default_variants_path, find_variant, load_variants
from strategies import lookup


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``compare`` to the CLI."""
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
    run.add_argument(
        "--from-sweep",
        metavar="DIR",
        help="run the combination a sweep chose (its folder's summary.json); output options "
        "given here still apply",
    )
    add_rule_options(run)
    tickers_opts.add_options(run)
    montecarlo_opts.add_options(run)
    add_output_options(run)
    add_data_options(run)
    add_cost_options(run)
    run.set_defaults(func=cmd_run)

    cmp_ = sub.add_parser(
        "compare",
        help="run every variant of a TOML file (or every rule of a rule file) side by side",
    )
    cmp_.add_argument("--config", help="variants TOML file, e.g. strategies/variants.toml")
    add_rule_options(cmp_)
    cmp_.add_argument("--metric", default="sharpe", help="rank by this metric key (default sharpe)")
    cmp_.set_defaults(variant=None, func=cmd_compare)
    tickers_opts.add_options(cmp_)
    montecarlo_opts.add_options(cmp_)
    add_output_options(cmp_)
    add_data_options(cmp_)
    add_cost_options(cmp_)


def run_command(argv: list[str]) -> int:
    """``crwv-bt run ARGV`` from inside another command (``sweep --rerun-best``)."""
    parser = argparse.ArgumentParser(prog="crwv-bt")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", *argv])
    return int(args.func(args) or 0)


def _from_sweep(args: argparse.Namespace) -> int:
    """``run --from-sweep DIR``: the sweep's rerun arguments, with this command's output options."""
    path = Path(args.from_sweep) / "summary.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8")).get("rerun_argv")
    except (OSError, ValueError) as exc:
        raise UserError(
            f"--from-sweep {args.from_sweep}: cannot read {path} ({exc}); give a folder `crwv-bt sweep` wrote"
        ) from None
    if not isinstance(saved, list):
        raise UserError(
            f"--from-sweep {args.from_sweep}: {path} has no rerun arguments (written by an older "
            "version); rerun the sweep, or copy its `crwv-bt run` line"
        )
    extra = []
    if args.out:
        extra += ["--out", args.out]
    extra += [f for f, on in (("--no-plots", args.no_plots), ("--no-files", args.no_files)) if on]
    print("crwv-bt run " + " ".join(shlex.quote(a) for a in saved))
    return run_command([*saved, *extra])


def cmd_run(args: argparse.Namespace) -> int:
    """``crwv-bt run``: strategies (default all), overrides or one variant; table and run folder."""
    if getattr(args, "from_sweep", None):
        return _from_sweep(args)
    reg = registry()
    overrides = params_mod.parse_assignments(args.param)
    described: dict[str, str] = {}
    if args.config or args.variant:
        configs, described = _variant_configs(args, reg)
        if overrides:
            configs = [replace(c, params={**c.params, **overrides}) for c in configs]
    else:
        rules = _rule_configs(args)
        names = args.strategy or ([] if rules else list(reg))
        configs = [Config(n, strategy_class(n), {}) for n in names] + rules
        configs = _apply_overrides(_unique_labels(configs), overrides)
    return _run_and_report(args, configs, rank_by=None, described=described)


def _rule_configs(args: argparse.Namespace) -> list:
    """One configuration per rule ``--rules`` / ``--rule`` select, labelled by the rule's name."""
    return [Config(cls.alias, cls, {}) for cls in rule_classes(args)]


def _unique_labels(configs: list) -> list:
    """A rule named like a strategy run beside it is labelled ``NAME (rule)``."""
    taken = {c.label for c in configs if not _is_rule(c)}
    return [
        replace(c, label=f"{c.label} (rule)") if _is_rule(c) and c.label in taken else c
        for c in configs
    ]


def _is_rule(cfg: Config) -> bool:
    return getattr(cfg.strategy_cls, "rule", None) is not None


def _apply_overrides(configs: list, overrides: dict[str, str]) -> list:
    """Give each KEY=VALUE to every selected strategy that declares KEY."""
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
                f"unknown parameter {key!r} for {names}{suggest(key, list(known))}; see `crwv-bt strategies`"
            )
    out = []
    for c in configs:
        declared = params_mod.declared(c.strategy_cls)
        mine = {k: v for k, v in overrides.items() if k in declared}
        out.append(Config(c.label, c.strategy_cls, mine))
    return out


def _variant_configs(
    args: argparse.Namespace, reg: dict[str, type]
) -> tuple[list[Config], dict[str, str]]:
    """The configurations of ``--config`` (one ``--variant`` or all), and their descriptions."""
    if args.variant and not args.config:
        args.config = str(default_variants_path())
    variants = load_variants(args.config, reg)
    if args.variant:
        variants = [find_variant(variants, args.variant, args.config)]
    configs = [Config(v.name, lookup(v.strategy), v.params, v.sizing) for v in variants]
    return configs, {v.name: v.description for v in variants if v.description}


def _about(configs: list[Config], described: dict[str, str]) -> dict[str, dict]:
    """Label -> description, base strategy and declared defaults, for the report."""
    names = {cls: name for name, cls in registry().items()}
    return {
        c.label: {
            "description": described.get(c.label)
            or described.get(c.label.split(" (")[0])  # a name kept for the benchmark (runner)
            or getattr(c.strategy_cls, "summary", ""),
            "base": names.get(c.strategy_cls, getattr(c.strategy_cls, "alias", c.label)),
            "defaults": params_mod.declared(c.strategy_cls),
        }
        for c in configs
    }


def cmd_compare(args: argparse.Namespace) -> int:
    """``crwv-bt compare``: every variant of a TOML file (and every rule of a rule file) side
    by side, best first."""
    if not args.config and not args.rules:
        raise ParamError(
            "give --config VARIANTS.toml and/or --rules RULES.toml, e.g. --config strategies/variants.toml"
        )
    configs, described = _variant_configs(args, registry()) if args.config else ([], {})
    configs += _rule_configs(args)
    labels = [c.label for c in configs]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ParamError(f"{twice[0]!r} is both a variant and a rule; rename one of them")
    return _run_and_report(args, configs, rank_by=args.metric, described=described)


def _run_and_report(
    args: argparse.Namespace,
    configs: list,
    rank_by: str | None,
    described: dict[str, str] | None = None,
) -> int:
    mc_settings = montecarlo_opts.settings_from(args)  # bad options fail before any run
    if args.tickers:
        return tickers_opts.run(args, configs, rank_by)
    if not (args.no_files or args.no_plots):
        # a process loads matplotlib while this one loads data and runs the backtests, then
        # draws the charts (engine.report.chart_set); ended here if the run fails first
        chart_set.start_drawer()
    try:
        return _run_configs(args, configs, rank_by, mc_settings, described)
    finally:
        chart_set.stop_drawer()


def _run_configs(
    args: argparse.Namespace,
    configs: list,
    rank_by: str | None,
    mc_settings: Any,
    described: dict[str, str] | None,
) -> int:
    """Run through the Python API (:func:`engine.api.compare`), print, write the folder
    (checked, and created, before the runs: :func:`engine.folders.reserved`)."""
    out = Path(args.out) if args.out else default_out("compare" if rank_by else "run")
    if args.no_files:
        return _run_and_print(args, rank_by, mc_settings, described, configs, None)
    with reserved(out, adopt=older_run_folder):
        return _run_and_print(args, rank_by, mc_settings, described, configs, out)


def _run_and_print(
    args: argparse.Namespace,
    rank_by: str | None,
    mc_settings: Any,
    described: dict[str, str] | None,
    configs: list,
    out: Path | None,
) -> int:
    runs = api.compare(
        configs,
        ticker=args.ticker,
        start=args.start,
        end=args.end,
        csv=args.csv,
        data_dir=args.data_dir,
        cash=args.cash,
        costs=costs_from(args),
        fractional=args.fractional,
        metric=rank_by,
        _cli=True,
    )
    if rank_by:
        metrics = {r.name: r.metrics for r in runs}
        print(_compare_text(runs.describe(), [r.run for r in runs], metrics, rank_by))
    else:
        print(runs.describe())
        print(runs.table())
    for note in runs.notes():
        print(textwrap.fill(f"note: {note}", MAX_WIDTH, subsequent_indent="  "))
    if mc_settings:
        runs.monte_carlo(settings=mc_settings)
        for r in runs:
            print()
            print(format_bands(r.name, r.monte_carlo_summary))
    if out is not None:
        about = _about([r.config for r in runs], described or {})
        written = runs.write(out, plots=not args.no_plots, about=about)
        print(f"wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    return 0


def _compare_text(head: str, results: list, metrics: dict, rank_by: str) -> str:
    """The compare table: one row per run, best first, identical runs marked, <= 100 columns."""
    width = MAX_WIDTH
    marks = group_marks(results)
    parts = [textwrap.fill(head, width), f"ranked by {rank_by}, best first"]
    parts.append(summary_table(metrics, marks=marks))
    groups = groups_text(results, width)
    if groups:
        parts.append(groups)
    return "\n".join(parts)
