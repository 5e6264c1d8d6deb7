"""The results-first parts of the HTML report: summary cards, period tables, trade list.

Every function takes plain data (results, metrics Series, the frames of
:mod:`engine.analysis.periods`) and returns an HTML fragment; text from the run is escaped here.
Negative numbers carry the ``neg`` class and positive ones ``pos`` (red / green in the
report's style sheet). Each metric's definition, read from the reference table in
:mod:`engine.analysis.metrics`' docstring (the one place it is written), is shown on hover.
"""

from __future__ import annotations

import html
import math
import re
from functools import cache
from typing import Any

import pandas as pd

from engine.analysis import metrics as metrics_module
from engine.analysis.periods import MONTHS
from engine.report.display import format_value, title
from engine.report.narrative import Versus, pct
from engine.result import RunResult

CARD_CSS = """
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr));
         gap: 0.7em; margin: 0.6em 0 1em; }
.card { border: 1px solid #d6dde4; border-radius: 6px; padding: 0.55em 0.8em 0.6em;
        background: #fbfcfd; font-size: 0.9em; }
.card.best { border: 2px solid #1e7a34; background: #f5fbf6; }
.card .name { font-weight: 600; font-size: 1.05em; }
.card .name a { color: inherit; text-decoration: none; }
.card .badge { font-size: 0.75em; background: #1e7a34; color: white; border-radius: 3px;
               padding: 0.05em 0.4em; margin-left: 0.4em; vertical-align: middle; }
.card .badge.bench { background: #6b7785; }
.card .about { color: #5b6670; font-size: 0.85em; line-height: 1.3; margin: 0.1em 0 0.2em; }
.card .big .unit { font-size: 0.42em; font-weight: 400; color: #5b6670; }
.card .big { font-size: 1.9em; font-weight: 600; line-height: 1.2; }
.card .vs { color: #3d4852; }
.card .since { margin-top: 0.25em; padding: 0.25em 0.4em; background: #fff6da;
               border-radius: 4px; }
.card dl { display: grid; grid-template-columns: auto auto; gap: 0.05em 0.8em;
           margin: 0.4em 0 0; }
.card dt { color: #5b6670; } .card dd { margin: 0; text-align: right; }
abbr[title], .def { text-decoration: underline dotted #8a96a3; cursor: help; }
table.months td, table.months th { padding: 0.2em 0.45em; font-size: 0.95em; }
table.months td.neg { background: rgba(214, 39, 40, var(--a)); color: #7a1010; }
table.months td.pos { background: rgba(30, 122, 52, var(--a)); color: #0f4d20; }
nav.toc { background: #f1f4f7; border-radius: 6px; padding: 0.35em 0.8em; font-size: 0.9em; }
nav.toc a { margin-right: 0.9em; white-space: nowrap; }
.story { max-width: 70em; }
.cols { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
.keyrow { display: grid; grid-template-columns: minmax(260px, 330px) 1fr; gap: 1.2em;
          align-items: start; margin: 0.6em 0 0.4em; }
.keyrow > div { min-width: 0; }
table.key { width: 100%; margin: 0; font-size: 0.86em; }
table.key td:last-child { font-weight: 600; }
table.key tr.head td { background: #f1f4f7; font-weight: 600; text-align: left; }
.groups { background: #fff6da; border-left: 4px solid #d08c00; padding: 0.45em 0.9em;
          margin: 0.4em 0 0.8em; }
.groups p { margin: 0.2em 0; }
@media (max-width: 800px) { .keyrow { grid-template-columns: 1fr; } }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def sign_class(value: Any) -> str:
    """``neg`` / ``pos`` / ``""`` for a number by its sign (non-numbers: ``""``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(v) or v == 0:
        return ""
    return "neg" if v < 0 else "pos"


def signed_span(text: str, value: Any) -> str:
    cls = sign_class(value)
    return f'<span class="{cls}">{esc(text)}</span>' if cls else esc(text)


@cache
def metric_definitions() -> dict[str, str]:
    """Metric key -> its definition, from the reference table in engine.analysis.metrics' docstring.

    Rows naming several keys (``best_day, worst_day``) give each the same text; RST markup
    (double back-quotes, asterisks) is dropped.
    """
    doc = metrics_module.__doc__ or ""
    section = doc.split("Keys (in this order", 1)[-1].splitlines()
    rules = [i for i, line in enumerate(section) if line.startswith("=====")]
    if len(rules) < 2:
        return {}
    width = len(section[rules[0]].split(" ")[0]) + 2
    defs: dict[str, str] = {}
    keys: list[str] = []
    for line in section[rules[0] + 1 : rules[1]]:
        if not line.strip() or line.startswith("**"):
            continue
        if not line.startswith(" "):
            keys = [k.strip() for k in line[:width].split(",") if k.strip()]
            for k in keys:
                defs[k] = line[width:].strip()
        else:
            for k in keys:
                defs[k] += " " + line.strip()
    clean = {k: re.sub(r"``|\*", "", v) for k, v in defs.items()}
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in clean.items()}


def defined(key: str, label: str) -> str:
    """``label`` with the metric's definition as its hover text (escaped)."""
    text = metric_definitions().get(key)
    if not text:
        return esc(label)
    return f'<span class="def" title="{esc(text)}">{esc(label)}</span>'


# ---------------------------------------------------------------------------------------- cards


def trade_count_text(metrics: pd.Series) -> str:
    """``3 closed, 1 open`` from the metrics (the one count used everywhere)."""
    closed = metrics.get("n_trades", 0)
    opened = metrics.get("n_open", 0)
    closed = 0 if closed is None or closed != closed else int(closed)
    opened = 0 if opened is None or opened != opened else int(opened)
    return f"{closed} closed, {opened} open"


def _value(metrics: pd.Series, key: str) -> float:
    v = metrics.get(key)
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def card(
    result: RunResult,
    metrics: pd.Series,
    versus: Versus,
    *,
    anchor: str,
    best: bool,
    benchmark: bool,
    about: str = "",
) -> str:
    """One strategy's summary card: its return, buy & hold beside it, risk and trade counts.

    ``about``: one line under the name (a variant's description and what it changes).
    """
    total = _value(metrics, "total_return")
    badge = ""
    if benchmark:
        badge = '<span class="badge bench">benchmark</span>'
    elif best:
        badge = '<span class="badge">best return</span>'
    rows = [
        f'<div class="name"><a href="#{esc(anchor)}">{esc(result.strategy)}</a>{badge}</div>',
    ]
    if about:
        rows.append(f'<div class="about">{esc(about)}</div>')
    rows.append(
        f'<div class="big">{signed_span(pct(total), total)}'
        '<span class="unit"> account, first to last session</span></div>'
    )
    if benchmark:
        if not about:
            rows.append('<div class="vs">buy at the first allowed fill, hold to the end</div>')
    else:
        rows.append(
            f'<div class="vs">buy &amp; hold, same window: '
            f"{signed_span(pct(versus.bh_return), versus.bh_return)}</div>"
        )
    if versus.since:
        rows.append(
            f'<div class="since">from the plan\'s start, {esc(versus.since)}: plan '
            f"<b>{signed_span(pct(versus.since_return), versus.since_return)}</b>, buy &amp; "
            f"hold {signed_span(pct(versus.since_bh_return), versus.since_bh_return)} "
            f"(max drawdown {signed_span(pct(versus.since_bh_max_drawdown), versus.since_bh_max_drawdown)})</div>"
        )
    dd = _value(metrics, "max_drawdown")
    win = _value(metrics, "win_rate")
    sharpe = _value(metrics, "sharpe")
    facts = [
        (defined("max_drawdown", "Max drawdown"), signed_span(pct(dd), dd)),
        (
            '<span class="def" title="Closed round trips, and positions still open at the '
            'last bar (valued at the last close)">Trades</span>',
            esc(trade_count_text(metrics)),
        ),
        (defined("win_rate", "Win rate"), esc(pct(win, signed=False))),
        (defined("sharpe", "Sharpe"), esc("n/a" if math.isnan(sharpe) else f"{sharpe:.2f}")),
    ]
    rows.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
    cls = "card best" if best and not benchmark else "card"
    return f'<div class="{cls}" data-strategy="{esc(result.strategy)}">{"".join(rows)}</div>'


def best_strategy(metrics: dict[str, pd.Series], exclude: str | None) -> str | None:
    """The name with the highest total return (the benchmark excluded), or None when fewer
    than two strategies have one: a single strategy beside the benchmark (``crwv-bt run
    --strategy swing``) has nothing to be best of."""
    scores = {
        k: _value(m, "total_return")
        for k, m in metrics.items()
        if k != exclude and not math.isnan(_value(m, "total_return"))
    }
    return max(scores, key=lambda k: scores[k]) if len(scores) > 1 else None


# ---------------------------------------------------------------------------------- tables


def monthly_table_html(table: pd.DataFrame) -> str:
    """Year x month returns, each cell tinted by its sign and size (stronger = larger)."""
    if table.empty:
        return "<p>Too short for monthly returns.</p>"
    scale = max(float(table[MONTHS].abs().max().max()), 1e-9)
    head = "".join(f"<th>{m}</th>" for m in [*MONTHS, "Year"])
    rows = []
    for year, row in table.iterrows():
        cells = []
        for col in [*MONTHS, "Year"]:
            v = row[col]
            if v != v:  # NaN: no session that month
                cells.append("<td></td>")
                continue
            alpha = 0.12 + 0.5 * min(abs(float(v)) / scale, 1.0)
            cls = sign_class(v)
            style = f' style="--a:{alpha:.2f}"' if cls else ""
            bold = "<b>" if col == "Year" else ""
            cells.append(
                f'<td class="{cls}"{style}>{bold}{esc(pct(v))}{"</b>" if bold else ""}</td>'
            )
        rows.append(f"<tr><th>{esc(year)}</th>{''.join(cells)}</tr>")
    return (
        f'<div class="wrap"><table class="months"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def drawdowns_table_html(frame: pd.DataFrame) -> str:
    """The worst drawdown episodes: start, trough, recovery, depth, length."""
    if frame.empty:
        return "<p>The account never fell below a previous high.</p>"
    head = (
        "<th>#</th><th>Start (last high)</th><th>Trough</th><th>Recovered</th><th>Depth</th>"
        "<th>Length</th>"
    )
    rows = []
    for i, r in enumerate(frame.itertuples(index=False), start=1):
        recovery = f"{r.recovery:%Y-%m-%d}" if r.recovered else "not yet"
        length = f"{r.days} days ({r.sessions} sessions)" + ("" if r.recovered else " so far")
        rows.append(
            f"<tr><td>{i}</td><td>{r.start:%Y-%m-%d}</td><td>{r.trough:%Y-%m-%d}</td>"
            f'<td>{esc(recovery)}</td><td class="neg">{esc(pct(r.depth))}</td>'
            f"<td>{esc(length)}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def cumulative_pnl(trades: pd.DataFrame) -> pd.Series:
    """Running sum of the trades' P&L in table order (the open trade, last, marked to market)."""
    return trades["pnl"].astype(float).cumsum()


#: the key metrics beside a strategy's cumulative-return chart (quantstats' tearsheet order)
KEY_METRICS = [
    "total_return",
    "cagr",
    "max_drawdown",
    "sharpe",
    "sortino",
    "volatility",
    "exposure",
    "n_trades",
    "n_open",
    "win_rate",
    "profit_factor",
    "commission_paid",
]


def key_metrics_html(metrics: pd.Series, versus: Versus, *, benchmark: bool) -> str:
    """The key-metrics table of one strategy: the account, buy & hold beside it, the trades.

    Each title shows its definition on hover; a dated plan adds both figures measured from its
    start date, labelled as such.
    """
    rows: list[str] = []

    def row(label: str, text: str, value: Any = None) -> None:
        cls = sign_class(value) if value is not None else ""
        td = f'<td class="{cls}">{esc(text)}</td>' if cls else f"<td>{esc(text)}</td>"
        rows.append(f"<tr><td>{label}</td>{td}</tr>")

    rows.append('<tr class="head"><td colspan="2">Account, first to last session</td></tr>')
    for key in KEY_METRICS:
        if key not in metrics.index:
            continue
        value = metrics.get(key)
        signed = key not in ("n_trades", "n_open", "exposure", "volatility", "win_rate")
        signed = signed and key not in ("profit_factor", "commission_paid")
        row(defined(key, title(key)), format_value(key, value), value if signed else None)
        if key == "total_return" and not benchmark:
            row(
                defined("buy_hold_return", "Buy & hold, same window"),
                pct(versus.bh_return),
                versus.bh_return,
            )
    if versus.since:
        rows.append(
            f'<tr class="head"><td colspan="2">From the plan\'s start, {esc(versus.since)}</td></tr>'
        )
        row(
            '<span class="def" title="The account from the close before the plan\'s first '
            'session to the last close">Plan (account)</span>',
            pct(versus.since_return),
            versus.since_return,
        )
        row(
            '<span class="def" title="The stock bought at the open of the plan\'s first '
            'session and held to the last close, before costs">Buy &amp; hold from that open</span>',
            pct(versus.since_bh_return),
            versus.since_bh_return,
        )
        row(
            "Buy &amp; hold max drawdown from then",
            pct(versus.since_bh_max_drawdown),
            versus.since_bh_max_drawdown,
        )
    return f'<table class="key"><tbody>{"".join(rows)}</tbody></table>'
