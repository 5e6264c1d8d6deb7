"""Compare the fast engine with the backtrader harness on one combination.

:func:`reference` scores a combination the way the ``backtrader`` sweep engine does (harness
run + :func:`engine.analysis.metrics.compute_metrics` against the buy-and-hold run on the same
window); :func:`differences` lists every disagreement with :func:`engine.fast.trace.simulate`:
fills (dates, sides, sizes, order types, reasons, resizes exactly; prices, values and
commissions within ``price_tol``; the stop and budget each buy is at risk to within ``rel_tol``), the equity curve, and every metric (within ``rel_tol``
relative; NaN == NaN, inf == inf). An empty list means the two engines agree.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from engine.analysis.metrics import compute_metrics
from engine.backtest.harness import run_backtest
from engine.fast.trace import FastRun, simulate
from engine.result import Costs, RunResult
from strategies import STRATEGIES, lookup

EXACT = ["date", "side", "size", "order_type", "reason"]
CLOSE = ["price", "value", "commission"]
RISK = ["risk_stop", "risk_budget"]  # engine.result FILL_COLUMNS: what a buy is at risk to


def reference(
    strategy: str,
    prices: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    costs: Costs | None = None,
    cash: float = 100_000.0,
    benchmark: pd.Series | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """(harness run, its metrics as a dict) for one combination."""
    costs = costs or Costs()
    run = run_backtest(lookup(strategy), prices, params, cash=cash, costs=costs)
    bh = run_backtest(STRATEGIES["buy_hold"], prices, cash=cash, costs=costs.benchmark())
    m = compute_metrics(
        run.equity, run.trades, position=run.position, buy_hold=bh.equity, benchmark=benchmark
    )
    return run, {k: (v.item() if hasattr(v, "item") else v) for k, v in m.items()}


def same_number(a: Any, b: Any, rel_tol: float) -> bool:
    """Equal, both NaN, or within ``rel_tol`` relative (absolute 1e-300 floor for zeros)."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    fa, fb = float(a), float(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return fa == fb or abs(fa - fb) <= rel_tol * max(abs(fa), abs(fb))


def differences(
    ref: RunResult,
    ref_metrics: dict[str, Any],
    fast: FastRun,
    *,
    price_tol: float = 1e-9,
    rel_tol: float = 1e-9,
) -> list[str]:
    """Every disagreement between a harness run and a fast run, one line each."""
    out: list[str] = []
    rf, ff = ref.fills.reset_index(drop=True), fast.fills.reset_index(drop=True)
    if len(rf) != len(ff):
        out.append(f"fills: reference {len(rf)}, fast {len(ff)}")
    for i in range(min(len(rf), len(ff))):
        a, b = rf.iloc[i], ff.iloc[i]
        for col in EXACT:
            if a[col] != b[col]:
                out.append(f"fill {i} {col}: reference {a[col]!r}, fast {b[col]!r}")
        if not same_number(a["resized_from"], b["resized_from"], 0.0):
            out.append(
                f"fill {i} resized_from: reference {a['resized_from']}, fast {b['resized_from']}"
            )
        for col in CLOSE:
            if abs(float(a[col]) - float(b[col])) > price_tol:
                out.append(f"fill {i} {col}: reference {a[col]!r}, fast {b[col]!r}")
        for col in RISK:
            if not same_number(a[col], b[col], rel_tol):
                out.append(f"fill {i} {col}: reference {a[col]!r}, fast {b[col]!r}")
    if len(ref.equity) != len(fast.equity):
        out.append(f"equity: reference {len(ref.equity)} bars, fast {len(fast.equity)}")
    else:
        worst = (ref.equity.to_numpy() - fast.equity.to_numpy()).__abs__().max()
        if worst > rel_tol * float(ref.equity.abs().max()):
            out.append(f"equity differs by up to {worst:g}")
    for key, value in ref_metrics.items():
        if not same_number(value, fast.metrics.get(key), rel_tol):
            out.append(f"metric {key}: reference {value!r}, fast {fast.metrics.get(key)!r}")
    return out


def compare(
    strategy: str, prices: pd.DataFrame, params: dict[str, Any] | None = None, **kw: Any
) -> list[str]:
    """Run both engines on one combination and return :func:`differences`."""
    ref, ref_m = reference(strategy, prices, params, **kw)
    fast = simulate(strategy, prices, params, **kw)
    return differences(ref, ref_m, fast)
