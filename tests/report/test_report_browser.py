"""report.html in a real browser (headless Chromium, offline): results on the first screen,
the interactive charts drawn, no console error, nothing fetched from outside the page."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli.main import main
from engine.testing.browser import Browser


@pytest.fixture(scope="module")
def report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "run"
    argv = ["run", "--out", str(out), "--data-dir", str(data_dir), "--no-plots"]
    assert main(argv) == 0
    return out / "report.html"


def test_first_screen_shows_the_plan_against_buy_and_hold(
    browser: Browser, report: Path, tmp_path: Path
) -> None:
    log = browser.open(report.as_uri())
    assert browser.wait_for("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    assert browser.evaluate("[innerWidth, innerHeight]") == [1280, 800]
    first = browser.evaluate("document.querySelector('h2').textContent")
    assert first == "Summary"
    card = browser.evaluate(
        "(() => { const c = document.querySelector('.card[data-strategy=\"swing\"]');"
        " const r = c.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, text: c.innerText}; })()"
    )
    assert 0 <= card["top"] and card["bottom"] <= 800  # the whole swing card on the first screen
    text = " ".join(card["text"].split())
    assert "+55.7%" in text and "buy & hold, same window: +108.9%" in text
    assert "from the plan's start, 2025-08-25: plan +55.7%, buy & hold -12.7%" in text
    settings = browser.evaluate("document.getElementById('settings').getBoundingClientRect().top")
    assert settings > 800 * 5  # the machinery is far below the results
    browser.screenshot(tmp_path / "first-screen.png")
    assert log.errors == [] and log.outside_requests == []


def test_interactive_price_chart_drew_candles_and_fills(browser: Browser, report: Path) -> None:
    log = browser.open(report.as_uri())
    drawn = browser.wait_for(
        "(() => { const gd = document.getElementById('chart-s-swing');"
        " if (!gd || !gd._fullData) { return null; }"
        " return gd._fullData.map(t => t.type + ':' + t.name); })()"
    )
    assert drawn and "candlestick:CRWV" in drawn
    assert any(t.startswith("scatter:buy") for t in drawn)
    assert (
        browser.evaluate(
            "document.querySelectorAll('#chart-s-swing .cartesianlayer .trace').length"
        )
        > 5
    )
    browser.evaluate("1")
    assert log.errors == [] and log.outside_requests == []
