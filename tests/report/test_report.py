"""Report: titles and formats, the terminal table, the run folder, the HTML page, rebuilds."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS, compute_metrics
from engine.errors import UserError
from engine.folders import MANIFEST
from engine.report import display, interactive, run_folder
from engine.result import FILL_COLUMNS, TRADE_COLUMNS, RunResult

DATA_FILES = ["metrics.json", "metrics.csv", "trades.csv", "fills.csv", "equity.csv", "prices.csv"]


def score(runs: list[RunResult], bench: RunResult | None = None) -> dict[str, pd.Series]:
    """Metrics of every run against buy-and-hold (the last run unless given)."""
    bh = bench if bench is not None else runs[-1]
    return {
        r.strategy: compute_metrics(r.equity, r.trades, position=r.position, buy_hold=bh.equity)
        for r in runs
    }


@pytest.fixture(scope="module")
def metrics(runs: list[RunResult]) -> dict[str, pd.Series]:
    return score(runs)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, runs, metrics, prices) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    run_folder.write_run(out, runs, metrics, prices)
    return out


def pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png"))


# ----------------------------------------------------------------------------------------------
# titles, formats, table
# ----------------------------------------------------------------------------------------------


def test_every_metric_key_has_a_title_and_a_format() -> None:
    assert set(METRIC_KEYS) <= set(display.TITLES)
    assert set(METRIC_KEYS) <= set(display.FORMATS)
    assert set(display.FORMATS.values()) <= {
        "percent",
        "ratio",
        "dollars",
        "int",
        "days",
        "bars",
        "date",
    }
    assert len(set(display.TITLES.values())) == len(display.TITLES)  # no two rows look alike


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("total_return", 0.1234, "12.34%"),
        ("max_drawdown", -0.5, "-50.00%"),
        ("final_equity", 12345.678, "$12,345.68"),
        ("expectancy", -12.5, "-$12.50"),
        ("n_trades", 3.0, "3"),
        ("max_drawdown_duration", 41, "41 days"),
        ("max_drawdown_duration", pd.Timedelta(days=9), "9 days"),
        ("sharpe", 1.23456, "1.23"),
        ("profit_factor", math.inf, "inf"),
        ("profit_factor", "inf", "inf"),
        ("start", "2025-08-25", "2025-08-25"),
        ("end", pd.Timestamp("2026-01-05"), "2026-01-05"),
        ("avg_bars_held", 12.25, "12.2"),
        ("win_rate", float("nan"), "n/a"),
        ("alpha", None, "n/a"),
        ("some_new_metric", 2.5, "2.50"),
    ],
)
def test_format_value(key: str, value: object, text: str) -> None:
    assert display.format_value(key, value) == text


def test_format_table(metrics: dict[str, pd.Series]) -> None:
    table = display.format_table(metrics)
    lines = table.splitlines()
    header = lines[0]
    assert header.split() == ["Metric", "swing", "ma_trend", "buy_hold"]
    rows = [ln for ln in lines[2:] if ln]
    assert len(rows) == len(METRIC_KEYS)
    assert all(len(ln) == len(header) for ln in rows)  # columns line up
    assert any(ln.startswith("Win rate (winning trades)") for ln in rows)
    assert "n/a" in table and "nan" not in table.lower().replace("n/a", "")


# ----------------------------------------------------------------------------------------------
# the run folder
# ----------------------------------------------------------------------------------------------


def test_write_run_writes_every_file(run_dir: Path, runs: list[RunResult]) -> None:
    names = sorted(p.name for p in run_dir.iterdir())
    expected = DATA_FILES + ["comparison.png", "indicators.png", "report.html", MANIFEST]
    expected += [f"{k}_{r.strategy}.png" for r in runs for k in ("equity", "price")]
    assert names == sorted(expected)  # no staging folder left behind either
    assert json.loads((run_dir / MANIFEST).read_text())["files"] == sorted(
        set(expected) - {MANIFEST}
    )


def test_write_run_returns_paths_report_last(tmp_path: Path, runs, metrics, prices) -> None:
    paths = run_folder.write_run(tmp_path / "r", runs, metrics, prices, plots=False)
    assert paths[-1] == tmp_path / "r" / "report.html"
    assert sorted(p.name for p in paths) == sorted(DATA_FILES + ["report.html"])
    assert all(p.exists() for p in paths)


def test_metrics_json(run_dir: Path, runs: list[RunResult], metrics) -> None:
    text = (run_dir / "metrics.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["order"] == [r.strategy for r in runs] and doc["benchmark"] == "buy_hold"
    entry = doc["strategies"]["swing"]
    assert set(entry) >= {"params", "fingerprint", "settings", "metrics", "notes", "levels"}
    assert entry["params"]["ladder"] == [94.0, 90.0, 86.0]
    assert sorted(entry["metrics"]) == sorted(METRIC_KEYS)  # sort_keys: stable bytes
    assert entry["metrics"]["n_trades"] == metrics["swing"]["n_trades"]
    assert doc["strategies"]["ma_trend"]["notes"] == [
        "1 order resized: a gap-up made it unaffordable"
    ]
    assert str(run_dir.parent) not in text and "/tmp" not in text


def test_metrics_json_is_deterministic(tmp_path: Path, runs, metrics, prices) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    run_folder.write_run(a, runs, metrics, prices, plots=False)
    run_folder.write_run(b, runs, metrics, prices, plots=False)
    for name in DATA_FILES + ["report.html"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_csv_tables(run_dir: Path, runs: list[RunResult], prices: pd.DataFrame) -> None:
    table = pd.read_csv(run_dir / "metrics.csv", index_col="metric")
    assert list(table.columns) == [r.strategy for r in runs]
    assert list(table.index) == METRIC_KEYS
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills.columns) == ["strategy", *FILL_COLUMNS]
    assert fills.groupby("strategy").size().to_dict() == {"swing": 4, "ma_trend": 3, "buy_hold": 1}
    trades = pd.read_csv(run_dir / "trades.csv")
    assert list(trades.columns) == ["strategy", *TRADE_COLUMNS]
    equity = pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=["date"])
    assert list(equity.columns) == [r.strategy for r in runs]
    assert equity.index.equals(pd.DatetimeIndex(prices.index, name="date"))
    np.testing.assert_array_equal(equity["swing"].to_numpy(), runs[0].equity.to_numpy())


# ----------------------------------------------------------------------------------------------
# report.html
# ----------------------------------------------------------------------------------------------


def test_report_is_self_contained(run_dir: Path, runs: list[RunResult]) -> None:
    page = (run_dir / "report.html").read_text()
    # plotly.js is inlined once, as shipped (its own text names web sites it never loads here)
    library = interactive.plotly_js()
    assert page.count(library) == 1
    rest = page.replace(library, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", rest, re.I)
    assert "http" not in rest.lower()
    assert not re.search(r"<(link|iframe|object|embed|img)\b", rest, re.I)
    assert not re.search(r"<script[^>]*\bsrc\s*=", rest, re.I)
    assert "@import" not in rest and "url(" not in rest
    for r in runs:
        assert f"<h2>{r.strategy}</h2>" in page
        assert f'id="chart-s-{r.strategy}"' in page  # the interactive price chart
    assert "Fill rules" in page and "bar t+1&#x27;s open" in page
    assert runs[0].fingerprint["sha256"] in page
    assert "Win rate (winning trades)" in page and "gap-up made it unaffordable" in page


def test_report_opens_on_the_results(run_dir: Path, runs: list[RunResult]) -> None:
    page = (run_dir / "report.html").read_text()
    body = page[page.index("<body>") :]
    headings = re.findall(r"<h2>(.*?)</h2>", body)
    assert headings[0] == "Summary"
    assert headings[-1] == "Settings, fill rules and parameters"
    assert headings[1 : 1 + len(runs)] == [r.strategy for r in runs]
    # the settings, the fingerprint and the parameters only after every result, folded
    settings = body.index('<section id="settings">')
    assert body.index(runs[0].fingerprint["sha256"]) > settings
    assert body.index("<details>", settings) < body.index(runs[0].fingerprint["sha256"])
    for marker in ('class="card', "Monthly returns", "Worst 5 drawdowns", "Trades: "):
        assert body.index(marker) < settings
    section = body[body.index('<section id="s-swing">') : body.index('<section id="s-ma_trend">')]
    order = [
        section.index('<table class="key">'),  # key metrics beside the cumulative return
        section.index('id="ret-s-swing"'),
        section.index("Monthly returns"),
        section.index("Worst 5 drawdowns"),
        section.index('id="chart-s-swing"'),
        section.index("Trades: "),
    ]
    assert order == sorted(order)


def test_report_escapes_text(tmp_path: Path, prices: pd.DataFrame, runs: list[RunResult]) -> None:
    evil = dataclasses.replace(runs[1], strategy='<img src="http://x">&', notes=("<b>bold</b>",))
    page_dir = tmp_path / "r"
    run_folder.write_run(page_dir, [evil, runs[2]], score([evil, runs[2]]), prices, plots=False)
    page = (page_dir / "report.html").read_text()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert '<img src="http' not in page and "&lt;img src=&quot;http://x&quot;&gt;&amp;" in page


def test_report_without_plots_has_no_pngs_but_its_charts(
    tmp_path: Path, runs, metrics, prices
) -> None:
    out = tmp_path / "r"
    run_folder.write_run(out, runs, metrics, prices)
    assert pngs(out)
    run_folder.write_run(out, runs, metrics, prices, plots=False)
    assert pngs(out) == []  # charts of the previous run are not left to mislead
    assert 'id="chart-s-swing"' in (out / "report.html").read_text()  # interactive: no PNG


# ----------------------------------------------------------------------------------------------
# rebuild and failures
# ----------------------------------------------------------------------------------------------


def test_rebuild_report_from_the_folder_alone(tmp_path: Path, run_dir: Path) -> None:
    copy = tmp_path / "copied"
    shutil.copytree(run_dir, copy)
    original = {p.name: p.read_bytes() for p in copy.iterdir()}
    for p in [copy / "report.html", *copy.glob("*.png")]:
        p.unlink()
    assert run_folder.rebuild_report(copy) == copy / "report.html"
    rebuilt = {p.name: p.read_bytes() for p in copy.iterdir()}
    assert rebuilt.keys() == original.keys()
    for name, payload in original.items():  # same inputs, same bytes: nothing was lost
        assert rebuilt[name] == payload, name


def test_rebuild_keeps_a_separate_benchmark(tmp_path: Path, runs, prices) -> None:
    swing, _signal, bh = runs
    out = tmp_path / "r"
    run_folder.write_run(out, [swing], score([swing], bh), prices, buy_hold=bh)
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns) == ["date", "swing", "buy_hold"]
    first = (out / "equity_swing.png").read_bytes()
    run_folder.rebuild_report(out)
    assert (out / "equity_swing.png").read_bytes() == first  # drawn with the benchmark again


def test_the_best_return_badge_needs_two_strategies(tmp_path: Path, runs, prices) -> None:
    """One strategy beside the benchmark gets no "best return" badge; of two, the higher one."""
    swing, signal, bh = runs
    run_folder.write_run(tmp_path / "one", [swing], score([swing], bh), prices, buy_hold=bh)
    page = (tmp_path / "one" / "report.html").read_text()
    assert "best return" not in page and 'class="card best"' not in page
    assert page.count('class="card"') == 1  # swing's card, plain
    run_folder.write_run(tmp_path / "two", runs, score(runs), prices)
    page = (tmp_path / "two" / "report.html").read_text()
    totals = {r.strategy: score(runs)[r.strategy]["total_return"] for r in (swing, signal)}
    best = max(totals, key=lambda k: totals[k])
    assert page.count('<span class="badge">best return</span>') == 1
    assert page.count('class="card best"') == 1
    assert f'href="#s-{best}">{best}</a><span class="badge">best return</span>' in page


def test_rebuild_needs_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="metrics.json"):
        run_folder.rebuild_report(tmp_path)


def _boom(*_args, **_kwargs):
    raise RuntimeError("plot failed")


def test_failed_write_leaves_nothing(tmp_path: Path, runs, metrics, prices, monkeypatch) -> None:
    monkeypatch.setattr("engine.report.price_chart.price_figure", _boom)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="plot failed"):
        run_folder.write_run(out, runs, metrics, prices)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder either


def test_failed_write_keeps_the_previous_run(
    tmp_path: Path, runs, metrics, prices, monkeypatch
) -> None:
    out = tmp_path / "run"
    run_folder.write_run(out, runs, metrics, prices)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr("engine.report.charts.comparison_figure", _boom)
    changed = [dataclasses.replace(runs[0], notes=("changed",)), *runs[1:]]
    with pytest.raises(RuntimeError):
        run_folder.write_run(out, changed, metrics, prices)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_rebuild_keeps_the_report(tmp_path: Path, run_dir: Path, monkeypatch) -> None:
    copy = tmp_path / "copied"
    shutil.copytree(run_dir, copy)
    before = (copy / "report.html").read_bytes()
    monkeypatch.setattr("engine.report.charts.indicator_figure", _boom)
    with pytest.raises(RuntimeError):
        run_folder.rebuild_report(copy)
    assert (copy / "report.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copied"]


def test_distinct_names_required(tmp_path: Path, runs, metrics, prices) -> None:
    with pytest.raises(ValueError, match="distinct"):
        run_folder.write_run(tmp_path / "r", [runs[0], runs[0]], metrics, prices)
    assert not (tmp_path / "r").exists()


def test_file_slugs() -> None:
    assert run_folder.file_slug("MA trend/20") == "MA_trend_20"
    assert run_folder.file_slug("../..") == "strategy"
    assert run_folder._slugs(["a b", "a_b", "a/b"]) == {
        "a b": "a_b",
        "a_b": "a_b-2",
        "a/b": "a_b-3",
    }
