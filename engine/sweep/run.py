"""Running a sweep: key every combination, skip what the store holds, evaluate the rest.

:func:`run_sweep` (a list of plans, each a :class:`~engine.sweep.tasks.Job` with its parameter
dicts) and :func:`run_sweep_stream` (one plan whose combinations arrive in chunks, for grids of
any size) key every combination (:func:`~engine.sweep.tasks.combo_key`), ask the store which keys
are done, and send the rest in small chunks to a backend (:mod:`engine.sweep.backends`).
Finished chunks stream back and are committed to the store at once (one transaction per chunk),
so a killed sweep loses only the chunks in flight and the same command resumes it. Ctrl-C
cancels what is queued, lets the running chunks finish and commits them, stops the workers and
raises :class:`SweepInterrupted`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from engine import params as params_mod
from engine.errors import ParamError
from engine.fast.scope import default_jobs
from engine.sweep.backends import BACKENDS, Interrupt, run_dask, run_inline, run_local
from engine.sweep.engines import get_engine
from engine.sweep.store import Batch, SweepStore, code_version
from engine.sweep.tasks import Item, Job, SweepData, Task, items_of

MAX_CHUNK = 16  # combinations per task: ~0.3 s of backtrader work, small enough to lose on a kill


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


def _make_tasks(todo: list[tuple[Job, Item]], jobs: int, chunk_size: int | None) -> list[Task]:
    auto = max(1, min(MAX_CHUNK, math.ceil(len(todo) / (jobs * 8))))
    tasks: list[Task] = []
    for job, item in todo:
        size = chunk_size or get_engine(job.engine).chunk or auto
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
    items = [items_of(job, params) for job, params in plans]
    keys = [[it[0] for it in its] for its in items]
    done = store.done_keys(k for ks in keys for k in ks)
    todo = [
        (job, it)
        for (job, _), its in zip(plans, items, strict=True)
        for it in its
        if it[0] not in done
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
    return all(get_engine(job.engine).threaded for job in jobs)


def sweep_spec(
    job: Job,
    cls: type,
    axes: dict[str, tuple[Any, ...]],
    constraints: list[str],
    bars: int,
) -> str:
    """What identifies a streamed sweep in the store's record of finished sweeps: a hash of
    the job (strategy, engine, data, costs), the strategy's declared defaults, the grid, the
    constraints, the window length and the code version (another version walks the grid
    again: its checks or defaults may differ)."""
    payload = json.dumps(
        {
            "strategy": job.strategy,
            "engine": job.engine,
            "data": job.data["sha"],
            "settings": job.settings,
            "defaults": params_mod.declared(cls),
            "axes": {k: list(v) for k, v in axes.items()},
            "constraints": list(constraints),
            "bars": int(bars),
            "code": code_version(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class StreamRun:
    """What :func:`run_sweep_stream` did: the keys of the sweep (16-byte digests, grid order),
    how many were stored before and how many it added."""

    digests: np.ndarray
    done_before: int = 0
    added: int = 0
    after: int = 0  # the store's last rowid before the run (SweepStore.save_sweep)

    @property
    def total(self) -> int:
        return int(self.digests.shape[0])

    def key_chunks(self, size: int = 50_000) -> Iterator[list[str]]:
        """The keys as text (as :func:`combo_key` gives them), ``size`` at a time."""
        for lo in range(0, self.total, size):
            text = self.digests[lo : lo + size].tobytes().hex()
            yield [text[i : i + 32] for i in range(0, len(text), 32)]


def run_sweep_stream(
    store: SweepStore,
    data: SweepData,
    job: Job,
    chunks: Iterable[list[dict[str, Any]] | tuple[list[dict[str, Any]], list[str]]],
    total: int,
    *,
    backend: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
) -> StreamRun:
    """:func:`run_sweep` for one plan whose combinations arrive in chunks (any number of them):
    lists of parameter dicts, or ``(dicts, texts)`` with each dict's canonical JSON.

    Memory stays bounded: each chunk of parameter dicts is keyed, the store is asked which of
    its keys are done (one query per chunk), the rest is evaluated and written, and only the
    keys survive, as 16 bytes each (``total`` of them; 16 MB for a million).
    """
    jobs = _check_options(backend, jobs)
    run = StreamRun(np.zeros((total, 16), dtype=np.uint8), after=store.last_rowid())
    size = chunk_size or get_engine(job.engine).chunk or MAX_CHUNK
    threaded = get_engine(job.engine).threaded
    bar_skip: list[int] = []
    # an empty store holds nothing to skip: no key is looked up (a writer started beside this
    # one may store some of them first; INSERT OR IGNORE keeps each once all the same)
    fresh = store.is_empty()

    def tasks() -> Iterator[Task]:
        pos = 0
        for chunk in chunks:
            params, texts = chunk if isinstance(chunk, tuple) else (chunk, None)
            items = items_of(job, params, texts)
            keys = [it[0] for it in items]
            if pos + len(keys) > total:
                raise ValueError(f"run_sweep_stream: more than total={total} combinations")
            run.digests[pos : pos + len(keys)] = np.frombuffer(
                bytes.fromhex("".join(keys)), dtype=np.uint8
            ).reshape(-1, 16)
            pos += len(keys)
            done = set() if fresh else store.done_keys(keys)
            run.done_before += len(done)
            bar_skip.append(len(done))
            todo = [it for it in items if it[0] not in done] if done else items
            for lo in range(0, len(todo), size):
                yield job, todo[lo : lo + size]
        if pos != total:
            raise ValueError(f"run_sweep_stream: {pos} combinations, expected {total}")

    with _young_collections():
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
            load=fresh,
        )
    return run


@contextmanager
def _young_collections() -> Iterator[None]:
    """Fewer garbage collections while a stream runs: each chunk makes ~100,000 short-lived
    objects (parameter dicts, texts, keys), and the default thresholds then run a full
    collection over everything the process holds every few chunks. The objects alive before
    the sweep are frozen (never scanned) and the young generation is collected less often;
    both are restored afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


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
    load: bool = False,
) -> int:
    """Run ``tasks`` (``n_tasks`` of them, None: unknown) on the backend, committing as they come.

    ``skipped`` collects, while ``tasks`` is consumed, how many combinations it found stored
    (the progress bar counts them as done). ``load``: the store was empty, and its key index is
    built once at the end (:meth:`SweepStore.bulk`).
    """
    added = seen = 0
    bar = tqdm(
        total=total,
        initial=done,
        unit="combo",
        file=sys.stderr,
        disable=None if progress else True,
        dynamic_ncols=True,
    )

    def on_rows(rows: Batch) -> None:
        nonlocal added, seen
        added += store.add(rows)
        skip = sum(skipped) if skipped else 0
        seen += skip
        bar.update(len(rows) + skip)
        if skipped:
            skipped.clear()

    try:
        with Interrupt() as stop, store.bulk(load) as loading:
            if n_tasks == 0:
                pass
            elif backend == "dask":
                run_dask(data, tasks, jobs, scheduler, on_rows, stop)
            elif jobs == 1 or threaded:
                # threaded engines bring their own threads; their next chunk runs while this
                # one is stored
                run_inline(data, tasks, on_rows, stop, jobs, overlap=threaded)
            else:
                run_local(data, tasks, min(jobs, n_tasks or jobs), on_rows, stop)
        if skipped:  # stored combinations found after the last chunk was written
            bar.update(sum(skipped))
        added -= loading.removed  # second copies of a key, deleted when its index was built
    except KeyboardInterrupt:
        raise SweepInterrupted(done + seen + added, total) from None
    finally:
        bar.close()
    return added
