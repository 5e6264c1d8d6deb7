"""engine.sweep.gridscan: each check asked once per point of the sub-grid it reads, with the
counts, the refusals (in grid order), the runnable points and the first error of a walk that
asks every point (GridStream._walk, the point-by-point reference)."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pytest

from engine.sweep import gridscan
from engine.sweep.constraints import parse_constraints
from engine.sweep.grid import GridStream, parse_grid
from strategies import STRATEGIES

MA = STRATEGIES["ma_trend"]


def _walked(cls: type, axes: dict[str, tuple[Any, ...]], constraints: Any, bars: Any) -> Any:
    walk = GridStream(cls, axes, constraints, bars)
    points = [list(p.items()) for p in walk._walk(count=True)]
    return walk, points


def _same_as_walk(
    cls: type, axes: dict[str, tuple[Any, ...]], constraints: Any = (), bars: Any = None
) -> None:
    scanned = GridStream(cls, axes, constraints, bars).scan()
    walk, points = _walked(cls, axes, constraints, bars)
    assert (scanned.count, scanned.rejected) == (walk.count, walk.rejected)
    assert list(scanned.refused.items()) == list(walk.refused.items())  # first seen first
    assert [list(p.items()) for chunk in scanned.chunks(11) for p in chunk] == points


def test_a_scan_gives_what_a_walk_of_every_point_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    axes = parse_grid(
        MA, ["fast=1:60:7", "slow=0:200:10", "hold_bars=0,1,3,9", "mode=reclaim,cross"]
    )
    # the constraint reads hold_bars only in reclaim mode; the warm-up likewise
    constraints = parse_constraints(["mode == 'cross' or fast * 2 <= slow + hold_bars"], MA)
    _same_as_walk(MA, axes, constraints, bars=150)
    _same_as_walk(MA, axes, (), bars=150)
    _same_as_walk(MA, axes, constraints, bars=None)
    monkeypatch.setattr(gridscan, "PARALLEL_SCAN", 10)  # check_params in two halves at once
    _same_as_walk(MA, axes, constraints, bars=150)


class _Counted(bt.Strategy):
    """A strategy whose checks count their calls and read keys depending on values."""

    params = (("a", 1), ("b", 1), ("c", "x"), ("d", 0))
    calls: list[str] = []

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        cls.calls.append("check")
        return [f"b={p['b']} too big"] if p["c"] == "y" and p["b"] > 2 else []

    @classmethod
    def warmup(cls, p: dict[str, Any]) -> int:
        cls.calls.append("warm")
        return int(p["a"]) * 10


def test_each_check_is_asked_once_per_point_of_the_axes_it_reads() -> None:
    axes = {"a": (1, 2, 3, 4), "b": (1, 2, 3), "c": ("x", "y"), "d": tuple(range(50))}
    _Counted.calls = []
    scanned = GridStream(_Counted, axes, (), bars=25).scan()
    # check: a probe (reads c), c=x then c=y (which reads b too: the pass restarts), then
    # once per (b, c); the warm-up: a probe, then once per value of a (not 1,200 times)
    assert _Counted.calls.count("check") == 1 + 2 + 3 * 2
    assert _Counted.calls.count("warm") == 1 + 4
    assert list(scanned.refused.items()) == [
        ("_Counted: b=3 too big", 4 * 50),  # c=y, b=3: every a and d
        ("needs 31 bars, the window has 25", 250),  # a=3, less the 50 the check refused
        ("needs 41 bars, the window has 25", 250),
    ]
    assert scanned.count == 1_200 - 200 - 500
    _same_as_walk(_Counted, axes, (), bars=25)


class _Raising(bt.Strategy):
    params = (("a", 1), ("b", 1))

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        if p["a"] == 3 and p["b"] >= 2:
            raise ValueError(f"check fails at a={p['a']} b={p['b']}")
        return []

    @classmethod
    def warmup(cls, p: dict[str, Any]) -> int:
        if p["a"] == 2:
            raise KeyError(f"warm-up fails at a={p['a']}")
        return 0


def _first_error(cls: type, axes: dict[str, tuple[Any, ...]], constraints: Any) -> str:
    with pytest.raises(Exception) as walked:
        list(GridStream(cls, axes, constraints, 100)._walk(count=True))
    with pytest.raises(type(walked.value)) as scanned:
        GridStream(cls, axes, constraints, 100).scan()
    assert str(scanned.value) == str(walked.value)
    return str(scanned.value)


def test_the_first_error_in_grid_order_is_raised_and_only_where_a_walk_asks() -> None:
    axes = {"a": (1, 2, 3), "b": (1, 2, 3)}
    assert "warm-up fails at a=2" in _first_error(_Raising, axes, ())
    # the constraint rejects a=2 before the warm-up is asked there: the check's error is next
    assert "check fails at a=3 b=2" in _first_error(_Raising, axes, _not_two())
    # rejected everywhere the checks fail: nothing raises
    scanned = GridStream(_Raising, axes, _not_two() + _below_three(), 100).scan()
    assert (scanned.count, scanned.rejected) == (3, 6)


class _Holds:
    def __init__(self, text: str, fn: Any) -> None:
        self.text, self.fn = text, fn

    def holds(self, p: dict[str, Any]) -> bool:
        return bool(self.fn(p))


def _not_two() -> tuple[Any, ...]:
    return (_Holds("a != 2", lambda p: p["a"] != 2),)


def _below_three() -> tuple[Any, ...]:
    return (_Holds("a < 3", lambda p: p["a"] < 3),)


def test_a_scan_of_no_axes_is_one_point() -> None:
    scanned = GridStream(MA, {}, (), bars=400).scan()
    assert (scanned.count, scanned.rejected, scanned.refused) == (1, 0, {})
    assert np.array_equal(scanned._mask, np.ones(1, dtype=bool))
