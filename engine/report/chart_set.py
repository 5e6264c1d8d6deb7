"""The PNG charts of a run, drawn on every core: :func:`draw_charts`.

A run has 2 + 2 x strategies charts (comparison, indicators, then an equity and a price chart
per strategy, and a Monte Carlo fan per strategy when asked). They are independent, so on a
machine with two or more cores they are drawn by a pool of forked worker processes (each
inherits the loaded modules and the results: nothing is pickled going in, only the PNG bytes
come back), the price charts (the slowest) first. One core, a platform without ``fork`` or
``CRWV_BT_CHART_JOBS=1`` draws them in this process, in order; the bytes are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

import pandas as pd

from engine.report import charts, figures, montecarlo_chart, price_chart
from engine.report.extras import Extras
from engine.result import RunResult

# (file name, module, function name, args, kwargs): the function is looked up when drawing
Task = tuple[str, Any, str, tuple[Any, ...], dict[str, Any]]
_TASKS: list[Task] = []  # the tasks of the pool being run (inherited by the forked workers)
_COST = {"price": 3, "indicators": 2, "montecarlo": 2}  # relative drawing time, by file prefix


def chart_tasks(
    results: list[RunResult],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    extras: Extras | None,
    slugs: dict[str, str],
) -> list[Task]:
    """The charts of a run, in report order: comparison, indicators, then per strategy
    (``slugs``: strategy name -> its file-name part)."""
    if not results:
        return []
    events = extras.events if extras is not None else None
    fans = (extras.monte_carlo or {}) if extras is not None else {}
    tasks: list[Task] = [("comparison.png", charts, "comparison_figure", (results,), {})]
    lead = next((r for r in results if r is not bench), results[0])
    if prices is not None:
        tasks.append(
            ("indicators.png", charts, "indicator_figure", (lead, prices), {"events": events})
        )
    for r in results:
        slug = slugs[r.strategy]
        other = bench if bench is not r else None
        tasks.append((f"equity_{slug}.png", charts, "equity_figure", (r, other), {}))
        if prices is not None:
            tasks.append(
                (f"price_{slug}.png", price_chart, "price_figure", (r, prices), {"events": events})
            )
        methods = fans.get(r.strategy)
        if methods and any(getattr(m, "fan", None) is not None for m in methods.values()):
            title = f"{r.strategy} on {r.ticker}: the run over its Monte Carlo paths"
            tasks.append(
                (
                    f"montecarlo_{slug}.png",
                    montecarlo_chart,
                    "plot_fan",
                    (r.equity, methods),
                    {"title": title},
                )
            )
    return tasks


def chart_jobs(n_tasks: int) -> int:
    """Worker processes to draw ``n_tasks`` charts: the usable cores (``CRWV_BT_CHART_JOBS``
    overrides), at most one per chart; 1 means this process draws them."""
    env = os.environ.get("CRWV_BT_CHART_JOBS", "").strip()
    if env.isdigit() and int(env) > 0:
        cores = int(env)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if not sys.platform.startswith("linux"):  # fork is only safe (and default-cheap) here
        cores = 1
    return max(1, min(cores, n_tasks))


def _cost(name: str) -> int:
    return _COST.get(name.split("_")[0].removesuffix(".png"), 1)


def _draw(i: int) -> bytes:
    name, module, func, args, kwargs = _TASKS[i]
    return figures.png_bytes(getattr(module, func)(*args, **kwargs))


def draw_charts(
    results: list[RunResult],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    extras: Extras | None,
    slugs: dict[str, str],
) -> dict[str, bytes]:
    """File name -> PNG bytes, in report order (:func:`chart_tasks`), drawn in parallel when
    there are cores for it (module docstring). A chart that fails raises here."""
    global _TASKS
    tasks = chart_tasks(results, prices, bench, extras, slugs)
    jobs = chart_jobs(len(tasks))
    _TASKS = tasks
    try:
        if jobs == 1:
            pngs = [_draw(i) for i in range(len(tasks))]
        else:
            order = sorted(range(len(tasks)), key=lambda i: -_cost(tasks[i][0]))
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                drawn = pool.map(_draw, order, chunksize=1)
            by_index = dict(zip(order, drawn, strict=True))
            pngs = [by_index[i] for i in range(len(tasks))]
    finally:
        _TASKS = []
    return {t[0]: png for t, png in zip(tasks, pngs, strict=True)}
