"""``crwv-bt strategies``: every registered strategy with its parameters, defaults and rules."""

from __future__ import annotations

import argparse

from engine import params as params_mod
from engine.cli.options import registry


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``strategies`` to the CLI."""
    lst = sub.add_parser("strategies", help="list strategies, their parameters and rules")
    lst.set_defaults(func=cmd_strategies)


def cmd_strategies(args: argparse.Namespace) -> int:
    """``crwv-bt strategies``: every strategy with its parameters, defaults and rules."""
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
