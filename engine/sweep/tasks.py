"""The unit of work of a sweep: a :class:`Job`, the key of a combination, one evaluated chunk.

A sweep is a list of *plans*, each a :class:`Job` (strategy, engine, price window, costs) with the
parameter dicts to run on it (a plain sweep has one plan; a walk-forward one per fold). Every
combination is keyed by :func:`combo_key` (what the store resumes by); :func:`evaluate_chunk`
scores a chunk of combinations with the job's engine (:mod:`engine.sweep.engines`) and turns the
outcomes into the store's rows, column by column (a :class:`~engine.sweep.store.Batch`). It runs wherever a backend sends it (:mod:`engine.sweep.backends`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.data.fingerprint import fingerprint
from engine.files import canonical_json
from engine.result import Costs, run_settings
from engine.sweep.engines import EngineInput, Scores, get_engine
from engine.sweep.store import Batch
from strategies.rule import register_texts

Item = tuple[str, dict[str, Any], str]  # (combination key, resolved params, their canonical JSON)
Task = tuple["Job", list[Item]]


@dataclass(frozen=True)
class SweepData:
    """What every worker receives once: the loaded prices, the alpha/beta benchmark, and the
    text of the rules the sweep runs (a worker started afresh, e.g. on a Dask cluster, loads
    them before its first chunk, so their refs resolve there too)."""

    prices: pd.DataFrame
    ticker: str
    benchmark: pd.Series | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    """How to evaluate combinations: strategy, engine, window (``iloc`` bounds) and costs.

    ``data_fp`` is the window's fingerprint (computed once, here); ``data`` its start, end, bars
    and the sha that keys rows (prices plus benchmark); ``settings`` cash, costs, fractional.
    """

    strategy: str
    engine: str
    window: tuple[int, int]
    costs: Costs
    cash: float
    fractional: bool
    data_fp: dict[str, Any]
    data: dict[str, Any]
    settings: dict[str, Any]


def window_prices(data: SweepData, window: tuple[int, int]) -> pd.DataFrame:
    return data.prices.iloc[window[0] : window[1]]


def window_benchmark(data: SweepData, prices: pd.DataFrame) -> pd.Series | None:
    """The benchmark over ``prices``' dates, as :func:`engine.jobs.runner.load_benchmark` cuts it."""
    if data.benchmark is None:
        return None
    cut = data.benchmark.loc[prices.index[0] : prices.index[-1]]
    return cut if len(cut) > 1 else None


def make_job(
    data: SweepData,
    strategy: str,
    *,
    costs: Costs,
    cash: float,
    fractional: bool = False,
    engine: str = "backtrader",
    window: tuple[int, int] | None = None,
) -> Job:
    """A :class:`Job` over ``window`` (default: all the prices); fingerprints computed here."""
    get_engine(engine, strategy, fractional)
    window = window or (0, len(data.prices))
    prices = window_prices(data, window)
    fp = fingerprint(prices, data.ticker)
    bench = window_benchmark(data, prices)
    sha = str(fp["sha256"])
    if bench is not None:
        text = bench.to_csv(float_format="%.6f", lineterminator="\n", header=False)
        sha += "+" + hashlib.sha256(text.encode()).hexdigest()
    info = {"start": fp["first"], "end": fp["last"], "bars": fp["rows"], "sha": sha}
    settings = run_settings(cash, costs, fractional)
    return Job(strategy, engine, window, costs, float(cash), bool(fractional), fp, info, settings)


def combo_key(job: Job, params: dict[str, Any]) -> str:
    """Stable id of a combination: sha256 of (strategy, params, data sha, costs, engine)."""
    return combo_keys(job, [params])[0]


def combo_keys(job: Job, params: list[dict[str, Any]]) -> list[str]:
    """:func:`combo_key` of each parameter dict."""
    return text_keys(job, [canonical_json(p) for p in params])


def text_keys(job: Job, texts: list[str]) -> list[str]:
    """:func:`combo_key` of each parameter dict given as its canonical JSON text: the job's part
    of the hashed text is rendered once (the text is exactly ``canonical_json`` of the whole
    payload: its keys sorted are data, engine, params, settings, strategy)."""
    head = (
        '{"data":'
        + canonical_json(job.data["sha"])
        + ',"engine":'
        + canonical_json(job.engine)
        + ',"params":'
    ).encode()
    tail = (
        ',"settings":'
        + canonical_json(job.settings)
        + ',"strategy":'
        + canonical_json(job.strategy)
        + "}"
    ).encode()
    sha = hashlib.sha256
    return [sha(head + t.encode() + tail).hexdigest()[:32] for t in texts]


def items_of(job: Job, params: list[dict[str, Any]], texts: list[str] | None = None) -> list[Item]:
    """``(key, params, canonical JSON)`` of each combination (``texts``: the JSON, if known)."""
    texts = texts if texts is not None else [canonical_json(p) for p in params]
    return list(zip(text_keys(job, texts), params, texts, strict=True))


def _combo_key_reference(job: Job, params: dict[str, Any]) -> str:
    """The definition :func:`combo_keys` must reproduce (tests compare the two)."""
    payload = canonical_json(
        {
            "strategy": job.strategy,
            "params": params,
            "data": job.data["sha"],
            "settings": job.settings,
            "engine": job.engine,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def evaluate_chunk(data: SweepData, job: Job, items: list[Item], jobs: int | None = None) -> Batch:
    """Run one chunk of combinations with the job's engine; the store's rows as one
    :class:`~engine.sweep.store.Batch`, prepared (its SQL columns computed here, where the
    chunk ran, not in the process or thread that writes the store).

    ``jobs`` goes to a threaded engine (one that parallelises itself, run in this process).
    """
    register_texts(data.rules)
    prices = window_prices(data, job.window)
    spec = get_engine(job.engine)
    params = [it[1] for it in items]
    scores = Scores.of(
        spec.evaluate(
            EngineInput(
                job.strategy,
                params,
                prices,
                job.costs,
                job.cash,
                fractional=job.fractional,
                ticker=data.ticker,
                data_fp=job.data_fp,
                benchmark=window_benchmark(data, prices),
                jobs=jobs if jobs and spec.threaded else None,
            )
        ),
        len(prices),
    )
    if len(scores) != len(items):
        raise RuntimeError(
            f"engine {job.engine}: {len(scores)} results for {len(items)} combinations"
        )
    return Batch(
        job.strategy,
        job.engine,
        data.ticker,
        job.data,
        job.settings,
        [it[0] for it in items],
        params,
        scores.columns,
        scores.returns,
        [it[2] for it in items],
        same=scores.same,
    ).prepare()
