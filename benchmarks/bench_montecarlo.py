"""Monte Carlo speed, measured in one run: 10,000 bootstrap paths per method (target < 2 s).

For each built-in strategy on CRWV (the real history in the data dir) the run's equity and
trades feed :func:`engine.analysis.montecarlo.trade_bootstrap` and
:func:`engine.analysis.montecarlo.block_bootstrap` with ``--paths`` paths (best of
``--repeat``, seconds, plus the summary: bands, probabilities). Two baselines on the same data,
same number of paths, for the ratios:

* **loop**: one path at a time in Python, the way a first version would do it (``numpy`` draws,
  a ``pandas`` equity Series and :mod:`engine.analysis.metrics` per path), timed on ``--loop-paths`` paths
  and scaled to ``--paths``;
* **arch**: ``arch``'s ``StationaryBootstrap`` (the reference implementation; dev dependency)
  drawing the same number of resamples with the same block length, then our vectorised
  statistics on them.

Execution noise: ``--replays`` replays per strategy (target: 1,000 in under 10 s on 2 cores)
through :func:`engine.jobs.montecarlo_exec.execution_noise` on ``--jobs`` threads, against the
backtrader harness rerunning the strategy once per replay (timed on ``--loop-paths / 10``
reruns and scaled).

Usage::

    .venv/bin/python benchmarks/bench_montecarlo.py [--paths 10000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def _prices() -> pd.DataFrame:
    from engine.data.load import load_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("CRWV", allow_download=False)


def _runs(prices: pd.DataFrame) -> dict[str, object]:
    from engine.backtest.harness import run_backtest
    from strategies import STRATEGIES

    return {name: run_backtest(cls, prices) for name, cls in STRATEGIES.items()}


def bench_replays(
    prices: pd.DataFrame, runs: dict, n: int, jobs: int, repeat: int, loop: int
) -> None:
    """Execution-noise replays per strategy, and the harness rerun per replay for the ratio."""
    from engine.backtest.harness import run_backtest
    from engine.jobs.montecarlo_exec import execution_noise
    from engine.result import Costs
    from strategies import STRATEGIES

    rows = []
    for name, run in runs.items():
        cls = STRATEGIES[name]
        execution_noise(run, prices, cls, n_paths=4, seed=0, jobs=jobs)  # compile / warm up
        t = _best(
            lambda r=run, c=cls: execution_noise(r, prices, c, n_paths=n, seed=1, jobs=jobs), repeat
        )
        t0 = time.perf_counter()
        for k in range(loop):
            run_backtest(cls, prices, costs=Costs(slippage=0.0005 + k * 1e-5))
        harness = (time.perf_counter() - t0) * n / loop
        mode = execution_noise(run, prices, cls, n_paths=2, seed=0).settings["mode"]
        rows.append(
            {
                "strategy": name,
                "mode": mode,
                f"{n} replays s": round(t, 3),
                "harness reruns s": round(harness, 1),
                "ratio": f"x{harness / t:.0f}",
            }
        )
    print(f"\nexecution noise: {n:,} replays, {jobs} thread(s), best of {repeat}")
    print(pd.DataFrame(rows).to_string(index=False))


def _best(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _loop_block(equity: pd.Series, n_paths: int, block: float) -> None:
    """The naive baseline: one stationary-bootstrap path at a time, metrics from pandas."""
    from engine.analysis.metrics import sharpe_ratio
    from engine.analysis.returns import drawdown_series

    r = equity.pct_change().to_numpy()[1:]
    rng = np.random.default_rng(0)
    for _ in range(n_paths):
        pos = int(rng.integers(len(r)))
        path = np.empty(len(r))
        for t in range(len(r)):
            if t and rng.random() < 1 / block:
                pos = int(rng.integers(len(r)))
            path[t] = r[pos % len(r)]
            pos += 1
        curve = pd.Series(np.concatenate([[1.0], np.cumprod(1 + path)]))
        _ = (curve.iloc[-1] - 1, drawdown_series(curve).min(), sharpe_ratio(path))


def _arch_block(equity: pd.Series, n_paths: int, block: float) -> None:
    from arch.bootstrap import StationaryBootstrap

    from engine.analysis.montecarlo import path_stats

    r = equity.pct_change().to_numpy()[1:]
    bs = StationaryBootstrap(block, r, seed=0)
    sampled = np.vstack([data[0][0] for data in bs.bootstrap(n_paths)])
    path_stats(sampled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop-paths", type=int, default=200)
    parser.add_argument("--replays", type=int, default=1_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    from engine.analysis import montecarlo as mc

    prices = _prices()
    runs = _runs(prices)
    rows = []
    for name, res in runs.items():
        eq, tr = res.equity, res.trades  # type: ignore[attr-defined]
        t_trades = _best(lambda e=eq, t=tr: mc.trade_bootstrap(e, t, args.paths, 1), args.repeat)
        t_block = _best(lambda e=eq: mc.block_bootstrap(e, args.paths, 1), args.repeat)
        block = mc.block_bootstrap(eq, args.paths, 1)
        s = mc.summarize(block)
        rows.append(
            {
                "strategy": name,
                "trades s": round(t_trades, 3),
                "block s": round(t_block, 3),
                "block len": block.settings["block_length"],
                "block TR p5/p50/p95": "/".join(
                    f"{v:+.0%}" for v in s["bands"]["total_return"].values()
                ),
                "P(loss)": f"{s['prob_loss']:.0%}",
            }
        )
    print(f"{args.paths:,} paths per method, best of {args.repeat}")
    print(pd.DataFrame(rows).to_string(index=False))
    eq = runs["buy_hold"].equity  # type: ignore[attr-defined]
    length = mc.optimal_block_length(eq.pct_change().to_numpy()[1:])
    ours = _best(lambda: mc.block_bootstrap(eq, args.paths, 1, block_length=length), args.repeat)
    t0 = time.perf_counter()
    _loop_block(eq, args.loop_paths, length)
    loop = (time.perf_counter() - t0) * args.paths / args.loop_paths
    line = f"buy_hold block bootstrap: ours {ours:.3f}s, loop {loop:.1f}s (x{loop / ours:.0f})"
    try:
        arch = _best(lambda: _arch_block(eq, args.paths, length), 1)
        line += f", arch {arch:.2f}s (x{arch / ours:.1f})"
    except ImportError:
        line += ", arch not installed"
    print(line)
    bench_replays(prices, runs, args.replays, args.jobs, args.repeat, max(args.loop_paths // 10, 5))


if __name__ == "__main__":
    main()
