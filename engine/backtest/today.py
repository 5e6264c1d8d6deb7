"""What does the plan say today? Each strategy replayed to the last bar, its live state read off.

:func:`plan_today` runs every configuration through the backtrader harness (the same fills as
``crwv-bt run``) and keeps what a trader acts on: the position (shares, average entry,
unrealised P&L at the last close), every order still working at the broker (its price, and its
distance from the last close in percent and in ATRs), the strategy's own reading of its rules
(:meth:`strategies.base.ArticleStrategy.signal_state`), and the data's last date with a warning
when sessions are missing since. :func:`engine.report.today.format_today` prints it; ``--json`` gives the same dict.

Exit code (:func:`exit_code`): 3 when an order was sent on the last close (it goes out at the
next open: act before it), else 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from datetime import date
from typing import Any

import backtrader as bt
import exchange_calendars as xcals
import numpy as np
import pandas as pd

from engine import params as params_mod
from engine.analysis.indicators import atr
from engine.backtest.harness import replay_to_end
from engine.data.events import next_earnings
from engine.result import Costs
from engine.sizing import effective, sized_costs

EXIT_NOTHING, EXIT_ORDER = 0, 3
ATR_PERIOD = 14  # Wilder's ATR(14): engine.analysis.indicators.atr
_TYPES = {bt.Order.Market: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop"}


def missing_sessions(last: date, today: date) -> int:
    """NYSE sessions after ``last`` that have closed by ``today`` (today's counts once it ends;
    weekdays when the calendar does not reach that far)."""
    first = pd.Timestamp(last) + pd.Timedelta(days=1)
    end = pd.Timestamp(today) - pd.Timedelta(days=1)
    if end < first:
        return 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = xcals.get_calendar("XNYS")
            if end > cal.last_session.tz_localize(None):
                raise ValueError("past the calendar")
            return len(cal.sessions_in_range(first, end))
    except Exception:  # noqa: BLE001 - outside the calendar's range: count weekdays
        return len(pd.bdate_range(first, end))


def plan_today(
    configs: list,
    prices: pd.DataFrame,
    *,
    ticker: str,
    cash: float = 100_000.0,
    costs: Costs | None = None,
    fractional: bool = False,
    today: date | None = None,
    end: str | None = None,
    events: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Every configuration's state on the last bar of ``prices`` (plain JSON-ready data).

    ``end``: the ``--end`` the window was cut at (the state as of that close, not today's): the
    sessions since are then not a stale data file, and ``stale`` stays false. ``events``: the
    ticker's events (:func:`engine.data.events.load_events`): the first earnings report after
    the last bar becomes ``next_earnings`` (:func:`engine.data.events.next_earnings`).
    """
    costs = costs or Costs()
    last = pd.Timestamp(prices.index[-1])
    close = float(prices["close"].iloc[-1])
    atr_now = float(atr(prices, ATR_PERIOD).iloc[-1])
    today = today or date.today()
    missing = missing_sessions(last.date(), today)
    rows = [
        _one(
            cfg, prices, cash=cash, costs=costs, fractional=fractional, close=close, atr_now=atr_now
        )
        for cfg in configs
    ]
    return {
        "ticker": ticker.upper(),
        "last_date": last.date().isoformat(),
        "last_close": close,
        "atr": None if math.isnan(atr_now) else atr_now,
        "atr_period": ATR_PERIOD,
        "today": today.isoformat(),
        "missing_sessions": missing,
        "stale": missing > 0 and end is None,
        "end": end,
        "next_earnings": None if events is None else next_earnings(events, prices.index),
        "strategies": rows,
        "exit_code": EXIT_ORDER if any(r["action"] for r in rows) else EXIT_NOTHING,
    }


def _one(cfg, prices, *, cash, costs, fractional, close, atr_now) -> dict[str, Any]:  # noqa: ANN001
    resolved = params_mod.resolve(cfg.strategy_cls, cfg.params)
    own = effective(costs.sizing, getattr(cfg, "sizing", ""))
    costs = sized_costs(cfg.strategy_cls, replace(costs, sizing=own))
    strat, broker = replay_to_end(
        cfg.strategy_cls, prices, resolved, cash=cash, costs=costs, fractional=fractional
    )
    last_num = strat.data.datetime[0]
    # accepted orders wait in ``pending``; those sent on the last close are still ``submitted``
    working = [*broker.submitted, *broker.pending]
    orders = [_order(o, close, atr_now, last_num) for o in working if o.alive()]
    size = float(strat.position.size)
    entry = float(strat.position.price) if size else None
    unreal = size * (close - entry) if entry else 0.0
    state = strat.signal_state()
    new = [o for o in orders if o["sent_on_last_close"]]
    return {
        "strategy": cfg.label,
        "params": {k: _plain(v) for k, v in resolved.items()},
        "sizing": costs.sizing,
        "position": {
            "shares": size,
            "avg_entry": entry,
            "value": size * close,
            "unrealised_pnl": unreal,
            # on the money at risk: a short gains as the price falls
            "unrealised_pct": (close / entry - 1.0) * (1.0 if size > 0 else -1.0)
            if entry
            else None,
        },
        "cash": float(broker.getcash()),
        "equity": float(broker.getvalue()),
        "orders": orders,
        "signal": {k: _plain(v) for k, v in state.items()},
        "next_entry": strat.next_entry(),  # what an entry signal would trade (flat only)
        "stand_aside": strat.aside_window(),  # the next stand-aside window (None: option off)
        "action": _action(new),
    }


def _order(order: bt.Order, close: float, atr_now: float, last_num: float) -> dict[str, Any]:
    kind = _TYPES.get(order.exectype, str(order.exectype))
    price = None if kind == "market" else float(order.created.price)
    dist = None if price is None else price / close - 1.0
    in_atr = (
        None if price is None or not atr_now or math.isnan(atr_now) else (price - close) / atr_now
    )
    return {
        "side": "buy" if order.isbuy() else "sell",
        "type": kind,
        "price": price,
        "shares": abs(float(order.created.size)),
        "reason": str(order.info.get("reason", "")),
        "distance_pct": dist,
        "distance_atr": in_atr,
        "sent": bt.num2date(order.created.dt).date().isoformat(),
        "sent_on_last_close": bool(order.created.dt >= last_num),
    }


def _action(new: list[dict[str, Any]]) -> str:
    """What goes out at the next open (empty: nothing new)."""
    parts = []
    for o in new:
        where = "at the open" if o["type"] == "market" else f"{o['type']} {o['price']:.2f}"
        parts.append(f"{o['side']} {o['shares']:g} {where} ({o['reason']})")
    return "; ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def exit_code(report: dict[str, Any]) -> int:
    """0: nothing to do; 3: an order goes out at the next open."""
    return int(report["exit_code"])
