"""engine.regress.formats: terminal table, JUnit XML and Markdown of a comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.regress import compare, formats
from engine.testing.baselines import sample_baseline as content


def failing() -> compare.Comparison:
    new = content(total_return=0.2)
    new["configurations"]["swing"]["params"]["stop"] = 84.0
    new["configurations"]["swing"]["fills"][1][3] = 129.5
    return compare.compare(content(), new)


def test_table_names_configuration_fills_metrics() -> None:
    text = formats.format_table(failing())
    lines = text.splitlines()
    assert lines[0].split() == [
        "configuration",
        "what",
        "moved",
        "old",
        "new",
        "|diff|",
        "tolerance",
    ]
    assert lines[2].split() == ["swing", "param", "stop", "79.99", "84"]
    assert lines[3].split()[:6] == ["swing", "fills", "2", "fills", "2", "fills,"]
    assert (
        "fill #2" in lines[4]
        and "@ 130 (target 1)" in lines[4]
        and "@ 129.5 (target 1)" in lines[4]
    )
    assert lines[5].split() == ["swing", "metric", "total_return", "0.1", "0.2", "0.1", "1e-06"]
    assert lines[6].startswith("buy_hold ")
    assert formats.format_table(compare.compare(content(), content())) == ""


def test_summary_line() -> None:
    assert formats.summary_line(failing()) == "0 of 2 configurations hold; moved: swing, buy_hold"
    assert (
        formats.summary_line(compare.compare(content(), content())) == "2 of 2 configurations hold"
    )


def test_label_differs_from_strategy_shows_both() -> None:
    old = content()
    old["configurations"]["tight_stop"] = old["configurations"].pop("swing")
    new = content(sharpe=2.0)
    new["configurations"]["tight_stop"] = new["configurations"].pop("swing")
    assert "tight_stop (swing)" in formats.format_table(compare.compare(old, new))


def test_junit_well_formed_failures_counted() -> None:
    xml = formats.junit_xml(failing(), "tiny")
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"(settings)", "swing", "buy_hold"}
    fail = cases["swing"].find("failure")
    assert (
        fail is not None and fail.get("message") == "moved: param stop; fills; metric total_return"
    )
    assert "param stop: 79.99 -> 84" in (fail.text or "")
    assert cases["(settings)"].find("failure") is None
    ok = ET.fromstring(formats.junit_xml(compare.compare(content(), content()), "tiny"))
    assert ok.get("failures") == "0" and xml == formats.junit_xml(failing(), "tiny")


def test_junit_counts_settings_failure() -> None:
    new = content()
    new["settings"]["slippage"] = 0.001
    root = ET.fromstring(formats.junit_xml(compare.compare(content(), new), "tiny"))
    assert root.get("failures") == "1"


def test_markdown_summary() -> None:
    md = formats.markdown(failing(), "tiny")
    assert md.startswith("## Regression check `tiny`: FAILED\n")
    assert "**0 of 2 configurations hold; moved: swing, buy_hold**" in md
    assert "| configuration | what moved | old | new | \\|diff\\| | tolerance |" in md
    assert "| swing | metric total_return | 0.1 | 0.2 | 0.1 | 1e-06 |" in md
    assert "crwv-bt regress --update" in md
    ok = formats.markdown(compare.compare(content(), content()), "tiny")
    assert (
        "passed" in ok and "Every configuration's fills and metrics match" in ok and "|" not in ok
    )


def test_moved_items_shortens_many_metrics() -> None:
    rows = [compare.Row(f"metric m{i}", 0, 1) for i in range(5)] + [compare.Row("fills", "", "")]
    assert formats.moved_items(rows) == "fills; 5 metrics"
