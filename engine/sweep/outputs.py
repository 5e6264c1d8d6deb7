"""What a sweep or a walk-forward prints and writes: tables, JSON, CSV/Parquet and charts.

* :func:`format_top`, :func:`format_overfit`, :func:`format_walkforward` - the terminal output;
* :func:`write_sweep_files` - ``sweep.csv``, ``sweep.parquet``, ``summary.json``,
  ``overfit.json`` and the charts; :func:`write_walkforward_files` - ``walkforward_folds.csv``,
  ``walkforward_equity.csv``, ``walkforward.json`` and the chart. Each file is written
  atomically; JSON values go through :func:`engine.files.plain_json`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from engine.analysis.metrics import METRIC_KEYS
from engine.files import atomic_write_text, plain_json, write_json
from engine.report.display import format_value
from engine.sweep.export import export_frame, export_frames
from engine.sweep.report_html import sweep_html
from engine.sweep.selection import (
    Overfit,
    SweepSummary,
    heatmap_table,
    metric_order,
    view_heatmap,
)
from engine.sweep.walkforward import WalkForward

#: Metrics shown beside the ranking metric in the terminal's top rows.
SHOWN = ["total_return", "sharpe", "max_drawdown", "n_trades", "win_rate", "excess_return"]

# ------------------------------------------------------------------------------------ text


def format_top(summary: SweepSummary, top: int = 10) -> str:
    """The top ``top`` rows: rank, the varying parameters, the metric and a few others."""
    cols = [c for c in summary.grid_keys if c in summary.ranked]
    metrics = [summary.metric] + [m for m in SHOWN if m != summary.metric]
    rows = summary.ranked.head(top)
    table = pd.DataFrame({"rank": rows["rank"].astype(int)})
    for c in cols:
        table[c] = rows[c].map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
    for m in metrics:
        table[m] = [format_value(m, v) for v in rows[m]]
    if "same" in rows and int(rows["same"].max()) > 1:
        table["same"] = rows["same"].astype(int).to_numpy()
    text = table.to_string(index=False)
    return f"top {len(rows)} of {summary.combinations} by {summary.metric} ({'lower' if metric_order(summary.metric) else 'higher'} is better):\n{text}"


def format_overfit(overfit: Overfit) -> str:
    """The overfitting statistics as a few lines of text."""
    lines = ["overfitting statistics:"]
    d = overfit.dsr
    distinct = overfit.combinations is not None
    if d is not None and not math.isnan(d.dsr):
        of = f" ({overfit.combinations:,} combinations)" if distinct else ""
        lines.append(
            f"  Deflated Sharpe Ratio of the chosen combination: {d.dsr:.3f} "
            f"(Sharpe per bar {d.sr:.4f} vs {d.sr0:.4f} expected from the best of N={d.n_trials:,} "
            f"worthless trials{of}; skew {d.skew:.2f}, kurtosis {d.kurtosis:.2f}, {d.n_obs} daily returns)"
        )
    p = overfit.pbo
    if p is not None:
        lines.append(
            f"  Probability of Backtest Overfitting (CSCV, S={p.n_splits} blocks, {p.n_combinations:,} splits, "
            f"selection by Sharpe{_sample_text(overfit)}): {p.pbo:.1%}; out-of-sample loss in {p.prob_oos_loss:.0%} of splits; "
            f"degradation slope {p.degradation.slope:.2f}"
        )
    lines.extend(f"  note: {n}" for n in overfit.notes)
    if distinct:
        lines.append(
            "  (N counts distinct results: combinations with identical daily returns and trades "
            "are one trial; correlated ones still make the DSR conservative)"
        )
    else:
        lines.append(
            "  (N counts every combination as a trial; correlated ones make the DSR conservative)"
        )
    return "\n".join(lines)


def _sample_text(overfit: Overfit) -> str:
    if not overfit.pbo_sampled:
        return ""
    return f", sampled: {overfit.pbo_trials:,} of {overfit.n_trials:,} combinations, seed {overfit.pbo_seed}"


# ------------------------------------------------------------------------------------ files


def overfit_json(overfit: Overfit) -> dict[str, Any]:
    """The statistics as JSON-ready values (NaN as null)."""
    out: dict[str, Any] = {
        "n_trials": overfit.n_trials,
        "combinations": overfit.combinations
        if overfit.combinations is not None
        else overfit.n_trials,
        "pbo_trials": overfit.pbo_trials or overfit.n_trials,
        "pbo_sampled": overfit.pbo_sampled,
        "pbo_seed": overfit.pbo_seed,
        "notes": overfit.notes,
    }
    if overfit.dsr is not None:
        out["deflated_sharpe"] = plain_json(overfit.dsr)
    if overfit.pbo is not None:
        p = overfit.pbo
        out["pbo"] = {
            "pbo": p.pbo,
            "prob_oos_loss": p.prob_oos_loss,
            "n_splits": p.n_splits,
            "n_combinations": p.n_combinations,
            "rows_used": p.rows_used,
            "rows_dropped": p.rows_dropped,
            "metric": p.metric,
            "degradation": p.degradation,
            "logits": p.logits,
        }
    return plain_json(out)


def row_json(row: pd.Series, param_columns: list[str]) -> dict[str, Any]:
    """One ranked row: its parameters and every metric, JSON-ready."""
    return plain_json(
        {
            "rank": int(row["rank"]),
            "key": row["key"],
            "params": {c: row[c] for c in param_columns},
            "metrics": {k: row[k] for k in METRIC_KEYS},
        }
    )


#: Above this many combinations ``sweep.csv`` holds only the best :data:`CSV_TOP` rows (every
#: row is in ``sweep.parquet`` and the store) unless ``full_csv``.
FULL_CSV_MAX = 100_000
CSV_TOP = 10_000


def write_sweep_files(
    out: Path,
    summary: SweepSummary,
    header: dict[str, Any],
    *,
    heatmap: tuple[str, str] | None = None,
    others: str = "best",
    plots: bool = True,
    top: int = 10,
    rerun: str | None = None,
    full_csv: bool = False,
) -> list[Path]:
    """``sweep.csv``, ``sweep.parquet``, ``summary.json``, ``overfit.json``, the charts and
    ``sweep.html``. A sweep of more than :data:`FULL_CSV_MAX` combinations gets the best
    :data:`CSV_TOP` rows in ``sweep.csv`` (``full_csv``: all of them)."""
    out = Path(out)
    ranked = summary.ranked
    if summary.view is not None and summary.view.columns() is not None:
        # the columns are in memory: the first export (the whole ranking; Arrow and Parquet
        # release the GIL for much of it) runs on a thread beside the charts, which read the
        # store on this one, then the top rows' CSV of a large sweep, if any
        first, *rest = _exports(summary, out, full_csv)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-export") as pool:
            exports = pool.submit(_export_view, summary, *first)
            charts_written = _write_charts(out, summary, heatmap, others) if plots else []
            later = [p for paths, limit in rest for p in _export_view(summary, paths, limit)]
            written = exports.result() + later
    else:
        written = _export_summary(summary, out, full_csv)
        charts_written = _write_charts(out, summary, heatmap, others) if plots else []
    payload = {
        **header,
        "metric": summary.metric,
        "lower_is_better": metric_order(summary.metric),
        "combinations": summary.combinations,
        "chosen": row_json(summary.chosen, summary.param_columns),
        "top": [row_json(r, summary.param_columns) for _, r in ranked.head(top).iterrows()],
        "overfit": overfit_json(summary.overfit),
        "trials": trials_json(summary),
        "warnings": summary.warnings,
        "rerun": rerun,
    }
    written.append(write_json(out / "summary.json", payload, sort_keys=False))
    written.append(write_json(out / "overfit.json", overfit_json(summary.overfit), sort_keys=False))
    written.extend(charts_written)
    images = {p.name: (p.read_bytes(), _caption(p.name, summary)) for p in charts_written}
    page = sweep_html(summary, header, images, rerun=rerun, top=top)
    written.append(out / "sweep.html")
    atomic_write_text(written[-1], page)
    return written


def _export_summary(summary: SweepSummary, out: Path, full_csv: bool) -> list[Path]:
    """``sweep.csv`` and ``sweep.parquet`` (the best :data:`CSV_TOP` rows in the CSV of a sweep
    of more than :data:`FULL_CSV_MAX`, unless ``full_csv``)."""
    if summary.view is None:
        ranked = summary.ranked
        return [
            export_frame(ranked, out / "sweep.csv"),
            export_frame(ranked, out / "sweep.parquet"),
        ]
    return [
        p
        for paths, limit in _exports(summary, out, full_csv)
        for p in _export_view(summary, paths, limit)
    ]


def _exports(
    summary: SweepSummary, out: Path, full_csv: bool
) -> list[tuple[list[Path], int | None]]:
    """The exports of a recorded sweep, as ``(paths, limit)`` for :func:`_export_view`: both
    files in one pass, or the whole ranking's Parquet then the top rows' CSV."""
    if full_csv or summary.combinations <= FULL_CSV_MAX:
        return [([out / "sweep.csv", out / "sweep.parquet"], None)]
    return [([out / "sweep.parquet"], None), ([out / "sweep.csv"], CSV_TOP)]


def trials_json(summary: SweepSummary) -> dict[str, Any] | None:
    """Combinations, distinct results, unused parameters and each parameter's share of the
    metric's variance (JSON-ready), or None for a summary without them."""
    t = summary.trials
    if t is None:
        return None
    return plain_json(
        {
            "combinations": t.combinations,
            "distinct_results": t.distinct,
            "unused_parameters": t.unused,
            "variance_explained": t.importance,
        }
    )


def _caption(name: str, summary: SweepSummary) -> str:
    if name.startswith("heatmap_"):
        return f"{summary.metric} over two parameters (the pair that explains most of its variance, unless --heatmap chose)"
    if name.startswith("distribution_"):
        return f"{summary.metric} across every combination; the chosen one and the median marked"
    return "PBO: the in-sample winner's out-of-sample rank over the CSCV splits"


def _export_view(summary: SweepSummary, paths: list[Path], limit: int | None = None) -> list[Path]:
    """The whole ranking (or its first ``limit`` rows), streamed from the store in chunks (as
    :func:`rank` would order it), into every file of ``paths`` in one pass (Parquet alone:
    from Arrow tables, without a frame per chunk)."""
    only_parquet = all(p.suffix.lower() != ".csv" for p in paths)
    frames = summary.view.ranked(
        summary.metric,
        metric_order(summary.metric),
        summary.min_trades,
        limit=limit,
        tables=only_parquet,
    )
    export_frames(frames, list(paths))
    return list(paths)


def _write_charts(
    out: Path, summary: SweepSummary, heatmap: tuple[str, str] | None, others: str
) -> list[Path]:
    from engine.sweep import charts  # matplotlib: only when charts are drawn (not --no-files)

    ranked, metric, chosen = summary.ranked, summary.metric, summary.chosen
    view = summary.view
    paths = [out / f"distribution_{metric}.png"]
    reference = ranked["buy_hold_return"].iloc[0] if metric == "total_return" else None
    charts.distribution_figure(
        ranked[metric] if view is None else pd.Series(view.metric_values(metric), name=metric),
        metric,
        chosen=_float(chosen[metric]),
        reference=_float(reference),
        path=paths[-1],
    )
    if summary.overfit.pbo is not None:
        dsr = summary.overfit.dsr.dsr if summary.overfit.dsr is not None else None
        paths.append(out / "overfit.png")
        charts.overfit_figure(summary.overfit.pbo, dsr=dsr, path=paths[-1])
    if heatmap is not None:
        x, y = heatmap
        if view is None:
            varying = [k for k in summary.grid_keys if ranked[k].nunique() > 1]
        else:
            names = summary.grid_names
            varying = [k for k in summary.grid_keys if view.distinct(names[k]) > 1]
        fixed = [k for k in varying if k not in (x, y)]
        if not fixed:
            note = ""
        elif others == "best":
            note = "others at the chosen values: " + ", ".join(f"{k}={chosen[k]}" for k in fixed)
        else:
            note = f"{others} over {', '.join(fixed)}"
        if view is None:
            table = heatmap_table(ranked, x, y, metric, others, varying)
        else:
            table = view_heatmap(summary, x, y, others, varying)
        paths.append(out / f"heatmap_{x}_{y}.png")
        charts.heatmap_figure(
            table,
            x,
            y,
            metric,
            subtitle=note,
            chosen=(chosen[x], chosen[y]) if others == "best" else None,
            path=paths[-1],
        )
    return paths


def _float(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------------------------ walk-forward


def folds_frame(wf: WalkForward) -> pd.DataFrame:
    """One row per fold: windows, the winner's grid values, IS and OOS figures."""
    rows = []
    for f in wf.folds:
        row: dict[str, Any] = {
            "fold": f.number,
            "train_start": f.train_dates[0].date().isoformat(),
            "train_end": f.train_dates[1].date().isoformat(),
            "test_start": f.test_dates[0].date().isoformat(),
            "test_end": f.test_dates[1].date().isoformat(),
            "combinations": f.combinations,
        }
        row.update({k: f.params[k] for k in wf.grid_keys if k in f.params})
        for key in dict.fromkeys([wf.metric, "total_return", "sharpe", "max_drawdown", "n_trades"]):
            row[f"is_{key}"] = f.is_metrics.get(key)
            row[f"oos_{key}"] = f.oos_metrics.get(key)
        rows.append(row)
    return pd.DataFrame(rows)


def format_walkforward(wf: WalkForward) -> str:
    """Per-fold table and the overall in-sample vs out-of-sample lines."""
    table = folds_frame(wf)
    shown = table.drop(columns=["train_start", "test_end"]).copy()
    for col in shown.columns:
        key = col.split("_", 1)[1] if col.startswith(("is_", "oos_")) else None
        if key:
            shown[col] = [format_value(key, v) for v in shown[col]]
    kind = "anchored" if wf.anchored else "rolling"
    m = wf.metric
    overall = wf.oos_metrics
    lines = [
        f"walk-forward ({kind}; train {wf.train} bars, test {wf.test} bars, {len(wf.folds)} folds; winner by {m}):",
        shown.to_string(index=False),
        f"in sample:      mean {m} of the folds' winners {format_value(m, wf.is_mean)}",
        f"out of sample:  mean {m} per fold {format_value(m, wf.oos_mean)}; stitched curve "
        f"{overall['start']} to {overall['end']}: {m} {format_value(m, overall[m])}, total return "
        f"{format_value('total_return', overall['total_return'])} (buy & hold "
        f"{format_value('buy_hold_return', overall['buy_hold_return'])}), max drawdown "
        f"{format_value('max_drawdown', overall['max_drawdown'])}, {int(overall['n_trades'])} closed trades",
    ]
    return "\n".join(lines)


def write_walkforward_files(
    out: Any, wf: WalkForward, header: dict[str, Any], *, plots: bool = True
) -> list[Any]:
    """``walkforward_folds.csv``, ``walkforward_equity.csv``, ``walkforward.json`` and the chart."""
    out = Path(out)
    written = [export_frame(folds_frame(wf), out / "walkforward_folds.csv")]
    curve = pd.DataFrame(
        {"date": wf.equity.index.strftime("%Y-%m-%d"), "equity": wf.equity.to_numpy()}
    )
    if wf.buy_hold is not None:
        curve["buy_hold"] = wf.buy_hold.reindex(wf.equity.index).to_numpy()
    written.append(export_frame(curve, out / "walkforward_equity.csv"))
    payload = {
        **header,
        "metric": wf.metric,
        "train": wf.train,
        "test": wf.test,
        "anchored": wf.anchored,
        "in_sample_mean": wf.is_mean,
        "out_of_sample_mean": wf.oos_mean,
        "out_of_sample": wf.oos_metrics,
        "folds": [
            {
                "fold": f.number,
                "train": [str(f.train_dates[0].date()), str(f.train_dates[1].date())],
                "test": [str(f.test_dates[0].date()), str(f.test_dates[1].date())],
                "params": f.params,
                "in_sample": f.is_metrics,
                "out_of_sample": f.oos_metrics,
            }
            for f in wf.folds
        ],
        "warnings": wf.warnings,
    }
    written.append(write_json(out / "walkforward.json", payload, sort_keys=False))
    if plots:
        from engine.sweep import charts  # matplotlib: only when the chart is drawn

        written.append(out / "walkforward.png")
        charts.walkforward_figure(wf, path=written[-1])
    return written
