"""Backtests and comparisons of the Python API (:mod:`engine.api`, the public module).

Everything a run needs is checked here before it starts: the strategy (:func:`strategy_class`),
its parameters (:func:`strategy_config`), the prices (:func:`price_window`) and the costs
(:func:`make_costs`, also the CLI's check of its cost options). :func:`compare` is the one path
of ``crwv-bt run`` / ``crwv-bt compare`` and of :func:`engine.api.backtest`.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engine import checks
from engine import params as params_mod
from engine.analysis.metrics import METRIC_KEYS
from engine.data.events import load_events
from engine.data.load import load_prices, slice_range
from engine.data.validate import normalize_frame, validate
from engine.errors import DataError, ParamError
from engine.jobs.montecarlo_exec import check as check_replays
from engine.jobs.montecarlo_run import MonteCarloSettings, for_batch, summaries
from engine.jobs.runner import (
    Batch,
    Config,
    benchmark_labels,
    load_benchmark,
    rank,
    run_configs,
    with_earnings,
)
from engine.params import suggest
from engine.report import interactive
from engine.report.display import format_table
from engine.report.extras import Extras
from engine.report.narrative import Versus
from engine.report.run_folder import write_run
from engine.report.summary import CARD_CSS, card
from engine.result import Costs, RunResult
from engine.rules import Rule, load_rules, parse_rules
from engine.sizing import canonical
from strategies import STRATEGIES, lookup
from strategies.rule import rule_strategy

DEFAULT_TICKER = "CRWV"
DEFAULT_CASH = 100_000.0
#: metrics where smaller is better (ranking ascending)
SMALLER_IS_BETTER = ("max_drawdown_duration", "volatility")
_COST_FIELDS = {
    "commission": "commission_per_share",
    "commission_min": "commission_min",
    "commission_max": "commission_max_pct",
    "slippage": "slippage",
}


# ------------------------------------------------------------------------------------ inputs


def make_costs(
    costs: Costs | None = None,
    *,
    cash: float = DEFAULT_CASH,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    cli: bool = False,
    sizing: str | None = None,
    borrow_fee: float | None = None,
) -> Costs:
    """``costs`` (default :class:`Costs`) with the given ``commission`` / ``commission_min`` /
    ``commission_max`` / ``slippage`` replaced, checked with ``cash`` (:mod:`engine.checks`:
    finite numbers): costs >= 0, the commission cap a fraction up to 1, slippage a fraction
    below 0.1, the borrow fee an annual fraction below 1, cash > 0, ``sizing`` (:mod:`engine.sizing`, also inside ``costs``) a
    valid sizing. ``cli`` names the options as the CLI spells them."""

    def name(key: str) -> str:
        return f"--{key.replace('_', '-')}" if cli else key

    base = costs if costs is not None else Costs()
    if not isinstance(base, Costs):
        raise ParamError(f"costs={base!r} is not an engine.result.Costs; build one with Costs(...)")
    fields = {
        "commission": commission,
        "commission_min": commission_min,
        "commission_max": commission_max,
        "slippage": slippage,
    }
    given: dict[str, Any] = {}
    for key, value in fields.items():
        if value is not None:
            given[_COST_FIELDS[key]] = value
    if sizing is not None:
        given["sizing"] = sizing
    if borrow_fee is not None:
        given["borrow_fee"] = borrow_fee
    out = replace(base, **given)
    out = replace(out, sizing=canonical(out.sizing))  # checked: engine.sizing
    # one check per number (engine.checks): a real, finite number inside its range
    out = replace(
        out,
        commission_per_share=checks.number(
            out.commission_per_share, name("commission"), low=0.0, need="dollars per share >= 0"
        ),
        commission_min=checks.number(
            out.commission_min, name("commission_min"), low=0.0, need="dollars per order >= 0"
        ),
        commission_max_pct=checks.number(
            out.commission_max_pct,
            name("commission_max"),
            low=0.0,
            high=1.0,
            need="a fraction of the fill value from 0 to 1 (0.01 = 1%)",
        ),
        slippage=checks.number(
            out.slippage,
            name("slippage"),
            low=0.0,
            high=0.1,
            high_open=True,
            need="a fraction from 0 to below 0.1 (0.0005 = 5 bp)",
        ),
        borrow_fee=checks.number(
            out.borrow_fee,
            name("borrow_fee"),
            low=0.0,
            high=1.0,
            high_open=True,
            need="an annual fraction from 0 to below 1 (0.03 = 3%)",
        ),
    )
    checks.number(
        cash, name("cash"), low=0.0, low_open=True, need=f"dollars > 0 (at most {checks.LIMIT:g})"
    )
    return out


def strategy_config(
    strategy: Any, params: Mapping[str, Any] | None = None, label: str | None = None
) -> Config:
    """The :class:`~engine.jobs.runner.Config` of one ``strategy`` (see :mod:`engine.api`) with
    ``params`` checked against the parameters it declares."""
    sizing = ""  # a variant's own sizing (engine.sizing) rides on its Config
    if isinstance(strategy, Config):
        cls, name, base = strategy.strategy_cls, strategy.label, dict(strategy.params)
        sizing = strategy.sizing
    else:
        cls = strategy_class(strategy)
        registered = isinstance(strategy, str) and strategy.strip() in STRATEGIES
        name = strategy.strip() if registered else params_mod.strategy_name(cls)
        base = {}
    overrides = {**base, **dict(params or {})}
    params_mod.resolve(cls, overrides)  # unknown names, wrong types, impossible combinations
    return Config(label or name, cls, overrides, sizing)


def strategy_class(strategy: Any) -> type:
    """The class of a registered name, a rule ref, a rule, rule text or file, or a class."""
    if isinstance(strategy, Rule):
        return rule_strategy(strategy)
    if isinstance(strategy, type):
        if not hasattr(getattr(strategy, "params", None), "_getitems"):
            raise ParamError(
                f"{strategy.__name__} is not a strategy class (no backtrader "
                "params); subclass strategies.base.ArticleStrategy or give a registered name"
            )
        return strategy
    if isinstance(strategy, os.PathLike) or (
        isinstance(strategy, str) and _looks_like_file(strategy)
    ):
        return _rule_from_file(os.fspath(strategy))
    if isinstance(strategy, str) and "\n" in strategy.strip():
        return _one_rule(parse_rules(strategy, "<rule text>"), "the rule text")
    if isinstance(strategy, str):
        return lookup(strategy.strip())
    raise ParamError(
        f"strategy={strategy!r}: give a registered name ({', '.join(STRATEGIES)}), a strategy "
        "class, or a rule (engine.rules.Rule, TOML text, FILE.toml or FILE.toml:NAME)"
    )


def _looks_like_file(text: str) -> bool:
    head = text.rsplit(":", 1)[0] if ".toml:" in text else text
    return "\n" not in text and head.endswith(".toml")


def _rule_from_file(spec: str) -> type:
    path, _, name = spec.partition(".toml:")
    path = path + ".toml" if name else spec
    book = load_rules(path)
    if name:
        return rule_strategy(book.get(name))
    return _one_rule(book.rules, path)


def _one_rule(rules: Mapping[str, Rule], source: str) -> type:
    if len(rules) != 1:
        names = ", ".join(rules)
        raise ParamError(
            f"{source} holds {len(rules)} rules ({names}); pick one with FILE.toml:NAME or "
            "pass the engine.rules.Rule"
        )
    return rule_strategy(next(iter(rules.values())))


def price_window(
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    csv: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    min_bars: int = 1,
) -> tuple[pd.DataFrame, str]:
    """``(prices, ticker)``: the validated window ``start``..``end`` (both inclusive) of
    ``prices`` (any OHLCV frame, yfinance's too) or of the ticker's file, as the CLI reads it."""
    if prices is None:
        name = (ticker or DEFAULT_TICKER).upper()
        return load_prices(name, start, end, csv=csv, data_dir_=data_dir, min_bars=min_bars), name
    if not isinstance(prices, pd.DataFrame):
        raise DataError(
            f"prices must be a pandas DataFrame of daily OHLCV rows, got {type(prices).__name__}"
        )
    if prices.empty:
        raise DataError(
            "prices: the DataFrame is empty; give daily rows of open/high/low/close/volume"
        )
    name = (ticker or _frame_ticker(prices) or DEFAULT_TICKER).upper()
    frame = validate(normalize_frame(prices, "prices", name), "prices")
    return slice_range(frame, start, end, "prices", min_bars=min_bars), name


def _frame_ticker(prices: pd.DataFrame) -> str | None:
    """The one symbol of a yfinance frame's ticker level, or None."""
    if not isinstance(prices.columns, pd.MultiIndex):
        return None
    for i in range(prices.columns.nlevels):
        values = {str(v) for v in prices.columns.get_level_values(i)}
        if len(values) == 1 and values.pop().lower() not in ("price", "open", "close"):
            return str(prices.columns.get_level_values(i)[0])
    return None


def _warmup(configs: list[Config]) -> int:
    return max(
        (
            getattr(c.strategy_cls, "warmup", lambda p: 0)(
                params_mod.resolve(c.strategy_cls, c.params)
            )
            for c in configs
        ),
        default=0,
    )


# ------------------------------------------------------------------------------------ results


@dataclass(eq=False)
class Result:
    """One backtest: its metrics, trades, fills and account, and ways to look at them.

    Attributes
    ----------
    run : the plain result (:class:`engine.result.RunResult`)
    metrics : every metric of :data:`engine.analysis.metrics.METRIC_KEYS`, in that order
    buy_hold : the buy-and-hold run on the same window with the same costs (the benchmark)
    prices : the price window the run used
    config : what ran (label, strategy class, parameter overrides)
    events : the ticker's events (``data/events/<TICKER>.toml``), or None
    """

    run: RunResult
    metrics: pd.Series
    buy_hold: RunResult
    prices: pd.DataFrame
    config: Config
    events: pd.DataFrame | None = None
    monte_carlo_results: dict[str, Any] = field(default_factory=dict)
    monte_carlo_summary: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.run.strategy

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter as it ran (defaults plus overrides)."""
        return dict(self.run.params)

    @property
    def trades(self) -> pd.DataFrame:
        """Round trips, flat to flat (schema: :mod:`engine.result`)."""
        return self.run.trades.copy()

    @property
    def fills(self) -> pd.DataFrame:
        """Executed orders, in execution order (schema: :mod:`engine.result`)."""
        return self.run.fills.copy()

    @property
    def equity(self) -> pd.DataFrame:
        """By session: ``equity`` (account value at the close), ``position`` (shares),
        ``drawdown`` (below the running high, a fraction <= 0) and ``buy_hold`` (the
        benchmark's account)."""
        eq = self.run.equity.astype(float)
        frame = pd.DataFrame(
            {
                "equity": eq,
                "position": self.run.position.reindex(eq.index),
                "drawdown": eq / eq.cummax() - 1.0,
                "buy_hold": self.buy_hold.equity.reindex(eq.index),
            }
        )
        frame.index.name = "date"
        return frame

    def plot(self) -> Any:
        """The report's interactive chart (price with fills and levels, volume, account,
        drawdown) as a plotly ``Figure``: shown interactively in a notebook, ``.show()`` or
        ``.write_html(path)`` elsewhere."""
        fig = interactive.chart_figure(self.run, self.prices, self.buy_hold, self.events)
        return go.Figure(fig)

    def write(self, out: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
        """Write the run folder ``crwv-bt run`` writes (report.html, CSVs, metrics.json)."""
        return _write(out, [self], plots, None)

    def monte_carlo(
        self,
        paths: int = 1_000,
        *,
        seed: int = 0,
        replays: int | None = None,
        shift: tuple[int, int] = (0, 1),
        slippage: tuple[float, float] = (0.0, 0.002),
        drawdown: float = 0.25,
    ) -> pd.DataFrame:
        """How lucky was it: the trade bootstrap, the block bootstrap and ``min(paths,
        replays)`` execution-noise replays (``crwv-bt run --monte-carlo``). Returns the 5/50/95 %
        bands of total return, max drawdown and Sharpe with P(loss) and P(drawdown deeper than
        ``drawdown``), a row per method; the full summaries go to the run folder."""
        settings = mc_settings(paths, seed, replays, shift, slippage, drawdown)
        res, docs = _monte_carlo(self, settings)
        self.monte_carlo_results = res
        self.monte_carlo_summary = docs
        return bands_frame(docs)

    def _repr_html_(self) -> str:
        bh = self.buy_hold.equity.astype(float)
        versus = Versus(
            bh_return=_num(self.metrics.get("buy_hold_return")),
            bh_max_drawdown=float((bh / bh.cummax() - 1).min()) if len(bh) else math.nan,
        )
        body = card(self.run, self.metrics, versus, anchor="", best=False, benchmark=False)
        return (
            f"<style>{CARD_CSS}</style><div class='cards'>{body}</div>"
            f"<p style='font-size:0.85em;color:#5b6670'>{html.escape(_window(self))}</p>"
        )

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"<Result {self.name} on {_window(self)}: total return "
            f"{_pct(m.get('total_return'))}, Sharpe {_num(m.get('sharpe')):.2f}, "
            f"max drawdown {_pct(m.get('max_drawdown'))}, {int(_num(m.get('n_trades'), 0))} trades>"
        )


def _num(value: Any, default: float = math.nan) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _pct(value: Any) -> str:
    v = _num(value)
    return "n/a" if math.isnan(v) else f"{v:+.2%}"


def _window(res: Result) -> str:
    idx = res.prices.index
    return f"{res.run.ticker} {idx[0].date()} to {idx[-1].date()} ({len(idx)} bars)"


@dataclass(eq=False)
class Comparison:
    """Several strategies on one window: :func:`compare`'s result, best first when ranked.

    Attributes
    ----------
    results : label -> :class:`Result`, in display order
    batch : the runs as :func:`engine.jobs.runner.run_configs` returned them
    costs : the costs every run paid
    metric : the metric the order is by, or None (the order given)
    """

    results: dict[str, Result]
    batch: Batch
    costs: Costs
    ticker: str
    metric: str | None = None
    events: pd.DataFrame | None = None

    @property
    def metrics(self) -> pd.DataFrame:
        """A row per strategy, a column per metric (:data:`METRIC_KEYS` order)."""
        return (
            pd.DataFrame({k: r.metrics for k, r in self.results.items()}).T.reindex(
                columns=list(next(iter(self.results.values())).metrics.index)
            )
            if self.results
            else pd.DataFrame(columns=METRIC_KEYS)
        )

    @property
    def prices(self) -> pd.DataFrame:
        return self.batch.prices

    def __getitem__(self, label: str) -> Result:
        if label not in self.results:
            raise KeyError(f"{label!r}; the runs are {', '.join(self.results)}")
        return self.results[label]

    def __iter__(self) -> Any:
        return iter(self.results.values())

    def __len__(self) -> int:
        return len(self.results)

    def describe(self) -> str:
        """The window and the costs in one line (what ``crwv-bt run`` prints first)."""
        p = self.prices
        return (
            f"{self.ticker} {p.index[0].date()} to {p.index[-1].date()} ({len(p)} bars); "
            f"{self.costs.describe()}"
        )

    def table(self) -> str:
        """The terminal table ``crwv-bt run`` prints: a row per metric, a column per run."""
        return format_table({k: r.metrics for k, r in self.results.items()})

    def notes(self) -> list[str]:
        """Each run's notes; the routine gap resizes counted, not listed (fills have them)."""
        out = []
        for r in self.results.values():
            resized = [n for n in r.run.notes if "resized from" in n]
            out += [f"{r.name}: {n}" for n in r.run.notes if n not in resized]
            if resized:
                out.append(
                    f"{r.name}: {len(resized)} buy(s) resized at the fill because a gap made "
                    "them unaffordable (fills.csv: resized_from)"
                )
        return out

    def plot(self) -> Any:
        """Every run's account as the growth of $1 on one interactive chart, buy & hold dashed."""
        runs = [r.run for r in self.results.values()]
        return go.Figure(interactive.comparison_figure(runs, self.batch.buy_hold))

    def monte_carlo(
        self, paths: int = 1_000, *, seed: int = 0, settings: MonteCarloSettings | None = None
    ) -> dict[str, pd.DataFrame]:
        """:meth:`Result.monte_carlo` of every run with the same settings: label -> bands."""
        settings = settings or mc_settings(paths, seed)
        results = for_batch(self.batch, self.prices, [r.config for r in self], settings)
        out = {}
        for label, res in results.items():
            docs = summaries(res, settings)
            self.results[label].monte_carlo_results = res
            self.results[label].monte_carlo_summary = docs
            out[label] = bands_frame(docs)
        return out

    def write(
        self,
        out: str | os.PathLike[str],
        *,
        plots: bool = True,
        about: dict[str, dict[str, Any]] | None = None,
    ) -> list[Path]:
        """Write the run folder (``report.html`` last), with the Monte Carlo once computed;
        ``about``: label -> what the report says of each run (a variant's description)."""
        return _write(out, list(self.results.values()), plots, about)

    def _repr_html_(self) -> str:
        best = rank({k: r.metrics for k, r in self.results.items()}, "total_return")
        cards = []
        for label, r in self.results.items():
            bench = r.config.strategy_cls is STRATEGIES["buy_hold"] and not r.config.params
            cards.append(
                card(
                    r.run,
                    r.metrics,
                    Versus(bh_return=_num(r.metrics.get("buy_hold_return"))),
                    anchor="",
                    best=bool(best) and label == best[0],
                    benchmark=bench,
                )
            )
        return (
            f"<style>{CARD_CSS}</style><p>{html.escape(self.describe())}</p>"
            f"<div class='cards'>{''.join(cards)}</div>"
        )

    def __repr__(self) -> str:
        return f"<Comparison of {len(self)} on {self.describe()}>\n{self.table()}"


def _write(
    out: str | os.PathLike[str],
    results: list[Result],
    plots: bool,
    about: dict[str, dict[str, Any]] | None,
) -> list[Path]:
    first = results[0]
    mc = {r.name: r.monte_carlo_results for r in results if r.monte_carlo_results}
    docs = {r.name: r.monte_carlo_summary for r in results if r.monte_carlo_summary}
    extras = Extras(events=first.events, monte_carlo=mc or None, summaries=docs or None)
    return write_run(
        Path(out),
        [r.run for r in results],
        {r.name: r.metrics for r in results},
        first.prices,
        plots=plots,
        buy_hold=first.buy_hold,
        extras=extras,
        about=about,
    )


def mc_settings(
    paths: int = 1_000,
    seed: int = 0,
    replays: int | None = None,
    shift: tuple[int, int] = (0, 1),
    slippage: tuple[float, float] = (0.0, 0.002),
    drawdown: float = 0.25,
) -> MonteCarloSettings:
    """Checked :class:`MonteCarloSettings` (the API's names for ``--monte-carlo`` and co.)."""
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 1:
        raise ParamError(f"paths={paths!r}: give a positive whole number of Monte Carlo paths")
    if not isinstance(seed, int) or seed < 0:
        raise ParamError(f"seed={seed!r} must be a whole number >= 0")
    if not 0 < drawdown < 1:
        raise ParamError(f"drawdown={drawdown!r} is a fraction in (0, 1), e.g. 0.25")
    for label, pair in (("shift", shift), ("slippage", slippage)):
        if len(pair) != 2 or pair[0] > pair[1]:
            raise ParamError(f"{label}={pair!r}: give (LOW, HIGH) with LOW <= HIGH")
    defaults = MonteCarloSettings()
    reps = defaults.replays if replays is None else replays
    if reps < 1:
        raise ParamError(f"replays={replays!r} must be >= 1")
    settings = MonteCarloSettings(
        n_paths=paths,
        seed=seed,
        replays=reps,
        shift=(int(shift[0]), int(shift[1])),
        slippage=(float(slippage[0]), float(slippage[1])),
        dd_threshold=float(drawdown),
    )
    check_replays(settings.n_paths, settings.shift, settings.slippage)
    return settings


def _monte_carlo(res: Result, settings: MonteCarloSettings) -> tuple[dict, dict]:
    results = for_batch(
        Batch([res.run], {res.name: res.metrics}, res.prices, res.buy_hold),
        res.prices,
        [res.config],
        settings,
    )[res.name]
    return results, summaries(results, settings)


def bands_frame(docs: Mapping[str, Any]) -> pd.DataFrame:
    """Monte Carlo summaries (method -> summary) as a row per method: paths, the 5/50/95 %
    quantiles of total return, max drawdown and Sharpe, P(loss) and P(drawdown)."""
    rows = {}
    for method, s in docs.items():
        row: dict[str, Any] = {"paths": s["n_paths"]}
        for stat in ("total_return", "max_drawdown", "sharpe"):
            for q, v in s["bands"][stat].items():
                if q in ("p5", "p50", "p95"):
                    row[f"{stat}_{q}"] = v
        row["prob_loss"] = s["prob_loss"]
        row["prob_drawdown"] = s["prob_drawdown"]
        rows[method] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "method"
    return frame


# ------------------------------------------------------------------------------------ functions


def compare(
    strategies: Iterable[Any] | Mapping[str, Any],
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    cash: float = DEFAULT_CASH,
    costs: Costs | None = None,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    sizing: str | None = None,
    borrow_fee: float | None = None,
    fractional: bool = False,
    metric: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    csv: str | os.PathLike[str] | None = None,
    _cli: bool = False,
) -> Comparison:
    """Run several strategies on one window with the same costs; buy & hold is the benchmark.

    Parameters
    ----------
    strategies : a list of strategies (names, classes, rules, or ``(strategy, {params})``
        pairs) or a dict ``label -> strategy`` / ``label -> (strategy, {params})``
    prices, ticker, start, end : the window (module docstring); default CRWV from the data dir
    cash, costs, commission, commission_min, commission_max, slippage, fractional : as
        ``crwv-bt run``'s options (defaults: $100,000 and :class:`~engine.result.Costs`)
    sizing, borrow_fee : ``--sizing`` (docs/sizing.md: ``"risk:0.01"``, ``"fraction:0.5"``,
        ...; default ``all_in``, or a variant's own) and ``--borrow-fee`` (annual, on shorts)
    metric : rank the runs by this metric key, best first (default: the order given)
    data_dir, csv : where the prices (and SPY, the events) are read from, as ``--data-dir`` /
        ``--csv``

    Returns
    -------
    :class:`Comparison`: ``.metrics`` (a row per run), ``["label"]`` (a :class:`Result`),
    ``.plot()``, ``.table()``, ``.write(folder)``, ``.monte_carlo(n)``.
    """
    configs = _configs(strategies)
    if not configs:
        raise ParamError("give at least one strategy, e.g. compare(['ma_trend', 'buy_hold'])")
    labels = [c.label for c in configs]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ParamError(f"{twice[0]!r} is given twice; label the runs with a dict {{label: ...}}")
    if metric is not None and metric not in METRIC_KEYS:
        raise ParamError(
            f"unknown metric {metric!r}{suggest(metric, METRIC_KEYS)}; choose one of {', '.join(METRIC_KEYS)}"
        )
    if not isinstance(fractional, bool):
        raise ParamError(f"fractional={fractional!r} must be True or False")
    checked = make_costs(
        costs,
        cash=cash,
        cli=_cli,
        commission=commission,
        commission_min=commission_min,
        commission_max=commission_max,
        slippage=slippage,
        sizing=sizing,
        borrow_fee=borrow_fee,
    )
    window, name = price_window(
        prices, ticker, start, end, csv=csv, data_dir=data_dir, min_bars=_warmup(configs) + 1
    )
    return run_window(
        configs,
        window,
        name,
        cash=float(cash),
        costs=checked,
        fractional=fractional,
        data_dir=data_dir,
        metric=metric,
    )


def run_window(
    configs: list[Config],
    prices: pd.DataFrame,
    ticker: str,
    *,
    cash: float,
    costs: Costs,
    fractional: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    metric: str | None = None,
) -> Comparison:
    """Checked configurations on a validated window (:func:`compare` after its checks; the
    CLI's ``--tickers`` runs each ticker through it): the ticker's events fill the earnings
    dates of strategies that stand aside, buy & hold and SPY (from ``data_dir``) are the
    benchmarks, ``metric`` orders the runs best first."""
    events = load_events(ticker, data_dir)
    configs = benchmark_labels(configs, STRATEGIES["buy_hold"], costs)  # names kept for it
    configs = with_earnings(configs, events, prices)
    batch = run_configs(
        configs,
        prices,
        buy_hold_cls=STRATEGIES["buy_hold"],
        ticker=ticker,
        cash=cash,
        costs=costs,
        fractional=fractional,
        benchmark=load_benchmark(None if data_dir is None else str(data_dir), prices),
    )
    by_label = {c.label: c for c in configs}
    results = {
        r.strategy: Result(
            r, batch.metrics[r.strategy], batch.buy_hold, prices, by_label[r.strategy], events
        )
        for r in batch.results
    }
    if metric:
        order = rank(batch.metrics, metric, ascending=metric in SMALLER_IS_BETTER)
        results = {k: results[k] for k in order}
    return Comparison(results, batch, costs, ticker, metric, events)


def _configs(strategies: Any) -> list[Config]:
    if isinstance(strategies, str | Rule | type | Config) or isinstance(strategies, os.PathLike):
        strategies = [strategies]
    if isinstance(strategies, Mapping):
        items = [(label, spec) for label, spec in strategies.items()]
    else:
        try:
            items = [(None, spec) for spec in strategies]
        except TypeError:
            raise ParamError(
                f"strategies={strategies!r}: give a list of strategies or a dict label -> strategy"
            ) from None
    out = []
    for label, spec in items:
        params: Mapping[str, Any] = {}
        if isinstance(spec, tuple):
            if len(spec) != 2 or not isinstance(spec[1], Mapping):
                raise ParamError(f"{spec!r}: give (strategy, {{param: value}})")
            spec, params = spec
        out.append(strategy_config(spec, params, label))
    return out


def backtest(
    strategy: Any,
    prices: pd.DataFrame | None = None,
    ticker: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    cash: float = DEFAULT_CASH,
    costs: Costs | None = None,
    commission: float | None = None,
    commission_min: float | None = None,
    commission_max: float | None = None,
    slippage: float | None = None,
    sizing: str | None = None,
    borrow_fee: float | None = None,
    fractional: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    **params: Any,
) -> Result:
    """Backtest one strategy; every other keyword is one of its parameters.

    Parameters
    ----------
    strategy : a registered name, a strategy class or a rule (module docstring)
    prices : None (the ticker's file in the data dir) or any daily OHLCV DataFrame
    ticker : the symbol (default CRWV, or the one ticker of a yfinance frame)
    start, end : first and last date (inclusive), ``"YYYY-MM-DD"`` or a date
    cash, costs, commission, commission_min, commission_max, slippage, fractional : the
        account and its costs, as ``crwv-bt run``'s options
    sizing, borrow_fee : the position size of each entry (``"risk:0.01"``, ...; docs/sizing.md)
        and the annual borrow fee on shorts, as ``--sizing`` / ``--borrow-fee``
    data_dir : the price folder (default ``$CRWV_BT_DATA_DIR``, else ``data/``)
    **params : the strategy's parameters (``crwv-bt strategies`` lists them)

    Returns
    -------
    :class:`Result`: ``.metrics``, ``.trades``, ``.fills``, ``.equity``, ``.plot()``,
    ``.write(folder)``, ``.monte_carlo(n)``; in a notebook it shows as the report's summary card.
    """
    cmp = compare(
        [strategy_config(strategy, params)],
        prices,
        ticker,
        start,
        end,
        cash=cash,
        costs=costs,
        commission=commission,
        commission_min=commission_min,
        commission_max=commission_max,
        slippage=slippage,
        sizing=sizing,
        borrow_fee=borrow_fee,
        fractional=fractional,
        data_dir=data_dir,
    )
    return next(iter(cmp))
