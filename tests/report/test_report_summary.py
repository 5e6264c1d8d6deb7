"""Results-first report pieces (engine.report.summary): cards, period tables, definitions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.analysis.metrics import METRIC_KEYS
from engine.analysis.periods import monthly_returns, worst_drawdowns
from engine.report.narrative import Versus
from engine.report.summary import (
    best_strategy,
    card,
    drawdowns_table_html,
    metric_definitions,
    monthly_table_html,
    sign_class,
    trade_count_text,
)
from engine.result import RunResult


def run(name: str = "swing", levels: dict | None = None) -> RunResult:
    index = pd.bdate_range("2025-08-18", periods=5, name="date")
    equity = pd.Series([100.0, 100.0, 90.0, 120.0, 130.0], index=index)
    return RunResult(
        strategy=name,
        params={},
        ticker="TEST",
        equity=equity,
        position=pd.Series(0.0, index=index),
        trades=pd.DataFrame(),
        fills=pd.DataFrame(),
        fingerprint={},
        settings={"cash": 100.0},
        levels=levels or {},
    )


def test_every_metric_has_a_definition_from_the_metrics_docstring() -> None:
    defs = metric_definitions()
    assert set(METRIC_KEYS) <= set(defs)
    assert defs["win_rate"].startswith("share of closed trades with pnl > 0")
    assert defs["best_day"] == defs["worst_day"]
    assert not any("``" in v for v in defs.values())


def test_sign_class() -> None:
    assert [sign_class(v) for v in (-0.1, 0.0, 2, math.nan, None, "x")] == [
        "neg",
        "",
        "pos",
        "",
        "",
        "",
    ]


def test_trade_counts_say_closed_and_open() -> None:
    assert trade_count_text(pd.Series({"n_trades": 1, "n_open": 1})) == "1 closed, 1 open"
    assert trade_count_text(pd.Series({"n_trades": math.nan})) == "0 closed, 0 open"


def test_card_of_a_dated_plan_shows_both_comparisons() -> None:
    m = pd.Series({"total_return": 0.557, "max_drawdown": -0.099, "n_trades": 1, "n_open": 0})
    m["win_rate"], m["sharpe"] = 1.0, 1.52
    v = Versus(1.089, -0.663, "2025-08-25", 0.557, -0.127, -0.575)
    html = card(run(), m, v, anchor="s-swing", best=True, benchmark=False)
    assert 'data-strategy="swing"' in html and 'class="card best"' in html
    assert '<span class="pos">+55.7%</span>' in html
    assert 'buy &amp; hold, same window: <span class="pos">+108.9%</span>' in html
    assert "from the plan's start, 2025-08-25" in html.replace("&#x27;", "'")
    assert '<span class="neg">-12.7%</span>' in html
    assert "1 closed, 0 open" in html and "1.52" in html
    assert 'title="share of closed trades' in html  # definition on hover


def test_benchmark_card_is_labelled_not_ranked() -> None:
    m = pd.Series({"total_return": -0.2, "n_trades": 0, "n_open": 1})
    html = card(run("buy_hold"), m, Versus(), anchor="a", best=True, benchmark=True)
    assert "benchmark" in html and "best return" not in html and "same window" not in html
    assert '<span class="neg">-20.0%</span>' in html


def test_best_strategy_excludes_the_benchmark() -> None:
    metrics = {
        "a": pd.Series({"total_return": 0.1}),
        "b": pd.Series({"total_return": 0.3}),
        "buy_hold": pd.Series({"total_return": 0.9}),
        "c": pd.Series({"total_return": math.nan}),
    }
    assert best_strategy(metrics, exclude="buy_hold") == "b"
    assert best_strategy({}, exclude=None) is None


def test_one_strategy_has_no_best_return_to_name() -> None:
    """Beside the benchmark alone (``crwv-bt run --strategy swing``) there is nothing to rank."""
    one = {"swing": pd.Series({"total_return": 0.5}), "buy_hold": pd.Series({"total_return": 1.0})}
    assert best_strategy(one, exclude="buy_hold") is None
    assert best_strategy({"swing": pd.Series({"total_return": 0.5})}, exclude=None) is None
    # two strategies, one without a return: no ranking either
    nan = {**one, "macd": pd.Series({"total_return": math.nan})}
    assert best_strategy(nan, exclude="buy_hold") is None


def test_monthly_table_colours_by_sign() -> None:
    html = monthly_table_html(monthly_returns(run().equity))
    assert "<th>2025</th>" in html
    assert 'class="pos"' in html and "+30.0%" in html  # August: 100 -> 130
    assert "<b>+30.0%</b>" in html  # the year column
    assert monthly_table_html(pd.DataFrame()) == "<p>Too short for monthly returns.</p>"


def test_drawdown_table() -> None:
    html = drawdowns_table_html(worst_drawdowns(run().equity))
    assert "<td>2025-08-19</td><td>2025-08-20</td><td>2025-08-21</td>" in html
    assert '<td class="neg">-10.0%</td>' in html and "2 days (2 sessions)" in html
    flat = drawdowns_table_html(
        worst_drawdowns(pd.Series([1.0, 2.0], index=run().equity.index[:2]))
    )
    assert "never fell" in flat


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", 'a"b'])
def test_names_are_escaped(bad: str) -> None:
    html = card(run(bad), pd.Series(dtype=float), Versus(), anchor=bad, best=False, benchmark=False)
    assert bad not in html
