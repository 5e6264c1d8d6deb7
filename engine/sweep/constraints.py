"""Sweep constraints: ``--constraint "fast < slow and hold_bars <= 5"``, compiled safely.

:class:`Constraint` compiles an expression by walking Python's ``ast`` over a whitelist of node
types: comparisons, ``and`` / ``or`` / ``not``, ``+ - * /``, parameter names and literals.
Nothing is ever passed to ``eval``. Names must be parameters the strategy declares (with a "did
you mean" hint). Arithmetic takes numbers only: text or a list times a number is refused, never
built.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine import params as params_mod
from engine.errors import ParamError

MAX_CONSTRAINT_CHARS = 500

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_ALLOWED_HELP = "use parameter names, numbers, quoted text, + - * /, < <= > >= == !=, and/or/not"


@dataclass(frozen=True)
class Constraint:
    """One ``--constraint`` expression, compiled to a closure over a parameter dict."""

    text: str
    names: tuple[str, ...]
    _fn: Callable[[dict[str, Any]], Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str, strategy_cls: type) -> Constraint:
        """Compile ``text``; names must be parameters of ``strategy_cls``.

        Raises
        ------
        ParamError
            a syntax error, an unknown name (with a hint), or a node outside the whitelist.
        """
        if len(text) > MAX_CONSTRAINT_CHARS:
            raise ParamError(f"constraint is {len(text)} characters (max {MAX_CONSTRAINT_CHARS})")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise ParamError(f"constraint {text!r} does not parse; {_ALLOWED_HELP}") from None
        body = tree.body
        if not isinstance(body, (ast.Compare, ast.BoolOp)) and not (
            isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not)
        ):
            raise ParamError(
                f"constraint {text!r} is not a condition; compare values, e.g. 'fast < slow'"
            )
        declared = params_mod.declared(strategy_cls)
        names: list[str] = []
        fn = _compile(body, text, declared, strategy_cls, names)
        return cls(text, tuple(dict.fromkeys(names)), fn)

    def holds(self, params: dict[str, Any]) -> bool:
        """True when ``params`` satisfies the expression."""
        try:
            return bool(self._fn(params))
        except ZeroDivisionError:
            raise ParamError(
                f"constraint {self.text!r} divides by zero at {_show(params, self.names)}"
            ) from None
        except TypeError:
            raise ParamError(
                f"constraint {self.text!r} uses text or a list where a number belongs "
                f"(arithmetic and < > take numbers) at {_show(params, self.names)}"
            ) from None


def _show(params: dict[str, Any], names: tuple[str, ...]) -> str:
    return ", ".join(f"{n}={params.get(n)!r}" for n in names)


def _compile(
    node: ast.AST, text: str, declared: dict[str, Any], cls: type, names: list[str]
) -> Callable[[dict[str, Any]], Any]:
    """Closure for one whitelisted node; anything else is a :class:`ParamError`."""

    def sub(child: ast.AST) -> Callable[[dict[str, Any]], Any]:
        return _compile(child, text, declared, cls, names)

    if isinstance(node, ast.BoolOp):
        parts = [sub(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda p: all(f(p) for f in parts)
        return lambda p: any(f(p) for f in parts)
    if isinstance(node, ast.UnaryOp) and type(node.op) in (ast.Not, ast.USub, ast.UAdd):
        inner = sub(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda p: not inner(p)
        sign = -1 if isinstance(node.op, ast.USub) else 1
        return lambda p: sign * _number(inner(p))
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        terms = [sub(node.left)] + [sub(c) for c in node.comparators]
        ops = [_COMPARE[type(op)] for op in node.ops]
        return lambda p: _chain(ops, [t(p) for t in terms])
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        left, right, op = sub(node.left), sub(node.right), _ARITH[type(node.op)]
        return lambda p: op(_number(left(p)), _number(right(p)))
    if isinstance(node, ast.Name):
        if node.id not in declared:
            raise ParamError(
                f"constraint {text!r}: unknown name {node.id!r} for {params_mod.strategy_name(cls)}"
                f"{params_mod.suggest(node.id, declared)}; known: {', '.join(declared)}"
            )
        names.append(node.id)
        key = node.id
        return lambda p: p[key]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        value = node.value
        return lambda p: value
    what = type(node).__name__
    snippet = ast.get_source_segment(text.strip(), node) or what
    raise ParamError(f"constraint {text!r}: {snippet!r} ({what}) is not allowed; {_ALLOWED_HELP}")


def _number(value: Any) -> int | float:
    """``value`` when it is a number: arithmetic on text or a list (``mode * 100000000000``,
    ``ladder * 10**9``) would build a string or tuple as large as memory, so it is a TypeError
    (:meth:`Constraint.holds` turns it into one line)."""
    if isinstance(value, int | float):
        return value
    raise TypeError(f"{value!r} is not a number")


def _chain(ops: list[Callable[[Any, Any], bool]], values: list[Any]) -> bool:
    return all(op(a, b) for op, a, b in zip(ops, values[:-1], values[1:], strict=True))


def parse_constraints(texts: list[str] | None, cls: type) -> tuple[Constraint, ...]:
    """Compile every ``--constraint``; a combination must satisfy all of them."""
    return tuple(Constraint.parse(t, cls) for t in texts or [])


# ------------------------------------------------------------------------------------ combinations
