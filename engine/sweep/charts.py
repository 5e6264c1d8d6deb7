"""Sweep charts: parameter heatmap, metric distribution, overfitting, walk-forward.

As the run charts (:mod:`engine.report.charts`): figures come from
:func:`engine.report.figures.new_figure` (never ``pyplot``), every function returns its figure
and ``path=`` writes a PNG atomically (:func:`engine.report.figures.save_png`).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from engine.report.display import FORMATS, format_value
from engine.report.figures import date_axis, dollar_axis, new_figure, save_png

if TYPE_CHECKING:
    from engine.analysis.pbo import PBOResult
    from engine.sweep.walkforward import WalkForward

MAX_ANNOTATED_CELLS = 300


def _figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A new figure (:func:`engine.report.figures.new_figure`) and its ``rows x cols`` axes grid."""
    fig = new_figure(width, height)
    return fig, fig.subplots(rows, cols, squeeze=False)


@contextmanager
def _quiet() -> Iterator[None]:
    """Library warnings (matplotlib's about degenerate limits, ...) stay off the terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def metric_text(metric: str, value: float) -> str:
    """A metric value as the terminal shows it (``55.68%`` for a return, ``1.52`` for a ratio)."""
    return format_value(metric, value)


def metric_formatter(metric: str) -> FuncFormatter:
    """An axis formatter in the metric's units (percent with no decimals for returns)."""
    kind = FORMATS.get(metric)
    if kind == "percent":
        return FuncFormatter(lambda v, _pos: f"{v:.0%}" if abs(v) >= 0.1 or v == 0 else f"{v:.1%}")
    if kind == "dollars":
        return FuncFormatter(lambda v, _pos: f"${v:,.0f}")
    return FuncFormatter(lambda v, _pos: f"{v:,.2f}".rstrip("0").rstrip("."))


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _ticks(n: int, most: int = 25) -> list[int]:
    """Positions of at most ``most`` evenly spaced tick labels out of ``n`` cells."""
    step = max(1, math.ceil(n / most))
    return list(range(0, n, step))


def heatmap_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    subtitle: str = "",
    chosen: tuple[Any, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """``table`` (rows ``y``, columns ``x``, values ``metric``) as a colour grid; NaN cells
    blank; the ``chosen`` ``(x, y)`` cell outlined; an empty table says so."""
    with _quiet():
        return _heatmap(table, x, y, metric, subtitle, chosen, path)


def _heatmap(
    table: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    subtitle: str,
    chosen: tuple[Any, Any] | None,
    path: str | os.PathLike[str] | None,
) -> Figure:
    rows, cols = table.shape
    longest = max((len(_label(c)) for c in table.columns), default=1)
    width = min(14.0, max(5.0, 1.8 + cols * max(0.3, 0.07 * longest)))
    fig, axes = _figure(width, min(10.0, max(3.5, 1.4 + 0.3 * rows)))
    ax = axes[0][0]
    values = table.to_numpy(dtype=float)
    title = f"{metric} by {x} and {y}" + (f"\n{subtitle}" if subtitle else "")
    if not np.isfinite(values).any():
        ax.text(
            0.5, 0.5, "no combination to show", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
        save_png(fig, path)
        return fig
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(
        masked, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest"
    )
    xs, ys = _ticks(cols), _ticks(rows)
    ax.set_xticks(xs, [_label(table.columns[i]) for i in xs], rotation=90 if len(xs) > 12 else 0)
    ax.set_yticks(ys, [_label(table.index[i]) for i in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if values.size <= MAX_ANNOTATED_CELLS:
        for (i, j), v in np.ndenumerate(values):
            if not math.isnan(v):
                ax.text(
                    j, i, _short(metric, v), ha="center", va="center", fontsize=7, color="white"
                )
    if chosen is not None:
        cell = _cell_of(table, chosen)
        if cell is not None:
            i, j = cell
            ax.add_patch(
                Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#d62728", lw=2.5)
            )
            title += "\n(red outline: the chosen combination)"
    fig.colorbar(image, ax=ax, label=metric, format=metric_formatter(metric))
    ax.set_title(title, fontsize=10)
    save_png(fig, path)
    return fig


def _short(metric: str, value: float) -> str:
    if FORMATS.get(metric) == "percent":
        return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"
    return f"{value:.2g}"


def _cell_of(table: pd.DataFrame, chosen: tuple[Any, Any]) -> tuple[int, int] | None:
    """Row and column of the ``(x, y)`` values in ``table`` (None when not in it)."""
    cx, cy = chosen
    cols = [j for j, c in enumerate(table.columns) if _same(c, cx)]
    rows = [i for i, r in enumerate(table.index) if _same(r, cy)]
    return (rows[0], cols[0]) if rows and cols else None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (float(a) == float(b))
    except (TypeError, ValueError):
        return str(a) == str(b)


def distribution_figure(
    values: pd.Series | np.ndarray,
    metric: str,
    *,
    chosen: float | None = None,
    reference: float | None = None,
    reference_label: str = "buy & hold",
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Histogram of ``metric`` over all combinations, with the chosen one and a reference; the
    values in the terminal's units (``55.68%``, not ``0.557``)."""
    with _quiet():
        return _distribution(values, metric, chosen, reference, reference_label, path)


def _distribution(
    values: pd.Series | np.ndarray,
    metric: str,
    chosen: float | None,
    reference: float | None,
    reference_label: str,
    path: str | os.PathLike[str] | None,
) -> Figure:
    data = pd.to_numeric(pd.Series(values), errors="coerce")
    finite = data[np.isfinite(data)]
    fig, axes = _figure(7.0, 4.0)
    ax = axes[0][0]
    ax.hist(
        finite,
        bins=min(60, max(10, int(math.sqrt(max(len(finite), 1))) * 2)),
        color="#4c72b0",
        alpha=0.85,
    )
    if chosen is not None and math.isfinite(chosen):
        ax.axvline(chosen, color="#c44e52", lw=2, label=f"chosen: {metric_text(metric, chosen)}")
    if len(finite):
        ax.axvline(
            float(finite.median()),
            color="black",
            lw=1,
            ls="--",
            label=f"median: {metric_text(metric, float(finite.median()))}",
        )
    if reference is not None and math.isfinite(reference):
        ax.axvline(
            reference,
            color="#7f7f7f",
            lw=1.5,
            ls=":",
            label=f"{reference_label}: {metric_text(metric, reference)}",
        )
    ax.set_xlabel(metric)
    ax.xaxis.set_major_formatter(metric_formatter(metric))
    ax.set_ylabel("combinations")
    dropped = len(data) - len(finite)
    ax.set_title(
        f"{metric} across {len(data):,} combinations"
        + (f" ({dropped} undefined)" if dropped else ""),
        fontsize=10,
    )
    ax.legend(fontsize=8)
    save_png(fig, path)
    return fig


def overfit_figure(
    result: PBOResult, *, dsr: float | None = None, path: str | os.PathLike[str] | None = None
) -> Figure:
    """PBO: the CSCV logits' histogram, and out-of-sample vs in-sample Sharpe of the IS winner."""
    with _quiet():
        return _overfit(result, dsr, path)


def _overfit(result: PBOResult, dsr: float | None, path: str | os.PathLike[str] | None) -> Figure:
    fig, axes = _figure(10.0, 4.0, 1, 2)
    left, right = axes[0]
    logits = np.asarray(result.logits, dtype=float)
    left.hist(logits[np.isfinite(logits)], bins=40, color="#4c72b0", alpha=0.85)
    left.axvline(0.0, color="#c44e52", lw=1.5)
    left.set_xlabel("logit of the IS winner's OOS relative rank")
    left.set_ylabel("CSCV splits")
    extra = f", DSR {dsr:.2f}" if dsr is not None and math.isfinite(dsr) else ""
    left.set_title(f"PBO {result.pbo:.1%} (share of splits left of 0){extra}", fontsize=10)
    x, y = np.asarray(result.is_performance), np.asarray(result.oos_performance)
    right.scatter(x, y, s=6, alpha=0.4, color="#4c72b0")
    deg = result.degradation
    if math.isfinite(deg.slope):
        xs = np.linspace(float(x.min()), float(x.max()), 50)
        right.plot(
            xs, deg.intercept + deg.slope * xs, color="#c44e52", label=f"slope {deg.slope:.2f}"
        )
        right.legend(fontsize=8)
    right.axhline(0.0, color="black", lw=0.8)
    right.set_xlabel("in-sample Sharpe per bar (IS winner)")
    right.set_ylabel("out-of-sample Sharpe per bar")
    right.set_title(
        f"performance degradation; OOS loss in {result.prob_oos_loss:.0%} of splits", fontsize=10
    )
    save_png(fig, path)
    return fig


def walkforward_figure(wf: WalkForward, *, path: str | os.PathLike[str] | None = None) -> Figure:
    """Stitched out-of-sample equity vs buy-and-hold (a dollar axis), fold boundaries, and IS
    vs OOS per fold, each fold labelled with the parameters it traded."""
    with _quiet():
        return _walkforward(wf, path)


def fold_label(wf: WalkForward, fold: Any) -> str:
    """``fold 2`` and the winner's grid values, one per line (``fast=5``): the grid keys whose
    winning value differs between folds (all of them when none does)."""
    keys = [k for k in wf.grid_keys if k in fold.params]
    moving = [k for k in keys if len({repr(f.params.get(k)) for f in wf.folds}) > 1]
    keys = moving or keys
    return "\n".join(
        [f"fold {fold.number}"] + [f"{k}={_label(_value(fold.params[k]))}" for k in keys]
    )


def _value(v: Any) -> Any:
    return ",".join(_label(x) for x in v) if isinstance(v, (list, tuple)) else v


def _walkforward(wf: WalkForward, path: str | os.PathLike[str] | None) -> Figure:
    fig, axes = _figure(10.0, 7.0, 2, 1)
    top, bottom = axes[0][0], axes[1][0]
    top.plot(
        wf.equity.index,
        wf.equity.to_numpy(),
        color="#1f77b4",
        lw=1.6,
        label="walk-forward (out of sample)",
    )
    if wf.buy_hold is not None:
        top.plot(
            wf.buy_hold.index, wf.buy_hold.to_numpy(), color="#7f7f7f", lw=1.2, label="buy & hold"
        )
    for fold in wf.folds:
        top.axvspan(
            fold.test_dates[0],
            fold.test_dates[1],
            color="#2ca02c" if fold.number % 2 else "#98df8a",
            alpha=0.12,
        )
        top.axvline(fold.test_dates[0], color="black", lw=0.6, ls=":")
        top.text(
            fold.test_dates[0],
            1.0,
            f" {fold.number}",
            transform=top.get_xaxis_transform(),
            va="top",
            fontsize=8,
            color="#333333",
        )
    date_axis(top)
    dollar_axis(top)
    top.set_ylabel("equity")
    kind = "anchored" if wf.anchored else "rolling"
    top.set_title(
        f"{wf.strategy}: {kind} walk-forward, train {wf.train} / test {wf.test} bars, winner by {wf.metric}",
        fontsize=10,
    )
    top.legend(fontsize=8)
    n = np.arange(len(wf.folds))
    is_vals = [f.is_metric for f in wf.folds]
    oos_vals = [f.oos_metric for f in wf.folds]
    bottom.bar(n - 0.2, is_vals, width=0.4, color="#ff7f0e", label="in sample (train)")
    bottom.bar(n + 0.2, oos_vals, width=0.4, color="#1f77b4", label="out of sample (test)")
    bottom.axhline(0.0, color="black", lw=0.8)
    bottom.set_xticks(n, [fold_label(wf, f) for f in wf.folds], fontsize=8)
    bottom.set_ylabel(wf.metric)
    bottom.yaxis.set_major_formatter(metric_formatter(wf.metric))
    bottom.legend(fontsize=8)
    save_png(fig, path)
    return fig
