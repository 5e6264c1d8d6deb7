"""Labels beside chart markers, never overlapping, placed without drawing the figure.

:func:`place_labels` puts each label at the first free spot of a list of offsets around its
anchor (its preferred side first, near before far, straight above or below before sideways),
with a leader line back to the anchor. Everything is computed in display space from the axes'
final position and limits and the Agg text metrics, so no layout or draw pass is needed (a
``draw_without_rendering`` per chart cost ~0.45 s; this costs milliseconds). A label is left out
only when no offset within ~200 points of its anchor is free, which takes a chart far denser
than any run's (the caller says so on the chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.transforms import Bbox

FONT_SIZE = 7.5
LEADERS_GID = "label-leaders"  # gid of the leader lines' collection
# vertical offsets (points) tried, nearest first, on each side; horizontal shifts in label widths
_DY = tuple(14.0 + 12.0 * k for k in range(17))
_DX = (0.0, -0.6, 0.6, -1.2, 1.2, -2.0, 2.0)
_OTHER_SIDE_COST = 40.0  # points: a free spot on the preferred side wins unless much farther


@dataclass(frozen=True)
class Label:
    """One label: anchor ``(x, y)`` in data coordinates, text, colour, preferred side."""

    x: float
    y: float
    text: str
    color: str
    below: bool


def renderer_of(ax: Axes) -> Any:
    """The figure's Agg renderer (text metrics; cached by the canvas, reused when saving)."""
    return ax.figure.canvas.get_renderer()  # type: ignore[attr-defined,union-attr]


def text_box(ann: Any, renderer: Any) -> Bbox:
    """Display box of an annotation's text alone (``get_window_extent`` adds the leader line)."""
    ann.update_positions(renderer)  # the text position is only resolved at draw time
    return Text.get_window_extent(ann, renderer)


def marker_boxes(ax: Axes, xs: np.ndarray, ys: np.ndarray, radius_pt: float = 7.0) -> list[Bbox]:
    """Display-space boxes (about a marker's size) around points given in data coordinates."""
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    r = radius_pt * ax.figure.dpi / 72  # type: ignore[union-attr]
    return [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in pts]


def _text_size(
    text: str, fig: Any, renderer: Any, heights: dict[int, float]
) -> tuple[float, float]:
    """Width and height in pixels of ``text`` at :data:`FONT_SIZE`: the width from the Agg
    metrics of its widest line, the height as ``Text`` lays out that many lines (measured once
    per line count into ``heights``: it does not depend on the characters)."""
    font = FontProperties(size=FONT_SIZE)
    lines = text.split("\n")
    width = max(renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in lines)
    n = len(lines)
    if n not in heights:
        probe = Text(0, 0, "\n".join(["lp"] * n), fontsize=FONT_SIZE)
        probe.set_figure(fig)
        heights[n] = probe.get_window_extent(renderer).height
    return width, heights[n]


def _offsets(below: bool, width_pt: float) -> list[tuple[float, float]]:
    """Candidate ``(dx, dy)`` offsets in points, best first."""
    cands = []
    for sign in (-1.0, 1.0):
        extra = 0.0 if (sign < 0) == below else _OTHER_SIDE_COST
        for dy in _DY:
            for dx in _DX:
                cost = dy + abs(dx) * width_pt * 0.8 + extra
                cands.append((cost, dx * width_pt, sign * dy))
    cands.sort(key=lambda c: c[0])
    return [(dx, dy) for _c, dx, dy in cands]


def place_labels(ax: Axes, labels: list[Label], obstacles: list[Bbox]) -> int:
    """Annotate ``ax`` with ``labels`` where they overlap nothing (see the module docstring).

    Parameters
    ----------
    ax : the axes; its limits and position must be final (everything else drawn first)
    labels : in placing order (earlier labels get the nearer spots)
    obstacles : display-space boxes to keep clear of (markers, other labels)

    Returns
    -------
    How many labels were left out.
    """
    if not labels:
        return 0
    fig = ax.figure
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled view before using transData
    renderer = renderer_of(ax)
    frame = ax.get_window_extent()
    px = fig.dpi / 72  # type: ignore[union-attr]
    pad = 0.2 * FONT_SIZE * px + 3.0  # the label's bbox padding, its edge and a gap
    taken = np.array([b.extents for b in obstacles], dtype=float).reshape(-1, 4)
    anchors = ax.transData.transform(np.array([[lb.x, lb.y] for lb in labels], dtype=float))
    heights: dict[int, float] = {}
    leaders: list[np.ndarray] = []
    leader_colors: list[str] = []
    skipped = 0
    for lb, (ax_x, ax_y) in zip(labels, anchors, strict=True):
        w, h = _text_size(lb.text, fig, renderer, heights)
        offs = np.array(_offsets(lb.below, w / px))
        cx = ax_x + offs[:, 0] * px
        dy = offs[:, 1] * px
        y0 = np.where(dy < 0, ax_y + dy - h, ax_y + dy)
        boxes = np.column_stack([cx - w / 2 - pad, y0 - pad, cx + w / 2 + pad, y0 + h + pad])
        ok = (
            (boxes[:, 0] >= frame.x0)
            & (boxes[:, 2] <= frame.x1)
            & (boxes[:, 1] >= frame.y0)
            & (boxes[:, 3] <= frame.y1)
        )
        if len(taken):
            hit = (
                (boxes[:, None, 0] < taken[None, :, 2])
                & (boxes[:, None, 2] > taken[None, :, 0])
                & (boxes[:, None, 1] < taken[None, :, 3])
                & (boxes[:, None, 3] > taken[None, :, 1])
            ).any(axis=1)
            ok &= ~hit
        free = np.flatnonzero(ok)
        if len(free) == 0:
            skipped += 1
            continue
        best = int(free[0])
        dx_pt, dy_pt = offs[best]
        ax.annotate(
            lb.text,
            xy=(lb.x, lb.y),
            xytext=(dx_pt, dy_pt),
            textcoords="offset points",
            ha="center",
            va="top" if dy_pt < 0 else "bottom",
            fontsize=FONT_SIZE,
            color=lb.color,
            zorder=7,
            bbox={
                "boxstyle": "round,pad=0.2",
                "fc": "white",
                "ec": lb.color,
                "lw": 0.6,
                "alpha": 0.9,
            },
            annotation_clip=False,
        ).set_in_layout(False)
        taken = np.vstack([taken, boxes[best]])
        leaders.append(_leader((ax_x, ax_y), boxes[best], pad - 2.0, 4.0 * px))
        leader_colors.append(lb.color)
    if leaders:
        # the leader lines as one artist, in data coordinates (an annotation's own arrow costs
        # ~10 ms to clip against its box at draw time)
        inv = ax.transData.inverted()
        segments = [inv.transform(seg) for seg in leaders]
        ax.add_collection(
            LineCollection(segments, colors=leader_colors, lw=0.6, zorder=6.5, gid=LEADERS_GID),
            autolim=False,
        )
    return skipped


def _leader(anchor: tuple[float, float], box: np.ndarray, inset: float, gap: float) -> np.ndarray:
    """The segment from ``gap`` pixels off the anchor to the nearest point of the label's box
    (``box`` minus ``inset``: the drawn frame), in display coordinates."""
    x0, y0, x1, y1 = box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset
    end = np.array([min(max(anchor[0], x0), x1), min(max(anchor[1], y0), y1)])
    start = np.asarray(anchor, dtype=float)
    length = float(np.hypot(*(end - start)))
    if length > gap:
        start = start + (end - start) * gap / length
    return np.array([start, end])
