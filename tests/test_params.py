"""Parameter discovery: declared defaults, comments, coercion, resolve with hints."""

from __future__ import annotations

import pytest

from engine import params
from engine.errors import ParamError
from strategies import STRATEGIES
from strategies.swing import SwingPlan


def test_declared_in_order_with_defaults() -> None:
    d = params.declared(SwingPlan)
    assert list(d)[:3] == ["active_from", "levels", "ladder"]
    assert d["ladder"] == (94.0, 90.0, 86.0) and d["stop"] == 79.99


def test_comments_found_even_when_a_formatter_splits_an_entry() -> None:
    src = """class X:
    params = (
        ("a", 1),  # first
        (
            "b",
            2,
        ),  # second, split by a formatter
        ("c", (1.0, 2.0)),  # third
    )
"""
    assert params._comments_in_params(src) == {
        "a": "first",
        "b": "second, split by a formatter",
        "c": "third",
    }


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_declared_param_has_a_comment(name: str) -> None:
    cls = STRATEGIES[name]
    assert set(params.describe(cls)) >= set(params.declared(cls))


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("stop", "84", 84.0),
        ("ladder", "95, 91,87", (95.0, 91.0, 87.0)),
        ("rearm", "yes", True),
        ("rearm", "0", False),
        ("max_wait_days", "30", 30),
        ("max_wait_days", "30.0", 30),
        ("active_from", "2025-09-01", "2025-09-01"),
        ("stop_mode", "close", "close"),
    ],
)
def test_coerce_from_text(key: str, text: str, value: object) -> None:
    assert params.coerce(SwingPlan, key, text) == value


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("max_wait_days", "2.5", "is not a whole number"),
        ("rearm", "maybe", "is not true/false"),
        ("stop", "low", "is not a finite number"),
        ("stop", "nan", "parameter stop nan is not a finite number"),
        ("stop", "-inf", "parameter stop -inf is not a finite number"),
        ("stop", "1e300", "parameter stop 1e\\+300 is out of range"),
        ("ladder", "nan,90,86", "parameter ladder \\(item 1\\) nan is not a finite number"),
        ("active_from", "1600-01-01", "outside the plausible range"),
        ("active_from", "soon", "is not a date"),
        ("ladder", "94,x", "comma-separated list"),
        ("stp", "1", "did you mean 'stop'"),
    ],
)
def test_coerce_refusals(key: str, text: str, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        params.coerce(SwingPlan, key, text)


def test_resolve_runs_the_strategy_checks() -> None:
    assert params.resolve(SwingPlan, {"stop": "84"})["stop"] == 84.0
    with pytest.raises(ParamError, match="swing: stop 95 is at or above"):
        params.resolve(SwingPlan, {"stop": 95})


def test_parse_assignments() -> None:
    assert params.parse_assignments(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ParamError, match="has no '='"):
        params.parse_assignments(["a"])
