"""Event markers (engine.report.charts, engine.report.interactive): one placement for the PNG and the interactive chart."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd
import pytest

from engine.data.events import chart_events, parse_events
from engine.report.charts import draw_event_key, draw_event_markers
from engine.report.figures import new_figure
from engine.report.interactive import event_shapes as plotly_event_shapes
from engine.report.levels import event_legend_text

SESSIONS = pd.bdate_range("2025-08-11", periods=10)
EVENTS = parse_events(
    {
        "event": [
            {
                "date": "2025-08-12",
                "kind": "earnings",
                "timing": "after_close",
                "title": "Q2",
                "source": "pr",
            },
            {
                "date": "2025-08-14",
                "kind": "lockup",
                "timing": "after_close",
                "title": "lock-up",
                "source": "news",
            },
            {
                "date": "2025-12-01",
                "kind": "earnings",
                "timing": "after_close",
                "title": "Q3",
                "source": "pr",
            },
        ]
    }
)


def test_matplotlib_markers_sit_on_reaction_sessions() -> None:
    placed = chart_events(EVENTS, SESSIONS)
    assert len(placed) == 2  # Q3 is past the window
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    ax.plot(SESSIONS, range(10))
    texts = draw_event_markers(ax, placed)
    assert [t.get_text() for t in texts] == ["E", "L"]
    (lines,) = ax.collections  # the dotted lines, one collection
    xs = sorted(seg[0][0] for seg in lines.get_segments())
    assert [mdates.num2date(x).day for x in xs] == [13, 15]
    assert ax.get_ylim() == pytest.approx((-0.45, 9.45))  # the lines do not stretch the y axis
    assert event_legend_text(placed) == "E earnings, L lock-up expiry"


def test_plotly_shapes_match() -> None:
    shapes, notes = plotly_event_shapes(chart_events(EVENTS, SESSIONS))
    assert [s["x0"] for s in shapes] == ["2025-08-13", "2025-08-15"]
    assert notes[0]["text"] == "E" and "source: pr" in notes[0]["hovertext"]
    assert "2025-08-12: Q2 (after close)" in notes[0]["hovertext"]


def test_the_key_says_what_each_marker_means() -> None:
    placed = chart_events(EVENTS, SESSIONS)
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    texts = [t.get_text() for t in draw_event_key(ax, placed, 1.01, 1.0)]
    assert texts == ["events (dotted lines)", "E", "earnings", "L", "lock-up expiry"]
    assert draw_event_key(ax, placed.iloc[:0], 1.01, 1.0) == []  # no event, no key


def test_price_and_indicator_charts_carry_the_key() -> None:
    """Both PNG charts that mark events also say what the markers mean."""
    from engine.report import charts, price_chart
    from engine.testing.prices import chart_prices
    from engine.testing.runs import demo_runs

    prices = chart_prices()
    window = pd.DatetimeIndex(prices.index)
    events = parse_events(
        {
            "event": [
                {
                    "date": f"{window[30]:%Y-%m-%d}",
                    "kind": "earnings",
                    "title": "Q",
                    "source": "s",
                    "timing": "after_close",
                },
                {
                    "date": f"{window[60]:%Y-%m-%d}",
                    "kind": "lockup",
                    "title": "L",
                    "source": "s",
                    "timing": "after_close",
                },
            ]
        }
    )
    run = demo_runs(prices)[0]
    for fig in (
        price_chart.price_figure(run, prices, events=events),
        charts.indicator_figure(run, prices, events=events),
    ):
        texts = {t.get_text() for a in fig.axes for t in a.texts}
        assert {"events (dotted lines)", "earnings", "lock-up expiry"} <= texts
