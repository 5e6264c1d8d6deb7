"""The compare parts of the page (engine.report.compare_html): identical runs, what a run changes."""

from __future__ import annotations

import dataclasses

from engine.report.compare_html import (
    about_html,
    changes_text,
    group_marks,
    group_sentences,
    groups_html,
    groups_text,
)
from engine.result import RunResult
from engine.testing.prices import chart_prices
from engine.testing.runs import make_run

PRICES = chart_prices()
D = [f"{t:%Y-%m-%d}" for t in PRICES.index]
PLAN = [(D[40], "buy", 30, 94.0, "tranche 1"), (D[70], "sell", 30, 130.0, "target 1")]
DEFAULTS = {"stop": 79.99, "stop_mode": "intraday", "rearm": False}


def variant(name: str, fills: list, **params: object) -> RunResult:
    run = make_run(name, PRICES, fills)
    return dataclasses.replace(run, params={**DEFAULTS, **params})


RUNS = [
    variant("plan", PLAN),
    variant("tight_stop", PLAN, stop=84.0),
    variant("rearm", PLAN[:1], rearm=True),
    variant("close_stop", PLAN, stop_mode="close"),
    variant("buy_hold", PLAN[:1]),
]


def test_identical_runs_are_named_with_the_parameters_that_did_not_matter() -> None:
    # rearm and buy_hold filled the same single order, but buy_hold is the benchmark: left out
    assert group_sentences(RUNS, exclude="buy_hold") == [
        "3 runs traded identically (same fills, same results): plan, tight_stop, close_stop. "
        "In this window these parameters did not change a fill: stop, stop_mode."
    ]
    assert group_marks(RUNS, exclude="buy_hold") == {
        "plan": "A",
        "tight_stop": "A",
        "close_stop": "A",
    }
    both = group_marks(RUNS)
    assert both["rearm"] == both["buy_hold"] == "B"


def test_no_notice_when_every_run_traded_differently() -> None:
    assert groups_html(RUNS[1:3]) == "" and groups_text(RUNS[1:3], 100) == ""
    assert 'id="identical"' in groups_html(RUNS)


def test_groups_text_fits_the_width() -> None:
    text = groups_text(RUNS, 60)
    assert text.startswith("A: 3 runs traded identically")
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "\nB: 2 runs" in text


def test_a_run_is_described_by_what_it_changes() -> None:
    tight = RUNS[1]
    assert changes_text(tight.params, DEFAULTS) == "stop = 84"
    assert (
        changes_text({"ladder": (94.0, 90.5), "rearm": True}, {})
        == "ladder = 94, 90.5, rearm = true"
    )
    html = about_html(tight, "Stop at $84 <tight>", DEFAULTS, base="swing")
    assert "Stop at $84 &lt;tight&gt;." in html
    assert "Changed from swing&#x27;s defaults: stop = 84." in html
    assert "the strategy&#x27;s defaults" in about_html(RUNS[0], "", DEFAULTS)
    assert about_html(RUNS[0], "", None) == ""
    assert "As written. Parameters" in about_html(RUNS[0], "As written.", DEFAULTS)  # one stop
