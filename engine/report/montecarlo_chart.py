"""The Monte Carlo fan chart: the run's equity curve over the bands of its resampled paths.

A chart module (it draws with matplotlib, through :func:`engine.report.figures.new_figure`);
``path=`` saves the PNG atomically. The results page draws the same fan with plotly
(:func:`engine.report.interactive.fan_figure`).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from engine.report.figures import date_axis, new_figure, save_png

FAN_COLOR = "#1f77b4"
RUN_COLOR = "#d62728"
TITLES = {"block": "block bootstrap of daily returns", "execution": "execution noise (replays)"}


def plot_fan(
    equity: pd.Series,
    results: dict[str, Any],
    *,
    title: str = "",
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """One panel per method with a fan (``block``, ``execution``): 5-95 % and 25-75 % bands,
    the median path, and the run's own equity on top."""
    fans = {m: r for m, r in results.items() if getattr(r, "fan", None) is not None}
    fig = new_figure(10, 3.2 * max(len(fans), 1))
    axes = fig.subplots(max(len(fans), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (method, res) in zip(axes, fans.items(), strict=False):
        fan = res.fan
        ax.fill_between(
            fan.index, fan["p5"], fan["p95"], color=FAN_COLOR, alpha=0.15, lw=0, label="5-95%"
        )
        ax.fill_between(
            fan.index, fan["p25"], fan["p75"], color=FAN_COLOR, alpha=0.3, lw=0, label="25-75%"
        )
        ax.plot(fan.index, fan["p50"], color=FAN_COLOR, lw=1.0, ls="--", label="median path")
        ax.plot(equity.index, equity.to_numpy(), color=RUN_COLOR, lw=1.4, label="the run")
        ax.set_title(
            f"{TITLES.get(method, method)}: {res.n_paths:,} paths", fontsize=10, loc="left"
        )
        ax.set_ylabel("equity ($)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, ncol=4)
        date_axis(ax)
    if title:
        fig.suptitle(title, fontsize=11)
    save_png(fig, path)
    return fig
