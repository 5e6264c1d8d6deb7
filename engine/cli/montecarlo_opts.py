"""The ``--monte-carlo`` options of ``crwv-bt run``: registration, settings, printing.

Kept apart from the run command so that ``run`` and ``compare`` only call :func:`add_options`,
:func:`settings_from` and :func:`report`.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.errors import ParamError
from engine.jobs.montecarlo_exec import check as check_replays
from engine.jobs.montecarlo_run import MAX_REPLAYS, MonteCarloSettings, for_batch, summaries
from engine.report.montecarlo import format_bands


def add_options(p: argparse.ArgumentParser) -> None:
    """``--monte-carlo N`` and its companions."""
    g = p.add_argument_group("Monte Carlo (how lucky was it?)")
    g.add_argument(
        "--monte-carlo",
        type=int,
        metavar="N",
        default=0,
        help="N bootstrap paths per method (trade and block bootstrap; execution-noise replays: "
        "min(N, --mc-replays)); 0 = off",
    )
    g.add_argument("--mc-seed", type=int, default=0, help="seed of every draw (default 0)")
    g.add_argument(
        "--mc-replays",
        type=int,
        default=MAX_REPLAYS,
        help=f"cap on execution-noise replays (default {MAX_REPLAYS}; each reruns the engine)",
    )
    g.add_argument(
        "--mc-shift",
        default="0:1",
        metavar="LO:HI",
        help="sessions each order is moved by, drawn uniformly (default 0:1, i.e. 0 or 1 late; "
        "a negative LO acts before the signal: look-ahead, a sensitivity check only)",
    )
    g.add_argument(
        "--mc-slippage",
        default="0:0.002",
        metavar="LO:HI",
        help="slippage range of the replays, fractions (default 0:0.002 = 0 to 20 bp)",
    )
    g.add_argument(
        "--mc-drawdown",
        type=float,
        default=0.25,
        help="drawdown threshold of P(DD), a fraction (default 0.25 = deeper than -25%%)",
    )


def settings_from(args: argparse.Namespace) -> MonteCarloSettings | None:
    """The settings asked for, or None without ``--monte-carlo``."""
    n = int(getattr(args, "monte_carlo", 0) or 0)
    if n == 0:
        return None
    if n < 0:
        raise ParamError(f"--monte-carlo {n}: give a positive number of paths (0 = off)")
    if args.mc_seed < 0:
        raise ParamError(f"--mc-seed {args.mc_seed} must be >= 0")
    if args.mc_replays < 1:
        raise ParamError(f"--mc-replays {args.mc_replays} must be >= 1")
    if not 0 < args.mc_drawdown < 1:
        raise ParamError(f"--mc-drawdown {args.mc_drawdown:g} is a fraction in (0, 1), e.g. 0.25")
    settings = MonteCarloSettings(
        n_paths=n,
        seed=args.mc_seed,
        replays=args.mc_replays,
        shift=parse_range(args.mc_shift, "--mc-shift", int),
        slippage=parse_range(args.mc_slippage, "--mc-slippage", float),
        dd_threshold=args.mc_drawdown,
    )
    check_replays(n, settings.shift, settings.slippage)
    return settings


def report(batch: Any, prices: Any, configs: list, settings: MonteCarloSettings) -> dict[str, Any]:
    """Run the Monte Carlo of every run in ``batch``, print each table; returns ``{"results":
    label -> method -> MonteCarloResult, "summaries": label -> method -> summary}``."""
    results = for_batch(batch, prices, configs, settings)
    docs = {label: summaries(res, settings) for label, res in results.items()}
    for label, doc in docs.items():
        print()
        print(format_bands(label, doc))
    return {"results": results, "summaries": docs}


def parse_range(text: str, name: str, kind: type = float) -> tuple[Any, Any]:
    """``"0:0.002"`` -> ``(0.0, 0.002)`` for ``--mc-slippage`` / ``--mc-shift``."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        lo, hi = kind(parts[0]), kind(parts[1])
    except ValueError:
        example = "0:1" if kind is int else "0:0.002"
        raise ParamError(f"{name} {text!r}: give LOW:HIGH, e.g. {name} {example}") from None
    if lo > hi:
        raise ParamError(f"{name} {text!r}: LOW is above HIGH; swap them")
    return lo, hi
