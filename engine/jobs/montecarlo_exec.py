"""Execution noise: the run replayed through the engine with its orders moved and its slippage drawn.

The third Monte Carlo method (the first two, pure statistics of the equity curve and trades,
are in :mod:`engine.analysis.montecarlo`). Each replay asks: what if every order had gone out up
``shift = (lo, hi)`` sessions late (a negative ``lo``: early), and the slippage had been
anything in a range? The default ``(0, 1)`` moves each order by 0 or 1 session, later only:
acting *earlier* than a signal means knowing the next session's close today, a look-ahead that
favours any rule whose signal has an edge, so an early shift is a sensitivity check, never an
achievable result.

Two ways, chosen from the run's own fills:

``schedule`` (every fill a market order: the long/flat strategies)
    The run's decisions become a schedule: "buy with all the cash on this close", "sell
    everything on that close" (a market fill on session ``b`` was sent on the close of
    ``b - 1``). Each replay moves every decision by a whole number of sessions drawn uniformly
    from ``lo .. hi`` (kept in order, inside the data), draws one slippage for the
    replay uniformly from ``slippage``, and sends the schedule through the fast engine's broker
    (:mod:`engine.fast.replay`): the same fill rules, sizing, commission and resizing as the
    harness. Moving nothing at the run's own slippage gives back the run's equity exactly.
``rerun`` (resting limit / stop orders: the swing plan)
    Limit and stop orders fill where the market touches them; their timing is the market's, so
    they are not moved. Each replay reruns the strategy with one slippage drawn from
    ``slippage`` and, when the strategy has an ``active_from`` parameter, the plan's first
    active session moved by ``lo .. hi`` sessions; through the fast engine when it
    covers the strategy, else through the backtrader harness.

Both return an :class:`engine.analysis.montecarlo.MonteCarloResult` (``method="execution"``)
with every replay's statistics and the fan of equity curves on the run's calendar.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.montecarlo import MonteCarloResult, fan_frame, path_stats
from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.fast.scope import supports
from engine.result import Costs, RunResult

#: Default slippage range of the replays (fractions of the price: 0 to 20 bp).
SLIPPAGE_RANGE = (0.0, 0.002)
#: Default range of the sessions an order is moved by (0 or 1 session late).
SHIFT_RANGE = (0, 1)


def market_schedule(result: RunResult, dates: pd.DatetimeIndex) -> np.ndarray | None:
    """``(n,)`` int8: +1 on the close a buy was sent, -1 for a sell; None if a fill is not a
    market order (the run's decisions are not a plain schedule)."""
    fills = result.fills
    if len(fills) == 0 or (fills["order_type"] != "market").any():
        return None
    sends = np.zeros(len(dates), dtype=np.int8)
    bars = dates.get_indexer(pd.DatetimeIndex(fills["date"]))
    if (bars < 1).any():
        return None
    sends[bars - 1] = np.where(fills["side"].to_numpy() == "buy", 1, -1)
    return sends


def shifted_schedules(
    sends: np.ndarray, n_paths: int, shift: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """``(n_paths, n)`` schedules: each decision moved by ``shift[0] .. shift[1]`` sessions.

    Decisions keep their order (each at least one session after the previous one) and stay
    on the data's sessions; ``shift = (0, 0)`` gives the schedule itself.
    """
    bars = np.flatnonzero(sends)
    sides = sends[bars]
    n, k = len(sends), len(bars)
    moved = bars[None, :] + rng.integers(shift[0], shift[1] + 1, size=(n_paths, k))
    step = np.arange(k)
    moved = np.maximum.accumulate(np.maximum(moved, 0) - step, axis=1) + step
    moved = np.minimum(moved, n - 1)
    out = np.zeros((n_paths, n), dtype=np.int8)
    np.put_along_axis(out, moved, np.broadcast_to(sides, moved.shape), axis=1)
    return out


def check(n_paths: int, shift: tuple[int, int], slippage: tuple[float, float]) -> None:
    if n_paths < 1:
        raise ParamError(f"--monte-carlo {n_paths}: give a positive number of paths")
    if not (-5 <= shift[0] <= shift[1] <= 5):
        raise ParamError(
            f"--mc-shift {shift[0]}:{shift[1]}: the shift range (sessions) must satisfy -5 <= low <= high <= 5, e.g. 0:1"
        )
    lo, hi = slippage
    if not (0 <= lo <= hi < 0.1):
        raise ParamError(
            f"--mc-slippage {lo:g}:{hi:g}: the slippage range must satisfy 0 <= low <= high < 0.1 (fractions: 0.002 = 20 bp)"
        )


def execution_noise(
    result: RunResult,
    prices: pd.DataFrame,
    strategy_cls: type,
    *,
    n_paths: int = 1_000,
    seed: int = 0,
    shift: tuple[int, int] = SHIFT_RANGE,
    slippage: tuple[float, float] = SLIPPAGE_RANGE,
    jobs: int | None = None,
) -> MonteCarloResult:
    """Replay ``result`` ``n_paths`` times with its orders moved and its slippage drawn.

    ``prices`` is the window the run used; ``strategy_cls`` its strategy (reruns need it).
    """
    check(n_paths, shift, slippage)
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(result.equity.index)
    slips = rng.uniform(slippage[0], slippage[1], size=n_paths)
    sends = market_schedule(result, dates)
    fractional = bool(result.settings.get("fractional", False))
    if sends is not None and not fractional:
        schedules = shifted_schedules(sends, n_paths, shift, rng)
        curves = replay_schedules(prices, result, schedules, slips, jobs)
        how = "schedule"
    else:
        curves = rerun(prices, result, strategy_cls, slips, rng, shift)
        how = "rerun"
    returns = curves[:, 1:] / curves[:, :-1] - 1.0
    observed = path_stats(
        result.equity.to_numpy()[None, 1:] / result.equity.to_numpy()[None, :-1] - 1.0
    )
    return MonteCarloResult(
        method="execution",
        seed=int(seed),
        paths=path_stats(returns),
        observed=observed.iloc[0].to_dict(),
        settings={
            "mode": how,
            "shift": [int(shift[0]), int(shift[1])],
            "slippage": [float(slippage[0]), float(slippage[1])],
        },
        fan=fan_frame(curves[:, 1:], dates, float(result.equity.iloc[0])),
        notes=_notes(how, result),
    )


def _notes(how: str, result: RunResult) -> tuple[str, ...]:
    if how == "schedule":
        return ()
    moved = "the plan's first session moved" if "active_from" in result.params else "no order moved"
    return (
        f"resting limit/stop orders fill where the price touches them: {moved}, slippage drawn",
    )


def _costs(result: RunResult) -> Costs:
    s = result.settings
    return Costs(
        commission_per_share=float(s.get("commission_per_share", Costs.commission_per_share)),
        commission_min=float(s.get("commission_min", Costs.commission_min)),
        commission_max_pct=float(s.get("commission_max_pct", Costs.commission_max_pct)),
        slippage=float(s.get("slippage", Costs.slippage)),
        sizing=str(s.get("sizing", Costs.sizing)),
        borrow_fee=float(s.get("borrow_fee", Costs.borrow_fee)),
    )


def replay_schedules(
    prices: pd.DataFrame,
    result: RunResult,
    schedules: np.ndarray,
    slippages: np.ndarray,
    jobs: int | None = None,
) -> np.ndarray:
    """Equity at every close (``(paths, n)``) of each schedule through the fast broker."""
    # numba and the compiled kernels: ~0.5 s to import, only a Monte Carlo replay needs them
    # (``crwv-bt run`` without --monte-carlo never loads them)
    from engine.fast import api
    from engine.fast.replay import replay_batch

    base = _costs(result)
    mk = api.market(prices, base, float(result.settings["cash"]))
    costs = np.repeat(mk.costs[None, :], len(schedules), axis=0)
    costs[:, 3] = slippages
    out = np.empty((len(schedules), len(prices)))
    status = np.zeros(len(schedules), dtype=np.int64)
    sends = np.ascontiguousarray(schedules)

    def score(rows: tuple[int, int]) -> None:
        replay_batch(mk.o, mk.h, mk.lo, mk.c, costs, mk.cash, sends, rows[0], rows[1], out, status)

    api.run_rows(partial(score), len(schedules), jobs)
    if status.any():
        raise RuntimeError("fast engine: a replay overflowed its order book")
    return out


def rerun(
    prices: pd.DataFrame,
    result: RunResult,
    strategy_cls: type,
    slippages: np.ndarray,
    rng: np.random.Generator,
    shift: tuple[int, int],
) -> np.ndarray:
    """Equity curves of the strategy rerun once per slippage (and moved ``active_from``)."""
    base = _costs(result)
    params = dict(result.params)
    starts = _moved_starts(params, prices, len(slippages), shift, rng)
    curves = np.empty((len(slippages), len(prices)))
    for j, slip in enumerate(slippages):
        run_params = params if starts is None else {**params, "active_from": starts[j]}
        costs = replace(base, slippage=float(slip))
        curves[j] = _equity_of(strategy_cls, prices, run_params, costs, result)
    return curves


def _moved_starts(
    params: dict[str, Any],
    prices: pd.DataFrame,
    n: int,
    shift: tuple[int, int],
    rng: np.random.Generator,
) -> list[str] | None:
    if "active_from" not in params or shift == (0, 0):
        return None
    dates = pd.DatetimeIndex(prices.index)
    at = int(dates.searchsorted(pd.Timestamp(str(params["active_from"]))))
    moved = np.clip(at + rng.integers(shift[0], shift[1] + 1, size=n), 1, len(dates) - 1)
    return [dates[i].date().isoformat() for i in moved]


def _equity_of(
    strategy_cls: type,
    prices: pd.DataFrame,
    params: dict[str, Any],
    costs: Costs,
    result: RunResult,
) -> np.ndarray:
    cash = float(result.settings["cash"])
    fractional = bool(result.settings.get("fractional", False))
    alias = getattr(strategy_cls, "alias", "")
    from engine.fast.trace import simulate  # numba: see replay_schedules

    if supports(alias, fractional=fractional):
        return simulate(alias, prices, params, costs=costs, cash=cash).equity.to_numpy()
    run = run_backtest(strategy_cls, prices, params, cash=cash, costs=costs, fractional=fractional)
    return run.equity.to_numpy()
