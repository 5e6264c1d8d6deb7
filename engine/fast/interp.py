"""The signal programs' interpreter: a condition over every bar, on a small stack of rows.

A condition is compiled (:mod:`engine.fast.program`) into postfix *instructions*, each an
``(op, arg)`` pair of integers, stored as one row of an int64 table: ``code[p, 0]`` is the
number of instructions of program ``p``, ``code[p, 1 + 2k]`` / ``code[p, 2 + 2k]`` the ``k``-th
op and its argument. Integer codes rather than functions keep numba's on-disk cache working
(a function passed as an argument would recompile in every process).

Operands: ``ROW s`` pushes slot ``s``'s row (a function's values, computed once per distinct
setting), ``PRICE f`` open/high/low/close/volume, ``CONST i`` ``consts[i]``, ``PARAM i`` the
combination's ``i``-th parameter; :func:`condition` runs a program over every bar at once, one
tight loop per instruction (an interpreted step per bar cost the one kernel a third of the
hand-written kernels' speed). Operators follow Python's float rules, as
the backtrader strategy's line operations do: ``x / 0`` is NaN (the strategy's ``SafeDiv``),
comparisons with NaN are false (``!=`` true), a condition is 1.0 / 0.0 and any non-zero value
(NaN included) counts as true in ``and`` / ``or`` / ``not``.
"""

from __future__ import annotations

import numpy as np

from engine.fast.jit import njit

OP_ROW, OP_PRICE, OP_CONST, OP_PARAM = 1, 2, 3, 4
OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG = 5, 6, 7, 8, 9
OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE = 10, 11, 12, 13, 14, 15
OP_AND, OP_OR, OP_NOT, OP_XUP, OP_XDOWN = 16, 17, 18, 19, 20
PRICE_INDEX = {"open": 0, "high": 1, "low": 2, "close": 3, "volume": 4}


@njit(cache=True)
def condition(code, prog, first, rows, srow, px, fp, consts, xseed, work, out) -> None:  # noqa: ANN001
    """``out[t]`` = program ``prog`` on bar ``t`` is true (non-zero), for every bar from ``first``.

    The program runs once over all the bars, one instruction at a time over a row of ``work``
    (its stack: one row per level): a condition costs a few tight loops per combination instead
    of an interpreted step per bar. A cross needs its sides from their first common bar
    (``xseed``), before ``first``: with crosses the program runs from that bar.
    """
    n = out.shape[0]
    lo = first
    for c in range(xseed.shape[0]):
        if 0 <= xseed[c] < lo:
            lo = xseed[c]
    out[:lo] = False
    sp = 0
    for k in range(code[prog, 0]):
        op = code[prog, 1 + 2 * k]
        arg = code[prog, 2 + 2 * k]
        if op <= OP_PARAM:
            top = work[sp]
            if op == OP_ROW:
                src = rows[srow[arg]]
                for t in range(lo, n):
                    top[t] = src[t]
            elif op == OP_PRICE:
                for t in range(lo, n):
                    top[t] = px[arg, t]
            else:
                v = consts[arg] if op == OP_CONST else fp[arg]
                for t in range(lo, n):
                    top[t] = v
            sp += 1
        elif op == OP_NEG:
            top = work[sp - 1]
            for t in range(lo, n):
                top[t] = -top[t]
        elif op == OP_NOT:
            top = work[sp - 1]
            for t in range(lo, n):
                top[t] = 1.0 if top[t] == 0.0 else 0.0
        elif op == OP_XUP or op == OP_XDOWN:
            sp -= 1
            _cross_rows(work[sp - 1], work[sp], xseed[arg], op == OP_XUP, lo, n)
        else:
            sp -= 1
            _binary_rows(op, work[sp - 1], work[sp], lo, n)
    for t in range(lo, n):
        out[t] = work[0, t] != 0.0


@njit(cache=True)
def _cross_rows(a: np.ndarray, b: np.ndarray, seed: int, up: bool, lo: int, n: int) -> None:
    """``a[t]`` = backtrader's ``CrossUp(a, b)`` (``up``) or ``CrossDown`` on bar ``t``, 1.0 / 0.0.

    ``NonZeroDifference``: seeded with ``a - b`` on bar ``seed`` (even 0), then the last non-zero
    difference (a NaN difference is kept, as Python's ``d if d else prev``); a cross needs a
    side on the bar before, so bars up to ``seed`` hold 0.
    """
    prev = a[seed] - b[seed] if seed < n else 0.0
    for t in range(lo, min(seed + 1, n)):
        a[t] = 0.0
    for t in range(seed + 1, n):
        d = a[t] - b[t]
        if up:
            hit = prev < 0.0 and a[t] > b[t]
        else:
            hit = prev > 0.0 and a[t] < b[t]
        a[t] = 1.0 if hit else 0.0
        if d != 0.0:
            prev = d


@njit(cache=True)
def _binary_rows(op: int, a: np.ndarray, b: np.ndarray, first: int, n: int) -> None:
    """``a[t] = a[t] (op) b[t]`` from ``first``; the operator is chosen once, outside the loop."""
    if op == OP_ADD:
        for t in range(first, n):
            a[t] = a[t] + b[t]
    elif op == OP_SUB:
        for t in range(first, n):
            a[t] = a[t] - b[t]
    elif op == OP_MUL:
        for t in range(first, n):
            a[t] = a[t] * b[t]
    elif op == OP_DIV:
        for t in range(first, n):
            a[t] = a[t] / b[t] if b[t] != 0.0 else np.nan
    else:
        for t in range(first, n):
            a[t] = _binary(op, a[t], b[t])


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
