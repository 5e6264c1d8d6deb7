"""Rule sweeps against the built-in strategies, measured in one run (issue 12).

Prints:

1. the sweep rate (combinations per second of :func:`engine.fast.api.evaluate_arrays`, full
   metrics and daily returns, ``--jobs`` threads, best of ``--repeat``) of the built-in
   ``ma_trend`` over a grid of ~20,000 combinations (both modes, both exits), then of rules over
   grids of the same size: ``article:ma_cross`` (the MA cross written as a rule), ``ema_rsi``
   (the issue's example: EMA cross, RSI filter, trailing stop, max bars), and each rule's rate
   as a fraction of ``ma_trend``'s measured in the same run;
2. with ``--fresh``: ``crwv-bt sweep`` of a 1,000-combination rule grid in a fresh process with
   an empty numba cache (compile included: what a first sweep after installing costs), without
   and with the compile helper (:mod:`engine.fast._warm`), then the same command again with the
   cache it left (the compile-free time).

Usage::

    CRWV_BT_DATA_DIR=data .venv/bin/python benchmarks/bench_rules.py [--jobs 2] [--repeat 3] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "strategies" / "rules"
FRESH_GRID = ["--grid", "len=10:109:1", "--grid", "floor=41:59:2"]  # 100 x 10 = 1,000


def crwv() -> pd.DataFrame:
    from engine.data.load import load_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("CRWV", allow_download=False)


def ma_trend_grid(bars: int) -> dict[str, np.ndarray]:
    """The built-in's grid: fast 2..41, slow 20..258 step 2, hold 1..5, both modes and exits."""
    f, s, h, m, e = np.meshgrid(
        np.arange(2, 42), np.arange(20, 260, 2), np.arange(1, 6), [0, 1], [0, 1], indexing="ij"
    )
    need = np.where(m == 1, s + 1, s + h)  # MATrend.warmup
    ok = (f < s) & (need + 1 <= bars)
    mode = np.where(m[ok] == 1, "cross", "reclaim")
    exit_on = np.where(e[ok] == 1, "fast", "slow")
    return {"fast": f[ok], "slow": s[ok], "hold_bars": h[ok], "mode": mode, "exit_on": exit_on}


def ma_cross_grid(bars: int, size: int) -> dict[str, np.ndarray]:
    f, s = np.meshgrid(np.arange(2, 200), np.arange(3, bars - 1), indexing="ij")
    ok = f < s
    return {"fast": f[ok][:size], "slow": s[ok][:size]}


def ema_rsi_grid(bars: int, size: int) -> dict[str, np.ndarray]:
    length, floor = np.meshgrid(np.arange(5, bars - 2), np.arange(20.0, 80.0, 0.5), indexing="ij")
    return {"len": length.ravel()[:size], "floor": floor.ravel()[:size]}


def rate(
    strategy: str, cols: dict[str, np.ndarray], prices: pd.DataFrame, jobs: int, repeat: int
) -> float:
    """Best combinations per second over ``repeat`` passes (after one warm-up call)."""
    from engine.fast.api import evaluate_arrays

    m = len(next(iter(cols.values())))
    list(evaluate_arrays(strategy, {k: v[:4] for k, v in cols.items()}, prices, want_returns=True))
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        done = sum(
            ch.stop - ch.start
            for ch in evaluate_arrays(strategy, cols, prices, want_returns=True, jobs=jobs)
        )
        assert done == m
        best = max(best, done / (time.perf_counter() - start))
    return best


def rule_ref(file: str, name: str) -> str:
    from engine.rules import load_rules
    from strategies.rule import rule_strategy

    return rule_strategy(load_rules(RULES / file).get(name)).rule.ref()  # type: ignore[union-attr]


def rates(jobs: int, repeat: int) -> None:
    prices = crwv()
    base = ma_trend_grid(len(prices))
    m = len(base["fast"])
    rows = [("ma_trend (built-in)", "ma_trend", base)]
    rows.append(
        (
            "article:ma_cross (rule)",
            rule_ref("article.toml", "ma_cross"),
            ma_cross_grid(len(prices), m),
        )
    )
    rows.append(
        (
            "examples:ema_rsi (rule)",
            rule_ref("examples.toml", "ema_rsi"),
            ema_rsi_grid(len(prices), m),
        )
    )
    print(
        f"CRWV {len(prices)} bars; {jobs} threads; best of {repeat}; full metrics + daily returns"
    )
    first = None
    for label, strategy, cols in rows:
        r = rate(strategy, cols, prices, jobs, repeat)
        first = first or r
        n = len(next(iter(cols.values())))
        print(f"  {label:<26} {n:>7,} combinations  {r:>9,.0f}/s  {r / first:6.2f}x ma_trend")


def fresh() -> None:
    """The 1,000-combination rule sweep in fresh processes: on an empty numba cache without and
    with the compile helper (engine/fast/_warm.py), then with the cache the second left."""
    argv = [sys.executable, "-m", "engine", "sweep", "--rules", str(RULES / "examples.toml")]
    argv += ["--rule", "ema_rsi", *FRESH_GRID, "--no-files", "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            ("fresh install, no compile helper (CRWV_BT_NO_WARM=1)", "a", {"CRWV_BT_NO_WARM": "1"}),
            ("fresh install (empty numba cache, compile included)", "b", {}),
            ("again (cache warm)", "b", {}),
        ]
        for label, cache, extra in runs:
            env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
            env["NUMBA_CACHE_DIR"] = str(Path(tmp) / cache)
            store = Path(tmp) / f"{len(label)}.sqlite"
            start = time.perf_counter()
            subprocess.run([*argv, "--store", str(store)], env=env, check=True, capture_output=True)
            print(
                f"  crwv-bt sweep, 1,000 rule combinations, {label}: {time.perf_counter() - start:.1f} s"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--fresh", action="store_true", help="also time a first sweep on an empty cache")
    args = p.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    rates(args.jobs, args.repeat)
    if args.fresh:
        fresh()


if __name__ == "__main__":
    main()
