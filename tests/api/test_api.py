"""The Python API (engine/api/: backtests.py, sweeps.py): docs/api.md runs as written, inputs of
every kind, bad input as one-line errors, and the CLI on the same path."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import engine.api as bt
from engine.analysis.metrics import METRIC_KEYS
from engine.cli.main import main
from engine.errors import DataError, ParamError, UserError
from engine.testing.docs import python_blocks

ROOT = Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def _data(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    warnings.simplefilter("ignore")  # the snapshot's "cache ends ..." note


@pytest.fixture(scope="module")
def ma() -> bt.Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bt.backtest("ma_trend", mode="cross", fast=10, slow=50)


def test_the_api_page_runs_as_a_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(ROOT / "docs" / "api.md")
    assert len(blocks) >= 7
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/api.md python block {i + 1}", "exec"), namespace)  # noqa: S102
    assert isinstance(namespace["res"], bt.Result)
    assert (Path(namespace["folder"]) / "report.html").exists()
    assert namespace["table"].shape == (3, 5)  # slow x fast, every cell a combination
    assert namespace["table"].notna().all().all()


def test_result_holds_every_metric_and_the_tables(ma: bt.Result) -> None:
    assert list(ma.metrics.index) == METRIC_KEYS
    assert list(ma.equity.columns) == ["equity", "position", "drawdown", "buy_hold"]
    assert ma.equity["equity"].iloc[-1] == pytest.approx(ma.metrics["final_equity"])
    assert (ma.equity["drawdown"] <= 0).all()
    assert len(ma.trades) == ma.metrics["n_trades"] + ma.metrics.get("n_open", 0) or len(ma.trades)
    assert set(ma.fills["side"]) <= {"buy", "sell"} and len(ma.fills) >= len(ma.trades)
    assert ma.params["fast"] == 10 and ma.params["mode"] == "cross"
    ma.trades.drop(ma.trades.index, inplace=True)  # a copy: the result is unchanged
    assert len(ma.trades) > 0


def test_notebook_display_and_chart(ma: bt.Result) -> None:
    html = ma._repr_html_()
    assert 'class="card"' in html and "ma_trend" in html and "Sharpe" in html
    fig = ma.plot()
    names = {t.type for t in fig.data}
    assert {"candlestick", "scatter"} <= names
    assert "ma_trend" in repr(ma) and "Sharpe" in repr(ma)


def test_the_cli_and_the_api_give_the_same_numbers(ma: bt.Result, tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["run", "--strategy", "ma_trend", "--param", "mode=cross", "--param", "fast=10"]
    assert main([*argv, "--param", "slow=50", "--out", str(out), "--no-plots"]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    cli = doc["strategies"]["ma_trend"]["metrics"]
    for key in ("total_return", "sharpe", "max_drawdown", "n_trades", "final_equity"):
        assert cli[key] == pytest.approx(float(ma.metrics[key]))


def test_yfinance_frames_with_one_or_several_tickers(ma: bt.Result) -> None:
    names = {"open": "Open", "high": "High", "low": "Low", "close": "Close"}
    names |= {"adj_close": "Adj Close", "volume": "Volume"}
    one = ma.prices.rename(columns=names)
    one.columns = pd.MultiIndex.from_product([one.columns, ["NVDX"]], names=["Price", "Ticker"])
    got = bt.backtest("ma_trend", prices=one, mode="cross", fast=10, slow=50)
    assert got.run.ticker == "NVDX"  # the frame's one ticker names the run
    assert got.metrics["final_equity"] == pytest.approx(ma.metrics["final_equity"])
    both = pd.concat(
        {"AAA": ma.prices.rename(columns=names), "BBB": ma.prices.rename(columns=names) * 2}, axis=1
    )
    both = both.swaplevel(axis=1)
    got = bt.backtest("buy_hold", prices=both, ticker="bbb")
    assert got.run.ticker == "BBB"
    with pytest.raises(DataError, match="holds tickers AAA, BBB"):
        bt.backtest("buy_hold", prices=both)  # CRWV is not in it


def test_rules_as_text_file_and_object(tmp_path: Path) -> None:
    text = (
        '[dip]\nparams = { floor = 30 }\nentry = "rsi(close, 14) < floor"\n'
        'exit = "rsi(close, 14) > 60"\n'
    )
    by_text = bt.backtest(text)
    path = tmp_path / "r.toml"
    path.write_text(text)
    by_file = bt.backtest(str(path), floor=30)
    by_name = bt.backtest(f"{path}:dip")
    assert by_text.name == "dip"
    assert by_text.metrics["final_equity"] == by_file.metrics["final_equity"]
    assert by_name.metrics["final_equity"] == by_text.metrics["final_equity"]
    two = text + '[other]\nentry = "close > 0"\nexit = "close < 0"\n'
    path.write_text(two)
    with pytest.raises(ParamError, match="holds 2 rules"):
        bt.backtest(str(path))


@pytest.mark.parametrize(
    ("call", "kind", "says"),
    [
        (lambda: bt.backtest("ma_trnd"), ParamError, "did you mean 'ma_trend'"),
        (lambda: bt.backtest("ma_trend", fats=3), ParamError, "did you mean 'fast'"),
        (lambda: bt.backtest("ma_trend", fast="ten"), ParamError, "is not a whole number"),
        (lambda: bt.backtest(42), ParamError, "give a registered name"),
        (lambda: bt.backtest(dict), ParamError, "not a strategy class"),
        (lambda: bt.backtest("swing", prices=[1, 2]), DataError, "must be a pandas DataFrame"),
        (lambda: bt.backtest("swing", prices=pd.DataFrame()), DataError, "is empty"),
        (
            lambda: bt.backtest("swing", prices=pd.DataFrame({"close": [1.0]})),
            DataError,
            "missing column",
        ),
        (lambda: bt.backtest("swing", start="2026-01-01", end="2025-01-01"), DataError, "swap"),
        (lambda: bt.backtest("swing", start="soon"), DataError, "is not a date"),
        (lambda: bt.backtest("swing", slippage=5), ParamError, "give a fraction from 0"),
        (lambda: bt.backtest("swing", commission=-1), ParamError, "commission -1 is out of range"),
        (lambda: bt.backtest("swing", cash=0), ParamError, "cash 0 is out of range"),
        (lambda: bt.backtest("swing", cash="lots"), ParamError, "is not a number"),
        (lambda: bt.backtest("swing", sizing="risk:2"), ParamError, "risk takes a fraction"),
        (lambda: bt.backtest("macd", sizing="risk:0.01"), ParamError, "macd has no stop"),
        (lambda: bt.backtest("macd", side="up"), ParamError, "side='up' is unknown"),
        (lambda: bt.backtest("macd", borrow_fee=-0.1), ParamError, "borrow"),
        (lambda: bt.compare(["swing"], sizing="lots"), ParamError, "unknown kind 'lots'"),
        (
            lambda: bt.sweep("ma_trend", grid={"fast": [5]}, sizing="fixed:0"),
            ParamError,
            "fixed takes dollars > 0",
        ),
        (
            lambda: bt.walkforward("ma_trend", grid={"fast": [5]}, train=50, test=20, sizing="x"),
            ParamError,
            "unknown kind 'x'",
        ),
        (lambda: bt.compare(["swing", "swing"]), ParamError, "given twice"),
        (lambda: bt.compare([]), ParamError, "at least one strategy"),
        (lambda: bt.compare(["swing"], metric="sharp"), ParamError, "did you mean 'sharpe'"),
        (lambda: bt.sweep("ma_trend", grid={"fst": [1]}), ParamError, "unknown grid key"),
        (lambda: bt.sweep("ma_trend", grid={}), ParamError, "give a dict"),
        (lambda: bt.sweep("ma_trend", grid={"fast": [5]}, jobs=0), ParamError, "jobs=0"),
        (
            lambda: bt.sweep("ma_trend", grid={"fast": [5]}, constraints=["fast <"]),
            ParamError,
            "",
        ),
        (lambda: bt.sweep("ma_trend", grid={"fast": [5]}, metric="nope"), ParamError, "nope"),
        (
            lambda: bt.sweep("ma_trend", grid={"fast": [5]}, min_trades=-1),
            ParamError,
            "min_trades=-1 must be a whole number >= 0",
        ),
        (
            lambda: bt.sweep("ma_trend", grid={"fast": [5]}, min_trades=2.5),
            ParamError,
            "min_trades=2.5 must be a whole number >= 0",
        ),
        (
            lambda: bt.walkforward("ma_trend", grid={"fast": [5]}, train=9, test=5, min_trades=-3),
            ParamError,
            "min_trades=-3 must be a whole number >= 0",
        ),
        (
            lambda: bt.walkforward("ma_trend", grid={"fast": [5]}, train=0, test=5),
            ParamError,
            "train=0",
        ),
    ],
)
def test_bad_input_is_one_clear_line(call, kind: type, says: str) -> None:  # noqa: ANN001
    with pytest.raises(kind) as info:
        call()
    assert isinstance(info.value, UserError)
    text = str(info.value)
    assert says in text and "\n" not in text and "Traceback" not in text


def test_a_sweep_refuses_an_unregistered_class() -> None:
    from strategies.ma_trend import MATrend

    class Mine(MATrend):
        pass

    assert bt.backtest(Mine, mode="cross").name == "Mine"  # a backtest takes any class
    with pytest.raises(ParamError, match="is not registered"):
        bt.sweep(Mine, grid={"fast": [5, 10]})


def test_a_list_parameter_sweep_draws_a_full_heatmap_and_reruns_its_winner() -> None:
    sw = bt.sweep(
        "swing",
        grid={"stop": "70:85:5", "targets": [(130, 150), (120, 140)]},
        metric="total_return",
        jobs=1,
    )
    table = sw.heatmap("stop", "targets")
    assert table.shape == (2, 4) and table.notna().all().all()
    assert isinstance(sw.best["targets"], tuple)
    again = sw.rerun_best()
    assert again.metrics["total_return"] == pytest.approx(sw.frame.iloc[0]["total_return"])
    assert sw.combinations == 8 and len(sw.frame) == 8


def test_a_sweep_counts_its_distinct_trials_and_warns_as_the_cli() -> None:
    # hold_bars is never read in cross mode: 24 combinations, 6 distinct results
    sw = bt.sweep(
        "ma_trend",
        grid={"mode": "cross", "fast": [5, 10, 20], "slow": [40, 60], "hold_bars": "1:4:1"},
        jobs=1,
        top=3,
    )
    assert (sw.combinations, sw.distinct, sw.unused) == (24, 6, ["hold_bars"])
    assert sw.overfit.dsr is not None and sw.overfit.dsr.n_trials == 6
    assert len(sw.top) == 3 and list(sw.top["same"]) == [4, 4, 4]
    assert list(sw.top["rank"]) == [1, 5, 9]  # each result once, at its place in sw.frame
    assert any(w.startswith("hold_bars changes nothing") for w in sw.warnings)
    assert any(
        w.startswith("ties: the top 3 distinct results are shared by 12") for w in sw.warnings
    )
    with pytest.raises(ParamError, match="top=0 must be"):
        bt.sweep("ma_trend", grid={"fast": [5, 10]}, top=0)


def test_a_kept_store_resumes(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    grid = {"mode": "cross", "fast": [5, 10], "slow": [50, 100]}
    first = bt.sweep("ma_trend", grid=grid, store=store, jobs=1)
    again = bt.sweep("ma_trend", grid=grid, store=store, jobs=1)
    assert store.exists()
    pd.testing.assert_frame_equal(first.frame, again.frame)


def test_importing_engine_and_the_cli_stays_light() -> None:
    code = (
        "import sys, engine, engine.cli.main\n"
        "heavy = [m for m in ('engine.api.sweeps', 'engine.sweep.run') if m in sys.modules]\n"
        "assert 'engine.api' in sys.modules  # run/compare go through it\n"
        "assert heavy == [], heavy\n"
        "import engine as e\n"
        "assert e.api.backtest is sys.modules['engine.api'].backtest\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    plain = "import sys, engine; assert 'engine.api' not in sys.modules"
    subprocess.run([sys.executable, "-c", plain], check=True, cwd=ROOT)


def test_sizing_and_side_reach_every_entry_point() -> None:
    """sizing= and side= as keywords: the same runs as the CLI's --sizing / --param side, on
    backtest, compare, sweep and walkforward."""
    one = bt.backtest("macd", side="both", atr_stop=2.0, sizing="fraction:0.5", borrow_fee=0.03)
    assert set(one.trades["side"]) == {"long", "short"}
    assert "sizing fraction:0.5" in one.run.settings["costs"]
    again = bt.compare(
        [("macd", {"side": "both", "atr_stop": 2.0})], sizing="fraction:0.5", borrow_fee=0.03
    )["macd"]
    pd.testing.assert_frame_equal(one.fills, again.fills)
    grid = {"side": ["short"], "atr_stop": [2.0]}
    sw = bt.sweep("macd", grid=grid, sizing="risk:0.01", metric="total_return")
    risk = bt.backtest("macd", side="short", atr_stop=2.0, sizing="risk:0.01")
    assert sw.best == {"side": "short", "atr_stop": 2.0}
    assert sw.best_metrics["total_return"] == pytest.approx(risk.metrics["total_return"], rel=1e-9)
    wf = bt.walkforward("macd", grid=grid, train=150, test=100, sizing="risk:0.01")
    assert len(wf.folds) >= 1


def test_a_sweep_that_stands_aside_gets_the_report_dates() -> None:
    """``bt.sweep(..., grid={"stand_aside": ...})`` fills ``earnings`` from the ticker's events
    file as ``crwv-bt sweep`` does (without the dates no combination would stand aside), on the
    fast engine; the result matches a backtest run with the same parameter."""
    sw = bt.sweep("macd", grid={"stand_aside": [0, 1]}, jobs=1)
    frame = sw.frame.set_index("stand_aside")
    assert frame["earnings"].nunique() == 1 and frame["earnings"].iloc[0].count("-") >= 10
    assert frame.loc[1, "total_return"] != frame.loc[0, "total_return"]
    run = bt.backtest("macd", stand_aside=1)
    assert frame.loc[1, "total_return"] == pytest.approx(run.metrics["total_return"], rel=1e-9)
    # no stand_aside > 0 in the grid: no earnings column is added
    assert "earnings" not in bt.sweep("macd", grid={"fast": [12]}, jobs=1).best


def test_the_default_heatmap_is_the_pair_the_cli_picks_not_the_first_two() -> None:
    # hold_bars and mode vary first, but slow and fast explain most of the Sharpe's variance
    grid = {"hold_bars": [1, 3], "mode": ["reclaim", "cross"], "fast": [5, 15], "slow": [50, 150]}
    sw = bt.sweep("ma_trend", grid=grid, jobs=1)
    imp = sw.trials.importance
    expected = sorted(["hold_bars", "mode", "fast", "slow"], key=imp.__getitem__)[-2:]
    table = sw.heatmap()
    assert {table.index.name, table.columns.name} == set(expected) != {"hold_bars", "mode"}
