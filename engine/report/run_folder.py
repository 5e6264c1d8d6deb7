"""The run folder: metrics, tables, charts and the one-file HTML report of a run, written at once.

This is the only module that writes run outputs (:mod:`engine.report.run_folder_load` reads
them back). A run folder holds:

=================  ============================================================================
metrics.json       per strategy: ticker, params, data fingerprint, settings, levels, metrics
                   (:func:`engine.files.plain_json`), notes, and when the command knows them
                   its description, base strategy and declared defaults (the report shows
                   what a variant changes); plus the strategy order, the
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
report.html        one self-contained page, results first (:mod:`engine.report.results_page`):
                   CSS and plotly.js inline, the interactive charts' data in the page, no
                   link, nothing fetched; the PNGs are files beside it, not inlined
=================  ============================================================================

plus ``crwv-bt-manifest.json``, the files the run wrote: a run folder owns only those
(:mod:`engine.folders`). The folder must be new, empty or one a run wrote; a run into it
again replaces its files and removes those of them it no longer writes (a chart of a strategy
not in this run); a file the manifest does not list is never removed or replaced.

Atomicity: everything is built in a temp folder inside the target; only when all of it exists
are the files moved in (``os.replace``, atomic per file), ``report.html`` last. A run that fails
midway leaves the target as it was and no temp folder behind.
:func:`rebuild_report` redraws the PNGs and ``report.html`` from the folder alone.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from engine.analysis.metric_notes import metric_notes
from engine.data.load import write_price_csv
from engine.errors import UserError
from engine.files import json_text, plain_json
from engine.folders import claim_folder, commit_files, reserved, staging_in
from engine.report import chart_set
from engine.report import extras as extras_mod
from engine.report.display import is_benchmark
from engine.report.extras import Extras
from engine.report.results_page import build_page, render_page
from engine.report.run_folder_load import load_run
from engine.result import FILL_COLUMNS, FILL_RULES, TRADE_COLUMNS, RunResult

_DATA_FILES = ("metrics.json", "metrics.csv", "trades.csv", "fills.csv", "equity.csv", "prices.csv")
_FIXED_PNGS = ("indicators.png", "comparison.png")
_PNG_PATTERNS = ("equity_*.png", "price_*.png", extras_mod.FAN_PATTERN, *_FIXED_PNGS)
# every name a run folder's files may have (an older run folder, without manifest, holds only these)
_RUN_NAMES = (
    *_DATA_FILES,
    *_PNG_PATTERNS,
    extras_mod.EVENTS_FILE,
    extras_mod.FAN_FILE,
    "report.html",
)


def older_run_folder(folder: Path, names: list[str]) -> bool:
    """Whether a folder without manifest was written by an older crwv-bt run: its
    ``metrics.json`` is a run's and every file in it has a name a run writes."""
    if "metrics.json" not in names:
        return False
    if not all(any(fnmatch.fnmatchcase(n, p) for p in _RUN_NAMES) for n in names):
        return False
    try:
        doc = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and {"order", "strategies", "fill_rules"} <= set(doc)


def _is_chart(name: str) -> bool:
    return name == "report.html" or any(fnmatch.fnmatchcase(name, p) for p in _PNG_PATTERNS)


def metrics_document(
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    benchmark: str | None,
    about: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The content of ``metrics.json`` (plain data; see the module docstring).

    ``about``: strategy name -> ``description``, ``base`` (the registered strategy a variant
    is of) and ``defaults`` (its declared parameters), kept for the report and its rebuild.
    """
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
            "metrics": plain_json(m) if m is not None else {},
            "notes": list(r.notes),
            "metric_notes": metric_notes(m) if m is not None else [],
        }
        if r.rule:
            strategies[r.strategy]["rule"] = r.rule
        for key, value in (about or {}).get(r.strategy, {}).items():
            strategies[r.strategy][key] = plain_json(value)
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
    return next((r for r in results if is_benchmark(r.strategy)), None)


def _report_last(names: list[str]) -> list[str]:
    """``names`` with ``report.html`` moved to the end (a reader sees it only when all is there)."""
    return [n for n in names if n != "report.html"] + [n for n in names if n == "report.html"]


def write_run(
    out_dir: Path,
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    prices: pd.DataFrame,
    *,
    plots: bool = True,
    buy_hold: RunResult | None = None,
    extras: Extras | None = None,
    about: dict[str, dict[str, Any]] | None = None,
) -> list[Path]:
    """Write a run folder: metrics, tables, charts and ``report.html`` (module docstring).

    Parameters
    ----------
    out_dir : the run folder: new, empty, or one a run wrote (created if needed; the files of
        the previous run there are replaced, and none of anyone else's touched)
    results : the runs, in display order; strategy names must be distinct
    metrics : strategy name -> metrics Series
    prices : the price window the runs used (DatetimeIndex, open high low close adj_close volume)
    plots : draw the PNG charts (the report then shows them)
    buy_hold : the buy-and-hold benchmark run, if it is not among ``results``
    extras : the ticker's events and the Monte Carlo of the runs (:mod:`engine.report.extras`)
    about : strategy name -> ``description``, ``base``, ``defaults`` (:func:`metrics_document`)

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
    doc = extras_mod.document(
        metrics_document(results, metrics, bench.strategy if bench else None, about), extras
    )
    table = pd.DataFrame({n: metrics[n] for n in names if n in metrics})
    table.index.name = "metric"
    with reserved(out_dir, adopt=older_run_folder) as claim, staging_in(claim.path) as tmp:
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
            **extras_mod.files(extras, pd.DatetimeIndex(prices.index)),
        }
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        write_price_csv(prices, tmp / "prices.csv")
        rendered = _render(
            tmp, results, metrics, prices, bench, plots=plots, doc=doc, extras=extras
        )
        data = [*_DATA_FILES, *(n for n in files if n not in _DATA_FILES)]
        return commit_files(claim, tmp, _report_last([*data, *rendered]))


def _render(
    tmp: Path,
    results: list[RunResult],
    metrics: dict[str, pd.Series],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    *,
    plots: bool,
    doc: dict[str, Any],
    extras: Extras | None = None,
) -> list[str]:
    """Draw the PNGs and the HTML report into ``tmp``; the file names written, report last."""
    slugs = _slugs([r.strategy for r in results])
    # the charts are drawn by other processes while this one builds the page
    drawing = chart_set.start_charts(results, prices, bench, extras, slugs) if plots else None
    try:
        page = build_page(results, metrics, doc, prices, bench, anchors=slugs, extras=extras)
        html = render_page(page)
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    images = drawing.result() if drawing is not None else {}
    for name, png in images.items():
        (tmp / name).write_bytes(png)
    (tmp / "report.html").write_text(html, encoding="utf-8")
    return [*images, "report.html"]


def draw_charts(
    results: list[RunResult],
    prices: pd.DataFrame | None,
    bench: RunResult | None,
    extras: Extras | None = None,
) -> dict[str, bytes]:
    """File name -> PNG bytes, in report order: comparison, indicators, then per strategy
    (:func:`engine.report.chart_set.draw_charts`: drawn on every core; matplotlib is loaded
    only there, so --no-plots never loads it)."""
    return chart_set.draw_charts(
        results, prices, bench, extras, _slugs([r.strategy for r in results])
    )


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
    if run_dir.is_dir() and not (run_dir / "metrics.json").is_file():
        raise UserError(f"{run_dir}: no metrics.json here; give a folder written by a run")
    claim = claim_folder(run_dir, option="report", adopt=older_run_folder, create=False)
    results, metrics, prices, bench, doc = load_run(run_dir)
    extras = extras_mod.load(run_dir, doc)
    with staging_in(claim.path) as tmp:
        rendered = _render(tmp, results, metrics, prices, bench, plots=True, doc=doc, extras=extras)
        commit_files(claim, tmp, _report_last(rendered), replaces=_is_chart)
    return run_dir / "report.html"
