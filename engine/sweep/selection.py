"""Choosing from a sweep: ranking, the chosen row, overfitting statistics, warnings, heatmaps.

* :func:`summarise` (rows in memory) and :func:`summarise_view` (ranked in SQL by
  :class:`engine.sweep.store_view.SweepView`) rank the rows by ``--metric`` (combinations with
  fewer than ``--min-trades`` closed trades are not eligible to be chosen), compute the Deflated
  Sharpe Ratio of the chosen combination and the PBO by CSCV over the daily-returns matrix
  (:mod:`engine.analysis.deflated_sharpe`, :mod:`engine.analysis.pbo`), and list the warnings a
  careful reader needs (few trades, a short window, an insignificant DSR, a high PBO).
* :func:`heatmap_table` / :func:`view_heatmap` pivot the metric over two parameters, the
  others fixed at the chosen combination's values or aggregated.

What is printed and written from a summary is :mod:`engine.sweep.outputs`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.deflated_sharpe import DeflatedSharpe, deflated_sharpe, per_period_sharpe
from engine.analysis.metrics import METRIC_KEYS
from engine.analysis.pbo import PBOResult, pbo
from engine.distinct import first_seen_codes
from engine.errors import ParamError
from engine.params import suggest

#: Metrics where a lower value is better (all others: higher is better).
LOWER_IS_BETTER = frozenset({"max_drawdown_duration", "volatility", "commission_paid"})
FEW_TRADES = 10  # fewer closed trades than this: the chosen configuration is anecdotal
SHORT_WINDOW_BARS = 504  # two years of sessions
DSR_SIGNIFICANT = 0.95
AGGREGATES = ("best", "mean", "median", "max", "min")


def metric_order(metric: str) -> bool:
    """``True`` when lower is better; :class:`ParamError` for a key that cannot rank."""
    numeric = [k for k in METRIC_KEYS if k not in ("start", "end")]
    if metric not in numeric:
        raise ParamError(
            f"unknown metric {metric!r}{suggest(metric, numeric)}; choose one of {', '.join(numeric)}"
        )
    return metric in LOWER_IS_BETTER


def rank(frame: pd.DataFrame, metric: str, min_trades: int = 0) -> pd.DataFrame:
    """Rows best first by ``metric`` (NaN last; ties keep grid order), with ``rank`` and
    ``eligible`` (``n_trades >= min_trades``) columns; ineligible rows follow eligible ones."""
    ascending = metric_order(metric)
    out = frame.copy()
    out["eligible"] = pd.to_numeric(out["n_trades"]).fillna(0) >= min_trades
    values = pd.to_numeric(out[metric], errors="coerce")
    out["_sort"] = values if ascending else -values
    out = out.sort_values(
        ["eligible", "_sort"], ascending=[False, True], na_position="last", kind="mergesort"
    )
    out = out.drop(columns="_sort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


@dataclass(frozen=True)
class Overfit:
    """Overfitting statistics of a sweep (either may be None, with the reason in ``notes``).

    ``n_trials`` counts every combination (the DSR's N); ``pbo_trials`` the combinations the
    PBO ranked, fewer than ``n_trials`` when ``pbo_sampled`` (a seeded random sample).
    """

    dsr: DeflatedSharpe | None
    pbo: PBOResult | None
    n_trials: int
    notes: list[str] = field(default_factory=list)
    pbo_trials: int = 0
    pbo_sampled: bool = False
    pbo_seed: int | None = None
    #: every combination, when ``n_trials`` counts distinct results (identical returns once)
    combinations: int | None = None


ReturnsOf = Callable[[list[str]], np.ndarray]  # keys -> T x len(keys) float32 daily returns
SHARPE_CHUNK = 20_000  # columns of returns read at a time for the trials' Sharpe ratios


def overfit_stats(matrix: np.ndarray, chosen: int, n_splits: int = 16) -> Overfit:
    """DSR of column ``chosen`` (all columns are the trials) and PBO by CSCV of ``matrix``."""
    m = np.asarray(matrix, dtype=float)
    n = m.shape[1]
    dsr = deflated_sharpe(m[:, chosen], np.asarray(per_period_sharpe(m)), n_trials=n)
    return _with_pbo(dsr, m, n, n_splits, sampled=False, seed=None)


def _with_pbo(
    dsr: DeflatedSharpe, m: np.ndarray, n: int, n_splits: int, sampled: bool, seed: int | None
) -> Overfit:
    notes: list[str] = []
    if dsr.reason:
        notes.append(f"DSR undefined: {dsr.reason}")
    result: PBOResult | None = None
    if m.shape[1] < 2:
        notes.append("PBO needs at least 2 combinations")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = pbo(m, n_splits=n_splits)
            except (ValueError, ParamError) as exc:
                notes.append(f"PBO not computed: {exc}")
        notes.extend(str(w.message) for w in caught)
    if sampled:
        notes.append(
            f"PBO ranked a seeded random sample of {m.shape[1]:,} of the {n:,} combinations "
            f"(seed {seed}; --pbo-max-trials); the DSR reads all {n:,}"
        )
    return Overfit(dsr, result, n, notes, m.shape[1], sampled, seed if sampled else None)


def pbo_sample(n: int, max_trials: int, seed: int) -> np.ndarray:
    """Sorted positions of the ``max_trials`` combinations PBO ranks (all ``n`` when fewer)."""
    if n <= max_trials:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_trials, replace=False))


def overfit_streamed(
    keys: pd.Series,
    chosen: int,
    returns_of: ReturnsOf,
    n_splits: int = 16,
    max_trials: int = 2_000,
    seed: int = 0,
) -> Overfit:
    """:func:`overfit_stats` for a sweep of any size, reading returns from the store.

    The approximation, for sweeps of more than ``max_trials`` combinations: the PBO (CSCV) ranks
    a seeded random sample of ``max_trials`` of them (:func:`pbo_sample`), so it is the PBO of
    selecting the best of a random subset of the grid; for neighbouring grid points, which are
    strongly correlated, that estimates the full grid's PBO closely at a fraction of the cost
    (CSCV is ``O(C(S, S/2) x N)``). The DSR is exact: ``N`` is every combination, the variance
    of the trials' Sharpe ratios is computed over all of them, ``SHARPE_CHUNK`` columns of
    returns at a time, and the skew and kurtosis are the chosen combination's. Memory stays
    bounded by one chunk of returns plus one float per combination.
    """
    n = len(keys)
    sharpes = np.empty(n)
    for lo in range(0, n, SHARPE_CHUNK):
        part = returns_of(_keys_at(keys, slice(lo, lo + SHARPE_CHUNK)))
        sharpes[lo : lo + part.shape[1]] = per_period_sharpe(np.asarray(part, dtype=float))
    best = np.asarray(returns_of(_keys_at(keys, [chosen])), dtype=float)[:, 0]
    dsr = deflated_sharpe(best, sharpes, n_trials=n)
    positions = pbo_sample(n, max_trials, seed)
    m = np.asarray(returns_of(_keys_at(keys, positions)), dtype=float)
    return _with_pbo(dsr, m, n, n_splits, sampled=len(positions) < n, seed=seed)


def _keys_at(keys: Any, where: Any) -> list[str]:
    """Keys of a Series of text keys, or of an ``N x 16`` array of digests (as hex text)."""
    if isinstance(keys, np.ndarray):
        return [bytes(d).hex() for d in keys[where]]
    return list(keys.iloc[where])


@dataclass(frozen=True)
class SweepSummary:
    """A ranked sweep: rows best first, the chosen row, its overfitting stats and warnings."""

    ranked: pd.DataFrame
    metric: str
    chosen: pd.Series
    overfit: Overfit
    param_columns: list[str]
    grid_keys: list[str]
    warnings: list[str]
    bars: int
    #: with a store-backed summary (:func:`summarise_view`): ``ranked`` is only the top rows,
    #: ``count`` the combinations and ``view`` the :class:`engine.sweep.store_view.SweepView`
    count: int | None = None
    view: Any = None
    min_trades: int = 0
    grid_names: dict[str, str] = field(default_factory=dict)  # column label -> parameter
    trials: Trials | None = None  # distinct results, unused parameters, importance

    @property
    def combinations(self) -> int:
        return self.count if self.count is not None else len(self.ranked)


def summarise(
    frame: pd.DataFrame,
    matrix: np.ndarray | None,
    metric: str,
    *,
    param_columns: list[str],
    grid_keys: list[str],
    bars: int,
    min_trades: int = 0,
    pbo_splits: int = 16,
    returns_of: ReturnsOf | None = None,
    pbo_max_trials: int = 2_000,
    seed: int = 0,
) -> SweepSummary:
    """Rank ``frame`` (rows in the order of ``matrix``'s columns) and compute the statistics.

    Without ``matrix``, the returns are read through ``returns_of`` by the frame's ``key``
    column (:func:`overfit_streamed`: PBO on at most ``pbo_max_trials``, sampled with ``seed``).
    """
    ranked = rank(frame, metric, min_trades)
    chosen = ranked.iloc[0]
    pos = int(frame.index.get_loc(chosen.name))
    if matrix is not None:
        overfit = overfit_stats(matrix, pos, pbo_splits)
    elif returns_of is not None:
        overfit = overfit_streamed(frame["key"], pos, returns_of, pbo_splits, pbo_max_trials, seed)
    else:
        raise ValueError("summarise needs the returns matrix or returns_of")
    notes = _warnings(chosen, metric, bars, min_trades, overfit)
    return SweepSummary(ranked, metric, chosen, overfit, param_columns, grid_keys, notes, bars)


@dataclass(frozen=True)
class Trials:
    """How many different things a sweep tried.

    ``distinct`` counts distinct results (rows whose daily returns and closed-trade count are
    identical count once: the ``result`` column of the store); ``unused`` are the grid
    parameters that never change the result (given the other parameters, every value of theirs
    gives the same result); ``importance`` is, per varying parameter, the share of the metric's
    variance explained by its marginal means (eta squared, 0 to 1).
    """

    combinations: int
    distinct: int
    unused: list[str] = field(default_factory=list)
    importance: dict[str, float] = field(default_factory=dict)
    numeric: dict[str, bool] = field(default_factory=dict)


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


Codes = dict[str, tuple[np.ndarray, int]]  # parameter -> (code per row, how many values)


def _kept_codes(code: np.ndarray, n: int, keep: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`_codes` of the rows ``keep`` selects, from the codes ``code`` (``0 .. n-1``) of
    every row, without hashing the values again: renumbered in order of first appearance
    among the rows kept, as ``pd.factorize`` numbers them."""
    codes, order = first_seen_codes(code[keep], n)
    return codes, len(order)


def _combine(a: np.ndarray, na: int, b: np.ndarray, nb: int) -> tuple[np.ndarray, int]:
    """Codes of the pairs ``(a, b)`` (``a < na``, ``b < nb``) and how many codes there can be:
    ``a * nb + b`` itself while ``na * nb`` stays small (codes of pairs that do not occur go
    unused: a group count of 0), else renumbered densely (0 .. distinct pairs - 1). The pairs
    group the rows the same either way; the plain product skips a hash pass over every row."""
    if na * nb <= max(4 * len(a), 1 << 20):
        return a * nb + b, na * nb
    return _codes(a * nb + b)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted (``np.unique`` by a plain sort: numpy's
    hash-based ``unique`` took ~0.35 s on a million rows, the sort ~0.03 s)."""
    s = np.sort(values)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if s.size else s


def unused_params(
    params: dict[str, np.ndarray],
    result: np.ndarray,
    codes: Codes | None = None,
    result_codes: tuple[np.ndarray, int] | None = None,
) -> list[str]:
    """The parameters of ``params`` (name -> one value per row) that never change ``result``:
    within every group of rows that agree on all the other parameters and hold two or more of
    its values, one result only (and at least one such group exists). ``codes`` and
    ``result_codes``: the :func:`_codes` of ``params`` and ``result`` when already computed."""
    codes = codes if codes is not None else {k: _codes(v) for k, v in params.items()}
    res, nres = result_codes if result_codes is not None else _codes(result)
    out = []
    for name, (code, n) in codes.items():
        if n < 2:
            continue
        group, ng = np.zeros(len(result), dtype=np.int64), 1
        for other, (c, k) in codes.items():
            if other != name:
                group, ng = _combine(group, ng, c, k)
        # one entry per distinct (group, value) and per distinct (group, result)
        values_per_group = np.bincount(_distinct(group * n + code) // n, minlength=ng)
        results_per_group = np.bincount(_distinct(group * nres + res) // nres, minlength=ng)
        several = values_per_group >= 2
        if several.any() and bool(np.all(results_per_group[several] == 1)):
            out.append(name)
    return out


def param_importance(
    params: dict[str, np.ndarray], values: np.ndarray, codes: Codes | None = None
) -> dict[str, float]:
    """Eta squared of each parameter: the variance of the metric's means per value of the
    parameter (weighted by rows) over the metric's variance; NaN rows are left out.
    ``codes``: the :func:`_codes` of ``params`` (of every row) when already computed."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    every = bool(ok.all())
    v = v[ok]
    total = float(np.sum((v - v.mean()) ** 2)) if v.size else 0.0
    out: dict[str, float] = {}
    for name, raw in params.items():
        if not v.size:
            code, n = np.zeros(0, np.int64), 0
        elif codes is None:
            code, n = _codes(np.asarray(raw)[ok])
        else:
            code, n = codes[name] if every else _kept_codes(*codes[name], ok)
        if n < 2 or total <= 0:
            out[name] = 0.0
            continue
        counts = np.bincount(code, minlength=n)
        means = np.bincount(code, weights=v, minlength=n) / np.maximum(counts, 1)
        out[name] = float(np.sum(counts * (means - v.mean()) ** 2) / total)
    return out


def trial_structure(
    params: dict[str, np.ndarray],
    result: np.ndarray,
    values: np.ndarray,
    result_codes: tuple[np.ndarray, int] | None = None,
    factorised: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Trials:
    """:class:`Trials` of a sweep from its columns (one entry per combination each). Each
    column is factorised once (a hash pass over every row, ~20 ms a column of a million);
    ``result_codes``: :func:`_codes` of ``result`` when already computed; ``factorised``:
    ``pd.factorize(params[k], use_na_sentinel=False)`` of some parameters, already computed
    (their ``params`` entry is then not read but for its length)."""
    done = factorised or {}
    factorised = {
        k: done[k] if k in done else pd.factorize(v, use_na_sentinel=False)
        for k, v in params.items()
    }
    varying = {k: v for k, v in params.items() if len(factorised[k][1]) > 1}
    codes = {k: (factorised[k][0].astype(np.int64), len(factorised[k][1])) for k in varying}
    numeric = {
        k: bool(len(v))
        and all(
            isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
            for x in factorised[k][1]  # the distinct values, as pd.unique gives them
        )
        for k, v in varying.items()
    }
    result_codes = result_codes if result_codes is not None else _codes(result)
    return Trials(
        combinations=len(result),
        distinct=result_codes[1],
        unused=unused_params(varying, result, codes, result_codes),
        importance=param_importance(varying, values, codes),
        numeric=numeric,
    )


TIE_SCAN = 500  # top rows read (at least) to find the first ``top`` distinct results


def summarise_view(
    view: Any,
    digests: np.ndarray | None,
    metric: str,
    *,
    grid_keys: list[str],
    bars: int,
    min_trades: int = 0,
    pbo_splits: int = 16,
    returns_of: ReturnsOf | None = None,
    pbo_max_trials: int = 2_000,
    seed: int = 0,
    top: int = 10,
) -> SweepSummary:
    """:func:`summarise` with the ranking in SQL (:class:`~engine.sweep.store_view.SweepView`).

    Only the top rows are read, and rows with the same result (identical daily returns and
    trade count) are shown once, with ``same`` = how many combinations share it. The Deflated
    Sharpe Ratio counts distinct results as its trials (``N``; the variance of the trials'
    Sharpe ratios is over one of each), from the store's ``sr`` column; the PBO reads the
    returns of at most ``pbo_max_trials`` combinations (a sample drawn with ``seed``).
    ``grid_keys`` are parameter names; the summary's are their column labels. ``digests`` and
    ``returns_of`` are not needed any more (the view knows its rows) and are ignored.
    """
    ascending = metric_order(metric)
    names = [k for k in grid_keys if k in view.params]
    # the parameters the columns hold as dictionaries come factorised (not read row by row)
    known = view.factorised(names)
    arrays = view.arrays(metric, [k for k in names if k not in known])
    params = {k: known[k][0] if k in known else arrays[f"p:{k}"] for k in names}
    # the results factorised once: distinct count, unused parameters, ties, the DSR's trials
    codes, uniques = pd.factorize(arrays["result"], use_na_sentinel=False)
    results = Results(codes.astype(np.int64), uniques)
    trials = trial_structure(
        params, arrays["result"], arrays[metric], (results.codes, len(uniques)), known
    )
    ranked = _distinct_top(view, arrays, metric, ascending, min_trades, max(top, 1), results)
    chosen = ranked.iloc[0]
    where = np.flatnonzero(arrays["pos"] == int(chosen.name))
    store = view.store
    best = np.asarray(store.returns_by_run([int(arrays["run"][where[0]])]), dtype=float)[:, 0]
    first = results.first_rows()  # as np.unique(result, return_index=True)[1]
    dsr = deflated_sharpe(best, arrays["sr"][first], n_trials=trials.distinct)
    n = len(arrays["run"])
    positions = pbo_sample(n, pbo_max_trials, seed)
    m = np.asarray(store.returns_by_run(arrays["run"][positions].tolist()), dtype=float)
    overfit = _with_pbo(dsr, m, n, pbo_splits, sampled=len(positions) < n, seed=seed)
    overfit = Overfit(**{**overfit.__dict__, "n_trials": trials.distinct, "combinations": n})
    notes = _warnings(chosen, metric, bars, min_trades, overfit) + _trial_warnings(
        trials, ranked, top
    )
    labels = [k if k in ranked.columns else f"param_{k}" for k in grid_keys]
    return SweepSummary(
        ranked,
        metric,
        chosen,
        overfit,
        ranked.attrs["param_columns"],
        labels,
        notes,
        bars,
        count=view.count,
        view=view,
        min_trades=min_trades,
        grid_names=dict(zip(labels, grid_keys, strict=True)),
        trials=trials,
    )


def ranking_order(
    arrays: dict[str, np.ndarray], metric: str, ascending: bool, min_trades: int
) -> np.ndarray:
    """Indices of ``arrays``' rows best first, in the order of
    :meth:`~engine.sweep.store_view.SweepView.ranked` (eligible first, then the metric in its
    direction, NULL last, ties in grid order), computed in numpy from the columns already read."""
    m, pos = arrays[metric], arrays["pos"]
    eligible = np.nan_to_num(arrays["n_trades"], nan=0.0) >= min_trades
    null = np.isnan(m)
    key = np.where(null, 0.0, m if ascending else -m)
    return np.lexsort((pos, key, null, ~eligible))


@dataclass(frozen=True)
class Results:
    """A sweep's ``result`` column factorised: ``codes`` (one per row, ``0 .. n-1`` in order
    of first appearance) and ``uniques`` (the result of each code). Stands in for the
    ``np.unique(result, return_index=True, ...)`` sorts of a million rows (~0.05-0.1 s each)
    with O(rows) passes over the codes, giving the same arrays."""

    codes: np.ndarray
    uniques: np.ndarray

    def first_of_each(self, codes: np.ndarray) -> np.ndarray:
        """Per code, the position of its first row in ``codes`` (every code occurs)."""
        first = np.empty(len(self.uniques), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # repeated: the last write wins
        return first

    def first_rows(self) -> np.ndarray:
        """``np.unique(result, return_index=True)[1]``: the first row of each result, results
        in ascending order."""
        return self.first_of_each(self.codes)[np.argsort(self.uniques, kind="stable")]


def _distinct_top(
    view: Any,
    arrays: dict[str, np.ndarray],
    metric: str,
    ascending: bool,
    min_trades: int,
    top: int,
    results: Results | None = None,
) -> pd.DataFrame:
    """The best ``top`` distinct results, best first: the first row (in ranking order) of each,
    with ``same`` = the sweep's combinations sharing it; ``rank`` is the row's place in the
    whole ranking. Ordered from the view's ``arrays``; only the rows shown are read.
    ``results``: the ``result`` column factorised, when already done."""
    order = ranking_order(arrays, metric, ascending, min_trades)
    if results is None:
        codes, uniques = pd.factorize(arrays["result"], use_na_sentinel=False)
        results = Results(codes.astype(np.int64), uniques)
    first = results.first_of_each(results.codes[order])  # first place of each, ranked
    counts = np.bincount(results.codes, minlength=len(results.uniques))
    shown = np.sort(first)[:top]  # places (0-based) of each result's first row, best first
    same = dict(zip(results.uniques.tolist(), counts.tolist(), strict=True))
    kept = view.rows_at(arrays["pos"][order[shown]].tolist(), shown + 1, min_trades)
    kept["same"] = [same.get(int(r), 1) for r in kept["result"]]
    return kept


def _trial_warnings(trials: Trials, ranked: pd.DataFrame, top: int) -> list[str]:
    out = []
    for name in trials.unused:
        out.append(
            f"{name} changes nothing in this sweep: given the other parameters every value of it "
            "gives the same result; drop it from the grid (its values are not extra trials)"
        )
    shared = ranked.head(top)
    if "same" in shared and int(shared["same"].max()) > 1:
        out.append(
            f"ties: the top {len(shared)} distinct results are shared by "
            f"{int(shared['same'].sum()):,} combinations (the chosen one by "
            f"{int(shared['same'].iloc[0]):,}); each is shown once, `same` says how many share it"
        )
    if trials.distinct < trials.combinations:
        out.append(
            f"{trials.combinations:,} combinations gave {trials.distinct:,} distinct results; "
            "the Deflated Sharpe Ratio counts the distinct ones as its trials"
        )
    return out


def _warnings(
    chosen: pd.Series, metric: str, bars: int, min_trades: int, overfit: Overfit
) -> list[str]:
    out: list[str] = []
    if not chosen["eligible"]:
        out.append(
            f"no combination has {min_trades} closed trades or more; the ranking ignores --min-trades"
        )
    trades = int(chosen["n_trades"]) if pd.notna(chosen["n_trades"]) else 0
    if trades < FEW_TRADES:
        out.append(
            f"the chosen configuration rests on {trades} closed trade(s) (fewer than {FEW_TRADES}): "
            "its metrics describe a handful of events, not a tested edge"
        )
    if bars < SHORT_WINDOW_BARS:
        out.append(
            f"short window: {bars} bars (~{bars / 252:.1f} years, under {SHORT_WINDOW_BARS // 252}); "
            "one market regime, so in-sample rankings say little about the next one"
        )
    dsr = overfit.dsr
    if dsr is not None and not math.isnan(dsr.dsr) and dsr.dsr < DSR_SIGNIFICANT:
        out.append(
            f"Deflated Sharpe Ratio {dsr.dsr:.2f} < {DSR_SIGNIFICANT}: after {dsr.n_trials} trials the chosen "
            "Sharpe ratio is not distinguishable from the best of that many worthless ones"
        )
    if overfit.pbo is not None and overfit.pbo.pbo > 0.5:
        out.append(
            f"PBO {overfit.pbo.pbo:.0%} > 50%: the in-sample best ranks below the out-of-sample median "
            "more often than not: the selection is likely overfit"
        )
    return out


# ------------------------------------------------------------------------------------ heatmap


def heatmap_table(
    ranked: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    others: str = "best",
    varying: list[str] | None = None,
) -> pd.DataFrame:
    """``metric`` by ``y`` (rows) x ``x`` (columns).

    ``others="best"`` keeps only rows whose other varying parameters equal the chosen row's
    (the first of ``ranked``); ``mean`` / ``median`` / ``max`` / ``min`` aggregate over them.
    """
    if others not in AGGREGATES:
        raise ParamError(f"--heatmap-others {others!r}: choose one of {', '.join(AGGREGATES)}")
    frame = ranked
    if others == "best":
        best = ranked.iloc[0]
        for col in varying or []:
            if col not in (x, y):
                frame = frame[frame[col] == best[col]]
        others = "mean"  # one row per cell remains
    values = pd.to_numeric(frame[metric], errors="coerce")
    table = values.groupby([frame[y], frame[x]]).agg(others).unstack(x)
    return table.sort_index().sort_index(axis=1)


def view_heatmap(
    summary: SweepSummary, x: str, y: str, others: str, varying: list[str]
) -> pd.DataFrame:
    """:func:`heatmap_table` of a store-backed summary, aggregated in SQL (column labels in,
    column labels out)."""
    if others not in AGGREGATES:
        raise ParamError(f"--heatmap-others {others!r}: choose one of {', '.join(AGGREGATES)}")
    names, chosen = summary.grid_names, summary.chosen
    fixed = None
    if others == "best":
        fixed = {names[c]: _sql_param(chosen[c]) for c in varying if c not in (x, y)}
        others = "mean"  # one row per cell remains
    table = summary.view.heatmap(names[x], names[y], summary.metric, others, fixed, labels=(x, y))
    # JSON true/false come back from SQLite as 1/0: label a boolean axis as the table would
    if summary.ranked[x].dtype == bool:
        table.columns = pd.Index(table.columns.astype(bool), name=x)
    if summary.ranked[y].dtype == bool:
        table.index = pd.Index(table.index.astype(bool), name=y)
    return table


def _sql_param(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def pick_heatmap_axes(
    requested: str | None,
    grid_keys: list[str],
    varying: list[str],
    trials: Trials | None = None,
) -> tuple[str, str] | None:
    """``--heatmap X,Y`` checked against the grid keys; by default the two varying keys that
    matter most (with ``trials``: the larger share of the metric's variance explained by the
    parameter's marginal means, numeric before text or lists on a tie; without: the first
    two)."""
    if not requested:
        if len(varying) < 2:
            return None
        if trials is None:
            return varying[0], varying[1]
        imp, num = trials.importance, trials.numeric

        def weight(k: str) -> tuple[float, bool]:
            return round(imp.get(k, 0.0), 9), num.get(k, False)

        best = sorted(varying, key=weight, reverse=True)[:2]
        return best[0], best[1]
    names = [n.strip() for n in requested.split(",")]
    if len(names) != 2 or names[0] == names[1]:
        raise ParamError(
            f"--heatmap {requested!r}: give two different grid keys, e.g. --heatmap fast,slow"
        )
    for n in names:
        if n not in grid_keys:
            raise ParamError(
                f"--heatmap: {n!r} is not a grid key{suggest(n, grid_keys)}; grid keys: {', '.join(grid_keys)}"
            )
    return names[0], names[1]
