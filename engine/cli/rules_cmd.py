"""``crwv-bt rules check FILE``: parse a rule file, list each rule's parameters and warm-up.

A file that does not check out is refused with one line (``error: ...``, exit 2) naming the
file, the rule, the key, the column and the closest known name (:mod:`engine.rules`).
"""

from __future__ import annotations

import argparse

from engine.rules import PROTECTIVE, Rule, load_rules


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``rules`` (with its ``check`` subcommand) to the CLI."""
    rules = sub.add_parser("rules", help="check a rule file: parameters, warm-up, conditions")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="{check}")
    check = rsub.add_parser(
        "check",
        help="parse every rule of a TOML file; list parameters, warm-up, conditions and orders",
    )
    check.add_argument("file", help="rule file, e.g. strategies/rules/examples.toml")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Print every rule of the file (exit 0), or the first problem (exit 2, via UserError)."""
    book = load_rules(args.file)
    print(f"{args.file}: {len(book.rules)} rule(s), all check out (sha256 {book.sha256[:12]})")
    for rule in book.rules.values():
        print()
        print("\n".join(describe(rule)))
    return 0


def describe(rule: Rule) -> list[str]:
    """The lines ``rules check`` prints for one rule."""
    warm = rule.warmup(rule.params)
    lines = [f"[{rule.name}]  {rule.ref()}"]
    if rule.description:
        lines.append(f"  {rule.description}")
    lines.append(f"  warm-up: {warm} bar(s) with the defaults (a run needs at least {warm + 1})")
    if rule.params:
        lines.append("  parameters:")
        for key, value in rule.params.items():
            default = str(value).lower() if isinstance(value, bool) else repr(value)
            lines.append(f"    {key:<14} {default:<10} {rule.help.get(key, '')}".rstrip())
    lines.append(f"  entry: {rule.entry.text}")
    if rule.exit is not None:
        lines.append(f"  exit:  {rule.exit.text}")
    orders = [f"{k} = {rule.orders[k]}" for k in PROTECTIVE if k in rule.orders]
    if orders:
        lines.append(f"  orders: {', '.join(orders)}")
    if rule.stand_aside is not None:
        lines.append(
            f"  stand aside: {rule.stand_aside} session(s) before each earnings report (parameters "
            "stand_aside and earnings; earnings from data/events/<TICKER>.toml when left empty)"
        )
    return lines
