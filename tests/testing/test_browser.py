"""The headless-Chromium helper (engine/testing/browser.py) catches what the report's browser test needs."""

from __future__ import annotations

from pathlib import Path

from engine.testing.browser import Browser, PageLog


def test_page_log_tells_outside_requests_from_the_page() -> None:
    log = PageLog(
        url="file:///r/report.html",
        requests=["file:///r/report.html", "data:image/png;base64,xx", "https://cdn.x/p.js"],
        console=[("log", "ok"), ("error", "boom")],
        exceptions=["ReferenceError: f"],
    )
    assert log.outside_requests == ["https://cdn.x/p.js"]
    assert log.errors == ["boom", "ReferenceError: f"]


def test_browser_records_errors_requests_and_layout(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='margin:0'><div id='box' style='height:50px'>x</div>"
        "<img src='https://example.invalid/a.png'>"
        "<script>console.error('boom'); console.log('fine'); notDefined();</script>"
        "</body></html>"
    )
    log = browser.open(page.as_uri())
    assert browser.wait_for("document.readyState === 'complete'")
    browser.evaluate("1")  # drain the events that arrived after the load
    assert "https://example.invalid/a.png" in log.outside_requests
    assert "boom" in log.errors
    assert any("notDefined" in e for e in log.errors)
    assert ("log", "fine") in log.console
    assert browser.evaluate("document.getElementById('box').getBoundingClientRect().bottom") == 50
    assert browser.evaluate("[innerWidth, innerHeight]") == [1280, 800]
    shot = browser.screenshot(tmp_path / "shot.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clean_page_has_nothing_to_report(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "ok.html"
    page.write_text("<!DOCTYPE html><html><body><p>ok</p></body></html>")
    log = browser.open(page.as_uri())
    browser.evaluate("1")
    assert log.errors == [] and log.outside_requests == []
