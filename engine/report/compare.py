"""Comparing runs: which configurations traded identically, which parameters differ.

Plain functions of results (no I/O, no formatting): the compare command and report use them to
group variants whose fills are the same (five spellings of the swing plan that all bought and
sold the same shares at the same prices on the same days are one result, and say so) and to
show only the parameters a variant changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from engine.result import RunResult

#: the fill columns that make two runs "trade identically"
FILL_IDENTITY = ["date", "side", "size", "price", "reason"]


def fills_key(fills: pd.DataFrame) -> str:
    """A digest of a fills table: equal for the same fills (prices to 1e-9), else different."""
    if len(fills) == 0:
        return "no fills"
    f = fills.reindex(columns=FILL_IDENTITY)
    rows = [
        f"{pd.Timestamp(d):%Y-%m-%d}|{s}|{float(n):.9g}|{round(float(p), 9):.9f}|{r}"
        for d, s, n, p, r in f.itertuples(index=False)
    ]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def identical_groups(results: list[RunResult]) -> list[list[str]]:
    """Names of the runs that filled exactly the same orders, groups of two or more, in order.

    Parameters
    ----------
    results : the runs to compare (their ``strategy`` labels name them)

    Returns
    -------
    One list per group of identical fills (first-seen order inside and between groups); runs
    that traded like no other are left out. Two runs that never traded form a group too.
    """
    groups: dict[str, list[str]] = {}
    for r in results:
        groups.setdefault(fills_key(r.fills), []).append(r.strategy)
    return [names for names in groups.values() if len(names) > 1]


def changed_params(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that differ from the strategy's ``defaults`` (declared order).

    Numbers compare by value (``84`` equals ``84.0``), sequences element by element.
    """
    return {k: v for k, v in params.items() if k not in defaults or not _same(v, defaults[k])}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return bool(np.isclose(float(a), float(b), rtol=0, atol=1e-12))
    return bool(a == b)


def varying_params(params: list[dict[str, Any]]) -> list[str]:
    """The parameter names whose values are not the same in every one of ``params``.

    For a group of runs that traded identically these are the parameters that did not change a
    fill in that window. A name missing from some of the dicts varies. Order: first seen.
    """
    names: list[str] = []
    for p in params:
        names += [k for k in p if k not in names]
    return [
        k
        for k in names
        if any(k not in p for p in params) or not all(_same(p[k], params[0][k]) for p in params[1:])
    ]
