"""The Monte Carlo of a run as text and HTML: the bands per method (see
:mod:`engine.analysis.montecarlo` for every definition). No plotting here: the fan charts are
:mod:`engine.report.montecarlo_chart` (PNG) and :func:`engine.report.interactive.fan_figure`.
"""

from __future__ import annotations

import html
from typing import Any

#: Display names of the methods, in display order.
METHODS = {
    "trades": "trade bootstrap",
    "block": "block bootstrap",
    "execution": "execution noise",
}
_LEFT = ' style="text-align:left"'


def ordered(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(method, summary)`` pairs in :data:`METHODS` order, unknown methods last."""
    known = [(m, summary[m]) for m in METHODS if m in summary]
    return known + [(m, s) for m, s in summary.items() if m not in METHODS]


def _pct(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:+.0%}"


def _num(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:.2f}"


def format_bands(label: str, summary: dict[str, Any]) -> str:
    """One strategy's Monte Carlo for the terminal: a row per method, 5/50/95 % of each stat."""
    lines = [f"Monte Carlo: {label}"]
    lines.append(
        f"  {'method':<16}{'paths':>7}  {'total return 5/50/95%':<26}{'max drawdown 5/50/95%':<26}"
        f"{'Sharpe 5/50/95%':<20}{'P(loss)':>8}{'P(DD)':>8}"
    )
    for method, s in ordered(summary):
        b = s["bands"]
        tr = "/".join(_pct(v) for v in b["total_return"].values())
        dd = "/".join(_pct(v) for v in b["max_drawdown"].values())
        sh = "/".join(_num(v) for v in b["sharpe"].values())
        lines.append(
            f"  {METHODS.get(method, method):<16}{s['n_paths']:>7}  {tr:<26}{dd:<26}{sh:<20}"
            f"{s['prob_loss']:>8.0%}{s['prob_drawdown']:>8.0%}"
        )
    first = next(iter(summary.values()))
    obs = first["observed"]
    lines.append(
        f"  the run itself: total return {_pct(obs['total_return'])}, max drawdown "
        f"{_pct(obs['max_drawdown'])}, Sharpe {_num(obs['sharpe'])}; P(DD) = share of paths "
        f"deeper than -{first['dd_threshold']:.0%}"
    )
    for method, s in ordered(summary):
        for note in s["notes"]:
            lines.append(f"  note ({METHODS.get(method, method)}): {note}")
    return "\n".join(lines)


def bands_table_html(summary: dict[str, Any]) -> str:
    """One strategy's bands as an HTML table, the run itself and the seed under it."""
    head = (
        "<tr><th>method</th><th>paths</th><th>total return 5/50/95%</th>"
        "<th>max drawdown 5/50/95%</th><th>Sharpe 5/50/95%</th><th>P(loss)</th>"
        "<th>P(DD)</th><th>rank of the run (total return)</th></tr>"
    )
    rows = []
    for method, s in ordered(summary):
        b = s["bands"]
        tr = " / ".join(_pct(v) for v in b["total_return"].values())
        dd = " / ".join(_pct(v) for v in b["max_drawdown"].values())
        sh = " / ".join(_num(v) for v in b["sharpe"].values())
        rank = s["observed_rank"].get("total_return")
        rank_text = "n/a" if rank is None or rank != rank else f"{rank:.0%}"
        rows.append(
            f"<tr><td{_LEFT}>{html.escape(METHODS.get(method, method))}</td><td>{s['n_paths']:,}</td>"
            f"<td>{tr}</td><td>{dd}</td><td>{sh}</td><td>{s['prob_loss']:.0%}</td>"
            f"<td>{s['prob_drawdown']:.0%} (&lt; -{s['dd_threshold']:.0%})</td><td>{rank_text}</td></tr>"
        )
    first = next(iter(summary.values()))
    obs = first["observed"]
    cap = (
        f"The run itself: total return {_pct(obs['total_return'])}, max drawdown "
        f"{_pct(obs['max_drawdown'])}, Sharpe {_num(obs['sharpe'])}; seed {first['seed']}."
    )
    notes = [f"{METHODS.get(m, m)}: {n}" for m, s in ordered(summary) for n in s.get("notes", [])]
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        f'<div class="wrap"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'
        f'<p class="note">{html.escape(cap)}</p>' + (f"<ul>{items}</ul>" if items else "")
    )


INTRO_HTML = (
    '<p class="sub">5 / 50 / 95 % of each statistic over the resampled paths. P(loss): share of '
    "paths losing money; P(DD): share with a drawdown deeper than the threshold; rank: share of "
    "paths at or below the run itself. Trade bootstrap: the closed trades drawn again (order and "
    "count); block bootstrap: the daily returns in blocks of random length; execution noise: the "
    "orders moved by up to a session and the slippage drawn, replayed through the engine.</p>"
)
