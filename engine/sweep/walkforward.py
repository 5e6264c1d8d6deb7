"""Walk-forward analysis: optimise on a training window, trade the winner on the next window.

Folds (:func:`make_folds`, bar positions in the loaded window)
-------------------------------------------------------------
* **rolling** (default): fold ``k`` trains on ``[k*test, k*test + train)`` and tests on the
  ``test`` bars that follow; every training window has ``train`` bars.
* **anchored** (``--anchored``): every training window starts at the first bar and grows by
  ``test`` bars per fold.
* The last test window may be shorter than ``test`` (at least :data:`MIN_TEST_BARS` bars); no
  test window overlaps another, so the out-of-sample bars are each used once.

Each fold
---------
1. Every grid combination runs on the training window (through the sweep store, so a
   walk-forward resumes like a sweep); the winner is the best by ``--metric`` among the
   combinations with at least ``--min-trades`` closed trades.
2. The winner runs from the first bar of its training window through the last bar of the test
   window, so its indicators are warm and a position its rules hold when the test window opens
   is held. Only the returns from the *anchor* (the last training bar's close) on count: the
   parameters were chosen on the training window and every decision uses past bars only, so
   these returns are out of sample. (This run always uses the backtrader harness, whatever
   ``--engine`` scored the training sweeps.)
3. The fold's out-of-sample equity is that run's equity from the anchor on.

The stitched curve compounds the folds' out-of-sample returns from the starting cash. At a seam
the next fold's winner takes over with whatever position its own run holds there (no commission
is charged for the switch). Out-of-sample trades are those still open when the test window
opens or opened in it (a trade opened before the window counts whole); trade figures in dollars
are per fold, each fold's run starting from the same cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.errors import ParamError
from engine.result import Costs
from engine.sweep.run import run_sweep
from engine.sweep.selection import FEW_TRADES, SHORT_WINDOW_BARS, rank
from engine.sweep.store import SweepStore
from engine.sweep.tasks import SweepData, make_job, window_benchmark
from strategies import STRATEGIES, lookup

MIN_TEST_BARS = 5


@dataclass(frozen=True)
class FoldWindow:
    """Bar positions (``iloc``, stop exclusive) of one fold's training and test windows."""

    number: int
    train: tuple[int, int]
    test: tuple[int, int]


def make_folds(n_bars: int, train: int, test: int, anchored: bool = False) -> list[FoldWindow]:
    """The folds over ``n_bars`` bars (see the module docstring).

    Raises
    ------
    ParamError
        ``train`` < 2, ``test`` < 1, or not one full fold fits in ``n_bars``.
    """
    if train < 2:
        raise ParamError(f"--train {train}: a training window needs at least 2 bars")
    if test < 1:
        raise ParamError(f"--test {test}: a test window needs at least 1 bar")
    if train + min(test, MIN_TEST_BARS) > n_bars:
        raise ParamError(
            f"--train {train} --test {test} do not fit in {n_bars} bars; "
            f"shorten them (train + test <= {n_bars})"
        )
    folds: list[FoldWindow] = []
    start = train
    while start < n_bars:
        stop = min(start + test, n_bars)
        if folds and stop - start < min(test, MIN_TEST_BARS):
            break  # a sliver of a last window would be noise
        folds.append(
            FoldWindow(len(folds) + 1, (0 if anchored else start - train, start), (start, stop))
        )
        start = stop
    return folds


@dataclass(frozen=True)
class Fold:
    """One fold's outcome: the winner, its in-sample row and its out-of-sample metrics."""

    number: int
    train_dates: tuple[pd.Timestamp, pd.Timestamp]
    test_dates: tuple[pd.Timestamp, pd.Timestamp]
    params: dict[str, Any]
    is_metrics: dict[str, Any]
    oos_metrics: pd.Series
    is_metric: float
    oos_metric: float
    combinations: int


@dataclass(frozen=True)
class WalkForward:
    """A walk-forward run: folds, the stitched out-of-sample curve and the overall metrics."""

    strategy: str
    metric: str
    train: int
    test: int
    anchored: bool
    folds: list[Fold]
    equity: pd.Series
    buy_hold: pd.Series | None
    oos_metrics: pd.Series
    grid_keys: list[str]
    warnings: list[str]

    @property
    def is_mean(self) -> float:
        """Mean of the folds' in-sample ``metric`` (the winners' training-window values)."""
        return float(np.nanmean([f.is_metric for f in self.folds]))

    @property
    def oos_mean(self) -> float:
        return float(np.nanmean([f.oos_metric for f in self.folds]))


@dataclass(frozen=True)
class _OOS:
    equity: pd.Series  # from the anchor on
    trades: pd.DataFrame
    position: pd.Series


def _test_run(
    data: SweepData,
    cls: type,
    params: dict[str, Any],
    fold: FoldWindow,
    costs: Costs,
    cash: float,
    fractional: bool,
) -> _OOS:
    """The winner from its training window's first bar through the test window's last."""
    prices = data.prices.iloc[fold.train[0] : fold.test[1]]
    run = run_backtest(
        cls, prices, params, cash=cash, costs=costs, fractional=fractional, ticker=data.ticker
    )
    anchor = data.prices.index[fold.test[0] - 1]
    first = data.prices.index[fold.test[0]]
    trades = run.trades
    if len(trades):
        trades = trades[
            pd.to_datetime(trades["exit_date"]) >= first
        ]  # trades alive in the test window
    return _OOS(run.equity.loc[anchor:], trades, run.position.loc[anchor:])


def _buy_hold(
    data: SweepData, span: tuple[int, int], costs: Costs, cash: float, fractional: bool
) -> pd.Series:
    prices = data.prices.iloc[span[0] : span[1]]
    run = run_backtest(
        STRATEGIES["buy_hold"],
        prices,
        cash=cash,
        costs=costs.benchmark(),
        fractional=fractional,
        ticker=data.ticker,
    )
    return run.equity


def _score(data: SweepData, oos: _OOS, bh: pd.Series) -> pd.Series:
    return compute_metrics(
        oos.equity,
        oos.trades,
        position=oos.position,
        buy_hold=bh,
        benchmark=window_benchmark(data, oos.equity),
    )


def run_walkforward(
    store: SweepStore,
    data: SweepData,
    strategy: str,
    params_list: list[dict[str, Any]],
    *,
    train: int,
    test: int,
    anchored: bool = False,
    metric: str = "sharpe",
    min_trades: int = 0,
    costs: Costs,
    cash: float,
    fractional: bool = False,
    grid_keys: list[str] | None = None,
    engine: str = "backtrader",
    **sweep_options: Any,
) -> WalkForward:
    """Run the folds' training sweeps (resumable), pick each winner, trade it out of sample.

    ``sweep_options`` go to :func:`engine.sweep.run.run_sweep` (``backend``, ``jobs``,
    ``scheduler``, ``chunk_size``, ``progress``).
    """
    cls = lookup(strategy)
    windows = make_folds(len(data.prices), train, test, anchored)
    common = dict(costs=costs, cash=cash, fractional=fractional, engine=engine)
    plans = [(make_job(data, strategy, window=w.train, **common), params_list) for w in windows]  # type: ignore[arg-type]
    run = run_sweep(store, data, plans, **sweep_options)
    folds, pieces = [], []
    for w, keys in zip(windows, run.keys, strict=True):
        fold, oos = _fold(
            store, data, cls, w, keys, params_list, metric, min_trades, costs, cash, fractional
        )
        folds.append(fold)
        pieces.append(oos)
    equity, trades, position = _stitch(pieces, cash)
    span = (windows[0].test[0] - 1, windows[-1].test[1])
    bh = _buy_hold(data, span, costs, cash, fractional)
    overall = compute_metrics(
        equity, trades, position=position, buy_hold=bh, benchmark=window_benchmark(data, equity)
    )
    notes = _warnings(folds, windows, test, len(data.prices))
    return WalkForward(
        strategy,
        metric,
        train,
        test,
        anchored,
        folds,
        equity,
        bh,
        overall,
        list(grid_keys or []),
        notes,
    )


def _fold(
    store: SweepStore,
    data: SweepData,
    cls: type,
    w: FoldWindow,
    keys: list[str],
    params_list: list[dict[str, Any]],
    metric: str,
    min_trades: int,
    costs: Costs,
    cash: float,
    fractional: bool,
) -> tuple[Fold, _OOS]:
    frame = store.frame(keys)
    ranked = rank(frame, metric, min_trades)
    best = ranked.iloc[0]
    params = params_list[int(frame.index.get_loc(best.name))]
    oos = _test_run(data, cls, params, w, costs, cash, fractional)
    bh = _buy_hold(data, (w.test[0] - 1, w.test[1]), costs, cash, fractional)
    oos_metrics = _score(data, oos, bh)
    idx = data.prices.index
    fold = Fold(
        number=w.number,
        train_dates=(idx[w.train[0]], idx[w.train[1] - 1]),
        test_dates=(idx[w.test[0]], idx[w.test[1] - 1]),
        params=params,
        is_metrics={k: best[k] for k in oos_metrics.index},
        oos_metrics=oos_metrics,
        is_metric=float(pd.to_numeric(best[metric])),
        oos_metric=float(pd.to_numeric(oos_metrics[metric])),
        combinations=len(keys),
    )
    return fold, oos


def _stitch(pieces: list[_OOS], cash: float) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """Compound the folds' returns from ``cash``; concatenate their trades and positions."""
    returns = pd.concat([p.equity.pct_change().iloc[1:] for p in pieces])
    anchor = pieces[0].equity.index[:1]
    growth = np.concatenate([[1.0], np.cumprod(1.0 + returns.to_numpy())])
    equity = pd.Series(cash * growth, index=anchor.append(returns.index), name="equity")
    equity.index.name = "date"
    position = pd.concat([pieces[0].position.iloc[:1]] + [p.position.iloc[1:] for p in pieces])
    frames = [p.trades for p in pieces if len(p.trades)]
    trades = pd.concat(frames, ignore_index=True) if frames else pieces[0].trades.iloc[0:0]
    return equity, trades, position


def _warnings(folds: list[Fold], windows: list[FoldWindow], test: int, bars: int) -> list[str]:
    out = []
    few = [
        f.number for f in folds if (pd.to_numeric(f.is_metrics.get("n_trades")) or 0) < FEW_TRADES
    ]
    if few:
        out.append(
            f"fold(s) {', '.join(map(str, few))}: the winner rests on fewer than {FEW_TRADES} closed trades "
            "in its training window"
        )
    oos_bars = windows[-1].test[1] - windows[0].test[0]
    if oos_bars < 252 or bars < SHORT_WINDOW_BARS:
        out.append(
            f"short history: {bars} bars in all, {oos_bars} of them out of sample in {len(folds)} fold(s) of "
            f"<= {test} bars; treat the out-of-sample figures as an anecdote, not an estimate"
        )
    return out
