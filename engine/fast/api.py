"""Python entry points of the fast engine: batches of combinations in, metric rows out.

* :func:`evaluate_arrays` - the batch API: parameter *columns* (one array per parameter; missing
  ones take the class default) in, a stream of :class:`Chunk` (a metrics matrix, optionally the
  daily returns) out; nothing per combination is built in Python.
* :func:`engine.fast.trace.simulate` - one combination with its fills, trades, equity and
  metrics, shaped like the harness's :class:`engine.result.RunResult` tables (the equivalence
  tests compare the two).

The sweep's ``fast`` engine (:func:`engine.sweep.engines.evaluate_fast`) calls
:func:`evaluate_arrays`.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from engine import params as params_mod
from engine.analysis.metrics import INT_KEYS, METRIC_KEYS, plain_columns
from engine.analysis.returns import daily_risk_free
from engine.distinct import distinct_rows
from engine.errors import DataError, ParamError
from engine.fast import _warm
from engine.fast import broker as B
from engine.fast import layout as L
from engine.fast._cache import cache_dir, ensure_fresh
from engine.fast.kmetrics import N_METRICS, NUM_KEYS
from engine.fast.program import Rows
from engine.fast.scope import covers, default_jobs
from engine.fast.specs import Market, spec_for
from engine.result import Costs
from engine.sizing import (
    KIND_CODES,
    SPLIT_CODES,
    parse_sizing,
    refuse_without_stop,
    sized_costs,
)
from strategies import lookup
from strategies.base import ArticleStrategy

DEFAULT_CHUNK = 65_536  # combinations per compiled call without returns
RETURN_VALUES_PER_CHUNK = 4_000_000  # float32 daily returns per chunk (16 MB) when they are kept
_MARKETS: OrderedDict[tuple, Market] = OrderedDict()
_MARKETS_MAX = 16


@dataclass(frozen=True)
class Chunk:
    """Results of ``stop - start`` consecutive combinations.

    metrics : float64 matrix, one row per combination, columns :data:`NUM_KEYS`
    returns : float32 matrix of daily returns (``bars - 1`` columns), or None when not asked for
    same : per row, the row of this chunk (counted from ``start``) whose kernel input it shares:
        its metrics and returns are copies of that row's (the input ran once); None when the
        strategy's rows are not grouped (every row its own)
    """

    start: int
    stop: int
    metrics: np.ndarray
    returns: np.ndarray | None
    same: np.ndarray | None = None


def strategy_class(strategy: str) -> type[ArticleStrategy]:
    """The class of ``strategy`` (a registry name or a rule's ref); a :class:`ParamError` with a
    hint otherwise."""
    return lookup(strategy)


def run_rows(score: Callable[[tuple[int, int]], None], m: int, jobs: int | None) -> None:
    """Call ``score((lo, hi))`` over ``[0, m)`` in slices, on ``jobs`` threads.

    The batch kernels release the GIL (``nogil``), so plain threads run them in parallel with no
    process start-up, no pickling and nothing shared but read-only inputs; each slice writes its
    own rows of the output. Slices are small enough (8 per thread) to even out uneven rows.
    """
    jobs = max(1, int(jobs or default_jobs()))
    if jobs == 1 or m < 2 * jobs:
        score((0, m))
        return
    step = max(1, -(-m // (8 * jobs)))
    slices = [(lo, min(m, lo + step)) for lo in range(0, m, step)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for fut in [pool.submit(score, sl) for sl in slices]:
            fut.result()


# ------------------------------------------------------------------------------------ context
def market(prices: pd.DataFrame, costs: Costs, cash: float, key: str | None = None) -> Market:
    """The prices, cost vector and rows' memo of one window (cached per process).

    Every path into the kernels goes through here first, so this is where a stale on-disk
    kernel cache is cleared (:func:`engine.fast._cache.ensure_fresh`).
    """
    ensure_fresh()
    _warm.start(cache_dir())
    stamps = bar_dates(prices).values.astype("datetime64[D]").astype(np.int64)
    px = np.ascontiguousarray(
        np.vstack(
            [
                prices[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64).T,
                stamps.astype(np.float64)[None, :],  # layout.PX_DAY: for the borrow fee
            ]
        )
    )
    digest = key or hashlib.sha1(px.tobytes() + stamps.tobytes()).hexdigest()
    cache_key = (digest, costs, float(cash))
    if cache_key not in _MARKETS:
        sizing = parse_sizing(costs.sizing)
        cost_vec = np.array(
            [
                costs.commission_per_share,
                costs.commission_min,
                costs.commission_max_pct,
                costs.slippage,
                KIND_CODES[sizing.kind],
                sizing.value,
                SPLIT_CODES[sizing.split],
                costs.borrow_fee,
            ],
            dtype=np.float64,
        )
        _MARKETS[cache_key] = Market(px, cost_vec, float(cash), Rows(px), stamps)
        while len(_MARKETS) > _MARKETS_MAX:
            _MARKETS.popitem(last=False)
    else:
        _MARKETS.move_to_end(cache_key)
    return _MARKETS[cache_key]


def bar_dates(prices: pd.DataFrame) -> pd.DatetimeIndex:
    """The session dates the harness records (local calendar date, midnight, no zone)."""
    idx = pd.DatetimeIndex(prices.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out = idx.normalize()
    out.name = "date"
    return out


def _run_single(spec_name: str, mk: Market, cols: dict[str, np.ndarray], record: bool) -> tuple:
    spec = spec_for(spec_name)
    n = mk.c.shape[0]
    prep = spec.prepare(mk, cols)
    sim = B.new_sim(n, mk.cash, record, spec.book_cap(prep))
    eq = np.empty(n)
    pos = np.empty(n)
    spec.single(mk, prep, 0, sim, eq, pos)
    if sim[1][L.M_OVERFLOW]:
        raise RuntimeError(f"fast engine: {spec_name} overflowed its order book or event buffer")
    return sim, eq, pos


_ENVS: OrderedDict[tuple, tuple] = OrderedDict()


def _env(
    prices: pd.DataFrame,
    mk: Market,
    benchmark: pd.Series | None,
    risk_free: float,
    periods_per_year: int,
    bh_mk: Market | None = None,
) -> tuple:
    """(days, common, bench_x, bench_ok, bh_total, rf_daily, P): see :mod:`engine.fast.batch`.

    ``bh_mk``: the window with the benchmark's costs (all in, :meth:`Costs.benchmark`) when the
    run's sizing is another. Cached per market and benchmark (a sweep calls this once per
    chunk; the buy-and-hold run in it costs ~30 ms).
    """
    bench_key = None
    if benchmark is not None:
        bench_key = hashlib.sha1(
            pd.util.hash_pandas_object(benchmark, index=True).to_numpy().tobytes()
        ).hexdigest()
    key = (id(mk), id(bh_mk or mk), bench_key, float(risk_free), int(periods_per_year))
    hit = _ENVS.get(key)
    if hit is not None and hit[0] is mk and hit[1] is (bh_mk or mk):
        _ENVS.move_to_end(key)
        return hit[2]
    env = _make_env(prices, mk, benchmark, risk_free, periods_per_year, bh_mk)
    _ENVS[key] = (mk, bh_mk or mk, env)
    while len(_ENVS) > _MARKETS_MAX:
        _ENVS.popitem(last=False)
    return env


def _make_env(
    prices: pd.DataFrame,
    mk: Market,
    benchmark: pd.Series | None,
    risk_free: float,
    periods_per_year: int,
    bh_mk: Market | None = None,
) -> tuple:
    """:func:`_env`, computed."""
    dates = bar_dates(prices)
    days = mk.days
    _sim, bh_eq, _pos = _run_single("buy_hold", bh_mk or mk, {}, False)
    bh_total = bh_eq[-1] / bh_eq[0] - 1.0 if bh_eq[0] > 0 else math.nan
    rf_d = daily_risk_free(risk_free, periods_per_year)
    common = np.zeros(0, dtype=np.int64)
    bench_x = np.zeros(0)
    bench_ok = False
    if benchmark is not None:
        bench = benchmark.astype(float).dropna()
        inter = dates.intersection(bench.index)
        if len(inter) >= 3:
            common = dates.get_indexer(inter).astype(np.int64)
            b = bench.loc[inter].to_numpy(dtype=float)
            bench_x = (b[1:] / b[:-1] - 1.0) - rf_d
            bench_ok = not bool(np.ptp(bench_x) <= 1e-12)
    return (
        days,
        common,
        np.ascontiguousarray(bench_x),
        bench_ok,
        float(bh_total),
        rf_d,
        float(periods_per_year),
    )


# ------------------------------------------------------------------------------------ columns
def full_columns(
    strategy: str, columns: dict[str, Any], m: int | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Every declared parameter as an array of length ``m`` (defaults fill the missing ones)."""
    cls = strategy_class(strategy)
    declared = params_mod.declared(cls)
    unknown = [k for k in columns if k not in declared]
    if unknown:
        raise ParamError(
            f"unknown parameter {unknown[0]!r} for {strategy}{params_mod.suggest(unknown[0], declared)}"
        )
    lengths = {len(np.asarray(v)) for v in columns.values()}
    if len(lengths) > 1:
        raise ParamError(f"parameter columns have different lengths: {sorted(lengths)}")
    m = lengths.pop() if lengths else (m if m is not None else 1)
    out: dict[str, np.ndarray] = {}
    for key, default in declared.items():
        if key in columns:
            out[key] = np.asarray(columns[key])
        elif isinstance(default, tuple):
            arr = np.empty(m, dtype=object)
            arr[:] = [default] * m
            out[key] = arr
        else:
            out[key] = np.full(m, default)
    return out, m


def columns_from_dicts(params_list: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Resolved parameter dicts -> one array per parameter (tuples kept as objects)."""
    if not params_list:
        return {}
    out: dict[str, np.ndarray] = {}
    for key in params_list[0]:
        values = list(map(itemgetter(key), params_list))  # one C-level pass per key
        if isinstance(values[0], tuple):
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            out[key] = arr
        else:
            out[key] = np.asarray(values)
    return out


_WARM_READS: dict[tuple[Any, ...], set[str]] = {}  # keys a warm-up was seen to read, per class
_WARM_NEED: dict[tuple[Any, ...], int] = {}  # its result per distinct value set of those keys
_WARM_MAX = 200_000  # cached results before the cache is dropped (memory bound)


def check_warmup(strategy: str, cols: dict[str, np.ndarray], m: int, bars: int) -> None:
    """The harness's refusal of a window shorter than a combination's warm-up plus one bar.

    The warm-up is asked once per distinct combination of the parameters it reads (found by
    recording the keys it reads: a moving-average grid of a million rows has a few thousand
    distinct ``fast`` x ``slow`` pairs), not once per row, and each answer is kept for the
    next call (a sweep calls this once per chunk of the same grid). A warm-up that reads other
    keys for other values (``hold_bars`` only in reclaim mode) widens that set and the pass
    starts again; one that iterates the dict reads every key, so it is asked once per
    distinct row. The keys read are noted by :class:`engine.params.ReadRecorder`, as the
    grid's memo does; the distinct value sets are found in numpy (:func:`_distinct_rows`).
    When several value sets are too long for the window, the one of the earliest row is
    named."""
    cls = strategy_class(strategy)
    warm = getattr(cls, "warmup", None)
    if warm is None or m == 0:
        return
    keys = list(cols)
    first = {k: cols[k][0].item() if hasattr(cols[k][0], "item") else cols[k][0] for k in keys}
    # the warm-up itself is part of the key: a test or a notebook may replace it
    base = (cls, getattr(warm, "__func__", warm), tuple(keys))
    reads = _WARM_READS.get(base)
    if reads is None:
        probe = params_mod.ReadRecorder(first)
        warm(probe)
        reads = set(probe.read) & set(keys)  # (a warm-up that iterates reads every key)
    while True:  # grows (and the pass restarts) when a value reads another key
        names = sorted(reads)
        rows = _distinct_rows([cols[k] for k in names])
        columns = [cols[k][rows].tolist() for k in names]
        distinct = zip(*columns, strict=True) if names else iter([()])
        for i, values in zip(rows.tolist(), distinct, strict=True):
            ck = (base, tuple(names), values, tuple(map(type, values)))
            need = _WARM_NEED.get(ck)
            if need is None:
                params = params_mod.ReadRecorder({**first, **dict(zip(names, values, strict=True))})
                need = int(warm(params))
                if not set(params.read) & set(keys) <= reads:
                    reads = reads | (set(params.read) & set(keys))
                    break
                if len(_WARM_NEED) >= _WARM_MAX:
                    _WARM_NEED.clear()
                _WARM_NEED[ck] = need
            if bars < need + 1:
                _too_short(strategy, {k: cols[k].tolist()[i] for k in keys}, need, bars)
        else:
            _WARM_READS[base] = reads
            return


def _distinct_rows(columns: list[np.ndarray]) -> np.ndarray:
    """The first row of each distinct combination of values across ``columns`` (ascending):
    each column coded by ``pd.factorize`` (NaN a value like any other), the rows of codes
    grouped by :func:`engine.distinct.distinct_rows`."""
    if not columns:
        return np.zeros(1, dtype=np.int64)
    codes = np.column_stack([pd.factorize(col, use_na_sentinel=False)[0] for col in columns])
    first, _ = distinct_rows(codes.astype(np.uint64))
    return np.sort(first)


def _too_short(strategy: str, params: dict[str, Any], need: int, bars: int) -> None:
    raise DataError(
        f"{bars} bars, but {strategy} with {params} needs at least "
        f"{need + 1} (its indicator warm-up plus one bar to trade)"
    )


def refuse_unsized(strategy: str, cols: dict[str, np.ndarray], m: int, costs: Costs) -> None:
    """The harness's refusal of ``--sizing risk:F`` for a combination without a stop."""
    sizing = parse_sizing(costs.sizing)
    if not sizing.needs_stop or m == 0:
        return
    cls = strategy_class(strategy)
    keys = list(cols)
    for row in set(zip(*(cols[k].tolist() for k in keys), strict=True)):
        params = dict(zip(keys, row, strict=True))
        refuse_without_stop(sizing, str(getattr(cls, "alias", strategy)), cls.has_stop(params))


# ------------------------------------------------------------------------------------ batches
def evaluate_arrays(
    strategy: str,
    columns: dict[str, Any],
    prices: pd.DataFrame,
    costs: Costs | None = None,
    cash: float = 100_000.0,
    *,
    benchmark: pd.Series | None = None,
    want_returns: bool = False,
    chunk: int | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
    data_key: str | None = None,
    validate: bool = True,
    jobs: int | None = None,
) -> Iterator[Chunk]:
    """Score every combination of ``columns`` and yield the results ``chunk`` rows at a time.

    Parameters
    ----------
    strategy : registry name (:data:`strategies.STRATEGIES`) or a rule's ref, one
        :func:`supports` covers
    columns : parameter name -> array of values, all the same length (text parameters as text
        or as their kernel codes); parameters left out take the class default
    prices : validated daily window (open, high, low, close)
    costs, cash : as :func:`engine.backtest.harness.run_backtest`
    benchmark : market price series for alpha / beta (as ``compute_metrics`` takes it)
    want_returns : also return each combination's daily returns (float32)
    chunk : combinations per compiled call (default 65,536, or fewer with ``want_returns`` so
        that one chunk's returns stay near 16 MB); memory is bounded by one chunk's results
    data_key : a stable identity of ``prices`` (e.g. its fingerprint's sha256) for the caches
    validate : check every combination's warm-up against the window (the harness refuses
        short windows); turn off when the caller has already done it
    jobs : threads (default: every CPU this process may use)

    Yields
    ------
    :class:`Chunk`, in row order.

    Within a chunk, rows whose kernel inputs are identical (:meth:`Spec.distinct`: a parameter
    the row's variant never reads is no input) run once and share the results.
    """
    if not covers(strategy):
        raise ParamError(f"the fast engine does not cover {strategy!r}; use --engine backtrader")
    costs = sized_costs(strategy_class(strategy), costs or Costs())
    mk = market(prices, costs, cash, data_key)
    cols, m = full_columns(strategy, columns)
    if validate:
        check_warmup(strategy, cols, m, mk.c.shape[0])
    refuse_unsized(strategy, cols, m, costs)
    bh_mk = market(prices, costs.benchmark(), cash, data_key) if costs.sizing != "all_in" else mk
    env = _env(prices, mk, benchmark, risk_free, periods_per_year, bh_mk)
    spec = spec_for(strategy)
    n = mk.c.shape[0]
    if chunk is None:
        chunk = (
            DEFAULT_CHUNK
            if not want_returns
            else max(1_024, RETURN_VALUES_PER_CHUNK // max(n - 1, 1))
        )
    for start in range(0, m, max(1, chunk)):
        stop = min(m, start + chunk)
        part = {k: v[start:stop] for k, v in cols.items()}
        prep = spec.prepare(mk, part)
        distinct = spec.distinct(prep)
        same = None
        if distinct is None:
            out, rets, status = _score(spec, mk, prep, env, stop - start, n, want_returns, jobs)
            row = start + int(np.argmax(status))
        else:  # each distinct kernel input runs once; its results go to every row sharing it
            keys, first, inverse = distinct
            out, rets, status = _distinct_scores(
                spec, mk, prep, env, keys, first, n, want_returns, jobs
            )
            row = start + int(first[np.argmax(status)])
            out = out[inverse]
            rets = rets[inverse] if want_returns else rets
            same = first[inverse]
        if status.any():
            raise RuntimeError(f"fast engine: {strategy} overflowed its order book on row {row}")
        yield Chunk(start, stop, out, rets if want_returns else None, same)


class _Kept:
    """Kernel results by distinct input (:meth:`Spec.distinct`), kept from one call of
    :func:`evaluate_arrays` to the next while the spec, the market and the environment are the
    same objects (a sweep calls it once per task, on one window): a row whose input an earlier
    task ran is not run again. The results sit in two preallocated banks (metrics, returns),
    one slot per input; least recently used first out, past :data:`KEPT_RESULTS`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: tuple = ()
        self.slots: OrderedDict[bytes, int] = OrderedDict()
        self.metrics = np.empty((0, N_METRICS))
        self.returns = np.empty((0, 0), dtype=np.float32)

    def of(self, owner: tuple, returns: int) -> _Kept:
        """This store, emptied first when ``owner`` is not the one it holds results of."""
        if len(owner) != len(self.owner) or any(
            a is not b for a, b in zip(owner, self.owner, strict=True)
        ):
            self.owner, self.slots = owner, OrderedDict()
            self.metrics = np.empty((KEPT_RESULTS, N_METRICS))
            self.returns = np.empty((KEPT_RESULTS, returns), dtype=np.float32)
        return self

    def find(self, keys: list[bytes]) -> np.ndarray:
        """The slot of each key (-1: not kept); the ones found become the most recent."""
        slots = self.slots
        found = np.fromiter((slots.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        for i in np.flatnonzero(found >= 0).tolist():
            slots.move_to_end(keys[i])
        return found

    def keep(self, keys: list[bytes], metrics: np.ndarray, returns: np.ndarray | None) -> None:
        """Keep the results of ``keys`` (the last :data:`KEPT_RESULTS` of them at most)."""
        keys, at = keys[-KEPT_RESULTS:], slice(max(0, len(keys) - KEPT_RESULTS), None)
        slots = self.slots
        taken = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            if len(slots) < KEPT_RESULTS:
                slot = len(slots)
            else:
                slot = slots.popitem(last=False)[1]
            slots[key] = taken[i] = slot
        self.metrics[taken] = metrics[at]
        if returns is not None:
            self.returns[taken] = returns[at]


#: Distinct kernel inputs whose results are kept between calls (~1.9 KB each with 385 returns).
KEPT_RESULTS = 16_384
_KEPT = _Kept()


def _distinct_scores(
    spec: Any,
    mk: Market,
    prep: Any,
    env: tuple,
    keys: list[bytes],
    first: np.ndarray,
    n: int,
    want: bool,
    jobs: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_score` of the distinct inputs ``keys`` (rows ``first`` of ``prep``): the ones
    :data:`_KEPT` holds are taken from it, the others run and are kept."""
    k, width = len(keys), max(n - 1, 0)
    out = np.empty((k, N_METRICS))
    rets = np.empty((k if want else 0, width), dtype=np.float32)
    status = np.zeros(k, dtype=np.int64)
    owner = (spec, mk, env, want)
    with _KEPT.lock:
        kept = _KEPT.of(owner, width if want else 0)
        slots = kept.find(keys)
        hit = slots >= 0
        out[hit] = kept.metrics[slots[hit]]
        if want:
            rets[hit] = kept.returns[slots[hit]]
    run = np.flatnonzero(~hit)
    if len(run):
        o, r, st = _score(spec, mk, spec.take(prep, first[run]), env, len(run), n, want, jobs)
        out[run], status[run] = o, st
        if want:
            rets[run] = r
        if not st.any():
            with _KEPT.lock:
                _KEPT.of(owner, width if want else 0).keep(
                    [keys[i] for i in run.tolist()], o, r if want else None
                )
    return out, rets, status


def _score(
    spec: Any, mk: Market, prep: Any, env: tuple, m: int, n: int, want: bool, jobs: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel over the ``m`` rows of ``prep`` on ``jobs`` threads: metrics, daily returns
    (an empty matrix unless ``want``) and each row's status."""
    out = np.empty((m, N_METRICS))
    rets = np.empty((m if want else 0, max(n - 1, 0)), dtype=np.float32)
    status = np.zeros(m, dtype=np.int64)
    run_rows(partial(spec.batch, mk, prep, env, out, rets, want, status), m, jobs)
    return out, rets, status


def metrics_arrays(matrix: np.ndarray, prices: pd.DataFrame) -> dict[str, Any]:
    """The columns of a metrics matrix keyed in :data:`engine.analysis.metrics.METRIC_KEYS`
    order, as numpy arrays: float64, int64 for an integer metric without NaN (float64 with
    NaN when it has one); ``start`` / ``end`` are lists of the window's dates. What
    :func:`engine.sweep.store.metric_array` makes of :func:`metrics_columns`' lists, without
    the lists."""
    dates = bar_dates(prices)
    n = int(matrix.shape[0])
    span = {"start": dates[0].date().isoformat(), "end": dates[-1].date().isoformat()}
    columns: dict[str, Any] = {}
    for j, key in enumerate(NUM_KEYS):
        values = matrix[:, j]
        if key in INT_KEYS and not np.isnan(values).any():
            columns[key] = values.astype(np.int64)
        else:
            columns[key] = np.ascontiguousarray(values)
    return {k: columns[k] if k in columns else [span[k]] * n for k in METRIC_KEYS}


def metrics_columns(matrix: np.ndarray, prices: pd.DataFrame) -> dict[str, list[Any]]:
    """The columns of a metrics matrix as lists of plain values, like ``compute_metrics`` gives
    them, keyed in :data:`engine.analysis.metrics.METRIC_KEYS` order: ``start`` / ``end`` are
    the window's dates; integer metrics are Python ``int`` (NaN stays a float), the rest
    ``float``."""
    return plain_columns(metrics_arrays(matrix, prices))


def metrics_dicts(matrix: np.ndarray, prices: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a metrics matrix as plain dicts, like ``compute_metrics`` gives them
    (:func:`metrics_columns`, one dict per row)."""
    columns = metrics_columns(matrix, prices)
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
