"""The robustness table for the terminal, and the report of a multi-ticker run (``--tickers``): the robustness table, then a section per
ticker (its window, headline metrics, growth-of-$1 chart and a link to its full report in
``<TICKER>/report.html``). One self-contained page, images inlined."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from engine.report.display import format_value, title
from engine.report.html_page import CSS
from engine.report.interactive import plotly_js

HEADLINE = ("total_return", "cagr", "sharpe", "max_drawdown", "n_trades", "win_rate", "exposure")


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _table(frame: pd.DataFrame, metric_of_row: Any) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for idx, row in frame.iterrows():
        metric = metric_of_row(idx)
        label = f"{title(idx[0])}: {idx[1]}" if isinstance(idx, tuple) else title(idx)
        cells = "".join(f"<td>{_esc(cell(metric, v))}</td>" for v in row)
        rows.append(f'<tr><td style="text-align:left">{_esc(label)}</td>{cells}</tr>')
    return (
        f'<div class="wrap"><table><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_tickers_html(runs: list, table: pd.DataFrame, charts: dict[str, str]) -> str:
    """The page: ``runs`` (:class:`engine.jobs.tickers.TickerRun`), the robustness ``table``
    (:func:`engine.jobs.tickers.robustness_table`) and each ticker's growth chart (the HTML of an
    interactive chart, :func:`engine.report.interactive.chart_html`)."""
    tickers = ", ".join(r.ticker for r in runs)
    parts = [
        f"<h1>Do the rules travel? {_esc(tickers)}</h1>",
        '<p class="sub">The same configurations on each ticker (the swing plan with relative '
        "levels off CRWV); each metric by ticker and the median over the tickers.</p>",
        "<h2>Robustness</h2>",
        _table(table, lambda idx: idx[0]),
    ]
    for r in runs:
        b = r.batch
        idx = b.prices.index
        frame = pd.DataFrame(
            {label: [m.get(k) for k in HEADLINE] for label, m in b.metrics.items()}, index=HEADLINE
        )
        parts += [
            f'<h2 id="{_esc(r.ticker)}">{_esc(r.ticker)}</h2>',
            f'<p class="sub">{idx[0].date()} to {idx[-1].date()} ({len(idx)} sessions) &middot; '
            f'<a href="{_esc(r.ticker)}/report.html">full report</a></p>',
            _table(frame, lambda k: k),
        ]
        if r.ticker in charts:
            parts.append(f"<h3>Growth of $1</h3>{charts[r.ticker]}")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Do the rules travel? {_esc(tickers)}</title>\n<style>{CSS}</style>\n"
        + (f"<script>{plotly_js()}</script>\n" if charts else "")
        + "</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def cell(metric: str, value: Any) -> str:
    """A table cell: :func:`engine.report.display.format_value`, except a median of counts that
    falls between two integers, shown as it is."""
    if metric in ("n_trades", "n_open") and pd.notna(value) and float(value) != int(value):
        return f"{float(value):.1f}"
    return format_value(metric, value)


def format_table(table: pd.DataFrame) -> str:
    """The robustness table for the terminal: one block per metric, percents where they belong."""
    blocks = []
    for metric, block in table.groupby(level="metric", sort=False):
        shown = block.droplevel("metric").apply(lambda col, m=metric: col.map(lambda v: cell(m, v)))
        blocks.append(f"{metric}\n{shown.to_string()}")
    return "\n\n".join(blocks)


def window_note(runs: list) -> str:
    """One line per ticker: its window and bars (the tickers' histories differ)."""
    parts = []
    for r in runs:
        idx = r.batch.prices.index
        parts.append(f"{r.ticker} {idx[0].date()} to {idx[-1].date()} ({len(idx)} bars)")
    return "; ".join(parts)
