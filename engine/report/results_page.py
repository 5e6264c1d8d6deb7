"""The report page, results first: summary, one section per strategy, comparison, settings.

Order of the page (what a trader came for first, the machinery last):

1. title, the window and the costs in one line, a table of contents;
2. **summary**: one card per strategy (total return, buy & hold over the same window, for a
   dated plan both measured from its start date, max drawdown, closed and open trades, win
   rate, Sharpe; the best total return marked), runs that traded identically flagged, and the
   "what happened" paragraph of each;
3. **one section per strategy**: its description and the parameters it changes, the key
   metrics beside the cumulative-return chart (against buy & hold), monthly returns and the
   five worst drawdowns, the interactive price chart, its trades with the running cumulative
   P&L (and its fills, folded), every metric beside buy & hold's (folded), notes;
4. **all strategies**: growth of $1 of every run and the full metrics table;
5. **settings**, fill rules and parameters, folded.

Self-contained: plotly.js is inlined once, the charts' data sit in the page, nothing is
fetched. Text from the run is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.analysis.periods import hold_from_open, monthly_returns, return_since, worst_drawdowns
from engine.analysis.returns import drawdown_series
from engine.report import interactive
from engine.report.compare import identical_groups
from engine.report.compare_html import about_html, changes_text, groups_html
from engine.report.display import MISSING, format_value, metric_rows, title
from engine.report.extras import Extras, events_section, montecarlo_block, trade_events_block
from engine.report.html_page import (
    CSS,
    costs_text,
    esc,
    frame_table,
    rule_block,
    settings_section,
)
from engine.report.narrative import Versus, what_happened
from engine.report.returns_chart import returns_figure
from engine.report.summary import (
    CARD_CSS,
    best_strategy,
    card,
    cumulative_pnl,
    defined,
    drawdowns_table_html,
    key_metrics_html,
    monthly_table_html,
    sign_class,
    trade_count_text,
)
from engine.result import RunResult

TRADE_VIEW = [  # column, heading, format kind
    ("entry_date", "Entry", "date"),
    ("exit_date", "Exit", "date"),
    ("entry_price", "Entry price", "price"),
    ("exit_price", "Exit price", "price"),
    ("size", "Shares", "shares"),
    ("pnl", "P&L", "dollars"),
    ("cum_pnl", "Cumulative P&L", "dollars"),
    ("return", "Return on its buys", "percent"),
    ("bars_held", "Sessions", "int"),
    ("exit_reason", "Exit reason", "text"),
    ("mae", "MAE", "percent"),
    ("mfe", "MFE", "percent"),
    ("commission", "Commission", "fee"),
]
#: shown when a trade has a stop (engine.result TRADE_COLUMNS; docs/sizing.md)
RISK_VIEW = [
    ("risk_at_entry", "At risk", "fee"),
    ("risk_budget", "Risk budget", "fee"),
    ("r_multiple", "R", "ratio"),
]
FILL_VIEW = [
    ("date", "Date", "date"),
    ("side", "Side", "text"),
    ("size", "Shares", "shares"),
    ("price", "Price", "price"),
    ("value", "Value", "dollars"),
    ("commission", "Commission", "fee"),
    ("order_type", "Order", "text"),
    ("reason", "Reason", "text"),
    ("resized_from", "Resized from", "shares"),
]
#: metrics whose sign is good or bad news (coloured); counts, exposure, volatility, beta,
#: win rate and the profit factor are not
SIGNED_METRICS = frozenset(
    "total_return cagr buy_hold_return excess_return best_day worst_day max_drawdown "
    "avg_drawdown sharpe sortino calmar alpha avg_trade_return avg_win avg_loss best_trade "
    "worst_trade expectancy sqn".split()
)
TRADE_RETURN_NOTE = (
    "Return on its buys: a trade's P&amp;L over the capital it committed (the value of its "
    "buy fills). The account's return is over the whole account, cash left idle and "
    "commissions included, so the two differ unless every dollar was in the trade."
)


@dataclass(frozen=True)
class Page:
    """Everything the page shows, as plain data."""

    results: list[RunResult]
    metrics: dict[str, pd.Series]
    doc: dict[str, Any]
    prices: pd.DataFrame | None
    bench: RunResult | None
    versus: dict[str, Versus] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)  # strategy -> one-line rules
    extras: Extras | None = None  # the ticker's events and the runs' Monte Carlo


def versus_of(
    result: RunResult,
    metrics: pd.Series,
    bench: RunResult | None,
    prices: pd.DataFrame | None,
) -> Versus:
    """Buy & hold beside ``result``: over the same window and, for a dated plan, from its start.

    The plan's start is its levels' ``active_from``; it counts only when after the first
    session (a plan dated before the window is measured over the window alone).
    """
    bh_return = float(metrics.get("buy_hold_return", float("nan")))
    bh_dd = float("nan")
    if bench is not None and len(bench.equity):
        eq = bench.equity.astype(float)
        bh_dd = float(drawdown_series(eq).min())
        if bh_return != bh_return:
            bh_return = float(eq.iloc[-1] / eq.iloc[0] - 1.0)
    since = (result.levels or {}).get("active_from")
    if not since or prices is None or not len(result.equity):
        return Versus(bh_return, bh_dd)
    start = pd.Timestamp(since)
    if start <= result.equity.index[0] or start > result.equity.index[-1]:
        return Versus(bh_return, bh_dd)
    window = prices.loc[: result.equity.index[-1]]
    plan, _dd = return_since(result.equity, start)
    held, held_dd = hold_from_open(window, start)
    return Versus(bh_return, bh_dd, str(since), plan, held, held_dd)


def build_page(
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    doc: dict[str, Any],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    *,
    anchors: dict[str, str] | None = None,
    extras: Extras | None = None,
) -> Page:
    """The page of a run folder: buy & hold beside each run, descriptions from ``doc``.

    Parameters
    ----------
    results, metrics : the runs in display order and their metrics by name
    doc : the ``metrics.json`` document (fill rules, each strategy's ``description``)
    prices : the price window (None: no price chart)
    bench : the buy-and-hold run over the same window
    anchors : strategy name -> element id (default ``s-NAME``)
    extras : the ticker's events and the Monte Carlo
    """
    entries = doc.get("strategies", {})
    return Page(
        results=results,
        metrics=metrics,
        doc=doc,
        prices=prices,
        bench=bench,
        versus={
            r.strategy: versus_of(
                r, metrics.get(r.strategy, pd.Series(dtype=object)), bench, prices
            )
            for r in results
        },
        anchors={k: f"s-{v}" for k, v in (anchors or {}).items()},
        summaries={
            r.strategy: str(entries.get(r.strategy, {}).get("description", ""))
            for r in results
            if entries.get(r.strategy, {}).get("description")
        },
        extras=extras,
    )


def _anchor(page: Page, name: str) -> str:
    return page.anchors.get(name, f"s-{name}")


def _entry(page: Page, name: str) -> dict[str, Any]:
    entry = page.doc.get("strategies", {}).get(name, {})
    return entry if isinstance(entry, dict) else {}


def header(page: Page) -> str:
    """Title, window, cash and costs in one line, and the table of contents."""
    first = page.results[0] if page.results else None
    ticker = first.ticker if first else "no strategy"
    fp = first.fingerprint if first else {}
    st = first.settings if first else {}

    cash = f"${float(st['cash']):,.0f}" if "cash" in st else "cash not recorded"
    line = (
        f"{fp.get('first', '?')} to {fp.get('last', '?')} ({fp.get('rows', '?')} sessions) "
        f"&middot; starting cash {esc(cash)} &middot; {esc(costs_text(st))}"
    )
    links = [("summary", "Summary")]
    links += [(_anchor(page, r.strategy), r.strategy) for r in page.results]
    links += [("all", "All strategies")]
    if page.extras is not None and page.extras.events is not None:
        links.append(("events", "Events"))
    links.append(("settings", "Settings and fill rules"))
    toc = " ".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in links)
    return (
        f"<h1>Backtest report: {esc(ticker)}</h1>\n"
        f'<p class="sub">{line}</p>\n<nav class="toc">Contents: {toc}</nav>'
    )


def card_about(page: Page, r: RunResult) -> str:
    """The line under a card's name: the description, and the parameters a variant changes."""
    entry = _entry(page, r.strategy)
    text = page.summaries.get(r.strategy, "")
    defaults = entry.get("defaults")
    if isinstance(defaults, dict):
        changes = changes_text(r.params, defaults)
        if changes:
            text = f"{text} ({changes})" if text else changes
    return text


def twins(page: Page) -> dict[str, str]:
    """Run name -> the first run of its group of identical runs (that first one left out)."""
    bench_name = page.bench.strategy if page.bench else None
    return {
        name: names[0]
        for names in identical_groups([r for r in page.results if r.strategy != bench_name])
        for name in names[1:]
    }


def summary(page: Page) -> str:
    """Runs that traded identically, the cards, then what happened in each run (told once per
    group of identical runs)."""
    bench_name = page.bench.strategy if page.bench else None
    best = best_strategy(page.metrics, exclude=bench_name)
    same_as = twins(page)
    cards = []
    stories = []
    for r in page.results:
        m = page.metrics.get(r.strategy, pd.Series(dtype=object))
        v = page.versus.get(r.strategy, Versus())
        is_bench = r.strategy == bench_name
        cards.append(
            card(
                r,
                m,
                v,
                anchor=_anchor(page, r.strategy),
                best=r.strategy == best,
                benchmark=is_bench,
                about=card_about(page, r),
            )
        )
        first = same_as.get(r.strategy)
        story = (
            f"the same fills as {first}, so the same result (told above)."
            if first
            else what_happened(r, m, v)
        )
        stories.append(
            f'<p><a href="#{esc(_anchor(page, r.strategy))}"><b>{esc(r.strategy)}</b></a>: '
            f"{esc(story)}</p>"
        )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f"{groups_html(page.results, exclude=bench_name)}"
        f'<div class="cards">{"".join(cards)}</div>'
        f'<h3>What happened</h3><div class="story">{"".join(stories)}</div></section>'
    )


def trades_block(r: RunResult, metrics: pd.Series) -> str:
    """The round trips with the running cumulative P&L, then the fills, folded."""
    n = len(r.trades)
    parts = [f"<h3>Trades: {n} round trip(s), {esc(trade_count_text(metrics))}</h3>"]
    if n:
        view = r.trades.assign(cum_pnl=cumulative_pnl(r.trades))
        cols = TRADE_VIEW
        if "side" in view and (view["side"] == "short").any():
            cols = [*TRADE_VIEW[:2], ("side", "Side", "text"), *TRADE_VIEW[2:]]
        if "risk_at_entry" in view and view["risk_at_entry"].notna().any():
            cols = cols + RISK_VIEW
        parts.append(frame_table(view, cols, signed=True))
        notes = [TRADE_RETURN_NOTE]
        if "is_open" in r.trades and r.trades["is_open"].astype(bool).any():
            notes.insert(
                0,
                "The last trade is still open: it is valued at the last close, counted as open "
                "(not closed) in the metrics.",
            )
        parts.append(f'<p class="sub">{" ".join(notes)}</p>')
    else:
        parts.append("<p>No trades.</p>")
    if len(r.fills):
        parts.append(
            f"<details><summary>{len(r.fills)} fill(s)</summary>"
            f"{frame_table(r.fills, FILL_VIEW, signed=False)}</details>"
        )
    return "\n".join(parts)


def metrics_block(names: list[str], metrics: dict[str, pd.Series]) -> str:
    """Metric rows (title with its definition on hover) x the given runs; signs coloured."""
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    shown = {n: metrics[n] for n in names if n in metrics}
    rows, previous = [], None
    for group, key in metric_rows(shown):
        if group != previous:
            rows.append(f'<tr class="group"><td colspan="{len(names) + 1}">{esc(group)}</td></tr>')
            previous = group
        tds = []
        for n in names:
            value = shown[n].get(key) if n in shown else None
            text = format_value(key, value) if n in shown and key in shown[n] else MISSING
            signed = key not in ("start", "end", "bars", "final_equity") and not key.startswith(
                "n_"
            )
            cls = sign_class(value) if signed else ""
            tds.append(f'<td class="{cls}">{esc(text)}</td>' if cls else f"<td>{esc(text)}</td>")
        rows.append(f"<tr><td>{defined(key, title(key))}</td>{''.join(tds)}</tr>")
    return (
        f'<div class="wrap"><table><thead><tr><th>Metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def strategy_section(page: Page, r: RunResult, same_as: str | None = None) -> str:
    """One strategy: key metrics beside its cumulative return, months and drawdowns, the price
    chart, trades, every metric, notes. A run that filled exactly the orders of an earlier run
    (``same_as``) gets its description and a link there instead of the same charts again."""
    m = page.metrics.get(r.strategy, pd.Series(dtype=object))
    anchor = _anchor(page, r.strategy)
    entry = _entry(page, r.strategy)
    bench = page.bench if page.bench is not None and page.bench.strategy != r.strategy else None
    parts = [f'<section id="{esc(anchor)}"><h2>{esc(r.strategy)}</h2>']
    defaults = entry.get("defaults")
    parts.append(
        about_html(
            r,
            page.summaries.get(r.strategy, ""),
            defaults if isinstance(defaults, dict) else None,
            str(entry.get("base", "")),
        )
    )
    parts.append(rule_block(r))
    if same_as is not None:
        parts.append(
            f'<p>Traded exactly like <a href="#{esc(_anchor(page, same_as))}">{esc(same_as)}</a> '
            "(the same fills): the same metrics, charts and trades, shown there.</p></section>"
        )
        return "\n".join(parts)
    parts.append(overview_block(page, r, bench))
    parts.append(price_block(page, r, bench))
    parts.append(trades_block(r, m))
    parts.append(trade_events_block(r, page.extras))
    parts.append(montecarlo_block(r, page.extras, _fan_html(r, page.extras, anchor)))
    names = [r.strategy] + ([bench.strategy] if bench is not None else [])
    parts.append(
        f"<details><summary>Every metric of {esc(r.strategy)}"
        f"{' beside ' + esc(bench.strategy) if bench is not None else ''}</summary>"
        f"{metrics_block(names, page.metrics)}</details>"
    )
    notes = list(r.notes) + list(entry.get("metric_notes", []))
    if notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        parts.append(f"<h3>Notes</h3><ul>{items}</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def overview_block(page: Page, r: RunResult, bench: RunResult | None) -> str:
    """Key metrics beside the cumulative-return chart, then monthly returns and drawdowns."""
    m = page.metrics.get(r.strategy, pd.Series(dtype=object))
    v = page.versus.get(r.strategy, Versus())
    chart = ""
    if len(r.equity):
        fig = returns_figure(r, bench, page.prices, v.since)
        chart = interactive.chart_html(fig, f"ret-{_anchor(page, r.strategy)}", rescale=False)
    is_bench = page.bench is not None and page.bench.strategy == r.strategy
    return (
        f'<div class="keyrow"><div>{key_metrics_html(m, v, benchmark=is_bench)}</div>'
        f"<div>{chart}</div></div>"
        '<div class="cols"><div><h3>Monthly returns of the account</h3>'
        f"{monthly_table_html(monthly_returns(r.equity))}</div><div>"
        "<h3>Worst 5 drawdowns of the account</h3>"
        f"{drawdowns_table_html(worst_drawdowns(r.equity, 5))}</div></div>"
    )


def price_block(page: Page, r: RunResult, bench: RunResult | None) -> str:
    """The interactive price chart (candles, volume, levels, fills, account, drawdown)."""
    if page.prices is None or not len(r.equity):
        return ""
    events = page.extras.events if page.extras is not None else None
    fig = interactive.chart_figure(r, page.prices, bench, events)
    return (
        "<h3>Price, levels and fills</h3>"
        f"{interactive.chart_html(fig, f'chart-{_anchor(page, r.strategy)}')}"
        '<p class="sub">Drag to pan, wheel or box to zoom (the panels follow); hover a '
        "marker for the fill. Buttons under the chart change the window.</p>"
    )


def _fan_html(r: RunResult, extras: Extras | None, anchor: str) -> str:
    """The interactive Monte Carlo fan of ``r`` ("" without one)."""
    methods = (extras.monte_carlo or {}).get(r.strategy) if extras is not None else None
    if not methods or all(getattr(m, "fan", None) is None for m in methods.values()):
        return ""
    fig = interactive.fan_figure(r.equity, methods)
    return interactive.chart_html(fig, f"fan-{anchor}", rescale=False)


def all_section(page: Page) -> str:
    """Growth of $1 of every run, and every metric side by side."""
    parts = ['<section id="all"><h2>All strategies</h2>']
    if page.results:
        fig = interactive.comparison_figure(page.results, page.bench)
        parts.append(interactive.chart_html(fig, "chart-all", rescale=False))
    parts.append(metrics_block([r.strategy for r in page.results], page.metrics))
    parts.append("</section>")
    return "\n".join(parts)


def settings_block(page: Page) -> str:
    """Settings, fill rules and parameters in one folded block at the end."""
    inner = settings_section(page.results, page.doc).replace("<h2>Settings</h2>", "", 1)
    return (
        '<section id="settings"><h2>Settings, fill rules and parameters</h2>'
        "<details><summary>Show the data, costs, fill rules and every parameter</summary>"
        f"{inner}</details></section>"
    )


def render_page(page: Page) -> str:
    """The whole report page (deterministic for the same inputs)."""
    ticker = page.results[0].ticker if page.results else "no strategy"
    same_as = twins(page)
    body = "\n".join(
        [
            header(page),
            summary(page),
            *(strategy_section(page, r, same_as.get(r.strategy)) for r in page.results),
            all_section(page),
            events_section(page.results, page.extras),
            settings_block(page),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Backtest report: {esc(ticker)}</title>\n<style>{CSS}{CARD_CSS}</style>\n"
        f"<script>{interactive.plotly_js()}</script>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
