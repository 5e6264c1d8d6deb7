"""Figure set-up and saving: the one place every chart (run and sweep) gets its figure from.

* :func:`new_figure` - a :class:`matplotlib.figure.Figure` with constrained layout on an Agg
  canvas, built directly, never through ``pyplot``: no global figure registry, nothing to close,
  and nothing depends on the global backend (backtrader's ``plot`` package forces ``TkAgg``,
  which fails headless). Importing this module selects no backend.
* :func:`png_bytes` / :func:`save_png` - the PNG, rendered by the Agg canvas at :data:`DPI`
  with no creation date or software stamp (the same figure gives the same bytes); ``save_png``
  writes it atomically (:func:`engine.files.atomic_write_bytes`).
* :func:`date_axis` / :func:`dollar_axis` - readable date and dollar axes.

Chart functions take plain result objects, return their ``Figure`` and accept ``path=``.
"""

from __future__ import annotations

import io
import os

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from engine.files import atomic_write_bytes

DPI = 110


def new_figure(width: float, height: float) -> Figure:
    """A ``Figure`` with constrained layout, attached to an Agg canvas (no pyplot involved)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure rendered as PNG by the Agg canvas (whatever the global backend is)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    # no "Software" entry and no creation date: the same figure gives the same bytes
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
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
