"""Do the rules travel? The same configurations on several tickers, and one robustness table.

:func:`run_tickers` runs every configuration on each ticker's prices from the data dir (each
with its own buy-and-hold benchmark, same costs); :func:`robustness_table` lays one metric per
block, strategies down, tickers across, plus their median. The article's swing plan is written
in CRWV dollars ($94 / $90 / $86, stop $79.99, targets $130 / $150): on any other ticker a
swing configuration that does not choose its levels itself runs with ``levels="relative"``
(the same shape around the close before ``active_from``: tranches 0 / -4 / -8 %, stop -15 %,
targets +35 / +60 %), see :func:`travel_params`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from engine.errors import ParamError

#: The article's own ticker: its absolute levels only mean something there.
HOME_TICKER = "CRWV"
#: Metrics of the robustness table, in order.
TABLE_METRICS = (
    "total_return",
    "excess_return",
    "cagr",
    "sharpe",
    "max_drawdown",
    "n_trades",
    "win_rate",
    "exposure",
)


@dataclass(frozen=True)
class TickerRun:
    """One ticker's batch (:class:`engine.jobs.runner.Batch`) and the configurations it ran."""

    ticker: str
    batch: Any
    configs: list


def parse_tickers(text: str) -> list[str]:
    """``"CRWV, nvda"`` -> ``["CRWV", "NVDA"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for part in text.split(","):
        t = part.strip().upper()
        if not t:
            continue
        if not t.replace(".", "").replace("-", "").isalnum():
            raise ParamError(
                f"--tickers: {part.strip()!r} is not a ticker symbol; e.g. --tickers CRWV,NVDA"
            )
        if t not in out:
            out.append(t)
    if not out:
        raise ParamError("--tickers is empty; give symbols separated by commas, e.g. CRWV,NVDA")
    return out


def travel_params(cfg_params: dict[str, Any], strategy_cls: type, ticker: str) -> dict[str, Any]:
    """Parameters for ``ticker``: a swing plan off its home ticker switches to relative levels
    unless the configuration sets ``levels`` (or absolute prices) itself."""
    if ticker.upper() == HOME_TICKER or getattr(strategy_cls, "alias", "") != "swing":
        return dict(cfg_params)
    chosen = {"levels", "ladder", "stop", "targets"} & set(cfg_params)
    if chosen:
        return dict(cfg_params)
    return {**cfg_params, "levels": "relative"}


def run_tickers(
    configs: list,
    tickers: list[str],
    load: Callable[[str], pd.DataFrame],
    run: Callable[[list, pd.DataFrame, str], Any],
) -> list[TickerRun]:
    """Run ``configs`` on every ticker: ``load(ticker)`` gives its prices, ``run(configs,
    prices, ticker)`` its :class:`engine.jobs.runner.Batch` (the CLI passes
    :func:`engine.jobs.runner.run_configs` with its costs and benchmark)."""
    out = []
    for ticker in tickers:
        mine = [replace(c, params=travel_params(c.params, c.strategy_cls, ticker)) for c in configs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prices = load(ticker)
        out.append(TickerRun(ticker, run(mine, prices, ticker), mine))
    return out


def rank_strategies(table: pd.DataFrame, metric: str, ascending: bool = False) -> pd.DataFrame:
    """``table`` with its strategies in ``metric``'s order: those with a value on the most
    tickers first, then by the median (best first; ``ascending`` for lower-is-better metrics).

    A median over fewer tickers (a Sharpe ratio is undefined on a ticker where the
    configuration never traded) must not outrank one over all of them.
    """
    block = table.loc[metric]
    tickers = [c for c in block.columns if c != "median"]
    order = pd.DataFrame({"n": block[tickers].notna().sum(axis=1), "median": block["median"]})
    order = order.sort_values(
        ["n", "median"], ascending=[False, ascending], na_position="last", kind="stable"
    )
    return table.reindex(order.index, level="strategy")


def partial_medians(table: pd.DataFrame, metric: str) -> dict[str, list[str]]:
    """Strategy -> the tickers where ``metric`` has no value (only strategies with some)."""
    block = table.loc[metric]
    tickers = [c for c in block.columns if c != "median"]
    out = {}
    for label, row in block[tickers].iterrows():
        missing = [t for t in tickers if pd.isna(row[t])]
        if missing:
            out[str(label)] = missing
    return out


def robustness_table(
    runs: list[TickerRun], metrics: tuple[str, ...] = TABLE_METRICS
) -> pd.DataFrame:
    """Rows ``(metric, strategy)``, columns the tickers then ``median`` (over the tickers)."""
    frames = {}
    for r in runs:
        frames[r.ticker] = pd.DataFrame(
            {
                label: pd.to_numeric(m.reindex(list(metrics)), errors="coerce")
                for label, m in r.batch.metrics.items()
            }
        ).T  # strategies x metrics
    labels = list(dict.fromkeys(label for f in frames.values() for label in f.index))
    rows = []
    for metric in metrics:
        for label in labels:
            row = {
                t: frames[t].at[label, metric] if label in frames[t].index else float("nan")
                for t in frames
            }
            rows.append({"metric": metric, "strategy": label, **row})
    table = pd.DataFrame(rows).set_index(["metric", "strategy"])
    table["median"] = table[list(frames)].median(axis=1, skipna=True)
    return table
