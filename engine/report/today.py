"""``crwv-bt today``'s state (:func:`engine.backtest.today.plan_today`) as text for the terminal."""

from __future__ import annotations

from typing import Any


def format_today(report: dict[str, Any]) -> str:
    """The report as text for the terminal."""
    r = report
    atr_txt = f", ATR({r['atr_period']}) {r['atr']:.2f}" if r["atr"] else ""
    lines = [f"{r['ticker']} last bar {r['last_date']}: close {r['last_close']:.2f}{atr_txt}"]
    if r.get("end"):
        lines.append(f"as of the close of {r['last_date']} (--end {r['end']}), not today")
    if r["stale"]:
        lines.append(
            f"warning: data is stale: {r['missing_sessions']} session(s) have closed since "
            f"{r['last_date']} (today {r['today']}); refresh with `crwv-bt data fetch {r['ticker']}`"
        )
    if r.get("next_earnings"):
        lines.append(_earnings_line(r["next_earnings"]))
    for s in r["strategies"]:
        lines += ["", *_strategy_lines(s, r["last_date"])]
    verdict = (
        "an order goes out at the next open" if r["exit_code"] else "nothing to do at the next open"
    )
    lines += ["", f"{verdict} (exit {r['exit_code']})"]
    return "\n".join(lines)


_TIMINGS = {
    "before_open": "before the open",
    "during": "during the session",
    "after_close": "after the close",
}


def _earnings_line(e: dict[str, Any]) -> str:
    """``next earnings 2026-11-12 after the close (Q3 2026 results): first traded on
    2026-11-13, 25 sessions after the last bar``."""
    when = _TIMINGS.get(e["timing"], e["timing"])
    title = f" ({e['title']})" if e["title"] else ""
    n = e["sessions_ahead"]
    return (
        f"next earnings {e['date']} {when}{title}: first traded on {e['session']}, "
        f"{n} session{'' if n == 1 else 's'} after the last bar"
    )


def _aside_line(a: dict[str, Any], last_date: str) -> str:
    """A stand-aside strategy's next window (``stand_aside`` of :func:`plan_today`'s rows)."""
    n = f"{a['sessions']} session{'' if a['sessions'] == 1 else 's'}"
    if a["reaction"] is None:
        return (
            f"  stand aside {n} before earnings: no earnings date after {last_date} "
            "(add the next report to data/events/<TICKER>.toml)"
        )
    return (
        f"  stand aside {n}: flat from the open of {a['out_from']} to the open of "
        f"{a['reaction']} (earnings first traded)"
    )


def _strategy_lines(s: dict[str, Any], last_date: str) -> list[str]:
    p = s["position"]
    sizing = s.get("sizing", "all_in")
    out = [
        f"{s['strategy']}: {s['signal']['state']}"
        + ("" if sizing == "all_in" else f" (sizing {sizing})")
    ]
    if p["shares"]:
        out.append(
            f"  position {p['shares']:g} shares, avg entry {p['avg_entry']:.2f}, unrealised "
            f"{p['unrealised_pnl']:+,.2f} ({p['unrealised_pct']:+.1%})"
        )
    else:
        out.append(f"  no position; cash {s['cash']:,.2f}")
        entry = s.get("next_entry")
        if entry and not any(o["sent_on_last_close"] for o in s["orders"]):
            risk = (
                ""
                if entry["at_risk"] is None
                else f", ${entry['at_risk']:,.2f} at risk to its stop"
            )
            out.append(
                f"  an entry signal would {entry['side']} {entry['shares']:g} shares "
                f"(sizing {sizing}{risk})"
            )
    if s["signal"]["text"]:
        out.append(f"  signal: {s['signal']['text']}")
    if s.get("stand_aside"):
        out.append(_aside_line(s["stand_aside"], last_date))
    for o in s["orders"]:
        price = "market" if o["price"] is None else f"{o['type']} {o['price']:.2f}"
        dist = ""
        if o["distance_pct"] is not None:
            dist = f"  {o['distance_pct']:+.1%}"
            if o["distance_atr"] is not None:
                dist += f" / {o['distance_atr']:+.1f} ATR"
        new = (
            "  NEW: goes out at the next open"
            if o["sent_on_last_close"]
            else f"  (working since {o['sent']})"
        )
        out.append(f"  order {o['side']} {o['shares']:g} {price} [{o['reason']}]{dist}{new}")
    if not s["orders"]:
        out.append("  no working orders")
    return out
