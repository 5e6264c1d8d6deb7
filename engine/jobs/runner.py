"""Run a set of strategy configurations on one price window and score them.

Data flows one way: prices (loaded once) -> :func:`engine.backtest.harness.run_backtest` per
configuration -> :func:`engine.analysis.metrics.compute_metrics` -> plain results for the report.
Buy-and-hold is always run on the same window with the same costs: it is the benchmark of
every ``buy_hold_return`` / ``excess_return``. Its names (``buy_hold``, ``bh``, ``benchmark``...:
:func:`engine.result.is_benchmark`) are reserved for it: another run called so (a variant
``[buy_hold]`` of ma_trend, buy and hold with parameters or another sizing, a rule named
``buy_hold``) is shown as ``buy_hold (ma_trend)`` (:func:`benchmark_labels`), so it can never
take the benchmark's place in a table, a chart or ``metrics.json``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from engine import params as params_mod
from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.data.events import fill_earnings
from engine.data.fingerprint import fingerprint
from engine.data.load import data_dir as data_dir_of
from engine.data.load import load_prices
from engine.data.validate import DataWarning
from engine.errors import DataError, ParamError
from engine.result import Costs, RunResult, is_benchmark
from engine.sizing import effective


@dataclass(frozen=True)
class Config:
    """One configuration to run: a label, a strategy class and parameter overrides."""

    label: str
    strategy_cls: type
    params: dict[str, Any] = field(default_factory=dict)
    sizing: str = ""  # a variant's own sizing (engine.sizing); "" = the run's


@dataclass(frozen=True)
class Batch:
    """Everything a report needs: results, metrics (by label), the prices and the benchmark run."""

    results: list[RunResult]
    metrics: dict[str, pd.Series]
    prices: pd.DataFrame
    buy_hold: RunResult


def load_benchmark(
    data_dir: str | None, prices: pd.DataFrame, ticker: str = "SPY"
) -> pd.Series | None:
    """SPY adjusted close over the run's window from the data dir, or None when absent.

    A file that is there but cannot be used (truncated, a close that is not a number...) is
    also None, with one :class:`DataWarning` naming the file and its first problem: the run goes
    on without alpha and beta rather than failing for want of an optional benchmark. A file that
    cannot be read at all (no permission, a folder) raises, as every unreadable file does.
    """
    if not (data_dir_of(data_dir) / f"{ticker.upper()}.csv").exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            frame = load_prices(ticker, data_dir_=data_dir, allow_download=False)
    except DataError as exc:
        warnings.warn(
            f"{exc}; alpha and beta are left out of the metrics", DataWarning, stacklevel=2
        )
        return None
    window = frame["adj_close"].loc[prices.index[0] : prices.index[-1]]
    return window if len(window) > 1 else None


def is_the_benchmark(cfg: Config, buy_hold_cls: type, costs: Costs) -> bool:
    """True when ``cfg`` runs exactly the benchmark: buy and hold, its defaults, all in."""
    return (
        cfg.strategy_cls is buy_hold_cls
        and not cfg.params
        and effective(costs.sizing, cfg.sizing) == "all_in"
    )


def benchmark_labels(configs: list[Config], buy_hold_cls: type, costs: Costs) -> list[Config]:
    """``configs`` with the benchmark's names kept for the benchmark: a run labelled like it
    that is something else is relabelled ``LABEL (WHAT)`` (its strategy, ``rule``, its
    parameters or its sizing), with one warning line."""
    taken = {c.label for c in configs}
    out = []
    for c in configs:
        if not is_benchmark(c.label) or is_the_benchmark(c, buy_hold_cls, costs):
            out.append(c)
            continue
        if getattr(c.strategy_cls, "rule", None) is not None:
            what = "rule"
        elif c.strategy_cls is buy_hold_cls:
            what = ", ".join(f"{k}={v}" for k, v in c.params.items()) or effective(
                costs.sizing, c.sizing
            )
        else:
            what = params_mod.strategy_name(c.strategy_cls)
        label, i = f"{c.label} ({what})", 1
        while label in taken:
            i += 1
            label = f"{c.label} ({what}, {i})"
        taken.add(label)
        warnings.warn(
            f"{c.label!r} is the buy-and-hold benchmark's name; this run ({what}) is shown as "
            f"{label!r}",
            UserWarning,
            stacklevel=2,
        )
        out.append(replace(c, label=label))
    return out


def run_configs(
    configs: list[Config],
    prices: pd.DataFrame,
    *,
    buy_hold_cls: type,
    ticker: str,
    cash: float,
    costs: Costs,
    fractional: bool = False,
    benchmark: pd.Series | None = None,
) -> Batch:
    """Run every configuration plus the buy-and-hold benchmark; metrics for each.

    A configuration labelled with a benchmark name must be the benchmark
    (:func:`benchmark_labels` relabels the others first); anything else is a :class:`ParamError`.
    """
    for cfg in configs:
        if is_benchmark(cfg.label) and not is_the_benchmark(cfg, buy_hold_cls, costs):
            raise ParamError(
                f"{cfg.label!r} is the buy-and-hold benchmark's name, reserved for buy_hold with "
                "its defaults; give this run another name"
            )
    fp = fingerprint(prices, ticker)
    common: dict[str, Any] = dict(
        cash=cash, costs=costs, fractional=fractional, ticker=ticker, data_fp=fp
    )
    # the benchmark invests all the cash whatever the sizing (Costs.benchmark)
    bh = run_backtest(
        buy_hold_cls, prices, name="buy_hold", **{**common, "costs": costs.benchmark()}
    )
    results = []
    for cfg in configs:
        if is_the_benchmark(cfg, buy_hold_cls, costs):
            results.append(RunResult(**{**bh.__dict__, "strategy": cfg.label}))
            continue
        own = effective(costs.sizing, cfg.sizing)
        mine = {**common, "costs": replace(costs, sizing=own)} if own != costs.sizing else common
        results.append(run_backtest(cfg.strategy_cls, prices, cfg.params, name=cfg.label, **mine))  # type: ignore[arg-type]
    metrics = {
        r.strategy: compute_metrics(
            r.equity, r.trades, position=r.position, buy_hold=bh.equity, benchmark=benchmark
        )
        for r in results
    }
    return Batch(results=results, metrics=metrics, prices=prices, buy_hold=bh)


def rank(metrics: dict[str, pd.Series], metric: str, ascending: bool = False) -> list[str]:
    """Labels ordered best first by ``metric`` (NaN last)."""
    values = pd.Series(
        {k: pd.to_numeric(v.get(metric), errors="coerce") for k, v in metrics.items()}
    )
    return list(values.sort_values(ascending=ascending, na_position="last").index)


def grid_earnings(
    strategy_cls: type,
    axes: dict[str, Any],
    events: Callable[[], pd.DataFrame],
    prices: pd.DataFrame,
) -> dict[str, Any]:
    """``axes`` (a sweep grid: name -> values) with ``earnings`` fixed to the report dates of
    ``events()`` (called only then: the ticker's events file) when the grid stands aside before earnings (``stand_aside`` > 0 in it, or by
    default) and has no ``earnings`` axis of its own, as :func:`with_earnings` does for a run;
    without it no combination would ever stand aside. Otherwise ``axes`` unchanged."""
    declared = params_mod.declared(strategy_cls)
    if "stand_aside" not in declared or "earnings" in axes:
        return axes
    if not any(float(v) > 0 for v in axes.get("stand_aside", (declared["stand_aside"],))):
        return axes
    filled = fill_earnings(
        {"stand_aside": 1, "earnings": ""}, events(), pd.DatetimeIndex(prices.index)
    )
    return {**axes, "earnings": (filled["earnings"],)} if filled["earnings"] else axes


def with_earnings(
    configs: list[Config], events: pd.DataFrame, prices: pd.DataFrame
) -> list[Config]:
    """Configurations whose strategy stands aside before earnings get their ``earnings`` dates
    from ``events`` (:func:`engine.data.events.fill_earnings`); the others come back as they are.
    """
    out = []
    for c in configs:
        if "stand_aside" not in params_mod.declared(c.strategy_cls):
            out.append(c)
            continue
        resolved = params_mod.resolve(c.strategy_cls, c.params)
        filled = fill_earnings(resolved, events, pd.DatetimeIndex(prices.index))
        params = c.params if filled is resolved else {**c.params, "earnings": filled["earnings"]}
        out.append(replace(c, params=params))  # a variant's own sizing goes with it
    return out
