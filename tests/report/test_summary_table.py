"""The terminal summary table (engine.report.summary_table): headline metrics, never wider than 100."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.report.summary_table import MAX_WIDTH, cell, shorten, summary_table

M = pd.Series(
    {
        "total_return": 0.5568,
        "buy_hold_return": 1.0888,
        "max_drawdown": -0.0987,
        "sharpe": 1.523,
        "cagr": 0.3361,
        "n_trades": 1,
        "n_open": 0,
        "win_rate": 1.0,
        "exposure": 0.0855,
    }
)


def test_cells() -> None:
    assert [cell(M, k, f) for k, f in [("total_return", "pct"), ("sharpe", "ratio")]] == [
        "+55.7%",
        "1.52",
    ]
    assert cell(M, "exposure", "pct0") == "9%"
    assert cell(M, "trades", "trades") == "1"
    assert cell(pd.Series({"n_trades": 1, "n_open": 1}), "trades", "trades") == "1 + 1 open"
    assert cell(pd.Series({"sharpe": math.nan}), "sharpe", "ratio") == "n/a"
    assert cell(pd.Series({"profit_factor": math.inf}), "profit_factor", "ratio") == "inf"


def test_table_rows_marks_and_footnote() -> None:
    text = summary_table({"swing": M, "buy_hold": M}, marks={"buy_hold": "*"})
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["Run", "Return", "B&H"]
    assert lines[2].startswith("  swing ") and "+55.7%" in lines[2]
    assert lines[3].startswith("* buy_hold")
    assert "Every metric: metrics.csv and report.html." in text


def test_shorten() -> None:
    assert shorten("abc", 5) == "abc" and shorten("abcdefgh", 5) == "abcd…"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=12, unique=True))
def test_never_wider_than_100_columns(names: list[str]) -> None:
    names = [n.replace("\n", " ") for n in names]
    text = summary_table({n: M for n in names})
    assert max(len(line) for line in text.splitlines()) <= MAX_WIDTH
