"""Fast engine speed and memory, measured in one run (issue: fast sweep engine).

Prints:

1. the one-time compile cost: the first MA-trend batch in a fresh process with an empty numba
   cache (compile + save), then again in a second fresh process (load from the on-disk cache);
2. the MA-trend sweep on CRWV with ``--jobs`` threads: combinations per second of
   :func:`engine.fast.api.evaluate_arrays` over a ~96,000-combination grid (full metrics and the
   daily returns the sweep store keeps), best of ``--repeat``;
3. the plain backtrader loop on a sample of the same grid (one default ``bt.Cerebro()`` run per
   combination, final value only, as ``benchmarks/bench_sweep.py``) and the ratio;
4. the same fast sweep on a 5,000-bar synthetic series;
5. the peak memory (max RSS) of a 1,000,000-combination MA-trend sweep streamed chunk by chunk
   (metrics and returns of each chunk reduced to a running best, nothing kept per combination),
   next to the peak of a 100,000-combination one: the same peak means the memory is flat;
6. with ``--cli``: ``crwv-bt sweep`` end to end on a 96,000-point MA grid (93,360 runnable
   combinations: grid streaming, keys, the SQLite store with returns, ranking, DSR/PBO), then the
   same command again (resume), then with the report files and charts; each with its wall time
   and its peak RSS; ``--cli-million`` adds a 1,000,000-point grid (863,880 runnable) through
   the same command, then again with the report files (``--cli-only`` skips items 1-5); each
   run's wall time, CPU time and peak RSS; ``--baseline DIR`` times another checkout first.

Usage::

    .venv/bin/python benchmarks/bench_fast.py [--jobs 2] [--cli [--cli-million]] [--cli-only [--baseline DIR]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd

from engine.testing.processes import time_cli

ROOT = Path(__file__).resolve().parents[1]
MODE = {"reclaim": 0, "cross": 1}


def ma_grid(bars: int, fast: range, slow: range, hold: range) -> dict[str, np.ndarray]:
    """MA-trend columns (text parameters as kernel codes), combinations the window can run."""
    f, s, h, m, e = np.meshgrid(
        np.array(fast), np.array(slow), np.array(hold), [0, 1], [0, 1], indexing="ij"
    )
    need = np.where(m == MODE["cross"], s + 1, s + h)  # MATrend.warmup
    ok = (f < s) & (need + 1 <= bars)
    return {"fast": f[ok], "slow": s[ok], "hold_bars": h[ok], "mode": m[ok], "exit_on": e[ok]}


def crwv() -> pd.DataFrame:
    from engine.data.load import load_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("CRWV", allow_download=False)


def fast_rate(prices: pd.DataFrame, cols: dict[str, np.ndarray], jobs: int, repeat: int) -> float:
    """Best combinations per second of the fast engine over ``cols`` (metrics + returns)."""
    from engine.fast.api import evaluate_arrays

    n = len(cols["fast"])
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        done = sum(
            ch.stop - ch.start
            for ch in evaluate_arrays("ma_trend", cols, prices, want_returns=True, jobs=jobs)
        )
        best = max(best, done / (time.perf_counter() - start))
        assert done == n
    return best


def plain_loop_rate(prices: pd.DataFrame, cols: dict[str, np.ndarray], sample: int) -> float:
    """Combinations per second of one default ``bt.Cerebro()`` run per combination."""
    from strategies import STRATEGIES

    frame = prices[["open", "high", "low", "close", "volume"]].copy()
    frame["openinterest"] = 0.0
    rows = np.linspace(0, len(cols["fast"]) - 1, sample).astype(int)
    modes, exits = ["reclaim", "cross"], ["slow", "fast"]
    start = time.perf_counter()
    for j in rows:
        cerebro = bt.Cerebro()
        cerebro.broker.setcash(100_000.0)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(
            STRATEGIES["ma_trend"], fast=int(cols["fast"][j]), slow=int(cols["slow"][j]),
            hold_bars=int(cols["hold_bars"][j]), mode=modes[cols["mode"][j]], exit_on=exits[cols["exit_on"][j]],
        )  # fmt: skip
        cerebro.run()
        cerebro.broker.getvalue()
    return sample / (time.perf_counter() - start)


_CHILD_COMPILE = """
import time, warnings, numpy as np
warnings.simplefilter("ignore")
from engine.data.load import load_prices
from engine.fast.api import evaluate_arrays
prices = load_prices("CRWV", allow_download=False)
t = time.perf_counter()
cols = {"fast": np.array([20]), "slow": np.array([60])}
list(evaluate_arrays("ma_trend", cols, prices, want_returns=True, jobs=2))
print(time.perf_counter() - t)
"""

_CHILD_MEMORY = """
import json, resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
sys.path.insert(0, {root!r})
from benchmarks.bench_fast import crwv, lazy_columns
from engine.fast.api import evaluate_arrays
prices = crwv()
total, jobs = {total}, {jobs}
list(evaluate_arrays("ma_trend", {{"fast": np.array([5])}}, prices, want_returns=True, jobs=jobs))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, done, best = time.perf_counter(), 0, -np.inf
for cols in lazy_columns(len(prices), total):
    for ch in evaluate_arrays("ma_trend", cols, prices, want_returns=True, jobs=jobs, validate=False):
        done += ch.stop - ch.start
        best = max(best, np.nanmax(ch.metrics[:, 13]))  # sharpe: a running reduction only
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"done": done, "base_mb": base / 1024, "peak_mb": peak / 1024, "seconds": time.perf_counter() - start}}))
"""


def lazy_columns(bars: int, total: int, block: int = 50_000):
    """MA-trend columns of ``total`` combinations, generated ``block`` rows at a time."""
    out = 0
    for fast in range(1, 1_000):
        cols = ma_grid(bars, range(fast, fast + 1), range(2, bars), range(1, 8))
        for lo in range(0, len(cols["fast"]), block):
            part = {k: v[lo : lo + block][: total - out] for k, v in cols.items()}
            out += len(part["fast"])
            if len(part["fast"]):
                yield part
            if out >= total:
                return


def child(code: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, check=True
    )
    return res.stdout.strip().splitlines()[-1]


def compile_cost() -> tuple[float, float]:
    """(seconds with an empty numba cache, seconds loading it), each in a fresh process."""
    with tempfile.TemporaryDirectory() as cache:
        cold = float(child(_CHILD_COMPILE, {"NUMBA_CACHE_DIR": cache}))
        warm = float(child(_CHILD_COMPILE, {"NUMBA_CACHE_DIR": cache}))
    return cold, warm


def memory(total: int, jobs: int) -> dict[str, float]:
    return json.loads(child(_CHILD_MEMORY.format(root=str(ROOT), total=total, jobs=jobs)))


MA_100K = [
    "fast=2:41:1",
    "slow=20:259:2",
    "hold_bars=1:5:1",
    "mode=reclaim,cross",
    "exit_on=slow,fast",
]
MA_1M = [
    "fast=2:101:1",
    "slow=20:269:1",
    "hold_bars=1:10:1",
    "mode=reclaim,cross",
    "exit_on=slow,fast",
]


def timed_cli(argv: list[str], root: Path = ROOT) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MB) of one ``crwv-bt`` process of the checkout
    ``root`` (its own rusage, via ``wait4``: user + system of the process and its threads)."""
    t = time_cli(argv, root)
    if t.status != 0:
        raise RuntimeError(f"crwv-bt {' '.join(argv)} failed ({t.status})")
    return t.wall, t.cpu, t.rss_mb


def cli_sweep(
    jobs: int, million: bool = False, root: Path = ROOT
) -> list[tuple[str, float, float, float]]:
    """``crwv-bt sweep`` on 96,000 MA grid points (93,360 the window can run), timed whole.

    Three runs: a fresh store with the ranking and overfitting statistics printed (``--no-files``);
    the same command again (resume: nothing left to evaluate, so this is the time of everything
    but the evaluation and the store writes); and a fresh store with the report files and charts.
    With ``million``: a 1,000,000-point grid (863,880 runnable) into a fresh store, no files;
    then the same command again with the report files (resume: nothing to evaluate, so this is
    the ranking, the statistics, the streamed CSV/Parquet export and the charts of 863,880 rows).
    """
    grids = {"100k": MA_100K, "1M": MA_1M}
    out = []
    with tempfile.TemporaryDirectory() as tmp:

        def argv(grid: str, store: str, *extra: str) -> list[str]:
            cmd = ["sweep", "--strategy", "ma_trend"]
            for g in grids[grid]:
                cmd += ["--grid", g]
            return [
                *cmd,
                "--jobs",
                str(jobs),
                "--no-progress",
                "--store",
                str(Path(tmp) / store),
                *extra,
            ]

        runs = [
            ("93,360 combinations, fresh store, no files", argv("100k", "a.sqlite", "--no-files")),
            ("93,360 combinations, resume, nothing to run", argv("100k", "a.sqlite", "--no-files")),
            (
                "93,360 combinations, fresh store, report files",
                argv("100k", "b.sqlite", "--out", str(Path(tmp) / "out")),
            ),
        ]
        if million:
            runs.append(
                (
                    "863,880 combinations, fresh store, no files",
                    argv("1M", "c.sqlite", "--no-files"),
                )
            )
            runs.append(
                (
                    "863,880 combinations, resume, report files",
                    argv("1M", "c.sqlite", "--out", str(Path(tmp) / "out1m")),
                )
            )
        for label, cmd in runs:
            seconds, cpu, peak = timed_cli(cmd, root)
            out.append((label, seconds, cpu, peak))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs", type=int, default=2, help="threads for the fast engine (default 2)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="fast timings: best of N (default 3)")
    parser.add_argument(
        "--sample", type=int, default=40, help="combinations in the backtrader loop"
    )
    parser.add_argument("--combos", type=int, default=1_000_000, help="size of the memory sweep")
    parser.add_argument("--cli", action="store_true", help="also time crwv-bt sweep end to end")
    parser.add_argument(
        "--cli-million", action="store_true", help="with --cli: also a 1,000,000-point CLI sweep"
    )
    parser.add_argument("--cli-only", action="store_true", help="only the crwv-bt sweep timings")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="with --cli-only: another checkout (e.g. git worktree add /tmp/base <commit>), "
        "timed first with the same commands",
    )
    args = parser.parse_args()
    if args.cli_only:
        if args.baseline is not None:
            report_cli(args.jobs, args.cli_million, args.baseline.resolve())
        report_cli(args.jobs, args.cli_million)
        return

    cold, warm = compile_cost()
    print(f"compile (one time, empty cache): {cold:.1f} s; later processes load it in {warm:.2f} s")

    prices = crwv()
    cols = ma_grid(len(prices), range(2, 42), range(20, 260, 2), range(1, 6))
    from engine.fast.api import evaluate_arrays

    list(
        evaluate_arrays("ma_trend", {k: v[:10] for k, v in cols.items()}, prices, jobs=args.jobs)
    )  # warm
    rate = fast_rate(prices, cols, args.jobs, args.repeat)
    plain = plain_loop_rate(prices, cols, args.sample)
    print(
        f"CRWV ({len(prices)} bars), ma_trend, {len(cols['fast']):,} combinations, {args.jobs} jobs:"
    )
    print(f"  fast engine: {rate:,.0f} combinations/s (metrics + daily returns)")
    print(
        f"  plain backtrader loop ({args.sample} sampled combinations): {plain:,.1f} combinations/s"
    )
    print(f"  ratio: {rate / plain:,.0f}x")

    from engine.testing.prices import synthetic_prices

    long = synthetic_prices(2024, 5_000, "gbm", start="2005-01-03", vol=0.02)
    cols5k = ma_grid(len(long), range(2, 42), range(20, 260, 4), range(1, 6))
    list(evaluate_arrays("ma_trend", {k: v[:10] for k, v in cols5k.items()}, long, jobs=args.jobs))
    rate5k = fast_rate(long, cols5k, args.jobs, args.repeat)
    print(
        f"5,000-bar synthetic series, {len(cols5k['fast']):,} combinations: {rate5k:,.0f} combinations/s"
    )

    small, big = memory(100_000, args.jobs), memory(args.combos, args.jobs)
    for label, m in (("100,000", small), (f"{args.combos:,}", big)):
        print(
            f"streamed sweep of {label} combinations: peak RSS {m['peak_mb']:,.0f} MB "
            f"(after start-up {m['base_mb']:,.0f} MB), {m['done'] / m['seconds']:,.0f} combinations/s"
        )
    if args.cli:
        report_cli(args.jobs, args.cli_million)


def report_cli(jobs: int, million: bool, root: Path = ROOT) -> None:
    print(f"{root} ({_commit(root)}), load average {_load()}", flush=True)
    for label, seconds, cpu, peak in cli_sweep(jobs, million, root):
        print(
            f"crwv-bt sweep, MA grid, {label}: {seconds:.1f} s, CPU {cpu:.1f} s, "
            f"peak RSS {peak:,.0f} MB (load average after: {_load()})",
            flush=True,
        )


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _commit(root: Path) -> str:
    res = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    )
    return res.stdout.strip() or "no git"


if __name__ == "__main__":
    main()
