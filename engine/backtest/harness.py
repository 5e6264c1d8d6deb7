"""The backtrader harness: one strategy class, one price frame, honest fills -> :class:`RunResult`.

Fill rules (also in the README and in every report)
---------------------------------------------------
* **Market orders** sent on bar *t*'s close fill at bar *t+1*'s open, plus slippage. Nothing
  fills at the signal bar's own close (backtrader's cheat-on-close and cheat-on-open are off).
* **Limit orders** fill when the bar trades through the limit, at the limit price; if the bar
  opens beyond the limit (a gap in the order's favour) they fill at the open. A limit order
  never fills worse than its limit.
* **Stop orders** trigger when the bar trades through the stop and fill at the stop price; if
  the bar opens beyond the stop (a gap against the position) they fill at the open.
* **Slippage** (default 5 bp) moves market fills, stop fills and gapped-open limit fills
  against the trader. Market and stop fills never leave the bar's high-low range (backtrader's
  ``slip_match`` with ``slip_out`` off). A limit order never fills worse than its limit: a
  gapped-open limit fill is slipped but capped at the limit. For a limit *sell* whose bar opens
  just above the limit this can be the limit itself even when the bar's low is higher
  (backtrader caps it at the limit, not at ``max(limit, low)``); we keep backtrader's rule, and
  ``tests/backtest/test_harness.py`` pins it.
* **Commission** per fill: ``max(shares x per_share, minimum)`` capped at a percent of the fill
  value (defaults $0.005/share, $1 minimum, 1% cap: a US retail broker's fixed tier).
* **Sizing.** Whole shares unless ``fractional=True``. A buy sized from the cash at bar *t*'s
  close that a gap-up makes unaffordable at bar *t+1*'s fill price is *resized* to the largest
  size the cash covers (commission included) and the fill records ``resized_from``; it is only
  rejected (with a note) when not even one share is affordable.
* **Position sizing** (``--sizing``, :mod:`engine.sizing`): ``all_in`` (the default) as above;
  ``fraction:F``, ``fixed:D``, ``shares:N`` and ``risk:F`` size the entry at the signal's close,
  cut to what the cash covers (noted). Every buy fill records the stop it is at risk to
  (``risk_stop``) and, under ``risk:F``, the budget (``risk_budget``); the trades table shows
  both beside what the trade lost.
* **Same-bar order of processing**: resting orders are tried in the order they were sent.
  Strategies put their exit orders in one OCO group so that at most one of them fills per bar.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from engine import params as params_mod
from engine.analysis.trades import build_trades
from engine.backtest import bt_compat
from engine.backtest.broker import HonestBroker, RetailCommission
from engine.data.fingerprint import fingerprint as data_fingerprint
from engine.errors import DataError
from engine.result import FILL_COLUMNS, FILL_DTYPES, Costs, RunResult, run_settings
from engine.sizing import parse_sizing, refuse_without_stop, sized_costs

_ORDER_TYPES = {bt.Order.Market: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop"}


class _Recorder(bt.Analyzer):
    """Collects equity, position and fills as plain Python data while the run goes."""

    def start(self) -> None:
        self.dates: list[float] = []
        self.values: list[float] = []
        self.positions: list[float] = []
        self.fills: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def next(self) -> None:
        self.dates.append(self.strategy.data.datetime[0])
        self.values.append(self.strategy.broker.getvalue())
        self.positions.append(self.strategy.getposition(self.strategy.data).size)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            size = abs(order.executed.size)
            self.fills.append(
                {
                    "date": pd.Timestamp(bt.num2date(order.executed.dt)).normalize(),
                    "side": "buy" if order.isbuy() else "sell",
                    "size": float(size),
                    "price": float(order.executed.price),
                    "value": float(size * order.executed.price),
                    "commission": float(order.executed.comm),
                    "order_type": _ORDER_TYPES.get(order.exectype, str(order.exectype)),
                    "reason": str(order.info.get("reason", "signal")),
                    "resized_from": float(order.info.get("resized_from", np.nan)),
                    "risk_stop": _risk_stop(order),
                    "risk_budget": float(order.info.get("risk_budget", np.nan)),
                }
            )
            if "resized_from" in order.info:
                self.notes.append(
                    f"{self.fills[-1]['date'].date()}: buy resized from {order.info['resized_from']:g} "
                    f"to {size:g} shares (gap made it unaffordable)"
                )
        elif order.status in (order.Margin, order.Rejected):
            when = pd.Timestamp(bt.num2date(self.strategy.data.datetime[0])).date()
            self.notes.append(
                f"{when}: {'buy' if order.isbuy() else 'sell'} order for {abs(order.created.size):g} "
                f"shares rejected ({order.getstatusname()}: not enough cash)"
            )


def _risk_stop(order: bt.Order) -> float:
    """The stop an entry fill is at risk to: the plan's price, or the fill price -/+ the
    strategy's stop distance (a fraction, or an ATR stop's dollars: the closer; NaN without a
    stop)."""
    if "risk_stop" in order.info:
        return float(order.info["risk_stop"])
    side = 1.0 if order.isbuy() else -1.0  # an entry: long (a buy) or short (a sale)
    price = float(order.executed.price)
    dist = float(order.info.get("risk_dist", 0.0))
    stop = price * (1.0 - side * dist) if dist > 0 else float("nan")
    atr_d = float(order.info.get("risk_atr", 0.0))
    if atr_d > 0 and (stop != stop or atr_d < price * dist):  # an ATR stop, when it is closer
        stop = price - side * atr_d
    return stop


def check_sizing(strategy_cls: type[bt.Strategy], resolved: dict[str, Any], costs: Costs) -> None:
    """Refuse ``--sizing risk:F`` for a strategy with no stop (one line, before the run)."""
    sizing = parse_sizing(costs.sizing)
    has_stop = getattr(strategy_cls, "has_stop", lambda p: False)(resolved)
    refuse_without_stop(
        sizing, str(getattr(strategy_cls, "alias", "") or strategy_cls.__name__), has_stop
    )


def run_backtest(
    strategy_cls: type[bt.Strategy],
    prices: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    cash: float = 100_000.0,
    costs: Costs | None = None,
    fractional: bool = False,
    ticker: str = "CRWV",
    name: str | None = None,
    data_fp: dict[str, Any] | None = None,
) -> RunResult:
    """Run one strategy over ``prices`` and return plain data.

    Parameters
    ----------
    strategy_cls : a backtrader ``Strategy`` subclass (from :data:`strategies.STRATEGIES`)
    prices : validated daily frame (see :mod:`engine.data`)
    params : parameter overrides; checked against the class's ``params`` (see :mod:`engine.params`)
    cash : starting cash, dollars
    costs : commission and slippage (default :class:`engine.result.Costs`)
    fractional : allow fractional share sizes
    ticker : symbol, for the fingerprint and reports
    name : label for the result (default: the class's registry alias)
    data_fp : precomputed fingerprint of ``prices`` (sweeps compute it once)
    """
    costs = sized_costs(strategy_cls, costs or Costs())
    if cash <= 0:
        raise DataError(f"--cash {cash:g} must be positive")
    resolved = params_mod.resolve(strategy_cls, params)
    check_sizing(strategy_cls, resolved, costs)
    warmup = int(getattr(strategy_cls, "warmup", lambda p: 0)(resolved))
    if len(prices) < warmup + 1:
        raise DataError(
            f"{ticker}: {len(prices)} bars from {prices.index[0].date()} to {prices.index[-1].date()}, "
            f"but {getattr(strategy_cls, 'alias', strategy_cls.__name__)} needs at least {warmup + 1} "
            "(its indicator warm-up plus one bar to trade); widen --start/--end or shorten the periods"
        )
    cerebro = _build_cerebro(strategy_cls, prices, resolved, cash, costs, fractional)
    strat = cerebro.run()[0]
    rec = strat.analyzers.recorder
    # the recorder sees every bar, so its dates are the price index (checked, not assumed)
    if (
        len(rec.dates) == len(prices)
        and bt.num2date(rec.dates[-1]).date() == prices.index[-1].date()
    ):
        index = pd.DatetimeIndex(prices.index, name="date")
    else:  # pragma: no cover - a feed that skipped bars
        index = pd.DatetimeIndex([bt.num2date(d) for d in rec.dates], name="date").normalize()
    fills = pd.DataFrame(rec.fills, columns=FILL_COLUMNS).astype(FILL_DTYPES)
    return RunResult(
        strategy=str(name or getattr(strategy_cls, "alias", None) or strategy_cls.__name__),
        params=resolved,
        ticker=ticker.upper(),
        equity=pd.Series(rec.values, index=index, name="equity", dtype=float),
        position=pd.Series(rec.positions, index=index, name="position", dtype=float),
        trades=build_trades(fills, prices),
        fills=fills,
        fingerprint=data_fp or data_fingerprint(prices, ticker),
        settings={**run_settings(cash, costs, fractional), "costs": costs.describe()},
        levels=dict(getattr(strat, "levels", {}) or {}),
        notes=tuple(rec.notes) + tuple(getattr(strat, "notes", ()) or ()),
        rule=rule.text() if (rule := getattr(strategy_cls, "rule", None)) is not None else "",
    )


def _build_cerebro(
    strategy_cls: type[bt.Strategy],
    prices: pd.DataFrame,
    resolved: dict[str, Any],
    cash: float,
    costs: Costs,
    fractional: bool,
) -> bt.Cerebro:
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, optreturn=False)
    cerebro.broker = HonestBroker(fractional=fractional, sizing=costs.sizing)
    cerebro.broker.setcash(cash)
    cerebro.broker.addcommissioninfo(
        RetailCommission(
            per_share=costs.commission_per_share,
            minimum=costs.commission_min,
            max_pct=costs.commission_max_pct,
            interest=costs.borrow_fee,  # charged on shorts only (interest_long is off)
        )
    )
    if costs.slippage:
        cerebro.broker.set_slippage_perc(
            costs.slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=False
        )
    cerebro.adddata(bt_compat.feed(prices))
    cerebro.addstrategy(strategy_cls, **resolved)
    cerebro.addanalyzer(_Recorder, _name="recorder")
    return cerebro


def replay_to_end(
    strategy_cls: type[bt.Strategy],
    prices: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    cash: float = 100_000.0,
    costs: Costs | None = None,
    fractional: bool = False,
) -> tuple[bt.Strategy, bt.BrokerBase]:
    """Run like :func:`run_backtest` and hand back the live strategy and broker at the last bar.

    ``crwv-bt today`` reads the position, the orders still working at the broker and the
    strategy's own state there (:mod:`engine.backtest.today`); nothing else should keep
    backtrader objects.
    """
    resolved = params_mod.resolve(strategy_cls, params)
    costs = sized_costs(strategy_cls, costs or Costs())
    check_sizing(strategy_cls, resolved, costs)
    cerebro = _build_cerebro(strategy_cls, prices, resolved, cash, costs, fractional)
    strat = cerebro.run()[0]
    return strat, cerebro.broker
