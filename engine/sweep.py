"""Parameter sweeps: combination keys, chunked evaluation, and the local and Dask backends.

A sweep is a list of *plans*, each a :class:`Job` (strategy, engine, price window, costs) with
the parameter dicts to run on it (a plain sweep has one plan; a walk-forward one per fold).
:func:`run_sweep` keys every combination (:func:`combo_key`), asks the store which keys are
done, and sends the rest in small chunks to a backend:

* ``local`` - a process pool of ``jobs`` workers (all cores by default). Each worker receives the
  prices once, in its initializer, and evaluates chunks; ``jobs=1`` runs in this process.
* ``dask`` - a Dask distributed cluster (``scheduler`` address, or a ``LocalCluster`` of ``jobs``
  worker processes). The prices are scattered to every worker once (``broadcast=True``); each
  task carries only a chunk of parameter dicts.

Finished chunks stream back and are committed to the store at once (one transaction per chunk),
so a killed sweep loses only the chunks in flight and the same command resumes it. Ctrl-C
cancels what is queued, lets the running chunks finish and commits them, stops the workers and
raises :class:`SweepInterrupted`.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data import fingerprint
from engine.errors import ParamError, UserError
from engine.result import Costs, run_settings
from engine.store import Row, SweepStore, canonical_json
from engine.sweep_engines import engine_info, get_engine

BACKENDS = ("local", "dask")
MAX_CHUNK = 16  # combinations per task: ~0.3 s of backtrader work, small enough to lose on a kill
IN_FLIGHT_PER_WORKER = 3  # queued tasks per worker: workers stay busy, memory stays bounded
POLL_SECONDS = 0.25  # how often the loops look at the Ctrl-C flag while waiting

Item = tuple[str, dict[str, Any]]  # (combination key, resolved params)
Task = tuple["Job", list[Item]]


@dataclass(frozen=True)
class SweepData:
    """What every worker receives once: the loaded prices and the alpha/beta benchmark."""

    prices: pd.DataFrame
    ticker: str
    benchmark: pd.Series | None = None


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
    """The benchmark over ``prices``' dates, as :func:`engine.runner.load_benchmark` cuts it."""
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


def evaluate_chunk(
    data: SweepData | None, job: Job, items: list[Item], jobs: int | None = None
) -> list[Row]:
    """Run one chunk with the job's engine (in a worker); ``data=None`` uses the worker's copy.

    ``jobs`` goes to a threaded engine (one that parallelises itself, run in this process).
    """
    data = data if data is not None else _WORKER["data"]
    prices = window_prices(data, job.window)
    evaluate = get_engine(job.engine)
    threads = {"jobs": jobs} if jobs and engine_info(job.engine).threaded else {}
    outcomes = evaluate(
        job.strategy,
        [p for _, p in items],
        prices,
        job.costs,
        job.cash,
        fractional=job.fractional,
        ticker=data.ticker,
        data_fp=job.data_fp,
        benchmark=window_benchmark(data, prices),
        **threads,
    )
    return [
        Row(
            key,
            job.strategy,
            params,
            job.engine,
            data.ticker,
            job.data,
            job.settings,
            metrics,
            returns,
        )
        for (key, params), (metrics, returns) in zip(items, outcomes, strict=True)
    ]


# ------------------------------------------------------------------------------------ backends

_WORKER: dict[str, Any] = {}


def _init_worker(data: SweepData) -> None:
    # Workers ignore Ctrl-C: the parent decides what stops (and terminates them).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["data"] = data
    # Each backtest allocates tens of thousands of short-lived objects: collecting the young
    # generation less often, and never re-scanning what the worker inherited, saves ~5-8%.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A killed sweep (``kill -9``) must not leave its workers waiting forever for work."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _pool_task(job: Job, items: list[Item]) -> list[Row]:
    return evaluate_chunk(None, job, items)


class _Interrupt:
    """Ctrl-C turned into a flag the loops check between chunks (a second Ctrl-C is immediate).

    A ``KeyboardInterrupt`` raised at an arbitrary point (inside ``pool.submit``, a commit)
    can leave a process pool half-updated and its workers waiting forever; the flag makes the
    loop stop where everything is consistent.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


def _run_inline(
    data: SweepData,
    tasks: Iterator[Task],
    on_rows: Callable[[list[Row]], None],
    stop: _Interrupt,
    jobs: int = 1,
) -> None:
    for job, items in tasks:
        on_rows(evaluate_chunk(data, job, items, jobs))
        stop.check()


def _run_local(
    data: SweepData,
    tasks: Iterator[Task],
    jobs: int,
    on_rows: Callable[[list[Row]], None],
    stop: _Interrupt,
) -> None:
    """Process pool; ``fork`` where available (workers inherit the imported modules)."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(data,)
    )
    queue = iter(tasks)
    pending: set[Future[list[Row]]] = set()
    submit = lambda t: pool.submit(_pool_task, *t)  # noqa: E731
    try:
        _top_up(pending, queue, jobs * IN_FLIGHT_PER_WORKER, submit)
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for fut in done:
                on_rows(fut.result())
            stop.check()
            _top_up(pending, queue, jobs * IN_FLIGHT_PER_WORKER, submit)
    except KeyboardInterrupt:
        # Queued chunks are cancelled; running ones finish (well under a second) and are
        # committed; then the workers exit.
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        for fut in pending:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                on_rows(fut.result())
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _top_up(
    pending: set[Any], queue: Iterator[Task], limit: int, submit: Callable[[Task], Any]
) -> None:
    while len(pending) < limit:
        task = next(queue, None)
        if task is None:
            return
        pending.add(submit(task))


def _dask_client(scheduler: str | None, jobs: int) -> tuple[Any, Any]:
    """A client on ``scheduler``, or on a new ``LocalCluster`` of ``jobs`` worker processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a declared dependency
        raise UserError(
            "--backend dask needs dask[distributed]; pip install 'dask[distributed]'"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise UserError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address (tcp://HOST:8786)"
            ) from None
    cluster = LocalCluster(
        n_workers=jobs,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def _run_dask(
    data: SweepData,
    tasks: Iterator[Task],
    jobs: int,
    scheduler: str | None,
    on_rows: Callable[[list[Row]], None],
    stop: _Interrupt,
) -> None:
    from dask.distributed import wait as dask_wait

    client, cluster = _dask_client(scheduler, jobs)
    in_flight: set[Any] = set()
    try:
        shared = client.scatter(data, broadcast=True)  # each worker gets the prices once
        slots = max(1, sum(client.nthreads().values())) * IN_FLIGHT_PER_WORKER
        queue = iter(tasks)
        submit = lambda t: client.submit(evaluate_chunk, shared, *t, pure=False)  # noqa: E731
        _top_up(in_flight, queue, slots, submit)
        while in_flight:
            try:
                dask_wait(list(in_flight), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            for fut in [f for f in in_flight if f.done()]:
                in_flight.discard(fut)
                on_rows(fut.result())
                fut.release()
            stop.check()
            _top_up(in_flight, queue, slots, submit)
    except BaseException:
        client.cancel(list(in_flight))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------------------------ the loop


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``stored`` of ``total`` combinations are in the store."""

    def __init__(self, stored: int, total: int) -> None:
        super().__init__(f"{stored} of {total} combinations stored")
        self.stored, self.total = stored, total


@dataclass(frozen=True)
class SweepRun:
    """Keys of each plan (in grid order) and how many were done before / added now."""

    keys: list[list[str]]
    done_before: int
    added: int

    @property
    def total(self) -> int:
        return sum(len(k) for k in self.keys)


def default_jobs() -> int:
    """All cores (the CPUs this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _make_tasks(todo: list[tuple[Job, Item]], jobs: int, chunk_size: int | None) -> list[Task]:
    auto = max(1, min(MAX_CHUNK, math.ceil(len(todo) / (jobs * 8))))
    tasks: list[Task] = []
    for job, item in todo:
        size = chunk_size or engine_info(job.engine).chunk or auto
        if tasks and tasks[-1][0] is job and len(tasks[-1][1]) < size:
            tasks[-1][1].append(item)
        else:
            tasks.append((job, [item]))
    return tasks


def run_sweep(
    store: SweepStore,
    data: SweepData,
    plans: list[tuple[Job, list[dict[str, Any]]]],
    *,
    backend: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> SweepRun:
    """Evaluate every combination of every plan that the store does not hold yet.

    Raises
    ------
    SweepInterrupted
        on Ctrl-C, after the finished chunks are committed.
    ParamError
        an unknown backend, or ``jobs`` < 1.
    """
    jobs = _check_options(backend, jobs)
    keys = [[combo_key(job, p) for p in params] for job, params in plans]
    done = store.done_keys(k for ks in keys for k in ks)
    todo = [
        (job, (k, p))
        for (job, params), ks in zip(plans, keys, strict=True)
        for k, p in zip(ks, params, strict=True)
        if k not in done
    ]
    total = sum(len(k) for k in keys)
    tasks = _make_tasks(todo, jobs, chunk_size)
    threaded = _all_threaded(j for j, _ in tasks)
    added = _execute(
        store,
        data,
        iter(tasks),
        len(tasks),
        backend,
        jobs,
        scheduler,
        total,
        len(done),
        progress,
        threaded,
    )
    return SweepRun(keys, len(done), added)


def _check_options(backend: str, jobs: int | None) -> int:
    if backend not in BACKENDS:
        raise ParamError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise ParamError(f"--jobs {jobs} must be at least 1")
    return jobs


def _all_threaded(jobs: Iterator[Job] | list[Job]) -> bool:
    return all(engine_info(job.engine).threaded for job in jobs)


@dataclass
class StreamRun:
    """What :func:`run_sweep_stream` did: the keys of the sweep (16-byte digests, grid order),
    how many were stored before and how many it added."""

    digests: np.ndarray
    done_before: int = 0
    added: int = 0

    @property
    def total(self) -> int:
        return int(self.digests.shape[0])

    def key_chunks(self, size: int = 50_000) -> Iterator[list[str]]:
        """The keys as text (as :func:`combo_key` gives them), ``size`` at a time."""
        for lo in range(0, self.total, size):
            yield [bytes(d).hex() for d in self.digests[lo : lo + size]]


def run_sweep_stream(
    store: SweepStore,
    data: SweepData,
    job: Job,
    chunks: Iterable[list[dict[str, Any]]],
    total: int,
    *,
    backend: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> StreamRun:
    """:func:`run_sweep` for one plan whose combinations arrive in chunks (any number of them).

    Memory stays bounded: each chunk of parameter dicts is keyed, the store is asked which of
    its keys are done (one query per chunk), the rest is evaluated and written, and only the
    keys survive, as 16 bytes each (``total`` of them; 16 MB for a million).
    """
    jobs = _check_options(backend, jobs)
    run = StreamRun(np.zeros((total, 16), dtype=np.uint8))
    size = chunk_size or engine_info(job.engine).chunk or MAX_CHUNK
    threaded = engine_info(job.engine).threaded
    bar_skip: list[int] = []

    def tasks() -> Iterator[Task]:
        pos = 0
        for params in chunks:
            keys = [combo_key(job, p) for p in params]
            if pos + len(keys) > total:
                raise ValueError(f"run_sweep_stream: more than total={total} combinations")
            run.digests[pos : pos + len(keys)] = np.frombuffer(
                bytes.fromhex("".join(keys)), dtype=np.uint8
            ).reshape(-1, 16)
            pos += len(keys)
            done = store.done_keys(keys)
            run.done_before += len(done)
            bar_skip.append(len(done))
            todo = [(k, p) for k, p in zip(keys, params, strict=True) if k not in done]
            for lo in range(0, len(todo), size):
                yield job, todo[lo : lo + size]
        if pos != total:
            raise ValueError(f"run_sweep_stream: {pos} combinations, expected {total}")

    run.added = _execute(
        store,
        data,
        tasks(),
        None,
        backend,
        jobs,
        scheduler,
        total,
        0,
        progress,
        threaded,
        bar_skip,
    )
    return run


def _execute(
    store: SweepStore,
    data: SweepData,
    tasks: Iterator[Task],
    n_tasks: int | None,
    backend: str,
    jobs: int,
    scheduler: str | None,
    total: int,
    done: int,
    progress: bool,
    threaded: bool,
    skipped: list[int] | None = None,
) -> int:
    """Run ``tasks`` (``n_tasks`` of them, None: unknown) on the backend, committing as they come.

    ``skipped`` collects, while ``tasks`` is consumed, how many combinations it found stored
    (the progress bar counts them as done).
    """
    from tqdm import tqdm

    added = seen = 0
    bar = tqdm(
        total=total,
        initial=done,
        unit="combo",
        file=sys.stderr,
        disable=None if progress else True,
        dynamic_ncols=True,
    )

    def on_rows(rows: list[Row]) -> None:
        nonlocal added, seen
        added += store.add(rows)
        skip = sum(skipped) if skipped else 0
        seen += skip
        bar.update(len(rows) + skip)
        if skipped:
            skipped.clear()

    try:
        with _Interrupt() as stop:
            if n_tasks == 0:
                pass
            elif backend == "dask":
                _run_dask(data, tasks, jobs, scheduler, on_rows, stop)
            elif jobs == 1 or threaded:
                _run_inline(data, tasks, on_rows, stop, jobs)  # threaded engines bring their own
            else:
                _run_local(data, tasks, min(jobs, n_tasks or jobs), on_rows, stop)
        if skipped:  # stored combinations found after the last chunk was written
            bar.update(sum(skipped))
    except KeyboardInterrupt:
        raise SweepInterrupted(done + seen + added, total) from None
    finally:
        bar.close()
    return added
