"""Charts: indicator helpers, the four figures, PNG output, and no pyplot / backend side effects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import plots
from engine.plots_price import active_window, fill_style, level_segments, volume_profile
from engine.result import FILL_COLUMNS, TRADE_COLUMNS, Costs, RunResult

REPO = Path(__file__).resolve().parents[1]
SWING_LEVELS = {
    "ladder": [94.0, 90.0, 86.0],
    "stop": 79.99,
    "targets": [130.0, 150.0],
    "active_from": "2025-08-25",
    "active_to": None,
}

# ----------------------------------------------------------------------------------------------
# hand-made inputs (also used by tests/test_report.py)
# ----------------------------------------------------------------------------------------------


def make_prices(n: int = 120, seed: int = 7, start: str = "2025-06-02") -> pd.DataFrame:
    """A seeded random-walk OHLCV frame around $100 on business days."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    open_ = close * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.03, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.03, n))
    volume = rng.integers(1_000_000, 5_000_000, n).astype(float)
    index = pd.bdate_range(start, periods=n, name="date")
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "adj_close": close},
        index=index,
    )
    frame["volume"] = volume
    # 4 decimals like real quotes: prices.csv stores 6, so a rebuilt report redraws the same values
    return frame.round(4)


def make_run(
    name: str,
    prices: pd.DataFrame,
    rows: Sequence[tuple[str, str, float, float, str]],
    *,
    levels: dict | None = None,
    cash: float = 10_000.0,
    notes: Sequence[str] = (),
) -> RunResult:
    """A RunResult from ``(date, side, size, price, reason)`` fills on ``prices``.

    Equity is cash after every fill (commissions by the default :class:`Costs`) plus the shares
    held times the close; trades are one round trip per flat-to-flat stretch.
    """
    costs = Costs()
    fills = pd.DataFrame(rows, columns=["date", "side", "size", "price", "reason"])
    fills["date"] = pd.to_datetime(fills["date"])
    fills["size"] = fills["size"].astype(float)
    fills["value"] = fills["size"] * fills["price"]
    fills["commission"] = [
        costs.commission(s, p) for s, p in zip(fills["size"], fills["price"], strict=True)
    ]
    fills["order_type"] = np.where(fills["reason"].str.contains("signal"), "market", "limit")
    fills["resized_from"] = np.nan
    fills = fills[FILL_COLUMNS]
    sign = np.where(fills["side"] == "buy", 1.0, -1.0)

    def by_day(values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=fills["date"]).groupby(level=0).sum()

    position = by_day(sign * fills["size"].to_numpy()).reindex(prices.index, fill_value=0.0)
    flows = by_day(-sign * fills["value"].to_numpy() - fills["commission"].to_numpy())
    equity = cash + flows.reindex(prices.index, fill_value=0.0).cumsum()
    position = position.cumsum()
    equity = (equity + position * prices["close"]).rename("equity")
    return RunResult(
        strategy=name,
        params={"ladder": (94.0, 90.0, 86.0), "active_from": "2025-08-25", "rearm": False},
        ticker="TEST",
        equity=equity,
        position=position.rename("position"),
        trades=make_trades(fills, prices),
        fills=fills,
        fingerprint={
            "ticker": "TEST",
            "first": f"{prices.index[0]:%Y-%m-%d}",
            "last": f"{prices.index[-1]:%Y-%m-%d}",
            "rows": len(prices),
            "sha256": "0" * 64,
        },
        settings={"cash": cash, "costs": costs.describe(), "fractional": False},
        levels=dict(levels or {}),
        notes=tuple(notes),
    )


def make_trades(fills: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Round trips by the project's own builder (a plain frame with TRADE_COLUMNS)."""
    from engine.trades import build_trades

    if len(fills) == 0:
        return pd.DataFrame(columns=TRADE_COLUMNS)
    return build_trades(fills, prices)


def demo_runs(prices: pd.DataFrame) -> list[RunResult]:
    """A swing-like run with levels, a signal run with several trades, and buy-and-hold."""
    d = [f"{t:%Y-%m-%d}" for t in prices.index]
    swing = make_run(
        "swing",
        prices,
        [
            (d[40], "buy", 30, 94.0, "entry"),
            (d[40], "buy", 30, 90.0, "tranche 1"),
            (d[70], "sell", 30, 130.0, "target 1"),
            (d[90], "sell", 30, 78.0, "stop"),
        ],
        levels={**SWING_LEVELS, "active_from": d[38], "active_to": d[90]},
    )
    signal = make_run(
        "ma_trend",
        prices,
        [
            (d[10], "buy", 20, float(prices["open"].iloc[10]), "signal"),
            (d[25], "sell", 20, float(prices["open"].iloc[25]), "signal"),
            (d[60], "buy", 20, float(prices["open"].iloc[60]), "signal"),
        ],
        notes=["1 order resized: a gap-up made it unaffordable"],
    )
    bh = make_run("buy_hold", prices, [(d[1], "buy", 95, float(prices["open"].iloc[1]), "entry")])
    return [swing, signal, bh]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return make_prices()


@pytest.fixture(scope="module")
def runs(prices: pd.DataFrame) -> list[RunResult]:
    return demo_runs(prices)


# ----------------------------------------------------------------------------------------------
# the helpers above
# ----------------------------------------------------------------------------------------------


def test_make_prices_is_valid_and_seeded() -> None:
    a, b = make_prices(seed=3), make_prices(seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["high"] >= a[["open", "close"]].max(axis=1)).all()
    assert (a["low"] <= a[["open", "close"]].min(axis=1)).all()
    assert list(a.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert a.index.name == "date" and a.index.is_monotonic_increasing


def test_make_run_books_cash_and_shares(prices: pd.DataFrame) -> None:
    d = prices.index
    run = make_run(
        "x",
        prices,
        [
            (f"{d[2]:%Y-%m-%d}", "buy", 10, 100.0, "entry"),
            (f"{d[5]:%Y-%m-%d}", "sell", 10, 110.0, "target 1"),
        ],
    )
    assert run.position.iloc[:2].eq(0).all() and run.position.iloc[2:5].eq(10).all()
    assert run.position.iloc[5:].eq(0).all()
    assert run.equity.iloc[1] == 10_000.0
    assert run.equity.iloc[3] == pytest.approx(10_000 - 1000 - 1 + 10 * prices["close"].iloc[3])
    assert run.final_equity == pytest.approx(10_000 + 100 - 2) == pytest.approx(run.cash_end)
    assert len(run.trades) == 1 and run.trades["pnl"].iloc[0] == pytest.approx(98.0)


# ----------------------------------------------------------------------------------------------
# indicators
# ----------------------------------------------------------------------------------------------


def test_sma_and_ema_by_hand() -> None:
    s = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    assert plots.sma(s, 3).tolist()[2:] == [2.0, 3.0, 4.0]
    assert plots.sma(s, 3).isna().sum() == 2
    # span 3: alpha = 0.5, seeded (as backtrader) with the SMA of the first 3 values = 2
    assert plots.ema(s, 3).tolist()[2:] == [2.0, 3.0, 4.0]


def test_macd_warmup_and_histogram() -> None:
    close = make_prices(80)["close"]
    m = plots.macd(close)
    assert m["macd"].isna().sum() == 25 and m["signal"].isna().sum() == 33
    line = plots.ema(close, 12) - plots.ema(close, 26)
    assert m["macd"].iloc[-1] == pytest.approx(line.iloc[-1])
    assert m["hist"].iloc[-1] == pytest.approx(m["macd"].iloc[-1] - m["signal"].iloc[-1])


def test_rsi_wilder_by_hand() -> None:
    close = pd.Series([10.0, 11.0, 10.5, 11.5, 11.0, 12.0])
    n = 3
    got = plots.rsi(close, n)
    assert got.iloc[:n].isna().all()
    diffs = close.diff().iloc[1:].tolist()  # +1, -0.5, +1, -0.5, +1
    # Wilder, seeded with the mean of the first n moves, then avg = avg + (x - avg) / n
    gain = sum(max(d, 0.0) for d in diffs[:n]) / n
    loss = sum(max(-d, 0.0) for d in diffs[:n]) / n
    for d in diffs[n:]:
        gain += (max(d, 0.0) - gain) / n
        loss += (max(-d, 0.0) - loss) / n
    assert got.iloc[-1] == pytest.approx(100 - 100 / (1 + gain / loss))
    assert plots.rsi(pd.Series(np.arange(30.0)), 14).iloc[-1] == 100.0
    assert plots.rsi(pd.Series([5.0] * 30), 14).iloc[-1] == 50.0


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
    fig = plots.equity_figure(swing, bh, path=out)
    assert isinstance(fig, Figure)
    top, dd = fig.axes
    assert len(top.get_lines()) == 3  # strategy, benchmark, starting-cash line
    assert top.get_shared_x_axes().joined(top, dd)
    assert min(dd.get_lines()[-1].get_ydata()) <= 0
    assert "swing" in fig.get_suptitle() and "TEST" in fig.get_suptitle()
    assert _is_png(out) and sorted(p.name for p in tmp_path.iterdir()) == ["equity.png"]
    assert len(plots.equity_figure(swing, None).axes[0].get_lines()) == 2


def test_price_figure(tmp_path: Path, prices: pd.DataFrame, runs: list[RunResult]) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.dates import date2num

    swing = runs[0]
    fig = plots.price_figure(swing, prices, path=tmp_path / "price.png")
    ax, vol_ax, prof_ax = fig.axes
    assert ax.get_shared_x_axes().joined(ax, vol_ax)
    assert ax.get_shared_y_axes().joined(ax, prof_ax)
    assert len(prof_ax.patches) == 40 and len(vol_ax.patches) == len(prices)
    segments = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(segments) == 6  # 3 ladder, 1 stop, 2 targets
    x0, x1 = date2num(prices.index[38]), date2num(prices.index[90])
    for seg in segments:
        (a, _), (b, _) = seg.get_segments()[0]
        assert (a, b) == pytest.approx((x0, x1))
    texts = [t.get_text() for t in ax.texts]
    for label in ("entry $94.00\ntranche 1 $90.00", "target 1 $130.00", "stop $78.00"):
        assert label in texts
    assert _is_png(tmp_path / "price.png")


def test_price_labels_never_overlap(prices: pd.DataFrame) -> None:
    from matplotlib.text import Text

    d = [f"{t:%Y-%m-%d}" for t in prices.index]
    rows = [
        (d[i], "buy" if k % 2 == 0 else "sell", 10, float(prices["close"].iloc[i]), "signal")
        for k, i in enumerate(range(5, 115, 3))
    ]
    busy = make_run("busy", prices, rows)
    fig = plots.price_figure(busy, prices)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    labels = [t for t in ax.texts if "signal" in t.get_text()]
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    assert 0 < len(labels) <= len(rows)
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])
    left_out = [t.get_text() for t in ax.texts if "left out" in t.get_text()]
    assert bool(left_out) == (len(labels) < len(rows))


def test_indicator_figure(prices: pd.DataFrame, runs: list[RunResult]) -> None:
    fig = plots.indicator_figure(runs[0], prices)
    price_ax, macd_ax, rsi_ax = fig.axes
    assert {ln.get_label() for ln in price_ax.get_lines()} >= {"close", "SMA 20", "SMA 60"}
    assert {ln.get_label() for ln in macd_ax.get_lines()} >= {"MACD (12, 26)", "signal (9)"}
    assert len(macd_ax.patches) == len(prices)
    assert rsi_ax.get_ylim() == (0.0, 100.0)
    guides = sorted(ln.get_ydata()[0] for ln in rsi_ax.get_lines()[:3])
    assert guides == [30, 50, 70]


def test_comparison_figure(tmp_path: Path, runs: list[RunResult]) -> None:
    fig = plots.comparison_figure(runs, path=tmp_path / "c.png")
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
        plots.equity_figure(runs[0], None, path=tmp_path / "e.png")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# no pyplot, no backend switch, headless
# ----------------------------------------------------------------------------------------------

_SCRIPT = """
import sys
{pre}
sys.path.insert(0, {tests!r})
from test_plots import make_prices, demo_runs
from engine import plots
p = make_prices()
runs = demo_runs(p)
out = {out!r}
plots.equity_figure(runs[0], runs[2], path=out + "/e.png")
plots.price_figure(runs[0], p, path=out + "/p.png")
plots.indicator_figure(runs[0], p, path=out + "/i.png")
plots.comparison_figure(runs, path=out + "/c.png")
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
    code = textwrap.dedent(_SCRIPT).format(pre=pre, tests=str(REPO / "tests"), out=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("e.png", "p.png", "i.png", "c.png"):
        assert _is_png(tmp_path / name)
    return proc.stdout


def test_importing_plots_has_no_side_effects() -> None:
    code = "import sys, engine.plots, engine.plots_price, engine.report; print('matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


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
    fig = plots.price_figure(run, crwv, path=tmp_path / "crwv.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"entry $94.00", "tranche 1 $90.00", "target 1 $130.00"} <= set(texts)
    assert not any("left out" in t for t in texts)
    assert "volume profile\nmost traded" in fig.axes[2].get_title()
    assert _is_png(tmp_path / "crwv.png")
