"""Multi-ticker runs (engine.jobs.tickers): parsing, the swing plan's relative levels off CRWV, the
robustness table's medians, and a real CRWV + NVDA run."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from engine.errors import ParamError
from engine.jobs.runner import Config, load_benchmark, run_configs
from engine.jobs.tickers import (
    TickerRun,
    parse_tickers,
    robustness_table,
    run_tickers,
    travel_params,
)
from engine.report.tickers import format_table
from engine.result import Costs
from strategies import STRATEGIES


def test_parse_tickers() -> None:
    assert parse_tickers(" crwv, NVDA,crwv ,") == ["CRWV", "NVDA"]
    for bad in ("", " , ", "CRWV;rm"):
        with pytest.raises(ParamError, match="--tickers"):
            parse_tickers(bad)


def test_swing_travels_with_relative_levels() -> None:
    swing, macd = STRATEGIES["swing"], STRATEGIES["macd"]
    assert travel_params({}, swing, "CRWV") == {}
    assert travel_params({"stop": 84}, swing, "NVDA") == {"stop": 84}  # chose its own levels
    assert travel_params({"rearm": True}, swing, "nvda") == {"rearm": True, "levels": "relative"}
    assert travel_params({"fast": 5}, macd, "NVDA") == {"fast": 5}


def _run(ticker: str, metrics: dict[str, dict[str, float]]) -> TickerRun:
    batch = SimpleNamespace(metrics={k: pd.Series(v) for k, v in metrics.items()})
    return TickerRun(ticker, batch, [])


def test_robustness_table_by_hand() -> None:
    runs = [
        _run("AAA", {"s1": {"sharpe": 1.0, "n_trades": 1}, "s2": {"sharpe": -1.0, "n_trades": 4}}),
        _run("BBB", {"s1": {"sharpe": 3.0, "n_trades": 2}}),
        _run("CCC", {"s1": {"sharpe": 2.5, "n_trades": 6}, "s2": {"sharpe": 0.5, "n_trades": 1}}),
    ]
    t = robustness_table(runs, metrics=("sharpe", "n_trades"))
    assert list(t.columns) == ["AAA", "BBB", "CCC", "median"]
    assert t.loc[("sharpe", "s1"), "median"] == pytest.approx(2.5)
    assert t.loc[("sharpe", "s2"), "median"] == pytest.approx(-0.25)  # BBB missing: skipped
    assert pd.isna(t.loc[("sharpe", "s2"), "BBB"])
    assert "2.5" in format_table(t.loc[["n_trades"]])  # the median of 4 and 1 shows as is


def test_crwv_and_nvda(data_dir) -> None:  # noqa: ANN001
    from engine.data.load import load_prices

    cfgs = [Config("swing", STRATEGIES["swing"], {}), Config("macd", STRATEGIES["macd"], {})]

    def run(configs: list, prices: pd.DataFrame, ticker: str):  # noqa: ANN202
        return run_configs(
            configs,
            prices,
            buy_hold_cls=STRATEGIES["buy_hold"],
            ticker=ticker,
            cash=100_000.0,
            costs=Costs(),
            benchmark=load_benchmark(str(data_dir), prices),
        )

    runs = run_tickers(cfgs, ["CRWV", "NVDA"], lambda t: load_prices(t, data_dir_=data_dir), run)
    levels = {r.ticker: r.batch.results[0].levels for r in runs}
    assert levels["CRWV"]["ladder"] == [94.0, 90.0, 86.0]
    nvda_ref = float(runs[1].batch.prices["close"].loc[:"2025-08-22"].iloc[-1])
    assert levels["NVDA"]["ladder"][0] == pytest.approx(round(nvda_ref, 2))
    table = robustness_table(runs)
    crwv_swing = table.loc[("total_return", "swing"), "CRWV"]
    assert crwv_swing == pytest.approx(runs[0].batch.metrics["swing"]["total_return"])


def test_ranking_puts_medians_over_fewer_tickers_last() -> None:
    """compare --tickers ranks by the median, but a configuration without a value on a ticker
    (a Sharpe ratio where it never traded) ranks after those measured on every ticker."""
    from engine.jobs.tickers import partial_medians, rank_strategies

    runs = [
        _run("AAA", {"lucky": {"sharpe": 1.5}, "both": {"sharpe": 1.0}, "worse": {"sharpe": 0.1}}),
        _run(
            "BBB",
            {"lucky": {"sharpe": float("nan")}, "both": {"sharpe": 0.5}, "worse": {"sharpe": 0.2}},
        ),
    ]
    t = robustness_table(runs, metrics=("sharpe",))
    ranked = rank_strategies(t, "sharpe")
    assert list(ranked.loc["sharpe"].index) == ["both", "worse", "lucky"]
    assert list(rank_strategies(t, "sharpe", ascending=True).loc["sharpe"].index) == [
        "worse",
        "both",
        "lucky",
    ]
    assert partial_medians(t, "sharpe") == {"lucky": ["BBB"]}
