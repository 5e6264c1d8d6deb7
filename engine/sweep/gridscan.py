"""Scanning a full grid: which points run, which a constraint rejects, which are refused and why.

A grid is a product of axes, and each check (a constraint's ``holds``, the strategy's
``check_params``, its ``warmup``) is a pure function of the parameters it reads. So each is asked
once per point of the *sub-grid* of the axes it reads, not once per grid point: the keys it reads
are noted (:class:`engine.params.ReadRecorder`) and, when a value makes it read another axis
(``hold_bars`` only in reclaim mode), that axis joins the sub-grid and the pass starts again.
The answers are spread over the whole grid in numpy (broadcast), and the statuses combined there
in the order a point-by-point walk takes them: constraints, then ``check_params``, then the
warm-up against the window. A check that reads every axis is asked at every point (as before),
without the recorder, and on a large grid in two halves at once (the second in a forked child).

Results, including which error is raised first (the one a point-by-point walk in grid order
meets first), are the same as asking every point; ``tests/sweep/test_sweep_grid.py`` compares.
"""

from __future__ import annotations

import itertools
import os
import pickle
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import params as params_mod

PARALLEL_SCAN = 200_000  # sub-grid points from which a check runs in two halves at once


@dataclass(frozen=True)
class _Raised:
    """A check that raised at a sub-grid point (raised again only where a walk would ask it)."""

    error: BaseException

    def __hash__(self) -> int:
        return id(self)


@dataclass(frozen=True)
class Answers:
    """One check over the whole grid: ``codes`` (one per grid point) index ``labels``."""

    codes: np.ndarray
    labels: list[Any]

    def where(self, keep: Callable[[Any], bool]) -> np.ndarray:
        """Grid points whose answer passes ``keep``."""
        return np.asarray([bool(keep(x)) for x in self.labels], dtype=bool)[self.codes]

    def first_raise(self, asked: np.ndarray) -> tuple[int, BaseException] | None:
        """The first grid point in ``asked`` where the check raised, with its error."""
        raised = np.asarray([isinstance(x, _Raised) for x in self.labels], dtype=bool)
        if not raised.any():
            return None
        at = asked & raised[self.codes]
        if not at.any():
            return None
        i = int(np.argmax(at))
        return i, self.labels[int(self.codes[i])].error


class Scan:
    """Ask checks of a grid (``axes``: name -> values, the dict's other keys from ``declared``)."""

    def __init__(self, declared: dict[str, Any], axes: dict[str, tuple[Any, ...]]) -> None:
        self.names = list(axes)
        self.values = [tuple(v) for v in axes.values()]
        self.sizes = [len(v) for v in self.values]
        self.base = {
            **declared,
            **{n: v[0] for n, v in zip(self.names, self.values, strict=True) if v},
        }
        self.size = int(np.prod(self.sizes, dtype=np.int64)) if self.sizes else 1

    def ask(self, fn: Callable[[dict[str, Any]], Any], post: Callable[[Any], Any]) -> Answers:
        """``post(fn(params))`` at every grid point (hashable answers; an error is an answer)."""
        if self.size == 0:
            return Answers(np.zeros(0, dtype=np.int32), [])
        read = self._probe(fn)
        while True:
            if len(read) == len(self.names):
                codes, labels = self._every(fn, post)
                return Answers(codes, labels)
            grown, codes, labels = self._recorded(fn, post, read)
            if grown is None:
                return Answers(self._spread(codes, read), labels)
            read = grown

    def _probe(self, fn: Callable[[dict[str, Any]], Any]) -> list[int]:
        rec = params_mod.ReadRecorder(self.base)
        try:
            fn(rec)
        except Exception:  # noqa: BLE001 - the keys read up to the error still count
            pass
        return self._axes_of(rec.read, [])

    def _axes_of(self, keys: list[str], read: list[int]) -> list[int]:
        pos = {n: i for i, n in enumerate(self.names)}
        return sorted({*read, *(pos[k] for k in keys if k in pos)})

    def _recorded(
        self, fn: Callable[[dict[str, Any]], Any], post: Callable[[Any], Any], read: list[int]
    ) -> tuple[list[int] | None, np.ndarray, list[Any]]:
        """The answers over the sub-grid of the ``read`` axes, or the wider set of axes a
        point made ``fn`` read (then nothing else)."""
        names = [self.names[i] for i in read]
        index: dict[Any, int] = {}
        codes: list[int] = []
        for combo in itertools.product(*(self.values[i] for i in read)):
            rec = params_mod.ReadRecorder({**self.base, **dict(zip(names, combo, strict=True))})
            try:
                out = post(fn(rec))
            except Exception as exc:  # noqa: BLE001 - raised where a walk asks it
                out = _Raised(exc)
            wider = self._axes_of(rec.read, read)
            if len(wider) > len(read):
                return wider, np.zeros(0, dtype=np.int32), []
            codes.append(index.setdefault(out, len(index)))
        return None, np.asarray(codes, dtype=np.int32), list(index)

    def _every(
        self, fn: Callable[[dict[str, Any]], Any], post: Callable[[Any], Any]
    ) -> tuple[np.ndarray, list[Any]]:
        """A check that reads every axis, asked at every point (two halves at once when the
        grid is large)."""
        mid = self.size // 2 if self.size >= PARALLEL_SCAN and _can_fork() else 0
        second = _forked(lambda: self._range(fn, post, mid, self.size)) if mid else None
        try:
            parts = [self._range(fn, post, 0, mid or self.size)]
        except BaseException:
            if second is not None:
                second(True)  # stop the child (Ctrl-C) before raising
            raise
        other = second() if second is not None else None
        if mid:
            parts.append(other if other is not None else self._range(fn, post, mid, self.size))
        index: dict[Any, int] = {}
        out = []
        for codes, part_labels in parts:
            remap = np.asarray(
                [index.setdefault(x, len(index)) for x in part_labels] or [0], dtype=np.int32
            )
            out.append(remap[codes])
        return np.concatenate(out), list(index)

    def _range(
        self, fn: Callable[[dict[str, Any]], Any], post: Callable[[Any], Any], lo: int, hi: int
    ) -> tuple[np.ndarray, list[Any]]:
        base, names = self.base, self.names
        index: dict[Any, int] = {}
        codes: list[int] = []
        add, code = codes.append, index.setdefault
        for combo in itertools.islice(itertools.product(*self.values), lo, hi):
            params = base.copy()
            params.update(zip(names, combo, strict=True))
            try:
                out = post(fn(params))
            except Exception as exc:  # noqa: BLE001 - raised where a walk asks it
                out = _Raised(exc)
            add(code(out, len(index)))
        return np.asarray(codes, dtype=np.int32), list(index)

    def _spread(self, codes: np.ndarray, read: list[int]) -> np.ndarray:
        """Answers over the sub-grid of the ``read`` axes -> one per grid point."""
        shape = [self.sizes[i] if i in read else 1 for i in range(len(self.sizes))]
        return np.broadcast_to(codes.reshape(shape), self.sizes).ravel()


def scan_grid(
    cls: type, axes: dict[str, tuple[Any, ...]], constraints: tuple[Any, ...], bars: int | None
) -> tuple[np.ndarray, int, dict[str, int]]:
    """The runnable mask of the grid, the count a constraint rejects and the refusals by
    reason (first seen in grid order first), as a walk asking every point gives them."""
    scan = Scan(params_mod.declared(cls), axes)
    alive = np.ones(scan.size, dtype=bool)  # not rejected, not refused (yet)
    errors: list[tuple[int, BaseException]] = []
    for c in constraints:  # all(...): a later constraint is asked only where the others hold
        holds = scan.ask(c.holds, bool)
        _note(errors, holds, alive)
        alive &= holds.where(lambda x: x is True)
    rejected = int(scan.size - alive.sum())
    reason = np.full(scan.size, -1, dtype=np.int64)  # index into texts
    texts: list[str] = []
    check = getattr(cls, "check_params", None)
    if check is not None:
        name = params_mod.strategy_name(cls)
        answers = scan.ask(check, lambda problems: _problem_text(name, problems))
        _note(errors, answers, alive)
        _refuse(answers, alive, reason, texts, lambda x: isinstance(x, str))
    warm = getattr(cls, "warmup", None)
    if warm is not None and bars is not None:
        answers = scan.ask(warm, lambda need: int(need) + 1)
        _note(errors, answers, alive)
        texts_of = {
            x: f"needs {x} bars, the window has {bars}"
            for x in answers.labels
            if not isinstance(x, _Raised) and x > bars
        }
        answers = Answers(answers.codes, [texts_of.get(x, x) for x in answers.labels])
        _refuse(answers, alive, reason, texts, lambda x: isinstance(x, str))
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    return alive, rejected, _refusals(reason, texts)


def _problem_text(name: str, problems: Any) -> str | None:
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{name}: {problems[0]}{more}"


def _note(errors: list[tuple[int, BaseException]], answers: Answers, asked: np.ndarray) -> None:
    """Keep the first error of ``answers`` among the points a walk asks; those points ask
    nothing further (the walk stops there)."""
    first = answers.first_raise(asked)
    if first is not None:
        errors.append(first)
        asked &= ~answers.where(lambda x: isinstance(x, _Raised))


def _refuse(
    answers: Answers,
    alive: np.ndarray,
    reason: np.ndarray,
    texts: list[str],
    refuses: Callable[[Any], bool],
) -> None:
    """Mark the points still alive whose answer is a refusal (its text) and take them out."""
    labels = [x if refuses(x) else None for x in answers.labels]
    ids = np.asarray([len(texts) + i if x is not None else -1 for i, x in enumerate(labels)])
    texts.extend(x if x is not None else "" for x in labels)
    if not len(ids):
        return
    mine = ids[answers.codes]
    hit = alive & (mine >= 0)
    reason[hit] = mine[hit]
    alive &= ~hit


def _refusals(reason: np.ndarray, texts: list[str]) -> dict[str, int]:
    """``{text: count}`` with the texts in the order their first point comes in the grid."""
    refused = reason[reason >= 0]
    if not len(refused):
        return {}
    ids, first, counts = np.unique(refused, return_index=True, return_counts=True)
    out: dict[str, int] = {}
    for j in np.argsort(first, kind="stable"):
        text = texts[int(ids[j])]
        out[text] = out.get(text, 0) + int(counts[j])
    return out


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def _forked(work: Callable[[], Any]) -> Callable[..., Any]:
    """Start ``work`` in a forked child; the returned function waits for it and gives its
    result, or None when the child failed (the caller then does the work itself); called with
    ``True`` it kills the child instead."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without any of the parent's clean-up
        code = 1
        try:
            os.close(read)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
            payload = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write)

    def result(kill: bool = False) -> Any:
        if kill:
            os.kill(pid, signal.SIGKILL)
        try:
            with os.fdopen(read, "rb") as inp:
                payload = inp.read()
        finally:
            _, status = os.waitpid(pid, 0)
        if kill or status != 0 or not payload:
            return None
        return pickle.loads(payload)

    return result
