"""Sweep grids: ``KEY=SPEC`` parsing and the combinations to run (listed or streamed).

* :func:`parse_grid` turns ``["fast=5:30:5", "mode=reclaim,cross"]`` into ordered value lists,
  each value coerced to the type of the parameter's default (:func:`engine.params.coerce`);
  names are checked against the strategy's declared parameters, with a "did you mean" hint.
* :func:`build_combinations` enumerates the grid (or samples ``N`` of it with a seed), drops the
  combinations a constraint (:mod:`engine.sweep.constraints`) rejects, and sets aside (with the
  reason) those the strategy itself refuses (its ``check_params``) or that need more bars than
  the window has; :class:`GridStream` does the same in chunks, for grids of any size.

SPEC syntax
-----------
``start:stop:step``  an inclusive numeric range (``10:50:10`` is 10, 20, 30, 40, 50), computed in
                     decimal so ``0.01:0.05:0.01`` gives exactly five values
``a,b,c``            a list (numbers, text, true/false, dates); ``a`` alone fixes the parameter
``x,y|z,w``          for list-valued parameters (e.g. swing's ``ladder``): alternatives split by ``|``
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, DecimalException
from typing import Any

import numpy as np

from engine import checks
from engine import params as params_mod
from engine.errors import ParamError
from engine.files import canonical_json
from engine.sweep.constraints import Constraint
from engine.sweep.gridscan import scan_grid

MAX_AXIS_VALUES = 10_000  # values one KEY=SPEC may expand to
MAX_GRID = 2_000_000  # full grid enumerated (more needs --random, which samples lazily)


# ------------------------------------------------------------------------------------ grid


def parse_grid(cls: type, specs: list[str]) -> dict[str, tuple[Any, ...]]:
    """``["KEY=SPEC", ...]`` -> ``{key: values}`` in the order given.

    Raises
    ------
    ParamError
        a pair without ``=``, an unknown or repeated key, or a SPEC that does not parse.
    """
    declared = params_mod.declared(cls)
    axes: dict[str, tuple[Any, ...]] = {}
    for pair in specs:
        if "=" not in pair:
            raise ParamError(f"--grid {pair!r} has no '='; write KEY=SPEC, e.g. --grid fast=5:30:5")
        key, spec = (part.strip() for part in pair.split("=", 1))
        if key not in declared:
            raise ParamError(
                f"unknown grid key {key!r} for {params_mod.strategy_name(cls)}{params_mod.suggest(key, declared)}; "
                f"known: {', '.join(declared) or '(none)'}"
            )
        if key in axes:
            raise ParamError(f"--grid {key} is given twice; put all its values in one SPEC")
        axes[key] = parse_values(cls, key, spec)
    return axes


def parse_values(cls: type, key: str, spec: str) -> tuple[Any, ...]:
    """The values of one SPEC, coerced to ``key``'s type, duplicates dropped (order kept)."""
    default = params_mod.declared(cls)[key]
    shown = checks.shorten(spec)  # a 50 KB spec is not echoed whole
    if not spec:
        raise ParamError(f"--grid {key}= has no values; give start:stop:step or a,b,c")
    if isinstance(default, tuple):
        parts = [p.strip() for p in spec.split("|")]
    elif ":" in spec and not isinstance(default, str):
        parts = _range(key, default, spec)
    else:
        parts = [p.strip() for p in spec.split(",")]
    if any(p == "" for p in parts):
        raise ParamError(f"--grid {key}={shown}: empty value; separate values with single commas")
    if len(parts) > MAX_AXIS_VALUES:
        raise ParamError(
            f"--grid {key}={shown} gives {len(parts):,} values (max {MAX_AXIS_VALUES:,}); use fewer"
        )
    values = [params_mod.coerce(cls, key, p) for p in parts]
    unique = tuple(dict.fromkeys(values))
    if len(unique) > MAX_AXIS_VALUES:
        raise ParamError(
            f"--grid {key}={shown} gives {len(unique):,} values (max {MAX_AXIS_VALUES:,}); use a larger step"
        )
    return unique


def _range(key: str, default: Any, spec: str) -> list[str]:
    """``start:stop:step`` (inclusive) as decimal strings; numbers only, step > 0."""
    shown = checks.shorten(spec)
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        raise ParamError(
            f"--grid {key}={shown}: a range needs a numeric parameter; {key} is not a number, "
            "so list its values: a,b,c"
        )
    parts = spec.split(":")
    if len(parts) != 3:
        raise ParamError(
            f"--grid {key}={shown}: a range is start:stop:step (three numbers), e.g. 10:50:10"
        )
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except DecimalException:
        raise ParamError(f"--grid {key}={shown}: start, stop and step must be numbers") from None
    # the one range of numbers (engine.checks): finite and within its limit, as every parameter
    if not all(
        d.is_finite() and d.copy_abs() <= Decimal(checks.LIMIT) for d in (start, stop, step)
    ):
        raise ParamError(
            f"--grid {key}={shown}: start, stop and step must be finite numbers within "
            f"+-{checks.LIMIT:g}"
        )
    if step <= 0:
        raise ParamError(f"--grid {key}={shown}: step must be positive")
    if stop < start:
        raise ParamError(f"--grid {key}={shown}: stop {stop} is below start {start}")
    try:
        count = int((stop - start) / step) + 1
    except DecimalException:  # a step so small the count overflows the decimal context
        count = None
    if count is None or count > MAX_AXIS_VALUES:
        many = f"{count:,}" if count is not None and count <= checks.LIMIT else "more than 1e15"
        raise ParamError(
            f"--grid {key}={shown} gives {many} values (max {MAX_AXIS_VALUES:,}); use a larger step"
        )
    return [str(start + i * step) for i in range(count)]


@dataclass(frozen=True)
class Combinations:
    """What a grid expands to.

    Attributes
    ----------
    params : resolved parameter dicts (defaults + grid values), in grid order
    grid_size : size of the full product before constraints
    rejected : combinations a ``--constraint`` removed (counted over what was examined)
    refused : combinations the strategy refuses or the window is too short for, by reason
    sampled : ``N`` of ``--random N`` (None for the full grid)
    """

    params: list[dict[str, Any]]
    grid_size: int
    rejected: int
    refused: dict[str, int]
    sampled: int | None = None

    def refusal_text(self) -> str:
        """One line summing up the refused combinations (empty when none)."""
        if not self.refused:
            return ""
        total = sum(self.refused.values())
        first = next(iter(self.refused))
        return f"skipped {total} combination(s) the strategy refuses or the window is too short for (e.g. {first})"


def _decode(index: int, sizes: list[int]) -> tuple[int, ...]:
    """Mixed-radix digits of ``index`` (last axis fastest, as ``itertools.product``)."""
    digits = []
    for size in reversed(sizes):
        index, d = divmod(index, size)
        digits.append(d)
    return tuple(reversed(digits))


def _check(
    cls: type, overrides: dict[str, Any], constraints: tuple[Constraint, ...], bars: int | None
) -> tuple[str, dict[str, Any] | str | None]:
    """``("ok", resolved)``, ``("rejected", None)`` or ``("refused", reason)``."""
    full = {**params_mod.declared(cls), **overrides}
    if not all(c.holds(full) for c in constraints):
        return "rejected", None
    try:
        resolved = params_mod.resolve(cls, overrides)
    except ParamError as exc:
        return "refused", str(exc)
    if bars is not None:
        need = int(getattr(cls, "warmup", lambda p: 0)(resolved)) + 1
        if need > bars:
            return "refused", f"needs {need} bars, the window has {bars}"
    return "ok", resolved


def build_combinations(
    cls: type,
    axes: dict[str, tuple[Any, ...]],
    constraints: tuple[Constraint, ...] = (),
    *,
    sample: int | None = None,
    seed: int = 0,
    bars: int | None = None,
) -> Combinations:
    """Expand ``axes`` into resolved parameter dicts.

    Parameters
    ----------
    cls : strategy class
    axes : ``{key: values}`` from :func:`parse_grid` (empty: one run with the defaults)
    constraints : all must hold
    sample : draw this many distinct valid combinations at random (seeded) instead of all
    seed : random seed for ``sample``; the same seed draws the same combinations (resume)
    bars : window length; combinations whose warm-up needs more bars are refused

    Raises
    ------
    ParamError
        the grid is too large to enumerate, nothing is left after constraints, or ``sample``
        exceeds the number of valid combinations.
    """
    names, sizes = list(axes), [len(v) for v in axes.values()]
    total = math.prod(sizes)
    if sample is not None and sample < 1:
        raise ParamError(f"--random {sample} must be at least 1")
    checks.number(seed, "--seed", low=0, whole=True, need="a whole number >= 0")
    if sample is None and total > MAX_GRID:
        raise ParamError(
            f"the grid has {total:,} combinations (max {MAX_GRID:,}); narrow it or sample with --random N"
        )
    order = _index_order(total, sizes, sample, seed)
    kept: list[tuple[int, dict[str, Any]]] = []
    rejected = 0
    refused: dict[str, int] = {}
    for index, digits in order:
        overrides = {n: axes[n][d] for n, d in zip(names, digits, strict=True)}
        status, value = _check(cls, overrides, constraints, bars)
        if status == "ok":
            kept.append((index, value))  # type: ignore[arg-type]
            if sample is not None and len(kept) == sample:
                break
        elif status == "rejected":
            rejected += 1
        else:
            refused[str(value)] = refused.get(str(value), 0) + 1
    _refuse_empty_or_short(cls, kept, total, rejected, refused, sample)
    kept.sort(key=lambda item: item[0])
    return Combinations([p for _, p in kept], total, rejected, refused, sample)


def _index_order(
    total: int, sizes: list[int], sample: int | None, seed: int
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Grid indices with their digits: in order, or in a seeded random order for sampling."""
    if sample is None:
        ranges = [range(s) for s in sizes]
        return enumerate(itertools.product(*ranges))
    rng = np.random.default_rng(seed)
    if total <= MAX_GRID:
        perm = rng.permutation(total)
        return ((int(i), _decode(int(i), sizes)) for i in perm)
    return _rejection_order(total, sizes, rng, sample)


def _rejection_order(
    total: int, sizes: list[int], rng: np.random.Generator, sample: int
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Distinct random indices of a grid too large to permute (at most 50 x sample draws)."""
    seen: set[int] = set()
    for _ in range(50 * sample):
        i = int(rng.integers(total))
        if i not in seen:
            seen.add(i)
            yield i, _decode(i, sizes)


def _refuse_empty_or_short(
    cls: type,
    kept: list[tuple[int, dict[str, Any]]],
    total: int,
    rejected: int,
    refused: dict[str, int],
    sample: int | None,
) -> None:
    if not kept:
        why = []
        if rejected:
            why.append(f"the constraints reject {rejected:,}")
        if refused:
            why.append(
                f"{params_mod.strategy_name(cls)} refuses {sum(refused.values()):,} (e.g. {next(iter(refused))})"
            )
        raise ParamError(
            f"no combination left to run out of {total:,}: {'; '.join(why) or 'empty grid'}"
        )
    if sample is not None and len(kept) < sample:
        raise ParamError(
            f"--random {sample} exceeds the {len(kept):,} valid combinations of the grid; "
            "lower N or drop --random to run them all"
        )


# ------------------------------------------------------------------------------------ streaming

_MISS = object()
MEMO_MAX = 200_000  # cached results per function before the cache is dropped (memory bound)
MEMO_TRIAL = 4_096  # calls after which a cache missing more than half the time is dropped
STREAM_CHUNK = 8_192  # combinations per chunk of :meth:`GridStream.chunks`


class _Memo:
    """A pure function of a parameter dict, its results cached by the values it actually read.

    ``check_params`` and ``warmup`` read a few parameters (``fast``, ``slow``, ...): a grid of a
    million points has only thousands of distinct values of those, so each is computed once.
    The keys read are recorded per call (:class:`engine.params.ReadRecorder`); a later dict that agrees on them
    takes the same path through a pure function, so it gets the same result.
    """

    def __init__(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        self.fn = fn
        self.keysets: list[tuple[str, ...]] = []
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.calls = self.misses = 0
        self.direct = False  # the cache does not pay: call the function itself

    def __call__(self, params: dict[str, Any]) -> Any:
        if self.direct:
            return self.fn(params)
        self.calls += 1
        for ks in self.keysets:
            hit = self.cache.get((ks, *(params[k] for k in ks)), _MISS)
            if hit is not _MISS:
                return hit
        self.misses += 1
        if self.calls >= MEMO_TRIAL and self.misses * 2 > self.calls:
            # it reads (nearly) every varying parameter: recording the reads costs more
            # than it saves, and a pure function gives the same result either way
            self.direct, self.cache, self.keysets = True, {}, []
            return self.fn(params)
        rec = params_mod.ReadRecorder(params)
        out = self.fn(rec)
        ks = tuple(dict.fromkeys(rec.read))
        if ks not in self.keysets:
            self.keysets.append(ks)
        if len(self.cache) >= MEMO_MAX:
            self.cache.clear()
        self.cache[(ks, *(params[k] for k in ks))] = out
        return out


@dataclass
class GridStream:
    """A full grid, validated lazily: :meth:`scan` counts, :meth:`chunks` yields the dicts.

    The same combinations, in the same (grid) order, with the same refusals as
    :func:`build_combinations` (without ``sample``), but never more than one chunk of
    parameter dicts in memory. Constraints, ``check_params`` and ``warmup`` are memoised on
    the values they read (:class:`_Memo`), so validating a million points costs seconds.
    """

    cls: type
    axes: dict[str, tuple[Any, ...]]
    constraints: tuple[Constraint, ...] = ()
    bars: int | None = None
    grid_size: int = 0
    count: int = 0
    rejected: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    sampled: int | None = None

    def __post_init__(self) -> None:
        self.grid_size = math.prod(len(v) for v in self.axes.values())
        if self.grid_size > MAX_GRID:
            raise ParamError(
                f"the grid has {self.grid_size:,} combinations (max {MAX_GRID:,}); narrow it or sample with --random N"
            )
        self._constraints = [_Memo(c.holds) for c in self.constraints]
        check = getattr(self.cls, "check_params", None)
        self._check = _Memo(check) if check is not None else None
        warm = getattr(self.cls, "warmup", None)
        self._warmup = _Memo(warm) if warm is not None and self.bars is not None else None

    def _status(self, full: dict[str, Any]) -> str | None:
        """None for a runnable combination, "" when a constraint rejects it, else the reason."""
        if not all(c(full) for c in self._constraints):
            return ""
        if self._check is not None:
            problems = self._check(full)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                return f"{params_mod.strategy_name(self.cls)}: {problems[0]}{more}"
        if self._warmup is not None and self.bars is not None:
            need = int(self._warmup(full)) + 1
            if need > self.bars:
                return f"needs {need} bars, the window has {self.bars}"
        return None

    def _walk(self, count: bool) -> Iterator[dict[str, Any]]:
        declared = params_mod.declared(self.cls)
        names = list(self.axes)
        for values in itertools.product(*self.axes.values()):
            full = {**declared, **dict(zip(names, values, strict=True))}
            status = self._status(full)
            if status is None:
                if count:
                    self.count += 1
                yield full
            elif count and status == "":
                self.rejected += 1
            elif count:
                self.refused[status] = self.refused.get(status, 0) + 1

    def scan(self) -> GridStream:
        """Count the runnable, rejected and refused combinations, and remember which grid
        points are runnable (one byte each: :meth:`chunks` then validates nothing again).

        Each check is asked once per point of the sub-grid of the axes it reads and the
        answers are combined in numpy (:func:`engine.sweep.gridscan.scan_grid`); the counts,
        the refusals (in grid order) and the first error are those a walk of every point
        gives."""
        mask, self.rejected, self.refused = scan_grid(
            self.cls, self.axes, self.constraints, self.bars
        )
        self.count = int(mask.sum())
        self._mask = mask
        if not self.count:
            _refuse_empty_or_short(self.cls, [], self.grid_size, self.rejected, self.refused, None)
        return self

    def chunks(self, size: int = STREAM_CHUNK) -> Iterator[list[dict[str, Any]]]:
        """The runnable combinations' resolved dicts, in grid order, ``size`` at a time
        (after :meth:`scan`, from its record of the runnable points: no validation)."""
        if getattr(self, "_mask", None) is None:
            it = self._walk(count=False)
            while chunk := list(itertools.islice(it, size)):
                yield chunk
            return
        for dicts, _ in self._runnable_chunks(size, texts=False):
            yield dicts

    def text_chunks(
        self, size: int = STREAM_CHUNK
    ) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
        """:meth:`chunks` with each dict's canonical JSON (:func:`engine.files.canonical_json`,
        what its key is hashed from and the store keeps), assembled from the JSON of each axis
        value rendered once: the same text, without encoding every dict."""
        if getattr(self, "_mask", None) is None:
            for plain in self.chunks(size):
                yield plain, [canonical_json(p) for p in plain]
            return
        yield from self._runnable_chunks(size, texts=True)

    def _runnable_chunks(
        self, size: int, texts: bool
    ) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
        """The runnable points of :meth:`scan`'s record, ``size`` at a time: their dicts (keys
        in the order ``{**declared, **overrides}`` gives) and, with ``texts``, their canonical
        JSON. Built column by column: each chunk's grid indices are split into one digit per
        axis in numpy, and each axis's values (and their JSON, rendered once) are looked up by
        digit with C-level ``map`` calls, so no Python code runs per combination and key."""
        declared = params_mod.declared(self.cls)
        names = list(self.axes)
        keys = list({**declared, **dict.fromkeys(names)})
        values = [tuple(v) for v in self.axes.values()]
        sizes = [len(v) for v in values]
        template = ""
        jsons: list[tuple[str, ...]] = []
        if texts:
            parts = []
            for key in sorted(keys):
                if key in self.axes:
                    parts.append(_braces(canonical_json(key)) + ":{" + str(names.index(key)) + "}")
                else:
                    parts.append(_braces(canonical_json(key) + ":" + canonical_json(declared[key])))
            template = "{{" + ",".join(parts) + "}}"
            jsons = [tuple(canonical_json(v) for v in vs) for vs in values]
        runnable = np.flatnonzero(self._mask)
        for lo in range(0, len(runnable), size):
            index = runnable[lo : lo + size]
            digits = [d.tolist() for d in np.unravel_index(index, sizes)] if names else []
            cols = {
                n: list(map(vs.__getitem__, d))
                for n, vs, d in zip(names, values, digits, strict=True)
            }
            columns = [
                cols[k] if k in cols else itertools.repeat(declared[k], len(index)) for k in keys
            ]
            rows = zip(*columns, strict=True) if keys else itertools.repeat((), len(index))
            dicts = list(map(dict, map(zip, itertools.repeat(keys), rows)))
            if not texts:
                yield dicts, []
                continue
            parts_of = [list(map(js.__getitem__, d)) for js, d in zip(jsons, digits, strict=True)]
            yield (
                dicts,
                (
                    list(map(template.format, *parts_of))
                    if parts_of
                    else [template.format()] * len(index)
                ),
            )

    def info(self) -> dict[str, Any]:
        """What :meth:`scan` found (JSON-ready), for :meth:`restore`; the refusals as
        ``[reason, count]`` pairs in grid order (canonical JSON would sort a dict's reasons,
        and the first one is the example a note shows)."""
        return {
            "grid_size": self.grid_size,
            "count": self.count,
            "rejected": self.rejected,
            "refused": [[k, v] for k, v in self.refused.items()],
        }

    def restore(self, info: dict[str, Any]) -> GridStream:
        """The counts of an earlier :meth:`scan` of the same grid (no walk); a record written
        before the pairs (a dict) reads as well."""
        self.count, self.rejected = int(info["count"]), int(info["rejected"])
        refused = info["refused"]
        pairs = refused.items() if isinstance(refused, dict) else refused
        self.refused = {str(k): int(v) for k, v in pairs}
        return self

    def refusal_text(self) -> str:
        return Combinations.refusal_text(self)  # type: ignore[arg-type]


def _braces(text: str) -> str:
    """``text`` as a literal part of a :meth:`str.format` template."""
    return text.replace("{", "{{").replace("}", "}}")
