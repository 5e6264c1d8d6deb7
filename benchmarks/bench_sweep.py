"""Sweep speed, measured in one run: our sweep vs a plain backtrader loop vs ``optstrategy``.

The same 200-combination MA crossover grid on CRWV (``ma_trend`` in ``cross`` mode: ``fast``
5..50 step 5 x ``slow`` 55..150 step 5) is run three ways:

1. ``crwv-bt sweep``'s engine (:func:`engine.sweep.run.run_sweep`, a fresh SQLite store) twice:
   with the backtrader reference engine on ``--jobs`` worker processes, and with the compiled
   ``fast`` engine (the sweep's default; identical rows, see tests/fast/test_fast_equivalence.py) on
   ``--jobs`` threads. Every combination gets the full metrics table (the same as ``crwv-bt
   run``), its daily returns and a committed row;
2. a plain loop of ``bt.Cerebro()`` runs with default settings, one per combination (no
   metrics beyond the final value);
3. backtrader's own ``cerebro.optstrategy`` with ``maxcpus=--jobs`` and ``optreturn=True``
   (data preloaded once, nothing but the strategy object returned).

Prints combinations per second for each and the ratios. Timings include process start-up
(ours: the worker pool; optstrategy: its multiprocessing pool). The three are run in turn
``--repeat`` times and the best and the median of each are reported: on a shared machine the
best is the least disturbed measurement, and running them in turn exposes all three to the
same background load.

``--million`` times ``crwv-bt sweep`` end to end on a 1,000,000-point MA grid instead (863,880
runnable combinations): a fresh store with every file, the same command again (resume), and
again with ``--no-files``; wall time, CPU time and peak RSS of each process. ``--baseline DIR``
runs the same three with the code of another checkout first (e.g. ``git worktree add --detach
/tmp/base main~3``), so before and after are measured under the same load. Usage::

    .venv/bin/python benchmarks/bench_sweep.py [--jobs 2] [--repeat 3]
    .venv/bin/python benchmarks/bench_sweep.py --million [--baseline /tmp/base]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import backtrader as bt
import pandas as pd

from engine.testing.processes import time_cli

ROOT = Path(__file__).resolve().parents[1]
FAST = list(range(5, 51, 5))
SLOW = list(range(55, 151, 5))


def load() -> tuple[pd.DataFrame, pd.Series | None]:
    from engine.data.load import load_prices
    from engine.jobs.runner import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prices = load_prices("CRWV", allow_download=False)
        return prices, load_benchmark(None, prices)


def bench_ours(
    prices: pd.DataFrame, benchmark: pd.Series | None, jobs: int, engine: str = "backtrader"
) -> float:
    """Seconds for our sweep of the grid (fresh store, full metrics, rows committed)."""
    from engine.result import Costs
    from engine.sweep.run import run_sweep
    from engine.sweep.store import SweepStore
    from engine.sweep.tasks import SweepData, make_job

    data = SweepData(prices, "CRWV", benchmark)
    params = [
        {"fast": f, "slow": s, "hold_bars": 3, "mode": "cross", "exit_on": "slow"}
        for f in FAST
        for s in SLOW
    ]
    with tempfile.TemporaryDirectory() as tmp, SweepStore(Path(tmp) / "bench.sqlite") as store:
        start = time.perf_counter()
        job = make_job(data, "ma_trend", costs=Costs(), cash=100_000.0, engine=engine)
        run = run_sweep(store, data, [(job, params)], jobs=jobs, progress=False)
        elapsed = time.perf_counter() - start
        assert run.added == len(params) == store.count(), "every combination must be stored"
    return elapsed


def _plain_feed(prices: pd.DataFrame) -> bt.feeds.PandasData:
    frame = prices[["open", "high", "low", "close", "volume"]].copy()
    frame["openinterest"] = 0.0
    return bt.feeds.PandasData(dataname=frame)


def bench_plain_loop(prices: pd.DataFrame) -> float:
    """Seconds for one default ``bt.Cerebro()`` run per combination (final value only)."""
    from strategies import STRATEGIES

    cls = STRATEGIES["ma_trend"]
    start = time.perf_counter()
    for f in FAST:
        for s in SLOW:
            cerebro = bt.Cerebro()
            cerebro.broker.setcash(100_000.0)
            cerebro.adddata(_plain_feed(prices))
            cerebro.addstrategy(cls, fast=f, slow=s, mode="cross")
            cerebro.run()
            cerebro.broker.getvalue()
    return time.perf_counter() - start


def bench_optstrategy(prices: pd.DataFrame, jobs: int) -> float:
    """Seconds for backtrader's ``optstrategy`` over the grid on ``jobs`` processes."""
    from strategies import STRATEGIES

    cls = STRATEGIES["ma_trend"]
    start = time.perf_counter()
    cerebro = bt.Cerebro(maxcpus=jobs, optreturn=True)
    cerebro.broker.setcash(100_000.0)
    cerebro.adddata(_plain_feed(prices))
    cerebro.optstrategy(cls, fast=FAST, slow=SLOW, mode=["cross"])
    results = cerebro.run()
    elapsed = time.perf_counter() - start
    assert len(results) == len(FAST) * len(SLOW)
    return elapsed


MA_1M = [  # 1,000,000 grid points, 863,880 the 386-bar window can run
    "fast=2:101:1",
    "slow=20:269:1",
    "hold_bars=1:10:1",
    "mode=reclaim,cross",
    "exit_on=slow,fast",
]


def timed_cli(argv: list[str], root: Path) -> dict[str, float]:
    """Wall and CPU seconds and peak RSS (MB) of one ``crwv-bt`` process of the checkout at
    ``root`` (its own rusage via ``wait4``; CPU = user + system, threads included)."""
    t = time_cli(argv, root, {"PYTHONDONTWRITEBYTECODE": "1"})
    if t.status != 0:
        raise RuntimeError(f"crwv-bt {' '.join(argv)} failed ({t.status}): {t.stderr[-500:]}")
    return {"wall": t.wall, "cpu": t.cpu, "rss": t.rss_mb}


def bench_million(jobs: int, baseline: Path | None) -> None:
    """``crwv-bt sweep`` on the 1,000,000-point MA grid, end to end, each run its own process:
    a fresh store with every file (CSV, Parquet, JSON, charts, sweep.html), the same command
    again (resume: nothing to evaluate), and again with ``--no-files``; with ``baseline`` (a
    checkout of an older commit) the same three with that code first, in the same session."""
    data_dir = Path(os.environ.get("CRWV_BT_DATA_DIR", ROOT / "data")).resolve()
    checkouts = ([("before", baseline.resolve())] if baseline else []) + [("after", ROOT)]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for label, root in checkouts:
        with tempfile.TemporaryDirectory() as tmp:
            store, out = Path(tmp) / "s.sqlite", Path(tmp) / "out"
            cmd = ["sweep", "--strategy", "ma_trend"]
            for g in MA_1M:
                cmd += ["--grid", g]
            cmd += ["--jobs", str(jobs), "--no-progress", "--store", str(store)]
            cmd += ["--data-dir", str(data_dir)]
            warm = ["sweep", "--strategy", "ma_trend", "--grid", "fast=5,10", "--grid", "slow=40"]
            warm += ["--store", str(Path(tmp) / "warm.sqlite"), "--no-files", "--no-progress"]
            timed_cli([*warm, "--data-dir", str(data_dir)], root)  # compile / load kernels
            runs = [
                ("fresh store, every file", [*cmd, "--out", str(out)]),
                ("same command again (resume), every file", [*cmd, "--out", str(out)]),
                ("same command again (resume), --no-files", [*cmd, "--no-files"]),
            ]
            for name, argv in runs:
                m = timed_cli(argv, root)
                size = sum(p.stat().st_size for p in out.glob("*")) / 1e6 if out.exists() else 0
                print(
                    f"{label:<6} 1M grid, {name:<42} wall {m['wall']:6.1f} s  cpu {m['cpu']:6.1f} s  "
                    f"peak RSS {m['rss']:5.0f} MB  files {size:5.0f} MB  store "
                    f"{store.stat().st_size / 1e6:5.0f} MB"
                )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes for ours and optstrategy")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three (default 3)")
    parser.add_argument(
        "--million",
        action="store_true",
        help="only crwv-bt sweep end to end on a 1,000,000-point grid (fresh, resume, resume "
        "without files)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="with --million: a checkout of an older commit to time first, in the same run",
    )
    args = parser.parse_args()
    if args.million:
        bench_million(args.jobs, args.baseline)
        return
    prices, benchmark = load()
    n = len(FAST) * len(SLOW)
    window = f"{prices.index[0].date()} to {prices.index[-1].date()} ({len(prices)} bars)"
    print(f"CRWV {window}; {n} ma_trend cross combinations; best and median of {args.repeat}")
    # the compiled engine's one-time compile (or cache load) is not part of a sweep's rate
    bench_ours(prices, benchmark, args.jobs, engine="fast")
    methods = {
        f"ours (sweep, {args.jobs} jobs, full metrics + store)": lambda: bench_ours(
            prices, benchmark, args.jobs
        ),
        f"ours, default fast engine ({args.jobs} threads)": lambda: bench_ours(
            prices, benchmark, args.jobs, engine="fast"
        ),
        "plain backtrader loop (1 process)": lambda: bench_plain_loop(prices),
        f"backtrader optstrategy ({args.jobs} processes)": lambda: bench_optstrategy(
            prices, args.jobs
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.repeat):
        for name, method in methods.items():
            rates[name].append(n / method())
    best = {name: max(r) for name, r in rates.items()}
    for name, r in rates.items():
        print(f"{name:<52} best {max(r):6.1f}  median {statistics.median(r):6.1f} combos/s")
    names = list(best)
    for ours in names[:2]:
        for name in names[2:]:
            print(f"{ours} / {name}: {best[ours] / best[name]:.2f}x (best vs best)")


if __name__ == "__main__":
    main()
