"""Options and helpers shared by the command modules (data window, costs, output, strategy names).

The command modules import these; this module imports no command module, so the table in
:mod:`engine.cli.main` is the only place that knows every command.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from engine.api import make_costs
from engine.data.load import load_prices
from engine.errors import ParamError
from engine.result import Costs
from engine.rules import load_rules
from strategies import STRATEGIES, lookup
from strategies.rule import RuleStrategy, rule_strategy

DEFAULT_TICKER = "CRWV"


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Data selection options shared by run / compare / sweep / walkforward."""
    p.add_argument("--ticker", default=DEFAULT_TICKER, help="symbol (default CRWV)")
    p.add_argument("--start", help="first date, YYYY-MM-DD (default: first bar)")
    p.add_argument("--end", help="last date, YYYY-MM-DD (default: last bar)")
    p.add_argument("--csv", help="read prices from this CSV instead of the data dir")
    p.add_argument("--data-dir", help="price cache folder (default $CRWV_BT_DATA_DIR, else data/)")


def add_cost_options(p: argparse.ArgumentParser) -> None:
    """Cash and cost options shared by every command that trades."""
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
    p.add_argument(
        "--borrow-fee",
        type=float,
        default=d.borrow_fee,
        metavar="RATE",
        help="annual fee on short positions, a fraction (0.03 = 3%% a year; default 0)",
    )
    p.add_argument(
        "--sizing",
        default="all_in",
        metavar="KIND[:VALUE[:SPLIT]]",
        help="position size of each entry: all_in (default, all the cash), fraction:F of the "
        "account, fixed:DOLLARS, shares:N, risk:F (lose at most F of the account at the stop; "
        "needs a stop); swing tranches share it, :shares for equal shares (docs/sizing.md)",
    )


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``--out``, ``--no-plots`` and ``--no-files`` of the commands that write a run folder."""
    p.add_argument("--out", help="output folder (default: a new folder under results/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG charts")
    p.add_argument("--no-files", action="store_true", help="print the table only, write nothing")


def costs_from(args: argparse.Namespace) -> Costs:
    """The :class:`Costs` of the cost options, checked (:func:`engine.api.make_costs`)."""
    return make_costs(
        cash=args.cash,
        cli=True,
        commission=args.commission,
        commission_min=args.commission_min,
        commission_max=args.commission_max,
        slippage=args.slippage,
        sizing=getattr(args, "sizing", None),
        borrow_fee=getattr(args, "borrow_fee", None),
    )


def load_window(args: argparse.Namespace, min_bars: int = 1) -> pd.DataFrame:
    """The price window the data options select (at least ``min_bars`` bars)."""
    return load_prices(
        args.ticker, args.start, args.end, csv=args.csv, data_dir_=args.data_dir, min_bars=min_bars
    )


def registry() -> dict[str, Any]:
    """The strategy registry (:data:`strategies.STRATEGIES`)."""
    return STRATEGIES


def strategy_class(name: str) -> type:
    """The registered strategy ``name`` (or a loaded rule's ref); a :class:`ParamError` with a
    hint otherwise."""
    return lookup(name)


def add_rule_options(p: argparse.ArgumentParser, several: bool = True) -> None:
    """``--rules FILE`` and ``--rule NAME`` (repeatable when ``several``): rules as strategies."""
    p.add_argument("--rules", metavar="FILE", help="rule file (TOML, see docs/rules.md)")
    if several:
        p.add_argument(
            "--rule",
            action="append",
            metavar="NAME",
            help="a rule of --rules (repeatable; default: every rule of the file)",
        )
    else:
        p.add_argument("--rule", metavar="NAME", help="the rule of --rules to use")


def rule_classes(args: argparse.Namespace) -> list[type[RuleStrategy]]:
    """The strategy classes of the rules the options select (``--rule`` needs ``--rules``)."""
    names = args.rule if isinstance(args.rule, list) else [args.rule] if args.rule else []
    if not args.rules:
        if names:
            raise ParamError(
                f"--rule {names[0]} needs --rules FILE (e.g. --rules strategies/rules/examples.toml)"
            )
        return []
    book = load_rules(args.rules)
    chosen = names or list(book.rules)
    return [rule_strategy(book.get(name)) for name in chosen]


def one_rule(args: argparse.Namespace) -> type[RuleStrategy]:
    """The one rule ``--rules FILE --rule NAME`` selects (``--rule`` may be left out when the
    file holds one rule)."""
    classes = rule_classes(args)
    if len(classes) != 1:
        names = ", ".join(c.alias for c in classes)
        raise ParamError(
            f"{args.rules} holds {len(classes)} rules ({names}); pick one with --rule NAME"
        )
    return classes[0]


def default_out(kind: str = "run") -> Path:
    """A new folder under ``results/`` named by the command and the time."""
    return Path("results") / f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
