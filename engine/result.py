"""Plain-data results: what leaves the engine (no backtrader object ever does).

Table schemas
-------------
``fills`` (one row per executed order, in execution order):

=============  ==============================================================================
date           session of the fill (Timestamp)
side           ``"buy"`` or ``"sell"``
size           shares, positive
price          fill price after slippage
value          ``size * price``
commission     commission charged on this fill (dollars)
order_type     ``"market"``, ``"limit"`` or ``"stop"``
reason         why the order was sent: ``entry``, ``signal``, ``stop``, ``target 1``, ...
resized_from   shares the order asked for when a gap made it unaffordable (else NaN)
risk_stop      a buy: the stop price its shares are at risk to (the swing plan's stop; a
               signal entry's fill price less the strategy's stop distance); NaN without a stop
risk_budget    a buy sized by ``--sizing risk:F``: the dollars the entry (every tranche of a
               plan) may lose at the stop (``F`` x account value at the signal); NaN otherwise
=============  ==============================================================================

``trades`` (one row per round trip, flat to flat; see :func:`engine.analysis.trades.build_trades`):

================  ===========================================================================
entry_date        first fill of the round trip (a buy; a sale for a short)
exit_date         fill that made the position flat (last bar for an open trade)
entry_price       size-weighted average buy price (of the sales, for a short)
exit_price        size-weighted average sell price (of the covers; last close when open)
size              peak shares held during the round trip
pnl               sell proceeds - buy cost - all commissions (open trade: marked at last close)
return            ``pnl / buy cost`` (buy cost = sum of buy fill values)
bars_held         sessions from the entry fill to the exit fill (``0`` = same session)
exit_reason       reason of the last exit fill (a sell; a buy to cover a short): ``stop``,
                  ``target 1``, ``signal``, ...; ``end of data`` for a position still open
mae               maximum adverse excursion: lowest low while held / entry price - 1 (<= 0)
mfe               maximum favourable excursion: highest high while held / entry price - 1 (>= 0)
commission        commissions paid on the round trip's fills
is_open           True for a position still open at the last bar
risk_budget       the entry's risk budget (``--sizing risk:F``; the swing plan's whole budget,
                  which its tranches share), dollars; NaN otherwise
risk_at_entry     ``sum(entry size x |entry price - its stop|)``: what the trade stood to lose
                  at the stop prices, from the actual fills; NaN without a stop
r_multiple        ``pnl / risk_budget``: -1 is a loss of exactly the budget; a gap through the
                  stop can make it worse than -1
side              ``long`` or ``short`` (a round trip that starts with a short sale: its
                  entries are the sales, ``return = pnl / their value``, MAE the highest high,
                  MFE the lowest low, each relative to the entry price)
================  ===========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd

#: The harness's fill rules in one paragraph, shown in every report and metrics.json
#: (the detailed version is the docstring of :mod:`engine.backtest.harness`).
FILL_RULES = (
    "A signal on bar t's close sends a market order that fills at bar t+1's open (plus "
    "slippage). Limit and stop orders fill when the bar trades through their price, at that "
    "price, or at the open when the bar gaps past it. Nothing fills at the signal bar's own "
    "close. A buy sized from cash that a gap-up makes unaffordable is resized to what the cash "
    "allows. Whole shares unless fractional shares are on. Position size (--sizing): all the cash "
    "by default, or a fraction of the account, a dollar amount, a number of shares, or the size "
    "that loses a fraction of the account if the stop fills at its price, set at the signal's "
    "close and cut to what the cash covers. A short (a rule's side = short; a signal strategy's "
    "side = short, whose exit signal sells short and entry signal covers, or both, which "
    "reverses on the opposite signal: the close-out and the new side at the same open) mirrors "
    "every rule: the entry sells, the exit and a stop above or a limit below buy to cover; its "
    "proceeds stay in the account as collateral; a close where "
    "the account is under 30% of the short's value covers it at the next open (margin call); "
    "a borrow fee, if set, is charged daily and booked in the cover's commission. Commission per fill: max(per-share x "
    "shares, minimum), capped at a percent of the value; slippage is an adverse fraction of the "
    "price; market and stop fills never leave the bar's range, and a limit order never fills "
    "worse than its limit (a gapped limit sell slipped below its limit fills at the limit). "
    "Resting orders are tried in the order they were sent; a strategy's stop and targets form "
    "one OCO group, so at most one of them fills in a session, the stop first."
)

FILL_COLUMNS = [
    "date",
    "side",
    "size",
    "price",
    "value",
    "commission",
    "order_type",
    "reason",
    "resized_from",
    "risk_stop",
    "risk_budget",
]

FILL_DTYPES = {
    "date": "datetime64[ns]",
    "side": "object",
    "size": "float64",
    "price": "float64",
    "value": "float64",
    "commission": "float64",
    "order_type": "object",
    "reason": "object",
    "resized_from": "float64",
    "risk_stop": "float64",
    "risk_budget": "float64",
}

TRADE_COLUMNS = [
    "entry_date",
    "exit_date",
    "entry_price",
    "exit_price",
    "size",
    "pnl",
    "return",
    "bars_held",
    "exit_reason",
    "mae",
    "mfe",
    "commission",
    "is_open",
    "risk_budget",
    "risk_at_entry",
    "r_multiple",
    "side",
]


def is_benchmark(name: str) -> bool:
    """True for the buy-and-hold benchmark's names (``buy_hold``, ``BuyAndHold``, ``bh``,
    ``benchmark``, ...): reserved for the benchmark run itself (:func:`engine.jobs.runner.run_configs`
    shows any other run under such a name as ``NAME (what it is)``)."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return key in {"buyhold", "buyandhold", "bh", "benchmark", "buyholdbenchmark"}


@dataclass(frozen=True)
class Costs:
    """Trading costs, applied to every fill. Defaults model a US retail broker.

    commission_per_share : dollars per share (default 0.005, Interactive Brokers "Fixed")
    commission_min : minimum dollars per order (default 1.00)
    commission_max_pct : cap as a fraction of the fill's value (default 0.01 = 1%)
    slippage : adverse fraction of the price on market fills, stop fills and limit orders
        filled at a gapped open (default 0.0005 = 5 bp); a limit order never fills worse than
        its limit, and market and stop fills never leave the bar's high-low range.
    sizing : how many shares an entry asks for, as text (:mod:`engine.sizing`: ``all_in``,
        ``fraction:F``, ``fixed:D``, ``shares:N``, ``risk:F``; default ``all_in``, every dollar
        of cash). It rides with the costs because everything that runs a strategy takes them.
    borrow_fee : annual rate charged on a short position (default 0): each session a short is
        held, ``calendar days since the last charge x borrow_fee / 365 x shares x average
        short price`` leaves the cash (backtrader's credit interest); the fees of a round trip
        are booked in the covering fill's commission, so the trade's P&L includes them.
    """

    commission_per_share: float = 0.005
    commission_min: float = 1.0
    commission_max_pct: float = 0.01
    slippage: float = 0.0005
    sizing: str = "all_in"
    borrow_fee: float = 0.0

    def commission(self, size: float, price: float) -> float:
        """Commission in dollars for one fill of ``size`` shares at ``price``."""
        shares = abs(size)
        if shares == 0:
            return 0.0
        fee = max(shares * self.commission_per_share, self.commission_min)
        return min(fee, shares * price * self.commission_max_pct)

    def benchmark(self) -> Costs:
        """These costs with ``all_in`` sizing: buy and hold, the yardstick of every run, always
        invests all the cash whatever ``--sizing`` says."""
        return self if self.sizing == "all_in" else replace(self, sizing="all_in")

    def describe(self) -> str:
        sizing = "" if self.sizing == "all_in" else f"; sizing {self.sizing}"
        if self.borrow_fee:
            sizing += f"; borrow fee {self.borrow_fee:.2%} a year"
        return (
            f"commission ${self.commission_per_share:g}/share, min ${self.commission_min:g}, "
            f"max {self.commission_max_pct:.2%} of value; slippage {self.slippage * 1e4:g} bp"
            f"{sizing}"
        )


def run_settings(cash: float, costs: Costs, fractional: bool) -> dict[str, Any]:
    """The settings of a run as plain data: cash, every cost field, the fractional flag.

    One definition for the run result, the sweep store's keys and the regression baseline.
    ``sizing`` and ``borrow_fee`` are there only when they are not the defaults (``all_in``,
    0), so stores and baselines written before they existed keep their keys.
    """
    fields = asdict(costs)
    if fields.get("sizing") == "all_in":
        del fields["sizing"]
    if fields.get("borrow_fee") == 0:
        del fields["borrow_fee"]
    return {"cash": float(cash), "fractional": bool(fractional), **fields}


@dataclass(frozen=True)
class RunResult:
    """One backtest run, as plain data.

    Attributes
    ----------
    strategy : registry name (e.g. ``"swing"``) or class name
    params : every strategy parameter, as resolved (defaults plus overrides)
    ticker : the traded symbol
    equity : account value at each session's close (cash + shares x close), indexed by date
    position : shares held at each session's close
    trades : round trips (schema in this module's docstring)
    fills : executed orders (schema in this module's docstring)
    fingerprint : data identity: ticker, first, last, rows, sha256
    settings : cash, costs, fractional flag, fill rules summary
    levels : price levels the strategy worked with (for charts), e.g. ladder / stop / targets
    notes : things a user should know about this run (rejected orders, resized orders, ...)
    rule : for a rule, its text as written in its TOML file (description, parameters,
        conditions, orders; reports show it); empty for a strategy class
    """

    strategy: str
    params: dict[str, Any]
    ticker: str
    equity: pd.Series
    position: pd.Series
    trades: pd.DataFrame
    fills: pd.DataFrame
    fingerprint: dict[str, Any]
    settings: dict[str, Any]
    levels: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    rule: str = ""

    @property
    def final_equity(self) -> float:
        return float(self.equity.iloc[-1])

    @property
    def cash_end(self) -> float:
        """Cash after every fill: starting cash - buys + sells - commissions."""
        f = self.fills
        if len(f) == 0:
            return float(self.settings["cash"])
        sign = f["side"].map({"buy": -1.0, "sell": 1.0})
        return float(self.settings["cash"] + (sign * f["value"]).sum() - f["commission"].sum())
