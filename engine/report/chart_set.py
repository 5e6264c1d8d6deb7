"""The PNG charts of a run, drawn on every core: :func:`draw_charts`.

A run has 2 + 2 x strategies charts (comparison, indicators, then an equity and a price chart
per strategy, and a Monte Carlo fan per strategy when asked). They are independent, so on a
machine with two or more cores they are drawn by a pool of forked worker processes, the price
charts (the slowest) first; only the PNG bytes come back. One core, a platform without
``fork`` or ``CRWV_BT_CHART_JOBS=1`` draws them in this process, in order; the bytes are the
same either way.

``crwv-bt run`` also calls :func:`start_drawer` before it loads the data: a forked process then
imports matplotlib and the chart modules (~0.4 s) while this one loads the data and runs the
backtests, and later draws the charts (its own pool) from the tasks it is sent (pickled: the
results are small). This module imports no matplotlib itself, so a process that hands its
charts to the drawer never loads it. :func:`stop_drawer` ends a drawer that was not used.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from engine.report.extras import Extras
from engine.result import RunResult

# (file name, chart module, function name, args, kwargs): the function is looked up when drawn
# (so a test's monkeypatch is seen), in one of the modules :func:`_chart_modules` names
Task = tuple[str, str, str, tuple[Any, ...], dict[str, Any]]
_COST = {"price": 3, "indicators": 2, "montecarlo": 2}  # relative drawing time, by file prefix
_TASKS: list[Task] = []  # the tasks of the pool being run (inherited by the forked workers)
_DRAWER: list[tuple[Any, Connection]] = []  # the started drawer: (process, connection)


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
    charts, price_chart, fan_chart = "charts", "price_chart", "montecarlo_chart"
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
            fan = (r.equity, methods)
            tasks.append((f"montecarlo_{slug}.png", fan_chart, "plot_fan", fan, {"title": title}))
    return tasks


def chart_jobs(n_tasks: int | None = None) -> int:
    """Worker processes to draw ``n_tasks`` charts: the usable cores (``CRWV_BT_CHART_JOBS``
    overrides), at most one per chart; 1 means the calling process draws them."""
    env = os.environ.get("CRWV_BT_CHART_JOBS", "").strip()
    if env.isdigit() and int(env) > 0:
        cores = int(env)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if not sys.platform.startswith("linux"):  # fork is only safe (and cheap) here
        cores = 1
    return max(1, min(cores, n_tasks if n_tasks is not None else cores))


def _cost(name: str) -> int:
    return _COST.get(name.split("_")[0].removesuffix(".png"), 1)


def _chart_modules() -> dict[str, Any]:
    """The chart modules by name. Imported here, not at the top: they load matplotlib (~0.4 s),
    which the process that hands its charts to the drawer never needs."""
    from engine.report import charts, figures, montecarlo_chart, price_chart

    return {
        "charts": charts,
        "price_chart": price_chart,
        "montecarlo_chart": montecarlo_chart,
        "figures": figures,
    }


def _draw(i: int) -> bytes:
    name, module, func, args, kwargs = _TASKS[i]
    modules = _chart_modules()
    fig = getattr(modules[module], func)(*args, **kwargs)
    return modules["figures"].png_bytes(fig)  # type: ignore[no-any-return]


class Drawing:
    """Charts being drawn (:func:`start_charts`); :meth:`result` waits for their PNGs."""

    def __init__(self, tasks: list[Task]) -> None:
        global _TASKS
        self.tasks = tasks
        self._pool: Any = None
        self._async: Any = None
        self._conn: tuple[Any, Connection] | None = None
        if not tasks:
            return
        if _DRAWER:  # the drawer started before the backtests
            proc, conn = _DRAWER.pop()
            try:
                conn.send(tasks)
                self._conn = (proc, conn)
                return
            except (OSError, BrokenPipeError):  # it died: draw here
                conn.close()
                proc.join()
        jobs = chart_jobs(len(tasks))
        if jobs > 1:
            _chart_modules()  # loaded once here, inherited by every worker
            self._order = sorted(range(len(tasks)), key=lambda i: -_cost(tasks[i][0]))
            _TASKS = tasks
            try:  # the workers fork now, with the tasks
                self._pool = multiprocessing.get_context("fork").Pool(jobs)
                self._async = self._pool.map_async(_draw, self._order, chunksize=1)
            finally:
                _TASKS = []

    def cancel(self) -> None:
        """Stop drawing (the caller failed meanwhile): end the drawer or the pool."""
        if self._conn is not None:
            proc, conn = self._conn
            self._conn = None
            conn.close()
            proc.terminate()
            proc.join()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.terminate()
            pool.join()

    def result(self) -> dict[str, bytes]:
        """File name -> PNG bytes, in the tasks' order; a chart that failed raises here."""
        pngs = self._wait()
        return {t[0]: png for t, png in zip(self.tasks, pngs, strict=True)}

    def _wait(self) -> list[bytes]:
        global _TASKS
        if self._conn is not None:
            proc, conn = self._conn
            self._conn = None
            try:
                status, value = conn.recv()
            except (EOFError, OSError):
                status, value = "gone", None
            finally:
                conn.close()
                proc.join()
            if status == "error":
                raise value
            if status == "ok":
                return list(value)
            # the drawer died before answering: draw here
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                drawn = self._async.get()
            finally:
                pool.terminate()
                pool.join()
            by_index = dict(zip(self._order, drawn, strict=True))
            return [by_index[i] for i in range(len(self.tasks))]
        _TASKS = self.tasks
        try:
            return [_draw(i) for i in range(len(self.tasks))]
        finally:
            _TASKS = []


def start_charts(
    results: list[RunResult],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    extras: Extras | None,
    slugs: dict[str, str],
) -> Drawing:
    """Start drawing the charts of a run (:func:`chart_tasks`): sent to the drawer when one was
    started, else to a pool of forked workers (module docstring); with one core they are drawn
    when :meth:`Drawing.result` is called. The caller can work meanwhile (the HTML page)."""
    return Drawing(chart_tasks(results, prices, bench, extras, slugs))


def draw_charts(
    results: list[RunResult],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    extras: Extras | None,
    slugs: dict[str, str],
) -> dict[str, bytes]:
    """File name -> PNG bytes, in report order: :func:`start_charts`, then its result."""
    return start_charts(results, prices, bench, extras, slugs).result()


# ----------------------------------------------------------------------------------------------
# the drawer process
# ----------------------------------------------------------------------------------------------


def start_drawer() -> bool:
    """Fork the drawer (module docstring) if there are cores for it; True when started."""
    stop_drawer()
    if chart_jobs() < 2:
        return False
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    # not a daemon: a daemon may not fork the pool; stop_drawer (also at exit) ends it
    proc = ctx.Process(target=_drawer_main, args=(there, here), name="crwv-bt charts")
    proc.start()
    there.close()
    _DRAWER.append((proc, here))
    return True


def stop_drawer() -> None:
    """End the drawer if one is waiting (closing its pipe ends it) and reap it."""
    while _DRAWER:
        proc, conn = _DRAWER.pop()
        conn.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join()


atexit.register(stop_drawer)


def _drawer_main(conn: Connection, parent_end: Connection) -> None:
    parent_end.close()  # so that the parent closing its end is seen here as end of file
    _chart_modules()  # matplotlib loads while the parent runs the backtests
    try:
        tasks = conn.recv()
    except (EOFError, OSError):
        return  # the run ended without charts
    try:
        reply: tuple[str, Any] = ("ok", Drawing(tasks)._wait())
    except BaseException as exc:  # noqa: BLE001 - sent back and raised in the parent
        reply = ("error", exc)
    try:
        conn.send(reply)
    except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
        conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))
    conn.close()
