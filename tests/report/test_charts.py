"""Run charts: the four figures, their pieces, PNG output, and no pyplot or backend side effects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
import pytest

from engine.report import charts, price_chart
from engine.report.price_chart import active_window, fill_style, level_segments, volume_profile
from engine.result import RunResult
from engine.testing.runs import SWING_LEVELS, make_run

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------------------
# price chart pieces
# ----------------------------------------------------------------------------------------------


def test_volume_profile_spreads_each_bar_over_its_range() -> None:
    frame = pd.DataFrame(
        {"low": [0.0, 5.0, 2.0], "high": [10.0, 5.0, 4.0], "volume": [100.0, 30.0, 40.0]}
    )
    edges, vol = volume_profile(frame, bins=5)  # bins of width 2 over 0..10
    assert edges.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert vol.sum() == pytest.approx(170.0)
    # bar 1: 20 per bin; bar 2 (flat at 5): all in bin [4, 6); bar 3: all in bin [2, 4)
    assert vol.tolist() == pytest.approx([20.0, 60.0, 50.0, 20.0, 20.0])


def test_levels_only_inside_their_window(prices: pd.DataFrame) -> None:
    idx = prices.index
    levels = {**SWING_LEVELS, "active_from": f"{idx[10]:%Y-%m-%d}", "active_to": None}
    assert active_window(levels, idx) == (idx[10], idx[-1])
    levels["active_to"] = f"{idx[20]:%Y-%m-%d}"
    assert active_window(levels, idx) == (idx[10], idx[20])
    assert active_window({"active_from": "2030-01-01"}, idx) is None
    segs = level_segments(levels)
    assert [s[1] for s in segs] == [94.0, 90.0, 86.0, 79.99, 130.0, 150.0]
    assert segs[3][2] == "stop $79.99" and segs[4][2] == "target 1 $130.00"


def test_fill_styles_tell_stop_from_target() -> None:
    buy, stop, target = (
        fill_style("buy", "entry"),
        fill_style("sell", "stop"),
        fill_style("sell", "target 1"),
    )
    assert buy.marker == "^" and stop.marker == target.marker == "v"
    assert len({buy.color, stop.color, target.color}) == 3
    assert fill_style("sell", "signal") == target


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_equity_figure(tmp_path: Path, runs: list[RunResult]) -> None:
    from matplotlib.figure import Figure

    swing, _signal, bh = runs
    out = tmp_path / "equity.png"
    fig = charts.equity_figure(swing, bh, path=out)
    assert isinstance(fig, Figure)
    top, dd = fig.axes
    assert len(top.get_lines()) == 3  # strategy, benchmark, starting-cash line
    assert top.get_shared_x_axes().joined(top, dd)
    assert min(dd.get_lines()[-1].get_ydata()) <= 0
    assert "swing" in fig.get_suptitle() and "TEST" in fig.get_suptitle()
    assert _is_png(out) and sorted(p.name for p in tmp_path.iterdir()) == ["equity.png"]
    assert len(charts.equity_figure(swing, None).axes[0].get_lines()) == 2


def test_price_figure(tmp_path: Path, prices: pd.DataFrame, runs: list[RunResult]) -> None:
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.dates import date2num

    from engine.report.labels import LEADERS_GID

    swing = runs[0]
    fig = price_chart.price_figure(swing, prices, path=tmp_path / "price.png")
    ax, vol_ax, prof_ax = fig.axes  # the plan covers 44% of the sessions: no zoomed panel
    assert ax.get_shared_x_axes().joined(ax, vol_ax)
    assert ax.get_shared_y_axes().joined(ax, prof_ax)
    # the bars are one collection each: 40 price bins, one bar per session
    (profile,) = [c for c in prof_ax.collections if isinstance(c, PolyCollection)]
    (volume,) = [c for c in vol_ax.collections if isinstance(c, PolyCollection)]
    assert len(profile.get_paths()) == 40 and len(volume.get_paths()) == len(prices)
    segments = [
        c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() != LEADERS_GID
    ]
    assert len(segments) == 6  # 3 ladder, 1 stop, 2 targets
    x0, x1 = date2num(prices.index[38]), date2num(prices.index[90])
    for seg in segments:
        (a, _), (b, _) = seg.get_segments()[0]
        assert (a, b) == pytest.approx((x0, x1))
    texts = [t.get_text() for t in ax.texts]
    # fills exactly at a level are named once, on the level's label; the stop filled below its
    # level (a gap) keeps its own label
    d40, d70 = prices.index[40], prices.index[70]
    assert f"buy 1 $94.00, filled {d40:%b} {d40.day}" in texts
    assert f"buy 2 $90.00, filled {d40:%b} {d40.day}" in texts
    assert f"target 1 $130.00, filled {d70:%b} {d70.day}" in texts
    assert "stop $78.00" in texts and "stop $79.99" in texts
    assert not any(t.startswith(("entry", "tranche", "target 1 $130.00\n")) for t in texts)
    assert sum("$130.00" in t for t in texts) == 1  # the target is not labelled twice
    assert _is_png(tmp_path / "price.png")


def test_price_labels_never_overlap(prices: pd.DataFrame) -> None:
    from matplotlib.text import Text

    d = [f"{t:%Y-%m-%d}" for t in prices.index]
    rows = [
        (d[i], "buy" if k % 2 == 0 else "sell", 10, float(prices["close"].iloc[i]), "signal")
        for k, i in enumerate(range(5, 115, 3))
    ]
    busy = make_run("busy", prices, rows)
    fig = price_chart.price_figure(busy, prices)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    labels = [t for t in ax.texts if t.get_text().startswith("$")]
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    frame = ax.get_window_extent(renderer)
    # one label per fill (every reason is "signal": the legend says it, the labels give prices)
    assert len(labels) == len(rows)
    assert {t.get_label() for t in ax.collections if t.get_label().endswith("(signal)")} == {
        "buy fill (signal)",
        "sell fill (signal)",
    }
    for i, a in enumerate(boxes):
        assert frame.contains(a.x0, a.y0) and frame.contains(a.x1, a.y1)
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])
    assert not [t.get_text() for t in ax.texts if "left out" in t.get_text()]


def test_crowded_labels_are_left_out_and_counted(prices: pd.DataFrame) -> None:
    # a long label on every session: no room for all of them; the chart says how many are out
    # (a fill on every one of 60 sessions with short labels still gets every label placed)
    d = [f"{t:%Y-%m-%d}" for t in prices.index]
    rows = [
        (day, "buy" if k % 2 == 0 else "sell", 10, float(prices["close"].iloc[k]), f"r{k} " * 8)
        for k, day in enumerate(d)
    ]
    fig = price_chart.price_figure(make_run("dense", prices, rows), prices)
    ax = fig.axes[0]
    placed = [t for t in ax.texts if t.get_text().startswith("r")]
    (note,) = [t.get_text() for t in ax.texts if "left out" in t.get_text()]
    assert note.startswith(f"{len(rows) - len(placed)} fill labels left out")
    assert 0 < len(placed) < len(rows)


def test_indicator_figure(prices: pd.DataFrame, runs: list[RunResult]) -> None:
    fig = charts.indicator_figure(runs[0], prices)
    price_ax, macd_ax, rsi_ax = fig.axes
    assert {ln.get_label() for ln in price_ax.get_lines()} >= {"close", "SMA 20", "SMA 60"}
    assert {ln.get_label() for ln in macd_ax.get_lines()} >= {"MACD (12, 26)", "signal (9)"}
    (hist,) = [c for c in macd_ax.collections if c.get_label() == "histogram"]
    assert len(hist.get_paths()) == len(prices)  # one bar per session, in one collection
    assert rsi_ax.get_ylim() == (0.0, 100.0)
    guides = sorted(ln.get_ydata()[0] for ln in rsi_ax.get_lines()[:3])
    assert guides == [30, 50, 70]


def test_comparison_figure(tmp_path: Path, runs: list[RunResult]) -> None:
    fig = charts.comparison_figure(runs, path=tmp_path / "c.png")
    (ax,) = fig.axes
    curves = [ln for ln in ax.get_lines() if len(ln.get_ydata()) > 2]
    assert len(curves) == 3
    assert all(ln.get_ydata()[0] == pytest.approx(1.0) for ln in curves)
    assert {ln.get_label().split(" ")[0] for ln in curves} == {"swing", "ma_trend", "buy_hold"}
    assert _is_png(tmp_path / "c.png")


def test_save_leaves_no_temp_file_on_failure(
    tmp_path: Path, runs: list[RunResult], monkeypatch
) -> None:
    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", boom)
    with pytest.raises(RuntimeError):
        charts.equity_figure(runs[0], None, path=tmp_path / "e.png")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# no pyplot, no backend switch, headless
# ----------------------------------------------------------------------------------------------

_SCRIPT = """
import sys
{pre}
from engine.report import charts, price_chart
from engine.testing.prices import chart_prices
from engine.testing.runs import demo_runs
p = chart_prices()
runs = demo_runs(p)
out = {out!r}
charts.equity_figure(runs[0], runs[2], path=out + "/e.png")
price_chart.price_figure(runs[0], p, path=out + "/p.png")
charts.indicator_figure(runs[0], p, path=out + "/i.png")
charts.comparison_figure(runs, path=out + "/c.png")
if "matplotlib.pyplot" in sys.modules:
    print("figures", len(sys.modules["matplotlib.pyplot"].get_fignums()))
else:
    print("no pyplot")
import matplotlib  # get_backend() may itself import pyplot: ask last
print("backend", matplotlib.get_backend())
"""


def _run_headless(tmp_path: Path, pre: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    code = textwrap.dedent(_SCRIPT).format(pre=pre, out=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("e.png", "p.png", "i.png", "c.png"):
        assert _is_png(tmp_path / name)
    return proc.stdout


def test_importing_the_report_stage_has_no_side_effects() -> None:
    # the run folder writer loads no matplotlib (the charts load it when drawn); the chart
    # modules load it but select no backend and never import pyplot
    code = (
        "import sys, engine.report.run_folder, engine.report.display, engine.report.html_page\n"
        "print('matplotlib' in sys.modules)\n"
        "import engine.report.charts, engine.report.price_chart, engine.sweep.charts\n"
        "import matplotlib\n"
        "print('matplotlib.pyplot' in sys.modules, matplotlib.rcParams._get_backend_or_none())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "None"]


def test_figures_never_touch_pyplot(tmp_path: Path) -> None:
    assert "no pyplot" in _run_headless(tmp_path, pre="")


def test_figures_work_after_backtrader_forced_tkagg(tmp_path: Path) -> None:
    # backtrader.plot selects TkAgg; a user script may then have pyplot loaded as well
    out = _run_headless(tmp_path, pre="import backtrader.plot\nimport matplotlib.pyplot")
    assert "figures 0" in out  # nothing was registered with pyplot ...
    assert "backend tkagg" in out.lower()  # ... and backtrader's backend choice is left alone


# ----------------------------------------------------------------------------------------------
# real history
# ----------------------------------------------------------------------------------------------


def test_price_figure_on_crwv_history(crwv: pd.DataFrame, tmp_path: Path) -> None:
    run = make_run(
        "swing",
        crwv,
        [
            ("2025-08-25", "buy", 35, 94.0, "entry"),
            ("2025-09-02", "buy", 35, 90.0, "tranche 1"),
            ("2025-09-23", "sell", 70, 130.0, "target 1"),
        ],
        levels={**SWING_LEVELS, "active_to": "2025-09-23"},
    )
    fig = price_chart.price_figure(run, crwv, path=tmp_path / "crwv.png")
    ax, _vol, prof, zoom = fig.axes  # the plan's month of the history gets a zoomed panel
    assert "volume profile\nmost traded" in prof.get_title()
    lo, hi = (mdates.num2date(x).date().isoformat() for x in zoom.get_xlim())
    assert lo <= "2025-08-04" and hi >= "2025-10-14"  # the window, 15 sessions each side
    assert mdates.num2date(zoom.get_xlim()[1]).date().isoformat() < "2026-01-01"
    # the full chart shades the window; the zoomed panel names every fill, on its level's label
    assert any(p.get_label() == "zoomed below" for p in ax.patches)
    texts = [t.get_text() for t in zoom.texts]
    assert {
        "buy 1 $94.00, filled Aug 25",
        "buy 2 $90.00, filled Sep 2",
        "target 1 $130.00, filled Sep 23",
    } <= set(texts)
    assert not any("left out" in t for t in [*texts, *(t.get_text() for t in ax.texts)])
    assert not any("$94.00" in t.get_text() for t in ax.texts)  # not again in the full chart
    assert _is_png(tmp_path / "crwv.png")
