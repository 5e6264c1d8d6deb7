"""The article's dated swing plan (投資建議(波段觀點)): ladder near $90, stop below $80, targets."""

from __future__ import annotations

from datetime import date, timedelta

import backtrader as bt

from engine.sizing import tranche_sizes
from strategies.base import ArticleStrategy

LEVEL_MODES = ("absolute", "relative")
STOP_MODES = ("intraday", "close")


class SwingPlan(ArticleStrategy):
    """The article's swing plan, active from its publication (article rule 1).

    The article: "Entry: around $90, buying in several tranches (分批買入). Stop: if price breaks
    below $80, exit strictly (嚴格止損). Targets: $130 (+35%), then $150 (+60%)."

    Entry
        At the close of the last session before ``active_from`` the plan sends one resting limit
        buy per tranche (``ladder``: $94 / $90 / $86 by default), each worth an equal share of the
        account value at that close. A tranche fills when a session trades down to its price (at
        the open if the session opens below it). With ``levels="relative"`` the ladder is
        ``tranches`` orders starting ``ladder_top_pct`` below the reference price and spaced
        ``ladder_step_pct`` apart, the reference being ``ref_price`` or, when that is 0, the close
        before ``active_from`` ($93.99 on 2025-08-22, the article's "about $94").
        ``max_wait_days`` > 0 cancels tranches still unfilled that many sessions after arming.
    Exit
        Stop: "if price breaks below $80, exit strictly". With ``stop_mode="intraday"`` one resting
        sell stop at ``stop`` ($79.99) covers every filled share (it is re-sent at the new size
        after each fill, so it grows with the ladder and shrinks as targets fill); a session that
        opens below it fills at the open. With ``stop_mode="close"`` a close below ``stop`` sends a
        market sell of everything, filled at the next open. A stop exit also cancels the unfilled
        tranches. ``breakeven_after_t1`` moves the stop up to the average entry price once target
        1 has filled.
        Targets: resting limit sells, ``scale_out`` fractions of the shares at each of ``targets``
        ($130 half, $150 the rest). The last target sells whatever is left.
        After a complete exit the plan is spent, unless ``rearm`` is on: then the ladder is sent
        again once a session closes above the top of the zone (the highest tranche), and a
        re-armed ladder never holds a buy at or below its own stop.
    Orders
        Limit buys (reason ``tranche N``), one sell stop (``stop``; a market sell in close mode),
        limit sells (``target N``). The stop and the targets are one OCO group: at most one of them
        fills in a session, the stop being tried first, so a session that touches both the stop and
        a target is counted as stopped out (the conservative reading of a daily bar). Orders sent
        on a session's close rest from the next session.

    Parameters
    ----------
    active_from : first session on which the plan's orders may fill (YYYY-MM-DD)
    levels : "absolute" (ladder / stop / targets in dollars) or "relative" (percent of reference)
    ladder : absolute limit-buy prices, one per tranche
    stop : absolute protective stop price
    targets : absolute target prices, ascending
    scale_out : fraction of the shares sold at each target; sums to 1
    ref_price : reference price for relative levels; 0 = the close before ``active_from``
    tranches : relative mode: number of tranches
    ladder_top_pct : relative mode: first tranche this fraction below the reference
    ladder_step_pct : relative mode: spacing between tranches, fraction of the reference
    stop_pct : relative mode: stop this fraction below the reference
    target_pcts : relative mode: targets these fractions above the reference
    stop_mode : "intraday" (resting stop order) or "close" (exit at next open after a close below)
    breakeven_after_t1 : move the stop to the average entry price after target 1 fills
    rearm : send the ladder again after a complete exit (waits for a close above the zone)
    max_wait_days : sessions the unfilled ladder may rest; 0 = no limit
    """

    alias = "swing"
    summary = "ladder of limit buys at $94/$90/$86 from 2025-08-25; stop $79.99; sell half at $130, rest at $150"
    params = (
        ("active_from", "2025-08-25"),  # first session the plan's orders may fill (YYYY-MM-DD)
        ("levels", "absolute"),  # "absolute" dollar levels or "relative" to the reference price
        ("ladder", (94.0, 90.0, 86.0)),  # absolute limit-buy prices, one per tranche
        ("stop", 79.99),  # absolute protective stop price
        ("targets", (130.0, 150.0)),  # absolute target prices, ascending
        ("scale_out", (0.5, 0.5)),  # fraction of shares sold at each target (sums to 1)
        ("ref_price", 0.0),  # relative levels: reference price; 0 = close before active_from
        ("tranches", 3),  # relative levels: number of tranches
        ("ladder_top_pct", 0.0),  # relative levels: first tranche this fraction below reference
        ("ladder_step_pct", 0.04),  # relative levels: spacing between tranches (fraction)
        ("stop_pct", 0.15),  # relative levels: stop this fraction below reference
        ("target_pcts", (0.35, 0.60)),  # relative levels: targets this fraction above reference
        ("stop_mode", "intraday"),  # "intraday" resting stop, or "close": exit after a close below
        ("breakeven_after_t1", False),  # move the stop to the average entry after target 1
        ("rearm", False),  # re-send the ladder after a full exit, once a close is above the zone
        ("max_wait_days", 0),  # sessions the unfilled ladder may rest; 0 = no limit
    )

    # ------------------------------------------------------------------ validation

    @classmethod
    def check_params(cls, p: dict) -> list[str]:
        problems: list[str] = []
        try:
            date.fromisoformat(str(p["active_from"]))
        except ValueError:
            problems.append(f"active_from={p['active_from']!r} is not a date; use YYYY-MM-DD")
        if p["levels"] not in LEVEL_MODES:
            problems.append(f"levels={p['levels']!r}; choose one of {', '.join(LEVEL_MODES)}")
        if p["stop_mode"] not in STOP_MODES:
            problems.append(f"stop_mode={p['stop_mode']!r}; choose one of {', '.join(STOP_MODES)}")
        if p["max_wait_days"] < 0:
            problems.append("max_wait_days must be >= 0 (0 = no limit)")
        scale = tuple(p["scale_out"])
        if any(f <= 0 for f in scale) or abs(sum(scale) - 1.0) > 1e-9:
            problems.append(
                f"scale_out={scale} must be positive fractions summing to 1, e.g. 0.5,0.5"
            )
        if p["levels"] == "relative":
            problems += cls._check_relative(p, scale)
        else:
            problems += cls._check_levels(tuple(p["ladder"]), p["stop"], tuple(p["targets"]), scale)
        return problems

    @classmethod
    def _check_relative(cls, p: dict, scale: tuple) -> list[str]:
        out = []
        if p["tranches"] < 1:
            out.append("tranches must be >= 1")
        if p["ref_price"] < 0:
            out.append("ref_price must be >= 0 (0 = the close before active_from)")
        for key in ("ladder_top_pct", "ladder_step_pct", "stop_pct"):
            if not 0 <= p[key] < 1:
                out.append(f"{key}={p[key]} must be a fraction in [0, 1)")
        if any(t <= 0 for t in p["target_pcts"]):
            out.append(f"target_pcts={tuple(p['target_pcts'])} must be positive fractions")
        if out:
            return out
        ladder, stop, targets = relative_levels(1.0, p)
        if stop >= min(ladder):
            out.append(
                f"stop_pct={p['stop_pct']} puts the stop at or above the lowest tranche "
                f"({1 - min(ladder):.2%} below reference); use a larger stop_pct or fewer/tighter tranches"
            )
        return out + cls._check_levels(ladder, stop, targets, scale, check_order=True)

    @classmethod
    def _check_levels(
        cls, ladder: tuple, stop: float, targets: tuple, scale: tuple, check_order: bool = True
    ) -> list[str]:
        out = []
        if not ladder:
            out.append("ladder is empty; give at least one limit-buy price")
            return out
        if any(x <= 0 for x in (*ladder, *targets)) or stop <= 0:
            out.append("ladder, stop and targets must be positive prices")
        if not targets:
            out.append("targets is empty; give at least one target price")
        elif len(targets) != len(scale):
            out.append(
                f"{len(targets)} targets but {len(scale)} scale_out fractions; give one fraction per target"
            )
        if stop >= min(ladder):
            out.append(
                f"stop {stop:g} is at or above the lowest tranche {min(ladder):g}; the stop must be below the ladder"
            )
        if targets and max(ladder) >= min(targets):
            out.append(
                f"target {min(targets):g} is at or below the highest tranche {max(ladder):g}; targets must be above the ladder"
            )
        if check_order and list(targets) != sorted(targets):
            out.append(f"targets {tuple(targets)} must be ascending")
        return out

    @classmethod
    def has_stop(cls, p: dict) -> bool:
        """The plan always rests its stop (``stop`` / ``stop_pct``): risk sizing measures to it."""
        return True

    # ------------------------------------------------------------------ run

    def __init__(self) -> None:
        self.active_from = bt.date2num(date.fromisoformat(str(self.p.active_from)))
        self.armed = False  # ladder sent for the current cycle
        self.spent = False  # plan finished (no re-arm)
        self.waiting_rearm = False
        self.ladder_orders: list[bt.Order] = []
        self.exit_orders: list[bt.Order] = []
        self.market_exit: bt.Order | None = None
        self.armed_bar = 0
        self.targets_hit = 0
        self.needs_rebuild = False
        self.stopped = False
        self.entry_cost = 0.0
        self.entry_size = 0.0
        self.ladder: tuple[float, ...] = ()
        self.stop_price = 0.0
        self.targets: tuple[float, ...] = ()
        self.levels: dict = {}
        self.notes: list[str] = []

    def next(self) -> None:
        if self.spent:
            return
        if not self.armed and not self.waiting_rearm:
            if self._next_session_active():
                self._arm()
            return
        if self.waiting_rearm:
            if self.data.close[0] > max(self.ladder):
                self.waiting_rearm = False
                self._send_ladder()
            return
        self._manage()

    def _next_session_active(self) -> bool:
        # Orders sent on this close rest from the next session, so arm on the last session
        # before active_from. Only the *date* of the next session is read (the trading calendar
        # is known in advance), never its prices.
        if self.data.datetime[0] >= self.active_from:
            return True
        try:
            return self.data.datetime[1] >= self.active_from
        except IndexError:
            # the last bar (`crwv-bt today`): the next session is the next weekday (a holiday
            # there only makes the ladder go out one close early)
            nxt = bt.num2date(self.data.datetime[0]).date() + _next_weekday_gap(
                self.data.datetime[0]
            )
            return bt.date2num(nxt) >= self.active_from

    def _arm(self) -> None:
        if self.p.levels == "relative":
            ref = self.p.ref_price or self.data.close[0]
            self.ladder, self.stop_price, self.targets = relative_levels(ref, self.p)
        else:
            self.ladder = tuple(float(x) for x in self.p.ladder)
            self.stop_price = float(self.p.stop)
            self.targets = tuple(float(x) for x in self.p.targets)
        now = self.data.datetime[0]
        if now >= self.active_from:
            first = bt.num2date(now)
        else:
            try:
                first = bt.num2date(self.data.datetime[1])
            except IndexError:  # armed on the last bar: the next weekday
                first = bt.num2date(now) + _next_weekday_gap(now)
        self.levels = {
            "ladder": list(self.ladder),
            "stop": self.stop_price,
            "targets": list(self.targets),
            "active_from": first.date().isoformat(),
            "active_to": None,
        }
        self._send_ladder()

    def _send_ladder(self) -> None:
        self.armed = True
        self.armed_bar = len(self)
        self.targets_hit = 0
        self.entry_cost = 0.0
        self.entry_size = 0.0
        self.stopped = False
        prices = [x for x in self.ladder if x > self.stop_price]  # never rest a buy below the stop
        value = self.broker.getvalue()
        budget = value / len(prices)
        cash_left = self.broker.getcash()
        sizing = self.sizing()
        wants: list[float] = []
        if sizing.kind != "all_in":
            step = 1e-6 if getattr(self.broker.p, "fractional", False) else 1.0
            wants = tranche_sizes(sizing, prices, self.stop_price, value, self.affordable, step)
        for k, price in enumerate(prices, start=1):
            if not wants:
                size = self.affordable(price, min(budget, cash_left))
            else:
                cover = self.affordable(price, cash_left)
                size = min(wants[k - 1], cover)
                if wants[k - 1] > cover:
                    self.notes.append(
                        f"{self.when()}: tranche {k} at {price:g}: {sizing.text()} asked for "
                        f"{wants[k - 1]:g} shares; the cash left covers {cover:g}"
                    )
            if size <= 0:
                self.notes.append(f"tranche {k} at {price:g}: cash too small for one share")
                continue
            cash_left -= size * price
            order = self.buy(exectype=bt.Order.Limit, price=price, size=size)
            order.addinfo(risk_stop=self.stop_price)
            if sizing.kind == "risk":
                order.addinfo(risk_budget=sizing.value * value)
            self.ladder_orders.append(self.tagged(order, f"tranche {k}"))

    # ------------------------------------------------------------------ state (crwv-bt today)

    def signal_state(self) -> dict:
        values = {
            "ladder": list(self.ladder),
            "stop": self.stop_price or None,
            "targets": list(self.targets),
            "targets_hit": self.targets_hit,
        }
        levels = ", ".join(f"{x:g}" for x in self.ladder)
        if self.spent:
            when = self.levels.get("active_to") or "?"
            text = f"plan spent on {when}: nothing more to do (re-arming is off)"
            return {"state": "spent", "text": text, "values": values}
        if self.waiting_rearm:
            text = (
                f"waits for a close above {max(self.ladder):g} to send the ladder ({levels}) again"
            )
            return {"state": "waiting", "text": text, "values": values}
        if not self.armed:
            text = f"waits for {self.p.active_from}: the ladder goes out on the close before it"
            return {"state": "waiting", "text": text, "values": values}
        if self.position.size > 0:
            left = ", ".join(f"{t:g}" for t in self.targets[self.targets_hit :])
            text = f"in the plan: stop {self._stop_level():g}, targets left {left}"
            return {"state": "long", "text": text, "values": values}
        text = f"ladder resting at {levels}: buys when a session trades down to a tranche"
        return {"state": "armed", "text": text, "values": values}

    # ------------------------------------------------------------------ order bookkeeping

    def notify_order(self, order: bt.Order) -> None:
        if order.status != order.Completed:
            return
        reason = order.info.get("reason", "")
        if order.isbuy():
            self.entry_cost += order.executed.size * order.executed.price
            self.entry_size += order.executed.size
            self.needs_rebuild = True
        elif reason == "stop":
            self.stopped = True
            self.needs_rebuild = True
        elif reason.startswith("target"):
            self.targets_hit = int(reason.split()[1])
            self.needs_rebuild = True
        if self.same(order, self.market_exit):
            self.market_exit = None

    def _manage(self) -> None:
        pos = self.position.size
        if self.p.max_wait_days and len(self) - self.armed_bar >= self.p.max_wait_days:
            self._cancel(self.ladder_orders)
        if self.market_exit is not None:
            return
        if self.stopped:
            self._cancel(self.ladder_orders)
            self._cancel(self.exit_orders)
            if pos > 0:  # shares bought in the session the stop filled
                self.market_exit = self.tagged(self.sell(size=pos), "stop")
                return
        if pos <= 0 and (self.stopped or self.targets_hit):
            self._finish_cycle()
            return
        if self.p.stop_mode == "close" and pos > 0 and self.data.close[0] < self._stop_level():
            self._cancel(self.ladder_orders)
            self._cancel(self.exit_orders)
            self.stopped = True
            self.market_exit = self.tagged(self.sell(size=pos), "stop")
            return
        if self.needs_rebuild and pos > 0:
            self._rebuild_exits(pos)
        self.needs_rebuild = False
        if pos <= 0 and not any(o.alive() for o in self.ladder_orders) and not self.exit_orders:
            self.notes.append("ladder expired unfilled")
            self._finish_cycle()

    def _stop_level(self) -> float:
        if self.p.breakeven_after_t1 and self.targets_hit >= 1 and self.entry_size > 0:
            return max(self.stop_price, self.entry_cost / self.entry_size)
        return self.stop_price

    def _rebuild_exits(self, pos: float) -> None:
        self._cancel(self.exit_orders)
        fractional = bool(getattr(self.broker.p, "fractional", False))
        orders: list[bt.Order] = []
        if self.p.stop_mode == "intraday":
            stop = self.sell(exectype=bt.Order.Stop, price=self._stop_level(), size=pos)
            orders.append(self.tagged(stop, "stop"))
        remaining = list(range(self.targets_hit, len(self.targets)))
        weights = [self.p.scale_out[i] for i in remaining]
        left = pos
        for j, i in enumerate(remaining):
            if j == len(remaining) - 1:
                size = left
            else:
                size = pos * weights[j] / sum(weights)
                size = round(size, 6) if fractional else float(int(size))
            if size <= 0:
                continue
            left -= size
            oco = orders[0] if orders else None
            order = self.sell(exectype=bt.Order.Limit, price=self.targets[i], size=size, oco=oco)
            orders.append(self.tagged(order, f"target {i + 1}"))
        self.exit_orders = orders

    def _cancel(self, orders: list[bt.Order]) -> None:
        for order in orders:
            if order.alive():
                self.cancel(order)
        orders.clear()

    def _finish_cycle(self) -> None:
        self._cancel(self.ladder_orders)
        self._cancel(self.exit_orders)
        self.armed = False
        self.levels["active_to"] = bt.num2date(self.data.datetime[0]).date().isoformat()
        if self.p.rearm:
            self.waiting_rearm = True
            self.levels["active_to"] = None
        else:
            self.spent = True


def _next_weekday_gap(num: float) -> timedelta:
    """Days from the session ``num`` to the next weekday."""
    wd = bt.num2date(num).weekday()
    return timedelta(days=3 if wd == 4 else 2 if wd == 5 else 1)


def relative_levels(ref: float, p) -> tuple[tuple[float, ...], float, tuple[float, ...]]:  # noqa: ANN001
    """Ladder, stop and targets from a reference price and the relative-level parameters."""
    get = p.__getitem__ if isinstance(p, dict) else lambda k: getattr(p, k)
    ladder = tuple(
        round(ref * (1 - get("ladder_top_pct") - k * get("ladder_step_pct")), 2)
        for k in range(int(get("tranches")))
    )
    stop = round(ref * (1 - get("stop_pct")), 2)
    targets = tuple(round(ref * (1 + t), 2) for t in get("target_pcts"))
    return ladder, stop, targets
