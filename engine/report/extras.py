"""What a run folder holds beyond the backtest: the ticker's events and the Monte Carlo.

:class:`Extras` travels with a run into :func:`engine.report.run_folder.write_run`; this module
turns it into files (``events.csv``, ``montecarlo_fan.csv``), ``metrics.json`` entries
(``monte_carlo``) and report sections, and reads it back for
:func:`engine.report.run_folder.rebuild_report`. The fan PNGs are drawn by
:mod:`engine.report.montecarlo_chart` (with the other charts, in ``run_folder``).

Files
-----
=====================  =========================================================================
events.csv             the ticker's events (``data/events/<TICKER>.toml``) in the run's window:
                       date, kind, title, timing, source, url, note, and ``session`` (the first
                       session whose prices can reflect it)
montecarlo_fan.csv     ``strategy, method, date, p5, p25, p50, p75, p95``: the equity quantiles
                       of each method that has a calendar (block bootstrap, execution noise)
=====================  =========================================================================
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from engine.data.events import chart_events, trade_events
from engine.errors import UserError, short_path
from engine.report.montecarlo import bands_table_html
from engine.result import RunResult

EVENTS_FILE = "events.csv"
FAN_FILE = "montecarlo_fan.csv"
FAN_PATTERN = "montecarlo_*.png"
_LEFT = ' style="text-align:left"'


@dataclass(frozen=True)
class Extras:
    """events : the ticker's events (or None); monte_carlo : strategy -> method ->
    :class:`engine.analysis.montecarlo.MonteCarloResult` (anything with ``fan`` and ``n_paths``);
    summaries : strategy -> method -> :func:`engine.analysis.montecarlo.summarize`."""

    events: pd.DataFrame | None = None
    monte_carlo: dict[str, dict[str, Any]] | None = None
    summaries: dict[str, dict[str, Any]] | None = None


def files(extras: Extras | None, index: pd.DatetimeIndex) -> dict[str, str]:
    """File name -> CSV text (none without extras)."""
    if extras is None:
        return {}
    out = {}
    if extras.events is not None:
        frame = chart_events(extras.events, index).drop(columns="label")
        for col in ("date", "session"):
            frame[col] = pd.to_datetime(frame[col]).dt.strftime("%Y-%m-%d")
        out[EVENTS_FILE] = frame.to_csv(index=False, lineterminator="\n")
    rows = [
        res.fan.reset_index().assign(strategy=label, method=method)
        for label, methods in (extras.monte_carlo or {}).items()
        for method, res in methods.items()
        if getattr(res, "fan", None) is not None
    ]
    if rows:
        fan = pd.concat(rows, ignore_index=True)
        fan = fan[
            ["strategy", "method", *[c for c in fan.columns if c not in ("strategy", "method")]]
        ]
        fan["date"] = pd.to_datetime(fan["date"]).dt.strftime("%Y-%m-%d")
        out[FAN_FILE] = fan.to_csv(index=False, lineterminator="\n", float_format="%.6f")
    return out


def document(doc: dict[str, Any], extras: Extras | None) -> dict[str, Any]:
    """``metrics.json`` with ``monte_carlo`` (the summaries) when there are any."""
    if extras is not None and extras.summaries:
        return {**doc, "monte_carlo": extras.summaries}
    return doc


def load(run_dir: Path, doc: dict[str, Any]) -> Extras:
    """The extras of a run folder (what :func:`files` and :func:`document` wrote)."""
    run_dir = Path(run_dir)
    events = None
    path = run_dir / EVENTS_FILE
    try:
        if path.exists():
            events = pd.read_csv(path, parse_dates=["date"], keep_default_na=False)
            events = events.drop(columns=["session"], errors="ignore")
        summaries = doc.get("monte_carlo") or None
        if summaries is not None and not isinstance(summaries, dict):
            path = run_dir / "metrics.json"
            raise ValueError("'monte_carlo' is not an object")
        monte: dict[str, dict[str, Any]] | None = None
        path = run_dir / FAN_FILE
        if summaries and path.exists():
            fan = pd.read_csv(path, parse_dates=["date"])
            monte = {}
            for (label, method), part in fan.groupby(["strategy", "method"], sort=False):
                n = summaries.get(label, {}).get(method, {}).get("n_paths", 0)
                frame = part.drop(columns=["strategy", "method"]).set_index("date")
                monte.setdefault(label, {})[method] = SimpleNamespace(fan=frame, n_paths=n)
    except (ValueError, KeyError, AttributeError, pd.errors.ParserError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:80]
        raise UserError(
            f"{short_path(path)}: cannot be read back ({first}); rerun the backtest into this "
            "folder (`crwv-bt run --out DIR`) to rewrite it"
        ) from None
    return Extras(events=events, monte_carlo=monte, summaries=summaries)


# --------------------------------------------------------------------------- HTML
def _esc(value: Any) -> str:
    return html.escape(str(value))


def montecarlo_block(r: RunResult, extras: Extras | None, figure_html: str = "") -> str:
    """One strategy's Monte Carlo: the bands table, notes and ``figure_html`` (its fan)."""
    doc = (extras.summaries or {}).get(r.strategy) if extras is not None else None
    if not doc:
        return ""
    return "<h3>How lucky was it? (Monte Carlo)</h3>" + bands_table_html(doc) + figure_html


def trade_events_block(
    r: RunResult, extras: Extras | None, title: str = "<h4>Events inside these trades</h4>"
) -> str:
    """The events whose reaction session fell inside one of ``r``'s trades ("" when none)."""
    if extras is None or extras.events is None or len(extras.events) == 0:
        return ""
    inside = trade_events(r.trades, extras.events, pd.DatetimeIndex(r.equity.index))
    if len(inside) == 0:
        return ""
    items = "".join(
        f"<li>trade {t.trade} ({pd.Timestamp(t.entry_date).date()} to "
        f"{'open' if pd.isna(t.exit_date) else pd.Timestamp(t.exit_date).date()}): "
        f"{pd.Timestamp(t.session).date()} {_esc(t.title)}</li>"
        for t in inside.itertuples(index=False)
    )
    return f"{title}<ul>{items}</ul>"


def events_section(results: list[RunResult], extras: Extras | None) -> str:
    """The ticker's events in the window (each strategy's section lists those inside its trades)."""
    if extras is None or extras.events is None:
        return ""
    events = extras.events
    parts = ['<section id="events"><h2>Events</h2>']
    if len(events) == 0:
        ticker = results[0].ticker if results else ""
        parts.append(f"<p>No events file for {_esc(ticker)} (data/events/).</p></section>")
        return "\n".join(parts)
    rows = "".join(
        f"<tr><td>{pd.Timestamp(e.date).date()}</td><td{_LEFT}>{_esc(e.kind)}</td>"
        f"<td{_LEFT}>{_esc(e.title)}</td><td{_LEFT}>{_esc(str(e.timing).replace('_', ' '))}</td>"
        f"<td{_LEFT}>{_esc(e.source)}</td></tr>"
        for e in events.itertuples(index=False)
    )
    parts.append(
        '<p class="sub">Drawn on the price charts on their reaction session (the first session '
        "whose prices can reflect them: the next one for an after-close report).</p>"
        '<div class="wrap"><table><thead><tr><th>date</th><th>kind</th><th>event</th><th>timing</th>'
        f"<th>source</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    return "\n".join(parts) + "</section>"
