"""``sweep.html``: one self-contained page per sweep, results first (no script, no link).

Best combination and the command that reruns it; what to trust (the Deflated Sharpe Ratio and
the PBO, each explained in a sentence with its inputs; the trial count; the warnings); the
heatmap and the distribution; the ranking (ties shown once); the settings. Charts are the PNGs
the sweep wrote, inlined as data URIs; the look is the run report's (:data:`CSS` of
:mod:`engine.report.html_page`).
"""

from __future__ import annotations

import base64
import math
from typing import Any

from engine.report.display import format_value, title
from engine.report.html_page import CSS, esc, kv_table
from engine.sweep.selection import DSR_SIGNIFICANT, SweepSummary, metric_order

SHOWN = ["total_return", "sharpe", "max_drawdown", "n_trades", "win_rate", "excess_return"]


def image_tag(name: str, png: bytes, caption: str) -> str:
    """A figure with the PNG inlined as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)} ({esc(name)})</figcaption></figure>"
    )


def _fmt(metric: str, value: Any) -> str:
    return format_value(metric, value)


def _param_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def trust_section(summary: SweepSummary) -> str:
    """DSR, PBO and the trial count, each a sentence with its inputs; then the warnings."""
    o = summary.overfit
    items = []
    d = o.dsr
    if d is not None and not math.isnan(d.dsr):
        verdict = (
            "clears the 0.95 bar"
            if d.dsr >= DSR_SIGNIFICANT
            else "is below 0.95: the winner is not distinguishable from the luckiest of that "
            "many worthless strategies"
        )
        items.append(
            f"<li><b>Deflated Sharpe Ratio {d.dsr:.2f}</b>: the probability that the chosen "
            f"combination's true Sharpe ratio is above what the best of N={d.n_trials:,} "
            f"worthless trials would show by luck (its Sharpe per bar {d.sr:.4f} against "
            f"{d.sr0:.4f} expected; {d.n_obs} daily returns, skew {d.skew:.2f}, kurtosis "
            f"{d.kurtosis:.2f}). It {verdict}.</li>"
        )
    p = o.pbo
    if p is not None:
        sample = (
            f", ranking a seeded sample of {o.pbo_trials:,} of the combinations"
            if o.pbo_sampled
            else ""
        )
        items.append(
            f"<li><b>Probability of Backtest Overfitting {p.pbo:.0%}</b>: the history is cut "
            f"into {p.n_splits} blocks and, for each of the {p.n_combinations:,} ways to pick "
            f"half of them as in-sample, the in-sample best (by Sharpe) is ranked on the other "
            f"half; this is the share of splits where it lands at or below the median{sample}. "
            f"Out of sample it lost money in {p.prob_oos_loss:.0%} of splits. Above 50% the "
            "selection is likely overfit.</li>"
        )
    t = summary.trials
    if t is not None:
        unused = (
            f" Parameters that change nothing: {esc(', '.join(t.unused))}."
            if t.unused
            else " Every varying parameter changes the result somewhere."
        )
        items.append(
            f"<li><b>Trials</b>: {t.combinations:,} combinations gave {t.distinct:,} distinct "
            "results (identical daily returns and trade counts count once); the DSR's N is the "
            f"distinct count.{unused}</li>"
        )
    for note in o.notes:
        items.append(f"<li>{esc(note)}</li>")
    warn = "".join(f'<li class="note">{esc(w)}</li>' for w in summary.warnings)
    return (
        "<h2>What to trust</h2><ul>"
        + "".join(items)
        + "</ul>"
        + (f"<h3>Warnings</h3><ul>{warn}</ul>" if warn else "")
    )


def ranking_table(summary: SweepSummary, top: int) -> str:
    """The top rows (ties once, with how many combinations share each)."""
    rows = summary.ranked.head(top)
    params = [c for c in summary.grid_keys if c in rows]
    metrics = [summary.metric] + [m for m in SHOWN if m != summary.metric]
    head = ["rank", *params, *(title(m) for m in metrics)]
    if "same" in rows:
        head.append("combinations with this result")
    body = []
    for _, r in rows.iterrows():
        tds = [str(int(r["rank"]))]
        tds += [esc(_param_text(r[c])) for c in params]
        tds += [esc(_fmt(m, r[m])) for m in metrics]
        if "same" in rows:
            tds.append(f"{int(r['same']):,}")
        body.append("<tr>" + "".join(f"<td>{t}</td>" for t in tds) + "</tr>")
    return (
        '<div class="wrap"><table><thead><tr>'
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def sweep_html(
    summary: SweepSummary,
    header: dict[str, Any],
    images: dict[str, tuple[bytes, str]],
    rerun: str | None = None,
    top: int = 10,
) -> str:
    """The page. ``images``: file name -> (PNG bytes, caption), in the order shown."""
    chosen = summary.chosen
    metric = summary.metric
    better = "lower" if metric_order(metric) else "higher"
    t = summary.trials
    distinct = f" ({t.distinct:,} distinct results)" if t is not None else ""
    name = esc(header.get("strategy", ""))
    window = f"{esc(header.get('ticker', ''))} {esc(header.get('start', ''))} to {esc(header.get('end', ''))}"
    best_pairs = [(c, _param_text(chosen[c])) for c in summary.grid_keys if c in chosen]
    shown = list(dict.fromkeys([metric, *SHOWN]))
    best_pairs += [(title(m), _fmt(m, chosen[m])) for m in shown if m in chosen]
    if "same" in chosen:
        best_pairs.append(("combinations with this result", f"{int(chosen['same']):,}"))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sweep: {name}</title><style>{CSS}</style></head><body>",
        f"<h1>Sweep: {name} on {window}</h1>",
        f"<p class='sub'>{summary.combinations:,} combinations{distinct}, ranked by "
        f"{esc(metric)} ({better} is better); engine {esc(header.get('engine', ''))}</p>",
        "<h2>Best</h2>",
        kv_table(best_pairs),
    ]
    if rerun:
        parts.append(
            f"<p>Rerun it (trades, fills and the full report):</p><pre class='rule'>{esc(rerun)}</pre>"
        )
    parts.append(trust_section(summary))
    charts = sorted(
        ((n, v) for n, v in images.items() if not n.startswith("overfit")),
        key=lambda item: not item[0].startswith("heatmap_"),
    )
    if charts:
        parts.append("<h2>Charts</h2>")
        parts.extend(image_tag(n, png, cap) for n, (png, cap) in charts)
    parts.append(f"<h2>Ranking (top {min(top, len(summary.ranked))})</h2>")
    parts.append(ranking_table(summary, top))
    over = [(n, v) for n, v in images.items() if n.startswith("overfit")]
    if over:
        parts.append("<h2>Overfitting charts</h2>")
        parts.extend(image_tag(n, png, cap) for n, (png, cap) in over)
    settings = [
        (k, ", ".join(map(str, v)) if isinstance(v, list) else str(v))
        for k, v in header.items()
        if k not in ("rule",) and v not in (None, [], "")
    ]
    parts.append("<h2>Settings</h2>")
    parts.append(kv_table(settings, mono=frozenset({"store", "code_version"})))
    parts.append("</body></html>")
    return "\n".join(parts)
