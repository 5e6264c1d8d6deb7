"""Figure set-up and saving: the one place every chart (run and sweep) gets its figure from.

* :func:`new_figure` - a :class:`matplotlib.figure.Figure` on an Agg canvas, built directly,
  never through ``pyplot``: no global figure registry, nothing to close, and nothing depends on
  the global backend (backtrader's ``plot`` package forces ``TkAgg``, which fails headless).
  Importing this module selects no backend. With ``margins`` the layout is fixed (margins in
  inches, set once): the run's charts use it, since constrained layout re-measures every text
  at each draw (it was a third of the charts' time, see ``benchmarks/README.md``); without, the
  layout is constrained (the sweep's charts).
* :func:`bar_collection` - bars as one ``PolyCollection`` (one artist instead of one
  ``Rectangle`` patch per bar: the same picture, drawn and added in a fraction of the time).
* :func:`png_bytes` / :func:`save_png` - the PNG, rendered by the Agg canvas at :data:`DPI`
  with no creation date or software stamp (the same figure gives the same bytes), compressed
  at zlib level :data:`PNG_COMPRESS_LEVEL` (fast); ``save_png``
  writes it atomically (:func:`engine.files.atomic_write_bytes`).
* :func:`date_axis` / :func:`dollar_axis` - readable date and dollar axes.

Chart functions take plain result objects, return their ``Figure`` and accept ``path=``.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import StrMethodFormatter

from engine.files import atomic_write_bytes

DPI = 110
PNG_COMPRESS_LEVEL = 1


def new_figure(
    width: float,
    height: float,
    *,
    margins: tuple[float, float, float, float] | None = None,
    hspace: float | None = None,
    wspace: float | None = None,
) -> Figure:
    """A ``Figure`` attached to an Agg canvas (no pyplot involved).

    Parameters
    ----------
    width, height : size in inches
    margins : ``(left, right, top, bottom)`` in inches: a fixed layout (the axes created next
        fill the rest); None for constrained layout
    hspace, wspace : space between subplot rows / columns, as a fraction of the average axes
        height / width (fixed layout only)
    """
    if margins is None:
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    else:
        left, right, top, bottom = margins
        fig = Figure(figsize=(width, height), dpi=DPI)
        fig.subplots_adjust(
            left=left / width,
            right=1 - right / width,
            top=1 - top / height,
            bottom=bottom / height,
            hspace=hspace,
            wspace=wspace,
        )
    FigureCanvasAgg(fig)
    return fig


def bar_collection(
    ax: Axes,
    x: np.ndarray,
    heights: np.ndarray,
    *,
    width: float,
    colors: Any,
    alpha: float = 1.0,
    label: str = "_nolegend_",
    horizontal: bool = False,
    bottom: np.ndarray | None = None,
    **kwargs: Any,
) -> PolyCollection:
    """Bars from ``bottom`` (default 0) to ``heights`` centred on ``x`` (floats, e.g.
    ``date2num``) as one collection, with ``ax.bar``'s autoscaling (from 0 the zero line sticks:
    no margin below it); ``horizontal``: ``ax.barh``'s bars (``x`` on the y axis, lengths along
    x). Other keywords go to the ``PolyCollection`` (default: no edges)."""
    x = np.asarray(x, dtype=float)
    h = np.nan_to_num(np.asarray(heights, dtype=float))
    base = np.zeros_like(h) if bottom is None else np.asarray(bottom, dtype=float)
    left, right = x - width / 2, x + width / 2
    verts = np.stack(
        [np.column_stack(p) for p in ((left, base), (left, h), (right, h), (right, base))],
        axis=1,
    )
    if horizontal:
        verts = verts[..., ::-1]
    style = {"edgecolors": "none", "linewidths": 0, **kwargs}
    coll = PolyCollection(list(verts), facecolors=colors, alpha=alpha, label=label, **style)
    if bottom is None:
        (coll.sticky_edges.x if horizontal else coll.sticky_edges.y).append(0.0)
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


def png_bytes(fig: Figure) -> bytes:
    """The figure rendered as PNG by the Agg canvas (whatever the global backend is)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    # no "Software" entry and no creation date: the same figure gives the same bytes; zlib
    # level 1: encoding ~4x faster than the default 6 (~25 ms less per chart) for ~9% more bytes
    fig.savefig(
        buf,
        format="png",
        dpi=DPI,
        metadata={"Software": None},
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike[str] | None) -> None:
    """Write ``fig`` as PNG to ``path`` atomically (temp file, then rename); no-op if None."""
    if path is not None:
        atomic_write_bytes(path, png_bytes(fig))


def date_axis(ax: Axes) -> None:
    """Readable dates: automatic tick spacing, concise labels (year shown once)."""
    locator = AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def dollar_axis(ax: Axes, decimals: int = 0) -> None:
    """Format the y axis as dollars with thousands separators."""
    ax.yaxis.set_major_formatter(StrMethodFormatter(f"${{x:,.{decimals}f}}"))


def _renderer(fig: Figure) -> Any:
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def tick_label_width(ax: Axes) -> float:
    """Width in inches of the widest y tick label ``ax`` will draw (its current view and
    formatter), measured with the Agg text metrics: no draw, no layout pass."""
    axis = ax.yaxis
    params = axis.get_tick_params()
    if not params.get("labelleft", True):
        return 0.0
    lo, hi = sorted(ax.get_ylim())
    locs = [v for v in axis.get_major_locator()() if lo <= v <= hi]
    labels = axis.get_major_formatter().format_ticks(locs) if locs else []
    renderer = _renderer(ax.figure)  # type: ignore[arg-type]
    font = FontProperties(size=params.get("labelsize", rcParams["ytick.labelsize"]))
    widths = [renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in labels]
    return max(widths, default=0.0) / ax.figure.dpi  # type: ignore[union-attr]


def fit_margins(
    fig: Figure,
    left_axes: list[Axes] | None = None,
    right_artists: list[Any] | None = None,
    *,
    left_extra: float = 0.45,
    right_extra: float = 0.15,
) -> None:
    """Set the fixed layout's left margin from the widest y tick labels of ``left_axes`` (plus
    ``left_extra`` inches for the tick marks and the axis label) and the right margin from the
    widest of ``right_artists`` (legends placed right of the axes), in one step, without a
    layout pass. The y labels of ``left_axes`` are then pinned beside their widest tick label,
    in line: matplotlib would otherwise measure every tick label of every axis sharing the
    axis at each draw to place them (~5% of a chart's time)."""
    width = fig.get_figwidth()
    kw: dict[str, float] = {}
    widths = [tick_label_width(a) for a in left_axes or []]
    if widths:
        kw["left"] = (max(widths) + left_extra) / width
    if right_artists:
        renderer = _renderer(fig)
        widest = max(a.get_window_extent(renderer).width for a in right_artists) / fig.dpi
        kw["right"] = 1 - (widest + right_extra) / width
    if kw:
        fig.subplots_adjust(**kw)
    # tick length + pad (3.5 + 3.5 points) + a gap: right of the label text, left of the numbers
    gap = max(widths, default=0.0) + 9 / 72
    for ax in left_axes or []:
        ax.yaxis.set_label_coords(-gap / (ax.get_position().width * width), 0.5)
