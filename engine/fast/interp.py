"""The signal programs' interpreter: one condition, one bar, a small stack of float64.

A condition is compiled (:mod:`engine.fast.program`) into postfix *instructions*, each an
``(op, arg)`` pair of integers, stored as one row of an int64 table: ``code[p, 0]`` is the
number of instructions of program ``p``, ``code[p, 1 + 2k]`` / ``code[p, 2 + 2k]`` the ``k``-th
op and its argument. Integer codes rather than functions keep numba's on-disk cache working
(a function passed as an argument would recompile in every process).

Operands: ``ROW s`` pushes slot ``s``'s row (a function's values, computed once per distinct
setting) at this bar, ``PRICE f`` open/high/low/close/volume, ``CONST i`` ``consts[i]``,
``PARAM i`` the combination's ``i``-th parameter. Operators follow Python's float rules, as
the backtrader strategy's line operations do: ``x / 0`` is NaN (the strategy's ``SafeDiv``),
comparisons with NaN are false (``!=`` true), a condition is 1.0 / 0.0 and any non-zero value
(NaN included) counts as true in ``and`` / ``or`` / ``not``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OP_ROW, OP_PRICE, OP_CONST, OP_PARAM = 1, 2, 3, 4
OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG = 5, 6, 7, 8, 9
OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE = 10, 11, 12, 13, 14, 15
OP_AND, OP_OR, OP_NOT = 16, 17, 18
PRICE_INDEX = {"open": 0, "high": 1, "low": 2, "close": 3, "volume": 4}


@njit(cache=True)
def evaluate(
    code: np.ndarray,
    prog: int,
    t: int,
    rows: np.ndarray,
    srow: np.ndarray,
    px: np.ndarray,
    fp: np.ndarray,
    consts: np.ndarray,
    stack: np.ndarray,
) -> bool:
    """Value of program ``prog`` on bar ``t`` as a condition (non-zero is true)."""
    sp = 0
    for k in range(code[prog, 0]):
        op = code[prog, 1 + 2 * k]
        arg = code[prog, 2 + 2 * k]
        if op == OP_ROW:
            stack[sp] = rows[srow[arg], t]
            sp += 1
        elif op == OP_PRICE:
            stack[sp] = px[arg, t]
            sp += 1
        elif op == OP_CONST:
            stack[sp] = consts[arg]
            sp += 1
        elif op == OP_PARAM:
            stack[sp] = fp[arg]
            sp += 1
        elif op == OP_NEG:
            stack[sp - 1] = -stack[sp - 1]
        elif op == OP_NOT:
            stack[sp - 1] = 1.0 if stack[sp - 1] == 0.0 else 0.0
        else:
            sp -= 1
            a = stack[sp - 1]
            b = stack[sp]
            stack[sp - 1] = _binary(op, a, b)
    return stack[0] != 0.0


@njit(cache=True)
def _binary(op: int, a: float, b: float) -> float:
    if op == OP_ADD:
        return a + b
    if op == OP_SUB:
        return a - b
    if op == OP_MUL:
        return a * b
    if op == OP_DIV:
        return a / b if b != 0.0 else np.nan
    if op == OP_LT:
        return 1.0 if a < b else 0.0
    if op == OP_LE:
        return 1.0 if a <= b else 0.0
    if op == OP_GT:
        return 1.0 if a > b else 0.0
    if op == OP_GE:
        return 1.0 if a >= b else 0.0
    if op == OP_EQ:
        return 1.0 if a == b else 0.0
    if op == OP_NE:
        return 1.0 if a != b else 0.0
    if op == OP_AND:
        return 1.0 if (a != 0.0 and b != 0.0) else 0.0
    return 1.0 if (a != 0.0 or b != 0.0) else 0.0
