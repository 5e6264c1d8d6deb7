"""Run outputs: the terminal table, the run folder (JSON, CSV, PNG) and the one-file HTML report.

This is the only module that writes run outputs. A run folder holds:

=================  ============================================================================
metrics.json       per strategy: ticker, params, data fingerprint, settings, levels, metrics
                   (:func:`engine.metrics.to_jsonable`), notes; plus the strategy order, the
                   benchmark's name and the fill rules. Deterministic: keys sorted, no
                   timestamps, no absolute paths (the same run gives the same bytes)
metrics.csv        metric rows x strategy columns (raw values: fractions, not percents)
trades.csv         round trips of every strategy, with a ``strategy`` column first
fills.csv          executed orders of every strategy, with a ``strategy`` column first
equity.csv         ``date`` + one account-value column per strategy (plus the buy-and-hold
                   benchmark's, when it is not one of the strategies)
prices.csv         the price window, so the charts can be redrawn without the data dir
*.png              ``equity_<name>.png``, ``price_<name>.png``, ``indicators.png``,
                   ``comparison.png``
report.html        one self-contained page: images inlined, CSS inline, no script, no link
=================  ============================================================================

Atomicity: everything is built in a temp folder beside the target; only when all of it exists
are the files moved in (``os.replace``, atomic per file), ``report.html`` last. A run that fails
midway leaves the target as it was and no temp folder behind.
:func:`rebuild_report` redraws the PNGs and ``report.html`` from the folder alone.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.metrics import METRIC_GROUPS, METRIC_KEYS, metric_notes, to_jsonable
from engine.result import FILL_COLUMNS, FILL_RULES, TRADE_COLUMNS, RunResult

#: Display title of every metric key: the one mapping used by the table, the CSV-free views
#: and the HTML report.
TITLES: dict[str, str] = {
    "start": "Start",
    "end": "End",
    "bars": "Sessions",
    "exposure": "Exposure (time in market)",
    "final_equity": "Final equity",
    "total_return": "Total return",
    "cagr": "CAGR",
    "volatility": "Volatility (annualised)",
    "buy_hold_return": "Buy & hold return",
    "excess_return": "Excess return vs buy & hold",
    "best_day": "Best day",
    "worst_day": "Worst day",
    "max_drawdown": "Max drawdown",
    "max_drawdown_duration": "Longest drawdown",
    "avg_drawdown": "Avg drawdown",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "alpha": "Alpha (annualised)",
    "beta": "Beta",
    "n_trades": "Closed trades",
    "n_open": "Open positions at end",
    "win_rate": "Win rate (winning trades)",
    "avg_trade_return": "Avg trade return",
    "avg_win": "Avg winning trade",
    "avg_loss": "Avg losing trade",
    "win_loss_ratio": "Avg win / avg loss",
    "best_trade": "Best trade",
    "worst_trade": "Worst trade",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy (per trade)",
    "sqn": "SQN",
    "max_consecutive_wins": "Max consecutive wins",
    "max_consecutive_losses": "Max consecutive losses",
    "avg_bars_held": "Avg sessions held",
    "commission_paid": "Commission paid",
}

#: How each metric is shown: percent, ratio, dollars, int, days, bars or date.
FORMATS: dict[str, str] = {
    **dict.fromkeys(["start", "end"], "date"),
    **dict.fromkeys(["bars", "n_trades", "n_open", "max_consecutive_wins"], "int"),
    "max_consecutive_losses": "int",
    **dict.fromkeys(["final_equity", "expectancy", "commission_paid"], "dollars"),
    **dict.fromkeys(["sharpe", "sortino", "calmar", "beta", "win_loss_ratio"], "ratio"),
    **dict.fromkeys(["profit_factor", "sqn"], "ratio"),
    "max_drawdown_duration": "days",
    "avg_bars_held": "bars",
}
FORMATS.update({k: "percent" for k in METRIC_KEYS if k not in FORMATS})

MISSING = "n/a"
_DATA_FILES = ("metrics.json", "metrics.csv", "trades.csv", "fills.csv", "equity.csv", "prices.csv")
_FIXED_PNGS = ("indicators.png", "comparison.png")
_PNG_PATTERNS = ("equity_*.png", "price_*.png", *_FIXED_PNGS)


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------


def title(key: str) -> str:
    """Display title of a metric key (unknown keys: the key in words)."""
    return TITLES.get(key, key.replace("_", " ").capitalize())


def format_value(key: str, value: Any) -> str:
    """One metric value as text, by its key's format; NaN / None as ``n/a``."""
    kind = FORMATS.get(key, "ratio")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if kind == "date":
        return str(pd.Timestamp(value).date())
    if isinstance(value, str):  # "inf" / "-inf" from JSON
        value = float(value) if value in ("inf", "-inf") else value
        if isinstance(value, str):
            return value
    if isinstance(value, pd.Timedelta):
        value = value.days
    v = float(value)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return {
        "percent": lambda: f"{v:.2%}",
        "ratio": lambda: f"{v:.2f}",
        "dollars": lambda: f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}",
        "int": lambda: f"{v:,.0f}",
        "days": lambda: f"{v:,.0f} days",
        "bars": lambda: f"{v:,.1f}",
    }.get(kind, lambda: f"{v:g}")()


def metric_rows(metrics: dict[str, pd.Series]) -> list[tuple[str, str]]:
    """``(group, key)`` rows in display order: the metrics module's groups, then unknown keys."""
    rows = [(group, key) for group, keys in METRIC_GROUPS.items() for key in keys]
    known = set(METRIC_KEYS)
    extra = dict.fromkeys(k for s in metrics.values() for k in s.index if k not in known)
    return rows + [("other", k) for k in extra]


def format_table(metrics: dict[str, pd.Series]) -> str:
    """Readable terminal table: one row per metric (by title), one column per strategy.

    Parameters
    ----------
    metrics : strategy name -> metrics Series (keys of :data:`engine.metrics.METRIC_KEYS`)

    Returns
    -------
    The table as text, metric groups separated by a blank line.
    """
    names = list(metrics)
    rows = metric_rows(metrics)
    cells = {
        key: [
            format_value(key, metrics[n].get(key)) if key in metrics[n] else MISSING for n in names
        ]
        for _g, key in rows
    }
    left = max([len(title(k)) for _g, k in rows] + [6])
    widths = [max([len(n)] + [len(cells[k][i]) for _g, k in rows]) for i, n in enumerate(names)]
    header = "Metric".ljust(left) + "".join(
        f"  {n:>{w}}" for n, w in zip(names, widths, strict=True)
    )
    lines = [header, "-" * len(header)]
    previous = None
    for group, key in rows:
        if previous is not None and group != previous:
            lines.append("")
        previous = group
        vals = "".join(f"  {c:>{w}}" for c, w in zip(cells[key], widths, strict=True))
        lines.append(title(key).ljust(left) + vals)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """Plain JSON data: NaN -> None, inf -> "inf", dates -> ISO text, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=str) if isinstance(obj, set | frozenset) else obj
        return [jsonable(v) for v in items]
    if is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(asdict(obj))
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        return obj if math.isfinite(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, pd.Timestamp | datetime | date):
        ts = pd.Timestamp(obj)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(obj, pd.Timedelta):
        return obj.days
    if isinstance(obj, os.PathLike):
        return Path(obj).name  # never an absolute path
    return str(obj)


def json_text(doc: Any) -> str:
    """Deterministic JSON text: sorted keys, indent 2, no NaN, trailing newline."""
    return json.dumps(jsonable(doc), sort_keys=True, indent=2, allow_nan=False) + "\n"


def metrics_document(
    results: list[RunResult], metrics: dict[str, pd.Series], benchmark: str | None
) -> dict[str, Any]:
    """The content of ``metrics.json`` (plain data; see the module docstring)."""
    strategies = {}
    for r in results:
        m = metrics.get(r.strategy)
        strategies[r.strategy] = {
            "ticker": r.ticker,
            "params": r.params,
            "param_order": list(r.params),  # declaration order (sort_keys loses it)
            "fingerprint": r.fingerprint,
            "settings": r.settings,
            "levels": r.levels,
            "metrics": to_jsonable(m) if m is not None else {},
            "notes": list(r.notes),
            "metric_notes": metric_notes(m) if m is not None else [],
        }
    return {
        "version": 1,
        "order": [r.strategy for r in results],
        "benchmark": benchmark,
        "fill_rules": FILL_RULES,
        "strategies": strategies,
    }


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------


def _dates_as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return out


def stacked(results: list[RunResult], attr: str, columns: list[str]) -> pd.DataFrame:
    """Every result's ``trades`` or ``fills`` in one frame, with a ``strategy`` column first."""
    parts = [
        getattr(r, attr).reindex(columns=columns).assign(strategy=r.strategy)
        for r in results
        if len(getattr(r, attr))
    ]
    if not parts:
        return pd.DataFrame(columns=["strategy", *columns])
    return pd.concat(parts, ignore_index=True)[["strategy", *columns]]


def equity_table(results: list[RunResult], bench: RunResult | None) -> pd.DataFrame:
    """``date`` + one equity column per strategy (and the benchmark's if it is not among them)."""
    curves = {r.strategy: r.equity for r in results}
    if bench is not None and bench.strategy not in curves:
        curves[bench.strategy] = bench.equity
    table = pd.DataFrame(curves)
    table.index = pd.DatetimeIndex(table.index).strftime("%Y-%m-%d")
    table.index.name = "date"
    return table


def _csv(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_csv(index=index, lineterminator="\n")


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------


def file_slug(name: str) -> str:
    """A strategy name made safe for a file name (``MA trend/20`` -> ``MA_trend_20``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "strategy"


def _slugs(names: list[str]) -> dict[str, str]:
    """Distinct file slugs, in order (a clash gets ``-2``, ``-3``...)."""
    out: dict[str, str] = {}
    for name in names:
        base, slug, i = file_slug(name), file_slug(name), 1
        while slug in out.values():
            i += 1
            slug = f"{base}-{i}"
        out[name] = slug
    return out


def find_benchmark(results: list[RunResult], buy_hold: RunResult | None) -> RunResult | None:
    """The buy-and-hold run: ``buy_hold`` if given, else a result named like it, else None."""
    if buy_hold is not None:
        return next((r for r in results if r.strategy == buy_hold.strategy), buy_hold)
    from engine.plots import is_benchmark

    return next((r for r in results if is_benchmark(r.strategy)), None)


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A private temp folder beside ``out_dir``, removed whatever happens."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def commit(tmp: Path, out_dir: Path, names: list[str], stale: tuple[str, ...]) -> list[Path]:
    """Move the staged files into ``out_dir`` (``report.html`` last); drop stale charts.

    ``stale`` are glob patterns of files a previous run may have left that this one did not
    write (e.g. the chart of a strategy no longer in the run).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = [n for n in names if n != "report.html"] + [n for n in names if n == "report.html"]
    for pattern in stale:
        for old in out_dir.glob(pattern):
            if old.name not in names and old.is_file():
                old.unlink()
    written = []
    for name in ordered:
        os.replace(tmp / name, out_dir / name)
        written.append(out_dir / name)
    return written


def write_run(
    out_dir: Path,
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    prices: pd.DataFrame,
    *,
    plots: bool = True,
    buy_hold: RunResult | None = None,
) -> list[Path]:
    """Write a run folder: metrics, tables, charts and ``report.html`` (module docstring).

    Parameters
    ----------
    out_dir : the run folder (created if needed; files of a previous run are replaced)
    results : the runs, in display order; strategy names must be distinct
    metrics : strategy name -> metrics Series
    prices : the price window the runs used (DatetimeIndex, open high low close adj_close volume)
    plots : draw the PNG charts (the report then shows them)
    buy_hold : the buy-and-hold benchmark run, if it is not among ``results``

    Returns
    -------
    The paths written, ``report.html`` last.
    """
    out_dir = Path(out_dir)
    names = [r.strategy for r in results]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"strategy names must be distinct, got {', '.join(dup)} more than once")
    bench = find_benchmark(results, buy_hold)
    doc = metrics_document(results, metrics, bench.strategy if bench else None)
    table = pd.DataFrame({n: metrics[n] for n in names if n in metrics})
    table.index.name = "metric"
    from engine.data import write_price_csv

    with staging(out_dir) as tmp:
        files = {
            "metrics.json": json_text(doc),
            "metrics.csv": _csv(table, index=True),
            "trades.csv": _csv(
                _dates_as_text(
                    stacked(results, "trades", TRADE_COLUMNS), ["entry_date", "exit_date"]
                )
            ),
            "fills.csv": _csv(_dates_as_text(stacked(results, "fills", FILL_COLUMNS), ["date"])),
            "equity.csv": _csv(equity_table(results, bench), index=True),
        }
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        write_price_csv(prices, tmp / "prices.csv")
        rendered = _render(tmp, results, metrics, prices, bench, plots=plots, doc=doc)
        return commit(tmp, out_dir, [*_DATA_FILES, *rendered], _PNG_PATTERNS)


def _render(
    tmp: Path,
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    *,
    plots: bool,
    doc: dict[str, Any],
) -> list[str]:
    """Draw the PNGs and the HTML report into ``tmp``; the file names written, report last."""
    from engine.report_html import render_html

    images = draw_charts(results, prices, bench) if plots else {}
    for name, png in images.items():
        (tmp / name).write_bytes(png)
    html = render_html(results, metrics, doc, images, slugs=_slugs([r.strategy for r in results]))
    (tmp / "report.html").write_text(html, encoding="utf-8")
    return [*images, "report.html"]


def draw_charts(
    results: list[RunResult], prices: pd.DataFrame | None, bench: RunResult | None
) -> dict[str, bytes]:
    """File name -> PNG bytes, in report order: comparison, indicators, then per strategy."""
    from engine import plots

    images: dict[str, bytes] = {}
    if not results:
        return images
    images["comparison.png"] = plots.png_bytes(plots.comparison_figure(results))
    lead = next((r for r in results if r is not bench), results[0])
    if prices is not None:
        images["indicators.png"] = plots.png_bytes(plots.indicator_figure(lead, prices))
    for r, slug in zip(results, _slugs([r.strategy for r in results]).values(), strict=True):
        fig = plots.equity_figure(r, bench if bench is not r else None)
        images[f"equity_{slug}.png"] = plots.png_bytes(fig)
        if prices is not None:
            images[f"price_{slug}.png"] = plots.png_bytes(plots.price_figure(r, prices))
    return images


def rebuild_report(run_dir: Path) -> Path:
    """Redraw the PNGs and ``report.html`` of a run folder from its files, without rerunning.

    Parameters
    ----------
    run_dir : a folder written by :func:`write_run`

    Returns
    -------
    The path of the new ``report.html``.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        from engine.errors import UserError

        raise UserError(f"{run_dir}: no metrics.json here; give a folder written by a run")
    from engine.report_load import load_run

    results, metrics, prices, bench, doc = load_run(run_dir)
    with staging(run_dir) as tmp:
        rendered = _render(tmp, results, metrics, prices, bench, plots=True, doc=doc)
        commit(tmp, run_dir, rendered, _PNG_PATTERNS)
    return run_dir / "report.html"
