"""The rule language's expressions: the whitelist, the types, the errors and the warm-up algebra."""

from __future__ import annotations

import pytest

from engine.rules import FUNCTIONS, RuleError, parse, scalar, series_warmup
from engine.rules.expr import GRAMMAR

PARAMS = {"len": 50, "floor": 50.0, "on": True}


def p(text: str):  # noqa: ANN201
    return parse(text, PARAMS, "r.toml: [x] entry")


def test_the_issue_example_parses_into_typed_nodes() -> None:
    node = p("crosses_above(close, ema(close, len)) and rsi(close, 14) > floor")
    assert node.kind == "and" and node.vtype == "bool" and node.series
    cross, cmp = node.args
    assert cross.kind == "call" and cross.value == "crosses_above"
    assert cmp.kind == "cmp" and cmp.value == ">" and cmp.args[1].kind == "param"
    assert node.params() == ("len", "floor")
    # spacing does not matter to the canonical key (equal expressions share one row)
    assert p("crosses_above(close,ema(close,len))  and rsi( close ,14)>floor").key() == node.key()


def test_chained_comparisons_unary_minus_literals_and_bool_params() -> None:
    chain = p("30 < rsi(close, 14) <= 70")
    assert chain.kind == "and" and [a.value for a in chain.args] == ["<", "<="]
    assert p("-close < -1").args[0].kind == "neg"
    assert p("-2 < 1").args[0].kind == "num"  # a negative literal folds
    assert p("true").kind == "bool" and p("False").value is False
    assert p("not on or close > open").kind == "or"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "crosses_above(clse, ema(close, len))",
            "column 15: unknown name 'clse' (did you mean 'close'?)",
        ),
        ("close > flor", "unknown name 'flor' (did you mean 'floor'?)"),
        ("smaa(close, 3) > 1", "unknown function 'smaa' (did you mean 'sma'?)"),
        ("close > ema(close)", "ema(x, n) takes 2 argument(s), got 1"),
        ("close > ema(x=close, n=3)", "without names"),
        ("close and open", "'and' needs conditions; 'close' is a number"),
        ("(close > 1) + 2 > 0", "'+' needs numbers; 'close > 1' is a condition"),
        ("close ** 2 > 1", "operator Pow not allowed"),
        ("close % 2 > 1", "operator Mod not allowed"),
        ("close.x > 1", "attributes not allowed"),
        ("close[1] > 1", "use shift(x, n)"),
        ("close > 'a'", "text 'a' is not allowed"),
        ("__import__('os') > 1", "unknown function '__import__'"),
        ("(lambda: 1)() > 0", "cannot be called"),
        ("close if open else high", "IfExp not allowed"),
        ("close in [1]", "In is not allowed"),
        ("sma(close, close) > 1", "n must be a whole number of bars from numbers and parameters"),
        ("sma(3, 3) > 1", "x must be a series such as close"),
        ("sma(close, 2.5) > 1", "n=2.5 must be a whole number >= 1"),
        ("sma(close > open, 3) > 1", "x must be a number, not the condition"),
        ("crosses_above(len, 3)", "needs a series on at least one side"),
        ("close > (1", "was never closed"),
        ("sma > 1", "'sma' is a function; call it"),
        ("close > 1e999", "is not a finite number"),
    ],
)
def test_errors_are_one_line_with_position_and_hint(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        p(text)
    msg = str(info.value)
    assert message in msg
    assert msg.startswith("r.toml: [x] entry")
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # an expression cut short points after its last token, where the operand is missing
        ("close >", "column 8: the expression stops after '>'; something is missing there"),
        ("close > ", "column 8: the expression stops after '>'"),
        ("close > 3 and", "column 14: the expression stops after 'and'"),
        ("not", "column 4: the expression stops after 'not'"),
        ("sma(close, 3) >", "column 16: the expression stops after '>'"),
        # columns count in the text as written, leading spaces included
        ("  close >", "column 10: the expression stops after '>'"),
        ("  close 3", "column 9: invalid syntax"),
        ("  clse > 1", "column 3: unknown name 'clse'"),
        # a break inside the text keeps Python's position
        ("close > > 3", "column 9: invalid syntax"),
        ("close > (3 +)", "column 13: invalid syntax"),
        # a text of several lines (inside parentheses) names the line
        ("(close > 1 and\n  open >)", "line 2, column 9: invalid syntax"),
        ("\n  (close > 1 and\n  open >)", "line 3, column 9: invalid syntax"),
        ("\n  (close > 1 and\n  opn > 2)", "line 3, column 3: unknown name 'opn'"),
        ("\n  close >", "line 2, column 10: the expression stops after '>'"),
    ],
)
def test_a_syntax_error_points_where_the_expression_breaks(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        p(text)
    msg = str(info.value)
    assert msg.startswith(f"r.toml: [x] entry, {message}"), msg
    assert msg.endswith(GRAMMAR) or "unknown name" in msg
    assert "\n" not in msg


def test_nothing_is_ever_evaluated() -> None:
    # a call that would have a side effect is refused before anything runs
    with pytest.raises(RuleError):
        p("open(__file__) > 0")
    assert "eval" not in GRAMMAR


def test_long_and_deep_expressions_are_refused_cleanly() -> None:
    with pytest.raises(RuleError, match="characters"):
        p("close > " + "+".join(["1"] * 1500))
    with pytest.raises(RuleError):
        p("(" * 400 + "close" + ")" * 400 + " > 1")


def test_scalar_values_follow_python_with_nan_for_division_by_zero() -> None:
    params = {"a": 6, "b": 0, "on": False}
    node = parse("a / b", params, "w")
    assert scalar(node, params) != scalar(node, params)  # NaN
    assert scalar(parse("a * 2 - 1", params, "w"), params) == 11
    assert scalar(parse("not on and a > 5", params, "w"), params) is True


@pytest.mark.parametrize(
    ("text", "warmup"),
    [
        ("close > open", 1),
        ("close > sma(close, 20)", 20),
        ("ema(sma(close, 5), 10) > 0", 14),  # an EMA of an SMA starts where the SMA does
        ("rsi(close, 14) > 50", 15),
        ("macd(close, 12, 26) > 0", 26),
        ("macd_signal(close, 12, 26, 9) > 0", 34),
        ("macd_hist(close, 26, 12, 9) > 0", 34),  # max(fast, slow), whatever the order
        ("bb_upper(close, 20, 2) > close", 20),
        ("atr(14) > 1", 15),
        ("highest(high, 5) > 0", 5),
        ("roc(close, 3) > 0", 4),
        ("shift(close, 1) > close", 2),
        ("crosses_above(close, sma(close, 20))", 21),
        ("crosses_above(rsi(close, 14), 30)", 16),
        ("shift(sma(close, len), 2) > 0", 52),
    ],
)
def test_warmup_algebra(text: str, warmup: int) -> None:
    assert series_warmup(p(text), PARAMS) == warmup


def test_every_function_has_a_definition_and_a_warmup() -> None:
    for fn in FUNCTIONS.values():
        assert fn.summary and fn.definition and fn.warmup_text
        assert len(fn.args) == len(fn.kinds)
