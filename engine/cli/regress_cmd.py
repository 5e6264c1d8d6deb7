"""``crwv-bt regress``: rerun every configuration of a baseline and compare (exit 0 / 1 / 2).

Usage::

    crwv-bt regress                          # check results/baselines/crwv.json
    crwv-bt regress --junit regress.xml --markdown summary.md
    crwv-bt regress --update                 # rewrite the baseline from the current code

Exit codes: 0 every configuration holds; 1 something moved (a table says what); 2 the check
cannot run (baseline missing, corrupted or truncated; data missing or different from the
baseline's), with a one-line ``error:``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from engine.cli.options import registry
from engine.errors import ParamError
from engine.files import atomic_write_text
from engine.folders import check_file_target
from engine.regress import baseline, compare, formats
from engine.regress import run as regress_run
from engine.variants import default_rule_files, default_variants_path


def default_baseline() -> Path:
    """``results/baselines/crwv.json`` of this checkout (not of the current directory)."""
    return Path(__file__).resolve().parents[2] / "results" / "baselines" / "crwv.json"


def _shown(path: Path) -> Path:
    """``path`` relative to the current directory when it is below it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``regress`` command to the CLI."""
    p = sub.add_parser(
        "regress",
        help="check that every strategy's fills and metrics still match the stored baseline",
        description=(
            "Rerun every configuration (each registered strategy with its defaults, each rule of "
            "strategies/rules/*.toml with its defaults, each variant of the variants file) on the "
            "baseline's data window and compare fills and metrics. "
            "Exit 0 when all hold, 1 when anything moved, 2 when the check cannot run."
        ),
    )
    p.add_argument("--baseline", help="baseline JSON (default results/baselines/crwv.json)")
    p.add_argument("--config", help="variants TOML (default strategies/variants.toml)")
    p.add_argument(
        "--rules",
        action="append",
        metavar="FILE",
        help="rule file whose rules are configurations (repeatable; default: every "
        "strategies/rules/*.toml)",
    )
    p.add_argument("--data-dir", help="price folder (default $CRWV_BT_DATA_DIR, else data/)")
    p.add_argument(
        "--update",
        action="store_true",
        help="rewrite the baseline from the current code and print what changed",
    )
    p.add_argument(
        "--junit", metavar="FILE", help="also write JUnit XML (one test case per configuration)"
    )
    p.add_argument(
        "--markdown",
        metavar="FILE",
        help="also write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)",
    )
    g = p.add_argument_group("with --update only: the data window of a new baseline")
    g.add_argument("--ticker", help="symbol (default: the baseline's, else CRWV)")
    g.add_argument("--start", help="first date, YYYY-MM-DD (default: first bar of the file)")
    g.add_argument("--end", help="last date, YYYY-MM-DD (default: last bar of the file)")
    p.set_defaults(func=cmd_regress)


def cmd_regress(args: argparse.Namespace) -> int:
    """Check (or with ``--update``, rewrite) the baseline; exit 0 / 1 / 2."""
    reg = registry()
    path = Path(args.baseline) if args.baseline else _shown(default_baseline())
    variants = args.config or default_variants_path()
    started = time.perf_counter()
    for option, target in (("--junit", args.junit), ("--markdown", args.markdown)):
        if target:
            check_file_target(target, option)  # before the configurations run
    if args.update:
        return _update(args, path, reg, variants)
    if args.ticker or args.start or args.end:
        raise ParamError(
            "--ticker/--start/--end only apply with --update; a check reruns the baseline's own window"
        )
    old = baseline.load_baseline(path, reg)
    ds = old["dataset"]
    window = regress_run.load_window(
        str(ds.get("name") or path.stem),
        ds["ticker"],
        ds["start"],
        ds["end"],
        args.data_dir,
        benchmark=bool(ds.get("benchmark")),
    )
    regress_run.check_data(old, window)
    specs = regress_run.current_specs(reg, variants, _rule_files(args))
    new = regress_run.build_content(specs, reg, window, tolerances=old["tolerances"])
    cmp = compare.compare(old, new)
    _print_comparison(cmp, path)
    elapsed = time.perf_counter() - started
    print(f"{'ok' if cmp.ok else 'FAIL'}: {formats.summary_line(cmp)} ({elapsed:.1f}s)")
    if not cmp.ok:
        print("if the change is intended run `crwv-bt regress --update` and commit the baseline")
    if args.junit:
        atomic_write_text(Path(args.junit), formats.junit_xml(cmp, window.name))
    if args.markdown:
        atomic_write_text(Path(args.markdown), formats.markdown(cmp, window.name))
    return 0 if cmp.ok else 1


def _rule_files(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.rules] if args.rules else default_rule_files()


def _print_comparison(cmp: compare.Comparison, path: Path) -> None:
    print(f"regress {path.name}: {formats.dataset_line(cmp)}")
    table = formats.format_table(cmp)
    if table:
        print(table)


def _update(args: argparse.Namespace, path: Path, reg: dict[str, type], variants: Any) -> int:
    old = None
    if path.exists():
        try:
            old = baseline.load_baseline(path, reg)
        except baseline.BaselineError as exc:
            print(f"note: replacing an unusable baseline ({exc})")
    ticker = args.ticker or (old["dataset"]["ticker"] if old else "CRWV")
    name = str(old["dataset"].get("name") or path.stem) if old else path.stem
    window = regress_run.load_window(name, ticker, args.start, args.end, args.data_dir)
    specs = regress_run.current_specs(reg, variants, _rule_files(args))
    broken = [s for s in specs if s.error]
    if broken:
        raise ParamError(
            f"cannot update: configuration {broken[0].label!r}: {broken[0].error}; fix the strategy or {variants}"
        )
    new = regress_run.build_content(
        specs, reg, window, tolerances=old["tolerances"] if old else None
    )
    if old is None:
        print(f"new baseline: {len(new['configurations'])} configurations")
    else:
        for line in compare.describe_changes(old, new):
            print(line)
        cmp = compare.compare(old, new)
        _print_comparison(cmp, path)
        print(f"{formats.summary_line(cmp)} before the update")
    text = baseline.dumps(new)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    atomic_write_text(path, text)
    print(
        f"{'wrote' if changed else 'unchanged:'} {path} ({len(new['configurations'])} configurations)"
    )
    return 0
