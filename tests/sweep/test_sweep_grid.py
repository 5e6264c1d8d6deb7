"""Grid SPEC parsing, the safe constraint parser, and combination building (no backtests)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.errors import ParamError
from engine.files import canonical_json
from engine.sweep import grid, gridscan
from engine.sweep.constraints import Constraint, parse_constraints
from engine.sweep.grid import GridStream, _Memo, build_combinations, parse_grid, parse_values
from engine.sweep.tasks import Job, combo_key
from strategies import STRATEGIES

MA = STRATEGIES["ma_trend"]
SWING = STRATEGIES["swing"]
RSI = STRATEGIES["rsi"]


# ------------------------------------------------------------------------------------ SPEC


def test_range_is_inclusive_and_typed() -> None:
    assert parse_values(MA, "fast", "5:20:5") == (5, 10, 15, 20)
    assert all(type(v) is int for v in parse_values(MA, "fast", "5:20:5"))
    assert parse_values(MA, "fast", "5:19:5") == (5, 10, 15)  # stop not on the step: not reached


def test_float_range_is_exact_in_decimal() -> None:
    values = parse_values(RSI, "oversold", "0.1:0.5:0.1")
    # 0.1 + 0.2 != 0.3 in binary floating point; decimal steps are exact
    assert values == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert parse_values(SWING, "stop", "78:80:0.5") == (78.0, 78.5, 79.0, 79.5, 80.0)


def test_lists_text_bools_dates_and_duplicates() -> None:
    assert parse_values(MA, "mode", "reclaim,cross") == ("reclaim", "cross")
    assert parse_values(MA, "fast", "10, 5,10") == (10, 5)  # order kept, duplicate dropped
    assert parse_values(SWING, "rearm", "true,false") == (True, False)
    assert parse_values(SWING, "active_from", "2025-08-25,2025-09-02") == (
        "2025-08-25",
        "2025-09-02",
    )
    assert parse_values(MA, "slow", "60") == (60,)


def test_tuple_parameters_take_alternatives_split_by_bar() -> None:
    assert parse_values(SWING, "ladder", "94,90,86|95,90") == ((94.0, 90.0, 86.0), (95.0, 90.0))


def test_parse_grid_keeps_order() -> None:
    axes = parse_grid(MA, ["slow=40:60:10", "fast=5,10"])
    assert list(axes) == ["slow", "fast"]
    assert axes["slow"] == (40, 50, 60)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fsat=5:10:5", "unknown grid key 'fsat' for ma_trend (did you mean 'fast'?)"),
        ("fast", "has no '='"),
        ("fast=", "has no values"),
        ("fast=5:10", "a range is start:stop:step"),
        ("fast=5:10:0", "step must be positive"),
        ("fast=5:10:-1", "step must be positive"),
        ("fast=10:5:1", "stop 5 is below start 10"),
        ("fast=a:b:c", "must be numbers"),
        ("fast=5:6:0.5", "is not a whole number"),
        ("fast=5,,6", "empty value"),
        ("fast=1:1000000:1", "max 10,000"),
        ("rearm=0:1:1", "is not a number"),
        ("fast=1:1e999999999:1", "start, stop and step must be finite numbers within"),
        ("fast=1:2:1e-999999999", "gives more than 1e15 values (max 10,000)"),
        ("fast=nan,5", "parameter fast='nan' is not a whole number"),
        ("slow=inf:10:1", "must be finite numbers"),
    ],
)
def test_bad_specs_are_refused_with_one_line(spec: str, message: str) -> None:
    cls = SWING if spec.startswith("rearm") else MA
    with pytest.raises(ParamError, match=None) as exc:
        parse_grid(cls, [spec])
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_float_grid_refuses_nan_and_a_long_spec_is_not_echoed() -> None:
    with pytest.raises(ParamError, match="parameter stop nan is not a finite number"):
        parse_grid(SWING, ["stop=nan,79.99"])
    spec = ",".join(str(v) for v in range(20, 20_020))  # 20,000 values, ~120 KB
    with pytest.raises(ParamError) as exc:
        parse_grid(MA, [f"slow={spec}"])
    message = str(exc.value)
    assert "gives 20,000 values (max 10,000)" in message and len(message) < 200


def test_a_negative_or_fractional_seed_is_refused() -> None:
    axes = parse_grid(MA, ["slow=40:60:10"])
    for seed, why in ((-1, "--seed -1 is out of range"), (1.5, "--seed 1.5 is not a whole")):
        with pytest.raises(ParamError, match=why):
            build_combinations(MA, axes, sample=2, seed=seed)  # type: ignore[arg-type]


def test_repeated_key_is_refused() -> None:
    with pytest.raises(ParamError, match="given twice"):
        parse_grid(MA, ["fast=5", "fast=10"])


# ------------------------------------------------------------------------------------ constraints


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("fast < slow", {"fast": 5, "slow": 20}, True),
        ("fast < slow", {"fast": 20, "slow": 20}, False),
        ("5 <= fast < slow", {"fast": 5, "slow": 6}, True),
        ("5 <= fast < slow", {"fast": 4, "slow": 6}, False),
        ("slow - fast >= 10", {"fast": 5, "slow": 15}, True),
        ("fast * 2 < slow and hold_bars != 3", {"fast": 5, "slow": 11, "hold_bars": 2}, True),
        ("fast * 2 < slow and hold_bars != 3", {"fast": 5, "slow": 11, "hold_bars": 3}, False),
        ("fast / slow <= 0.5 or mode == 'cross'", {"fast": 30, "slow": 40, "mode": "cross"}, True),
        ("not (fast >= slow)", {"fast": 1, "slow": 2}, True),
        ("-fast + slow > +1", {"fast": 1, "slow": 3}, True),
    ],
)
def test_constraints_evaluate(text: str, params: dict, expected: bool) -> None:
    full = {"fast": 20, "slow": 60, "hold_bars": 3, "mode": "reclaim", "exit_on": "slow", **params}
    assert Constraint.parse(text, MA).holds(full) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true') == 0", "is not allowed"),
        ("__import__('os').system('true')", "is not a condition"),
        ("fast.real < 3", "is not allowed"),
        ("(lambda: 1)() < 2", "is not allowed"),
        ("[fast][0] < slow", "is not allowed"),
        ("fast ** 2 < slow", "is not allowed"),
        ("fast in (5, 10)", "is not allowed"),
        ("fast if slow else 1 < 2", "is not a condition"),
        ("fast + 1", "is not a condition"),
        ("fsat < slow", "unknown name 'fsat' for ma_trend (did you mean 'fast'?)"),
        ("fast <", "does not parse"),
        ("fast < slow; import os", "does not parse"),
        ("x" * 600, "max 500"),
    ],
)
def test_constraint_refusals(text: str, message: str) -> None:
    with pytest.raises(ParamError) as exc:
        Constraint.parse(text, MA)
    assert message in str(exc.value)


def test_constraint_runtime_errors_are_user_errors() -> None:
    c = Constraint.parse("slow / (fast - 5) > 1", MA)
    with pytest.raises(ParamError, match="divides by zero at slow=60, fast=5"):
        c.holds({"fast": 5, "slow": 60})
    text = Constraint.parse("mode < 3", MA)
    with pytest.raises(ParamError, match="uses text or a list where a number belongs"):
        text.holds({"mode": "cross"})
    # text times a number is refused before it is built (it once asked for 1e11 characters)
    huge = Constraint.parse("mode * 100000000000 == 'x'", MA)
    with pytest.raises(ParamError, match="where a number belongs .* at mode='cross'"):
        huge.holds({"mode": "cross"})


# ------------------------------------------------------------------------------------ combinations


def test_constraints_and_strategy_refusals_are_counted() -> None:
    axes = parse_grid(MA, ["fast=10:30:10", "slow=20:40:10"])  # 9 combinations
    combos = build_combinations(MA, axes, parse_constraints(["fast != 30"], MA))
    # fast=30 is removed by the constraint (3 combinations); ma_trend refuses fast=20, slow=20
    assert combos.grid_size == 9
    assert combos.rejected == 3
    assert sum(combos.refused.values()) == 1
    kept = [(p["fast"], p["slow"]) for p in combos.params]
    assert kept == [(10, 20), (10, 30), (10, 40), (20, 30), (20, 40)]
    assert all(p["hold_bars"] == 3 and p["mode"] == "reclaim" for p in combos.params)  # resolved
    assert "fast=20 must be shorter than slow=20" in combos.refusal_text()


def test_window_too_short_is_a_refusal() -> None:
    combos = build_combinations(MA, parse_grid(MA, ["slow=50,100"]), bars=80)
    assert [p["slow"] for p in combos.params] == [50]
    assert "needs 104 bars, the window has 80" in combos.refusal_text()


def test_random_sample_is_seeded_distinct_and_in_grid_order() -> None:
    axes = parse_grid(MA, ["fast=2:20:1", "slow=30:60:1"])
    a = build_combinations(MA, axes, sample=25, seed=7)
    b = build_combinations(MA, axes, sample=25, seed=7)
    c = build_combinations(MA, axes, sample=25, seed=8)
    pairs = [(p["fast"], p["slow"]) for p in a.params]
    assert pairs == [(p["fast"], p["slow"]) for p in b.params]
    assert pairs != [(p["fast"], p["slow"]) for p in c.params]
    assert len(set(pairs)) == 25 and pairs == sorted(pairs)
    assert a.sampled == 25


def test_random_larger_than_the_valid_grid_is_refused() -> None:
    axes = parse_grid(MA, ["fast=5,10", "slow=20,30"])
    with pytest.raises(ParamError, match="--random 5 exceeds the 4 valid combinations"):
        build_combinations(MA, axes, sample=5)
    with pytest.raises(ParamError, match="at least 1"):
        build_combinations(MA, axes, sample=0)


def test_empty_grid_after_constraints_is_refused() -> None:
    axes = parse_grid(MA, ["fast=5,10", "slow=20,30"])
    with pytest.raises(
        ParamError, match="no combination left to run out of 4: the constraints reject 4"
    ):
        build_combinations(MA, axes, parse_constraints(["fast > slow"], MA))


def test_huge_grid_needs_random(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid, "MAX_GRID", 100)
    axes = parse_grid(MA, ["fast=1:20:1", "slow=21:40:1"])  # 400 > 100
    with pytest.raises(ParamError, match="sample with --random N"):
        build_combinations(MA, axes)
    combos = build_combinations(MA, axes, sample=10, seed=1)  # rejection sampling path
    assert len(combos.params) == 10


def test_streaming_grid_yields_the_same_combinations_and_keys() -> None:
    axes = parse_grid(
        MA, ["fast=5:60:5", "slow=10:200:10", "hold_bars=1,3,9", "mode=reclaim,cross"]
    )
    constraints = parse_constraints(["fast * 2 <= slow or mode == 'cross'"], MA)
    listed = build_combinations(MA, axes, constraints, bars=150)
    stream = GridStream(MA, axes, constraints, bars=150).scan()
    streamed = [p for chunk in stream.chunks(37) for p in chunk]
    assert (stream.count, stream.rejected, stream.refused, stream.grid_size) == (
        len(listed.params),
        listed.rejected,
        listed.refused,
        listed.grid_size,
    )
    assert stream.refusal_text() == listed.refusal_text()
    assert [list(p.items()) for p in streamed] == [list(p.items()) for p in listed.params]
    job = Job("ma_trend", "fast", (0, 150), None, 1.0, False, {}, {"sha": "x"}, {})  # type: ignore[arg-type]
    assert [combo_key(job, p) for p in streamed] == [combo_key(job, p) for p in listed.params]
    with pytest.raises(ParamError, match="no combination left to run out of 4"):
        GridStream(
            MA, parse_grid(MA, ["fast=5,10", "slow=20,40"]), parse_constraints(["fast > slow"], MA)
        ).scan()


def test_a_large_grid_is_scanned_in_two_halves_with_the_same_result(monkeypatch) -> None:
    axes = parse_grid(
        MA, ["fast=5:60:5", "slow=10:200:10", "hold_bars=1,3,9", "mode=reclaim,cross"]
    )
    constraints = parse_constraints(["fast * 2 <= slow or mode == 'cross'"], MA)
    one = GridStream(MA, axes, constraints, bars=150).scan()
    monkeypatch.setattr(gridscan, "PARALLEL_SCAN", 10)
    two = GridStream(MA, axes, constraints, bars=150).scan()
    assert (two.count, two.rejected, two.grid_size) == (one.count, one.rejected, one.grid_size)
    assert list(two.refused.items()) == list(one.refused.items())  # counts and first-seen order
    assert np.array_equal(two._mask, one._mask) and one.rejected and one.refused
    monkeypatch.setattr(gridscan, "_forked", lambda work: lambda kill=False: None)  # a failed child
    three = GridStream(MA, axes, constraints, bars=150).scan()
    assert np.array_equal(three._mask, one._mask) and three.refused == one.refused


def test_a_restored_scan_keeps_the_refusals_in_grid_order() -> None:
    axes = parse_grid(MA, ["fast=5:60:5", "slow=10:200:10", "mode=reclaim,cross"])
    scanned = GridStream(MA, axes, bars=150).scan()
    assert list(scanned.refused) != sorted(scanned.refused)  # the JSON record must not sort it
    record = json.loads(canonical_json(scanned.info()))
    restored = GridStream(MA, axes, bars=150).restore(record)
    assert list(restored.refused.items()) == list(scanned.refused.items())
    assert restored.refusal_text() == scanned.refusal_text()
    old = {**record, "refused": dict(record["refused"])}  # a record from before the pairs
    assert GridStream(MA, axes, bars=150).restore(old).refused == scanned.refused


def test_text_chunks_give_each_dicts_canonical_json() -> None:
    # floats, -0.0, lists, booleans, dates and text with JSON's special characters: the text
    # assembled from the axis values' JSON must be canonical_json of the dict, byte for byte
    axes = parse_grid(
        SWING,
        [
            "stop=78:80:0.5",
            "ladder=94,90.5,86|95,91,87",
            "rearm=true,false",
            "active_from=2025-08-25,2025-09-02",
        ],
    )
    axes["stop"] = (*axes["stop"], -0.0, 1e-300)
    stream = GridStream(SWING, axes).scan()
    plain = [p for chunk in stream.chunks(7) for p in chunk]
    pairs = [
        (d, t) for dicts, texts in stream.text_chunks(7) for d, t in zip(dicts, texts, strict=True)
    ]
    assert [list(d.items()) for d, _ in pairs] == [list(p.items()) for p in plain]
    assert [t for _, t in pairs] == [canonical_json(d) for d, _ in pairs]
    odd = GridStream(MA, {"mode": ('cr"o{ss}', "reclaim")})
    odd._mask = np.ones(2, dtype=bool)  # as scan() would leave it (the check refuses the text)
    [(dicts, texts)] = list(odd.text_chunks())
    assert texts == [canonical_json(d) for d in dicts] and '"cr\\"o{ss}"' in texts[0]


def test_memo_caches_by_the_values_read() -> None:
    calls = []

    def check(p: dict) -> list[str]:
        calls.append(1)
        return ["bad"] if p["mode"] == "cross" and p["slow"] > 50 else []

    memo = _Memo(check)
    for slow in (40, 60, 40, 60):
        for fast in (1, 2, 3):
            assert memo({"mode": "reclaim", "slow": slow, "fast": fast}) == []
            assert memo({"mode": "cross", "slow": slow, "fast": fast}) == (
                ["bad"] if slow > 50 else []
            )
    assert len(calls) == 3  # reclaim (reads mode only), cross with 40, cross with 60
