""" "What happened": a strategy's run told in a few sentences, generated from its fills.

The text is built from plain data only (the run's fills, round trips, levels and metrics, and
the buy & hold figures to compare with), so it reads right for any data, window or parameters:
a dated plan is told fill by fill (which tranche filled when and where, whether the stop was
touched, which target sold what), a signal strategy with many round trips is summarised
(wins and losses, the best and the worst), and every story ends with the account against buy &
hold over the same window and, for a dated plan, from its start date. Returned as plain text;
the report escapes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.result import RunResult

#: up to this many round trips are told one by one; more are summarised
DETAIL_TRADES = 3


@dataclass(frozen=True)
class Versus:
    """Buy & hold figures a run is compared with (fractions; NaN when unknown).

    bh_return, bh_max_drawdown : buy & hold over the run's whole window
    since : first session of a dated plan (ISO date), or None
    since_return : the run's account return from the close before ``since``
    since_bh_return, since_bh_max_drawdown : buy & hold bought at ``since``'s open
    """

    bh_return: float = math.nan
    bh_max_drawdown: float = math.nan
    since: str | None = None
    since_return: float = math.nan
    since_bh_return: float = math.nan
    since_bh_max_drawdown: float = math.nan


def pct(x: float, signed: bool = True) -> str:
    """``0.557`` -> ``+55.7%`` (``n/a`` for NaN)."""
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    return f"{float(x):+.1%}" if signed else f"{float(x):.1%}"


def money(x: float) -> str:
    return f"${float(x):,.2f}"


def shares(x: float) -> str:
    return f"{float(x):,.4f}".rstrip("0").rstrip(".")


def _day(x: Any) -> str:
    return pd.Timestamp(x).strftime("%Y-%m-%d")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _fills_of(result: RunResult, trade: pd.Series) -> pd.DataFrame:
    """The fills of one round trip (from its entry to its exit session, inclusive)."""
    f = result.fills
    dates = pd.to_datetime(f["date"])
    return f.loc[(dates >= trade["entry_date"]) & (dates <= trade["exit_date"])]


def _fill_clause(size: float, price: float, reason: str, first: bool) -> str:
    """``354 shares at $94.00 (tranche 1)``; later clauses drop the word "shares"."""
    return f"{shares(size)}{' shares' if first else ''} at {money(price)} ({reason})"


def _fills_text(fills: pd.DataFrame) -> str:
    """Fills grouped by session: ``354 shares at $94.00 (tranche 1) and 370 at ... on D``."""
    parts: list[str] = []
    for when, g in fills.groupby(pd.to_datetime(fills["date"]), sort=True):
        clauses = [
            _fill_clause(n, p, str(r), first=not parts and i == 0)
            for i, (n, p, r) in enumerate(zip(g["size"], g["price"], g["reason"], strict=True))
        ]
        parts.append(f"{_join(clauses)} on {_day(when)}")
    return _join(parts) if len(parts) < 3 else "; ".join(parts)


def trade_story(result: RunResult, trade: pd.Series) -> str:
    """One round trip, fill by fill."""
    fills = _fills_of(result, trade)
    buys, sells = fills[fills["side"] == "buy"], fills[fills["side"] == "sell"]
    text = f"Bought {_fills_text(buys)}" if len(buys) else "Bought"
    if len(buys) > 1:
        text += f" (average entry {money(trade['entry_price'])} on {shares(trade['size'])} shares)"
    if bool(trade.get("is_open", False)):
        return text + (
            f"; still held at the end, marked at the last close {money(trade['exit_price'])}: "
            f"{pct(trade['return'])} on the capital committed."
        )
    return text + (f". Sold {_fills_text(sells)}: {pct(trade['return'])} on the capital committed.")


def committed_text(result: RunResult, metrics: pd.Series) -> str:
    """Why the one trade's return and the account's return differ (empty when they agree).

    A trade's return is its P&L over the capital it committed (the buy fills' value); the
    account's return is over the whole account, so cash left idle (an order sized at the signal
    close and filled lower, or a plan's tranches) and commissions make them differ.
    """
    t = result.trades
    total = metrics.get("total_return", math.nan)
    if len(t) != 1 or not math.isfinite(float(total)):
        return ""
    trade = t.iloc[0]
    if abs(float(trade["return"]) - float(total)) < 0.0005:
        return ""
    buys = _fills_of(result, trade)
    buys = buys[buys["side"] == "buy"]
    committed = float(buys["value"].sum())
    before = result.equity.loc[: pd.Timestamp(trade["entry_date"])]
    account = float(before.iloc[-2] if len(before) > 1 else result.equity.iloc[0])
    idle = 1.0 - committed / account if account > 0 else math.nan
    return (
        f"The trade's {pct(trade['return'])} is on the ${committed:,.0f} it committed; the "
        f"account's {pct(total)} is on the whole ${account:,.0f}, of which "
        f"{pct(idle, signed=False)} stayed in cash, after commissions."
    )


def _stop_text(result: RunResult) -> str:
    """Whether a plan's stop was ever touched (empty for a strategy without a stop level)."""
    stop = result.levels.get("stop") if result.levels else None
    if stop is None or not isinstance(stop, int | float):
        return ""
    stopped = result.fills["reason"].astype(str).str.contains("stop", case=False)
    if stopped.any():
        n = int(stopped.sum())
        return f"The stop at {money(stop)} was hit {'once' if n == 1 else f'{n} times'}."
    if len(result.fills) == 0:
        return ""
    return f"The stop at {money(stop)} was never touched while a position was open."


def _summary_text(result: RunResult) -> str:
    """Many round trips in two sentences: counts, wins, the best and the worst."""
    t = result.trades
    is_open = t["is_open"].astype(bool) if "is_open" in t else pd.Series(False, index=t.index)
    closed = t.loc[~is_open]
    wins = int((closed["pnl"] > 0).sum())
    n_open = int(is_open.sum())
    opened = f"{len(closed)} closed and {n_open} still open at the end" if n_open else "all closed"
    text = f"{len(t)} trades, {opened}: {wins} won, {len(closed) - wins} lost."
    if len(closed):
        best = closed.loc[closed["return"].idxmax()]
        worst = closed.loc[closed["return"].idxmin()]
        text += (
            f" Best {pct(best['return'])} ({_day(best['entry_date'])} to {_day(best['exit_date'])}),"
            f" worst {pct(worst['return'])} ({_day(worst['entry_date'])} to "
            f"{_day(worst['exit_date'])})."
        )
    return text


def _plan_text(result: RunResult) -> str:
    """When a dated plan's orders could first fill, and whether it was spent."""
    levels = result.levels or {}
    start = levels.get("active_from")
    if not start:
        return ""
    return f"The plan's orders rested from {start}."


def _spent_text(result: RunResult) -> str:
    """A dated plan that ended without re-arming: the day it was spent."""
    end = (result.levels or {}).get("active_to")
    if end and result.levels.get("active_from") and not result.params.get("rearm", False):
        return f"The plan was then spent: no order after {end}."
    return ""


def what_happened(result: RunResult, metrics: pd.Series, versus: Versus) -> str:
    """The story of one run in a few sentences (plain text).

    Parameters
    ----------
    result : the run (fills, trades, levels, params, equity)
    metrics : its metrics (``total_return``, ``max_drawdown``, ``exposure`` are used)
    versus : buy & hold figures over the same window and, for a dated plan, from its start

    Returns
    -------
    A paragraph: the plan's dates, each round trip (or a summary of many), the stop, then the
    account against buy & hold.
    """
    parts = [_plan_text(result)]
    trades = result.trades
    if len(trades) == 0:
        parts.append("No order filled: the strategy never traded in this window.")
    elif len(trades) <= DETAIL_TRADES:
        parts += [trade_story(result, row) for _i, row in trades.iterrows()]
    else:
        parts.append(_summary_text(result))
    parts += [_stop_text(result), _spent_text(result)]
    first, last = (_day(result.equity.index[i]) for i in (0, -1))
    account = (
        f"Account {pct(metrics.get('total_return', math.nan))} from {first} to {last} "
        f"(max drawdown {pct(metrics.get('max_drawdown', math.nan))}, in the market "
        f"{pct(metrics.get('exposure', math.nan), signed=False)} of sessions)"
    )
    if math.isfinite(versus.bh_return):
        account += (
            f"; buy & hold {pct(versus.bh_return)} over the same window (max drawdown "
            f"{pct(versus.bh_max_drawdown)})"
        )
    parts += [account + ".", committed_text(result, metrics)]
    if versus.since:
        parts.append(
            f"From the plan's start ({versus.since}): the plan {pct(versus.since_return)}, "
            f"buy & hold bought at that session's open {pct(versus.since_bh_return)} (max "
            f"drawdown {pct(versus.since_bh_max_drawdown)})."
        )
    return " ".join(p for p in parts if p)
