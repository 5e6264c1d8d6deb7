"""The interactive chart (engine.report.interactive): the plotly figure dict and its HTML."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from engine.report import interactive as ia
from engine.result import Costs, RunResult


@pytest.fixture(scope="module")
def crwv_runs(crwv: pd.DataFrame) -> tuple[RunResult, RunResult]:
    """The swing plan and buy & hold on the real CRWV history, default costs."""
    from engine.jobs.runner import Config, run_configs
    from strategies import STRATEGIES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = run_configs(
            [Config("swing", STRATEGIES["swing"])],
            crwv,
            buy_hold_cls=STRATEGIES["buy_hold"],
            ticker="CRWV",
            cash=100_000.0,
            costs=Costs(),
        )
    return batch.results[0], batch.buy_hold


def test_holidays_are_the_missing_weekdays() -> None:
    index = pd.DatetimeIndex(["2025-07-02", "2025-07-03", "2025-07-07", "2025-07-08"])
    # 4 July 2025 is a Friday (holiday); the weekend is hidden by the weekend rule instead
    assert ia.holidays(index) == ["2025-07-04"]
    assert ia.holidays(index[:1]) == []


def test_figure_panels_share_one_date_axis(crwv_runs, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    swing, bh = crwv_runs
    fig = ia.chart_figure(swing, crwv, bh)
    layout = fig["layout"]
    domains = [layout[k]["domain"] for k in ("yaxis", "yaxis2", "yaxis3", "yaxis4")]
    # stacked top to bottom without overlap
    for upper, lower in zip(domains, domains[1:], strict=False):
        assert lower[1] < upper[0]
    # every trace uses the one x axis; candles first, volume second (the rescale script reads them)
    assert {t.get("xaxis", "x") for t in fig["data"]} == {"x"}
    assert fig["data"][0]["type"] == "candlestick" and fig["data"][1]["type"] == "bar"
    assert {t["yaxis"] for t in fig["data"]} == {"y", "y2", "y3", "y4"}
    assert len(fig["data"][0]["x"]) == len(crwv)
    assert layout["xaxis"]["rangeslider"]["visible"] is False


def test_every_fill_has_its_hover(crwv_runs, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    swing, bh = crwv_runs
    fig = ia.chart_figure(swing, crwv, bh)
    markers = [t for t in fig["data"] if t.get("mode") == "markers"]
    custom = [row for t in markers for row in t["customdata"]]
    assert len(custom) == len(swing.fills)
    first = swing.fills.iloc[0]
    assert custom[0][:5] == [
        f"{first['date']:%Y-%m-%d}",
        "buy",
        f"{first['size']:,.0f}",
        f"{first['price']:,.2f}",
        first["reason"],
    ]
    assert all("customdata[4]" in t["hovertemplate"] for t in markers)


def test_levels_span_their_active_window(crwv_runs, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    swing, bh = crwv_runs
    fig = ia.chart_figure(swing, crwv, bh)
    levels = [t for t in fig["data"] if t.get("line", {}).get("dash") == "dash"]
    prices = sorted(t["y"][0] for t in levels)
    assert prices == [79.99, 86.0, 90.0, 94.0, 130.0, 150.0]
    assert {tuple(t["x"]) for t in levels} == {("2025-08-25", swing.levels["active_to"])}
    # the swing chart opens on the plan's window, 15 sessions either side
    start, end = fig["layout"]["xaxis"]["range"]
    idx = crwv.index
    assert start == f"{idx[idx.searchsorted(pd.Timestamp('2025-08-25')) - 15]:%Y-%m-%d}"
    assert end > swing.levels["active_to"]


def test_strategy_without_levels_opens_on_everything(crwv_runs, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    _swing, bh = crwv_runs
    fig = ia.chart_figure(bh, crwv, bh)
    assert "range" not in fig["layout"]["xaxis"]
    assert "updatemenus" not in fig["layout"]
    # buy & hold is not drawn against itself
    assert [t["name"] for t in fig["data"] if t.get("yaxis") == "y3"] == ["buy_hold account"]


def test_chart_html_is_offline(crwv_runs, crwv: pd.DataFrame) -> None:  # noqa: ANN001
    swing, bh = crwv_runs
    html = ia.chart_html(ia.chart_figure(swing, crwv, bh), "chart-swing")
    assert 'id="chart-swing"' in html
    assert "Plotly.newPlot" in html and "plotly_relayout" in html
    assert "http://" not in html and "https://" not in html and "<script src" not in html
    # the figure in the page is plain JSON (no NaN literal, which JSON.parse rejects)
    assert "NaN" not in html
    json.dumps(ia.chart_figure(swing, crwv, bh), allow_nan=False)


def test_plotly_js_is_the_packaged_bundle() -> None:
    js = ia.plotly_js()
    assert len(js) > 1_000_000 and "Plotly" in js[:2000]
