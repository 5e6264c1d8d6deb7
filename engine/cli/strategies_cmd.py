"""``crwv-bt strategies``: every registered strategy with its parameters, defaults and rules,
then every rule of the shipped rule files (``strategies/rules/*.toml``) or of ``--rules FILE``
with its parameters, warm-up and conditions (as ``crwv-bt rules check`` prints them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine import params as params_mod
from engine.cli.options import registry
from engine.cli.rules_cmd import describe
from engine.rules import load_rules
from engine.variants import default_rule_files


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``strategies`` to the CLI."""
    lst = sub.add_parser(
        "strategies",
        help="list strategies and rules, their parameters and rules",
        description="Every registered strategy with its parameters and defaults, then every rule "
        "of the shipped rule files (strategies/rules/*.toml) or of --rules FILE.",
    )
    lst.add_argument(
        "--rules",
        metavar="FILE",
        action="append",
        help="list the rules of this file instead of the shipped ones (repeatable)",
    )
    lst.set_defaults(func=cmd_strategies)


def cmd_strategies(args: argparse.Namespace) -> int:
    """``crwv-bt strategies``: every strategy with its parameters, defaults and rules."""
    files = [Path(f) for f in args.rules] if getattr(args, "rules", None) else default_rule_files()
    books = [(path, load_rules(path)) for path in files]  # a bad file fails before any output
    for name, cls in registry().items():
        print(f"{name}  ({cls.__name__})")
        print(f"  {cls.summary}")
        docs = params_mod.describe(cls)
        for key, default in params_mod.declared(cls).items():
            print(f"    {key:<20} {_fmt_default(default):<22} {docs.get(key, '')}")
        print()
    for path, book in books:
        print(f"Rules in {_shown(path)} (run with --rules {_shown(path)} --rule NAME)")
        print()
        for rule in book.rules.values():
            print("\n".join(describe(rule)))
            print()
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fmt_default(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return str(value)
