"""Rule expressions: Python's ``ast`` over a whitelist, checked into a small typed tree.

:func:`parse` turns ``"crosses_above(close, ema(close, len)) and rsi(close, 14) > floor"`` into
:class:`Node` objects. Nothing is evaluated with ``eval``: every ``ast`` node outside the grammar
(attributes, subscripts, ``**``, lambdas, keywords...) is refused with a :class:`RuleError` that
names the position and, for a misspelt name or function, the closest known one.

Grammar
-------
numbers, ``true`` / ``false``, parameter names, the prices ``open high low close volume``,
``+ - * /`` and unary ``-``, comparisons ``< <= > >= == !=`` (chains such as ``30 < rsi(close,
14) < 70`` too), ``and or not``, parentheses and the functions of
:data:`engine.rules.functions.FUNCTIONS`.

Types
-----
Each node is a *number* or a *condition*, and a *series* (it depends on the bar) or a
*constant* (numbers and parameters only). Arithmetic and comparisons take numbers; ``and``,
``or``, ``not`` take conditions; a function's periods are constants (whole numbers >= 1 once the
parameters are known), its inputs series. ``entry`` and ``exit`` must be conditions.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.errors import ParamError
from engine.rules.functions import FUNCTIONS, NUMBER, OPERAND, PERIOD, PRICES, SERIES, Function

MAX_CHARS = 2_000
NUM, BOOL = "num", "bool"
ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
LITERALS = {"true": True, "false": False, "True": True, "False": False}
GRAMMAR = (
    "use numbers, parameters, open/high/low/close/volume, + - * /, < <= > >= == !=, "
    "and/or/not and the functions (see docs/rules.md)"
)


class RuleError(ParamError):
    """A rule that cannot be used: the message names the rule, the field and the position."""


@dataclass(frozen=True, eq=False)
class Node:
    """One checked expression node.

    kind: ``num`` (a number literal), ``bool`` (true/false), ``param``, ``price``, ``call``,
    ``arith`` (``op`` in + - * /), ``neg``, ``cmp`` (``op`` a comparison), ``and``, ``or``,
    ``not``. ``value`` holds the literal, the parameter / price / function name or the operator;
    ``args`` the operands. ``vtype`` is ``num`` or ``bool``; ``series`` says whether the value
    depends on the bar. ``col`` is the 1-based column in the source text.
    """

    kind: str
    value: object
    args: tuple[Node, ...]
    vtype: str
    series: bool
    col: int
    text: str = field(default="", compare=False)

    def key(self) -> str:
        """Canonical text (equal for equal expressions, whatever the spacing); computed once
        (a sweep asks for it per combination)."""
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = self.__dict__["_key"] = self._key()
        return str(cached)

    def _key(self) -> str:
        if self.kind in ("num", "bool"):
            return repr(self.value)
        if self.kind in ("param", "price"):
            return str(self.value)
        if self.kind == "call":
            return f"{self.value}({','.join(a.key() for a in self.args)})"
        if self.kind == "neg":
            return f"(-{self.args[0].key()})"
        if self.kind == "not":
            return f"(not {self.args[0].key()})"
        if self.kind in ("and", "or"):
            return "(" + f" {self.kind} ".join(a.key() for a in self.args) + ")"
        return f"({self.args[0].key()}{self.value}{self.args[1].key()})"

    def walk(self) -> list[Node]:
        """This node and every node below it, parents first."""
        out = [self]
        for a in self.args:
            out.extend(a.walk())
        return out

    def params(self) -> tuple[str, ...]:
        """Parameter names used anywhere in this expression, first use first (computed once)."""
        cached = self.__dict__.get("_params")
        if cached is None:
            names = (str(n.value) for n in self.walk() if n.kind == "param")
            cached = self.__dict__["_params"] = tuple(dict.fromkeys(names))
        return tuple(cached)


def suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse(
    text: str,
    params: dict[str, object],
    where: str,
    functions: Mapping[str, Function] = FUNCTIONS,
) -> Node:
    """Parse and check one expression; ``params`` maps parameter names to their defaults.

    ``where`` prefixes every error (e.g. ``"rules.toml: [ema_rsi] entry"``); ``functions`` is
    the language's table (the fast engine adds internal ones for the built-in strategies).

    Raises
    ------
    RuleError
        a syntax error, a construct outside the grammar, an unknown name or function (with a
        hint), a wrong number of arguments or a type mismatch; one line, with the column.
    """
    if not isinstance(text, str) or not text.strip():
        raise RuleError(
            f"{where}: empty expression; write a condition, e.g. close > sma(close, 20)"
        )
    if len(text) > MAX_CHARS:
        raise RuleError(f"{where}: expression is {len(text)} characters (max {MAX_CHARS})")
    src = text.strip()
    spot = _Spot(where, text)
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(src, exc, spot) from None
    except (ValueError, RecursionError, MemoryError):
        raise RuleError(f"{where}: expression does not parse (too deeply nested?)") from None
    try:
        return _Checker(src, params, spot, functions).node(tree.body)
    except RecursionError:
        raise RuleError(f"{where}: expression is too deeply nested") from None


class _Spot:
    """Positions in an expression as its author wrote it: :func:`parse` strips the text's ends
    before parsing, so a position in the parsed source moves past the stripped start."""

    def __init__(self, where: str, text: str) -> None:
        head = text[: len(text) - len(text.lstrip())]
        self.where = where
        self.lines = head.count("\n")  # lines before the source's first
        self.indent = len(head) - (head.rfind("\n") + 1)  # columns before it on its line
        self.several = "\n" in text.rstrip()

    def at(self, lineno: int, col: int) -> str:
        """``WHERE, column C`` (``WHERE, line L, column C`` for a text of several lines) of the
        1-based ``lineno`` / ``col`` in the parsed source."""
        col += self.indent if lineno == 1 else 0
        line = f"line {lineno + self.lines}, " if self.several else ""
        return f"{self.where}, {line}column {col}"


def _syntax_error(src: str, exc: SyntaxError, spot: _Spot) -> RuleError:
    """The one-line error of a syntax error. Python places an expression that stops short
    (``close >``, ``a and``) at column 0 of the end of the input; the error points instead just
    past the last token, where the missing operand belongs, and names that token."""
    if exc.offset:
        return RuleError(f"{spot.at(exc.lineno or 1, exc.offset)}: {exc.msg}; {GRAMMAR}")
    lines = src.splitlines()
    last = lines[-1].split()[-1] if lines[-1].split() else ""
    try:  # the last token proper: 'sma(close, 3) >' ends with '>', not '3)'
        tokens = [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(src).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT)
        ]
        last = tokens[-1] if tokens else last
    except (tokenize.TokenError, SyntaxError):
        pass
    where = spot.at(len(lines), len(lines[-1]) + 1)
    return RuleError(
        f"{where}: the expression stops after {last!r}; something is missing there; {GRAMMAR}"
    )


class _Checker:
    def __init__(
        self, src: str, params: dict[str, object], spot: _Spot, functions: Mapping[str, Function]
    ) -> None:
        self.src = src
        self.params = params
        self.spot = spot
        self.where = spot.where
        self.functions = functions

    # -------------------------------------------------------------------- helpers
    def fail(self, node: ast.AST, message: str) -> RuleError:
        col = getattr(node, "col_offset", 0) + 1
        return RuleError(f"{self.spot.at(getattr(node, 'lineno', 1), col)}: {message}")

    def seg(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.src, node) or type(node).__name__

    def make(
        self, node: ast.AST, kind: str, value: object, args: tuple[Node, ...], vtype: str
    ) -> Node:
        # every function returns a series (atr reads the bars without a series argument)
        series = kind in ("price", "call") or any(a.series for a in args)
        col = getattr(node, "col_offset", 0) + 1
        return Node(kind, value, args, vtype, series, col, self.seg(node))

    def need(self, node: ast.AST, child: Node, vtype: str, what: str) -> None:
        if child.vtype == vtype:
            return
        if vtype == BOOL:
            raise self.fail(
                node,
                f"{what} needs conditions; {child.text!r} is a number (compare it, e.g. {child.text} > 0)",
            )
        raise self.fail(node, f"{what} needs numbers; {child.text!r} is a condition")

    # -------------------------------------------------------------------- nodes
    def node(self, n: ast.AST) -> Node:
        if isinstance(n, ast.Constant):
            return self.constant(n)
        if isinstance(n, ast.Name):
            return self.name(n)
        if isinstance(n, ast.Call):
            return self.call(n)
        if isinstance(n, ast.BinOp) and type(n.op) in ARITH:
            op = ARITH[type(n.op)]
            left, right = self.node(n.left), self.node(n.right)
            self.need(n, left, NUM, f"'{op}'")
            self.need(n, right, NUM, f"'{op}'")
            return self.make(n, "arith", op, (left, right), NUM)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            inner = self.node(n.operand)
            self.need(n, inner, NUM, "unary minus")
            if isinstance(n.op, ast.UAdd):
                return inner
            if inner.kind == "num":
                return self.make(n, "num", -inner.value, (), NUM)  # type: ignore[operator]
            return self.make(n, "neg", "-", (inner,), NUM)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            inner = self.node(n.operand)
            self.need(n, inner, BOOL, "'not'")
            return self.make(n, "not", "not", (inner,), BOOL)
        if isinstance(n, ast.BoolOp):
            kind = "and" if isinstance(n.op, ast.And) else "or"
            items = tuple(self.node(v) for v in n.values)
            for item in items:
                self.need(n, item, BOOL, f"'{kind}'")
            return self.make(n, kind, kind, items, BOOL)
        if isinstance(n, ast.Compare):
            return self.compare(n)
        return self.refuse(n)

    def refuse(self, n: ast.AST) -> Node:
        if isinstance(n, ast.BinOp):
            what = f"operator {type(n.op).__name__}"
            hint = "only + - * / are allowed"
        elif isinstance(n, ast.Attribute):
            what, hint = "attributes", "write prices as open, high, low, close, volume"
        elif isinstance(n, ast.Subscript):
            what, hint = "indexing", "use shift(x, n) for the value n bars ago"
        else:
            what, hint = type(n).__name__, GRAMMAR
        raise self.fail(n, f"{self.seg(n)!r}: {what} not allowed; {hint}")

    def constant(self, n: ast.Constant) -> Node:
        v = n.value
        if isinstance(v, bool):
            return self.make(n, "bool", v, (), BOOL)
        if isinstance(v, (int, float)) and not isinstance(v, complex):
            if v != v or v in (float("inf"), float("-inf")):
                raise self.fail(n, f"{self.seg(n)!r} is not a finite number")
            return self.make(n, "num", v, (), NUM)
        if isinstance(v, str):
            raise self.fail(n, f"text {self.seg(n)} is not allowed; rules compare numbers")
        return self.refuse(n)

    def name(self, n: ast.Name) -> Node:
        name = n.id
        if name in LITERALS:
            return self.make(n, "bool", LITERALS[name], (), BOOL)
        if name in PRICES:
            return self.make(n, "price", name, (), NUM)
        if name in self.params:
            vtype = BOOL if isinstance(self.params[name], bool) else NUM
            return self.make(n, "param", name, (), vtype)
        if name in self.functions:
            raise self.fail(
                n, f"{name!r} is a function; call it, e.g. {self.functions[name].signature}"
            )
        known = [*PRICES, *self.params, *self.functions]
        params = ", ".join(self.params) or "none"
        raise self.fail(
            n,
            f"unknown name {name!r}{suggest(name, known)}; prices: {', '.join(PRICES)}; parameters: {params}",
        )

    def compare(self, n: ast.Compare) -> Node:
        for op in n.ops:
            if type(op) not in COMPARE:
                raise self.fail(
                    n,
                    f"{self.seg(n)!r}: {type(op).__name__} is not allowed; compare with < <= > >= == !=",
                )
        terms = [self.node(n.left)] + [self.node(c) for c in n.comparators]
        parts = []
        for i, op in enumerate(n.ops):
            sym = COMPARE[type(op)]
            for t in (terms[i], terms[i + 1]):
                self.need(n, t, NUM, f"'{sym}'")
            parts.append(self.make(n, "cmp", sym, (terms[i], terms[i + 1]), BOOL))
        if len(parts) == 1:
            return parts[0]
        return self.make(n, "and", "and", tuple(parts), BOOL)

    def call(self, n: ast.Call) -> Node:
        if not isinstance(n.func, ast.Name):
            raise self.fail(
                n, f"{self.seg(n.func)!r} cannot be called; functions: {', '.join(self.functions)}"
            )
        name = n.func.id
        fn = self.functions.get(name)
        if fn is None:
            listed = [f for f in self.functions if not f.startswith("_")]
            raise self.fail(
                n,
                f"unknown function {name!r}{suggest(name, listed)}; functions: {', '.join(listed)}",
            )
        if n.keywords:
            raise self.fail(n, f"{fn.signature}: give the arguments in order, without names")
        if len(n.args) != len(fn.args):
            raise self.fail(
                n, f"{fn.signature} takes {len(fn.args)} argument(s), got {len(n.args)}"
            )
        args = tuple(self.node(a) for a in n.args)
        for arg_ast, arg, kind, label in zip(n.args, args, fn.kinds, fn.args, strict=True):
            self.check_arg(arg_ast, fn.signature, label, kind, arg)
        if OPERAND in fn.kinds and not any(a.series for a in args):
            raise self.fail(n, f"{fn.signature} needs a series on at least one side (e.g. close)")
        return self.make(n, "call", name, args, BOOL if fn.returns == "bool" else NUM)

    def check_arg(self, n: ast.AST, sig: str, label: str, kind: str, arg: Node) -> None:
        if arg.vtype != NUM:
            raise self.fail(n, f"{sig}: {label} must be a number, not the condition {arg.text!r}")
        if kind == SERIES and not arg.series:
            raise self.fail(
                n,
                f"{sig}: {label} must be a series such as close or an expression of one, not {arg.text!r}",
            )
        if kind in (PERIOD, NUMBER) and arg.series:
            what = "a whole number of bars" if kind == PERIOD else "a number"
            raise self.fail(
                n,
                f"{sig}: {label} must be {what} from numbers and parameters, not the series {arg.text!r}",
            )
        if kind == PERIOD and arg.kind == "num" and (arg.value != int(arg.value) or arg.value < 1):  # type: ignore[call-overload, operator]
            raise self.fail(n, f"{sig}: {label}={arg.text} must be a whole number >= 1")
