"""Building blocks of the HTML pages: the style sheet, escaping, tables, the settings section.

The report page itself is assembled by :mod:`engine.report.results_page` (results first); the
ticker robustness page (:mod:`engine.report.tickers`) shares the style sheet. Every piece of
text from the run (names, parameters, notes, reasons) goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from engine.report.compare_html import about_html
from engine.result import Costs, RunResult

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0 auto; max-width: 1280px; padding: 1.2em 2em 3em; color: #1d2329;
       line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d6dde4; padding-bottom: 0.2em;
     margin-top: 2.2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
h4 { font-size: 0.95em; margin: 1em 0 0.3em; }
.sub { color: #5b6670; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.4em 0 1em; }
th, td { padding: 0.28em 0.7em; border-bottom: 1px solid #e3e8ec; text-align: right;
         vertical-align: top; }
th { background: #f1f4f7; }
td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; }
tr.group td { background: #e8eef4; font-weight: 600; text-align: left; }
tbody tr:hover { background: #fafbfc; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
        font-size: 0.92em; word-break: break-all; }
.neg { color: #b02a2a; }
.pos { color: #1e7a34; }
.rules { background: #f7f9fb; border-left: 4px solid #8aa4bd; padding: 0.6em 1em;
         max-width: 60em; }
pre.rule { background: #f7f9fb; border-left: 4px solid #8aa4bd; padding: 0.6em 1em;
           font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
           font-size: 0.85em; white-space: pre-wrap; max-width: 80em; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e8ec; }
figcaption { color: #5b6670; font-size: 0.9em; }
details { margin: 0.4em 0 1em; }
summary { cursor: pointer; color: #2b5d8a; }
.note { color: #6b4e00; }
.wrap { overflow-x: auto; }
"""


def esc(value: Any) -> str:
    """Text escaped for HTML (quotes included)."""
    return html.escape(str(value), quote=True)


def cell(value: Any, kind: str) -> str:
    """A table cell value as text (escaped), empty for a missing value."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if kind == "date":
        return esc(pd.Timestamp(value).date())
    if kind == "text":
        return esc(value)
    v = float(value)
    text = {
        "price": f"{v:,.2f}",
        "shares": f"{v:,.4f}".rstrip("0").rstrip("."),
        "dollars": f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}",
        "fee": f"${v:,.2f}",  # a cost: shown as dollars, never coloured as a gain
        "percent": f"{v:.2%}",
        "int": f"{v:,.0f}",
        "ratio": f"{v:.2f}",
    }.get(kind, f"{v:g}")
    return esc(text)


def _signed_td(text: str, value: Any, kind: str) -> str:
    """``<td>`` coloured green / red by sign for P&L and returns."""
    cls = ""
    if kind in ("dollars", "percent") and isinstance(value, int | float) and value == value:
        cls = ' class="neg"' if value < 0 else ' class="pos"' if value > 0 else ""
    return f"<td{cls}>{text}</td>"


def frame_table(frame: pd.DataFrame, view: list[tuple[str, str, str]], signed: bool) -> str:
    """An HTML table of ``frame``'s columns named in ``view``, numbered rows."""
    head = "".join(f"<th>{esc(h)}</th>" for _c, h, _k in view)
    rows = []
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        tds = []
        for col, _h, kind in view:
            value = rec.get(col)
            text = cell(value, kind)
            tds.append(_signed_td(text, value, kind) if signed else f"<td>{text}</td>")
        rows.append(f"<tr><td>{i}</td>{''.join(tds)}</tr>")
    return (
        f'<div class="wrap"><table><thead><tr><th>#</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def kv_table(pairs: list[tuple[str, str]], mono: frozenset[str] = frozenset()) -> str:
    """Two-column key / value table; keys and values are escaped here."""
    mono_td = '<td class="mono">'
    rows = "".join(
        f"<tr><th>{esc(k)}</th>{mono_td if k in mono else '<td>'}{esc(v)}</td></tr>"
        for k, v in pairs
    )
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def costs_text(settings: dict[str, Any]) -> str:
    """The costs sentence: the settings' own text, else rebuilt from its numbers."""
    costs = settings.get("costs")
    if isinstance(costs, str):
        return costs
    raw: dict[str, Any] = costs if isinstance(costs, dict) else settings
    fields = {k: raw[k] for k in Costs.__dataclass_fields__ if k in raw}
    return Costs(**fields).describe() if fields else "not recorded"


def settings_section(results: list[RunResult], doc: dict[str, Any]) -> str:
    """Ticker, data range and fingerprint, cash, costs, fill rules, each strategy's parameters."""
    first = results[0] if results else None
    fp = first.fingerprint if first else {}
    st = first.settings if first else {}
    pairs = [
        ("Ticker", first.ticker if first else ""),
        (
            "Data",
            f"{fp.get('first', '?')} to {fp.get('last', '?')}, {fp.get('rows', '?')} sessions",
        ),
        ("Data sha256", fp.get("sha256", "not recorded")),
        ("Starting cash", f"${float(st['cash']):,.2f}" if "cash" in st else "not recorded"),
        ("Costs", costs_text(st)),
        ("Fractional shares", "on" if st.get("fractional") else "off"),
    ]
    shown = {"cash", "costs", "fractional", *Costs.__dataclass_fields__}
    pairs += [(k, _value_text(v)) for k, v in sorted(st.items()) if k not in shown]
    parts = ["<h2>Settings</h2>", kv_table(pairs, mono=frozenset({"Data sha256"}))]
    differ = [r.strategy for r in results if r.settings != st or r.fingerprint != fp]
    if differ:
        parts.append(f'<p class="note">Settings or data differ for: {esc(", ".join(differ))}.</p>')
    rules = doc.get("fill_rules", "")
    parts.append(f'<h3>Fill rules</h3><p class="rules">{esc(rules)}</p>')
    parts.append("<h3>Parameters</h3>")
    entries = doc.get("strategies", {})
    for r in results:
        entry = entries.get(r.strategy, {}) if isinstance(entries, dict) else {}
        defaults = entry.get("defaults") if isinstance(entry, dict) else None
        about = about_html(
            r,
            str(entry.get("description", "")),
            defaults if isinstance(defaults, dict) else None,
            str(entry.get("base", "")),
        )
        params = [(k, _value_text(v)) for k, v in r.params.items()]
        body = (
            f"<details><summary>all {len(params)} parameters</summary>{kv_table(params)}</details>"
            if params
            else "<p>No parameters.</p>"
        )
        parts.append(f"<h4>{esc(r.strategy)}</h4>{about}{rule_block(r)}{body}")
    return "\n".join(parts)


def rule_block(r: RunResult) -> str:
    """A rule's text as written in its file (empty for a strategy class)."""
    if not r.rule:
        return ""
    return f'<p class="sub">Rule, as written in its file:</p><pre class="rule">{esc(r.rule)}</pre>'
