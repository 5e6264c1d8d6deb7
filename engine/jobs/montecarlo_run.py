"""``crwv-bt run --monte-carlo N``: the three Monte Carlo methods on one run, and their summary.

:func:`monte_carlo` runs the trade bootstrap and the stationary block bootstrap
(:mod:`engine.analysis.montecarlo`, ``N`` paths each) and the execution-noise replays
(:mod:`engine.jobs.montecarlo_exec`, ``min(N, replays)`` replays: each is a run of the engine) from
one seed, each method drawing from its own child stream so adding one never changes another's
paths. :func:`summaries` turns them into plain data (``metrics.json``, the report, the API);
:func:`engine.report.montecarlo.format_bands` prints the terminal table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis import montecarlo as mc
from engine.jobs.montecarlo_exec import SHIFT_RANGE, SLIPPAGE_RANGE, execution_noise
from engine.result import RunResult

#: Default cap on execution-noise replays (each one reruns the engine).
MAX_REPLAYS = 1_000


@dataclass(frozen=True)
class MonteCarloSettings:
    """What ``--monte-carlo`` and its companion options ask for."""

    n_paths: int = 1_000
    seed: int = 0
    replays: int = MAX_REPLAYS
    shift: tuple[int, int] = SHIFT_RANGE
    slippage: tuple[float, float] = SLIPPAGE_RANGE
    dd_threshold: float = mc.DD_THRESHOLD
    block_length: float | None = None
    count: str = "poisson"


def monte_carlo(
    result: RunResult,
    prices: pd.DataFrame,
    strategy_cls: type,
    settings: MonteCarloSettings,
    jobs: int | None = None,
) -> dict[str, mc.MonteCarloResult]:
    """The three methods on ``result`` (``prices``: the run's window), keyed by method."""
    seeds = np.random.SeedSequence(settings.seed).generate_state(3)
    trades = mc.trade_bootstrap(
        result.equity,
        result.trades,
        settings.n_paths,
        int(seeds[0]),
        count=settings.count,
    )
    block = mc.block_bootstrap(
        result.equity, settings.n_paths, int(seeds[1]), block_length=settings.block_length
    )
    noise = execution_noise(
        result,
        prices,
        strategy_cls,
        n_paths=min(settings.n_paths, settings.replays),
        seed=int(seeds[2]),
        shift=settings.shift,
        slippage=settings.slippage,
        jobs=jobs,
    )
    return {"trades": trades, "block": block, "execution": noise}


def summaries(
    results: dict[str, mc.MonteCarloResult], settings: MonteCarloSettings
) -> dict[str, Any]:
    """Plain data: per method, :func:`engine.analysis.montecarlo.summarize` (bands etc.)."""
    out = {}
    for method, res in results.items():
        doc = mc.summarize(res, dd_threshold=settings.dd_threshold)
        # the seed the user gave; each method draws from its own stream derived from it
        out[method] = {**doc, "seed": settings.seed, "stream_seed": res.seed}
    return out


def for_batch(
    batch: Any, prices: pd.DataFrame, configs: list, settings: MonteCarloSettings
) -> dict[str, dict[str, mc.MonteCarloResult]]:
    """:func:`monte_carlo` for every run of a :class:`engine.jobs.runner.Batch` (label -> method ->
    result); ``configs`` give each label's strategy class (the replays rerun it)."""
    classes = {c.label: c.strategy_cls for c in configs}
    out = {}
    for result in batch.results:
        cls = classes.get(result.strategy, type(batch.buy_hold))
        out[result.strategy] = monte_carlo(result, prices, cls, settings)
    return out
