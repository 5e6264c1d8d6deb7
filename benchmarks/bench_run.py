"""Wall and CPU time of the main job, ``crwv-bt run``, as a user starts it.

Each measurement is one fresh ``python -m engine run`` process (interpreter start-up, imports,
data loading, the six strategies, metrics, every chart and the report: what a user waits for),
timed with ``perf_counter`` around the process and its CPU time (user + system) read from its
own rusage (``os.wait4``). Variants, run in turn ``--repeat`` times so that background load hits
them alike:

* ``full``: ``crwv-bt run --out DIR`` (every PNG chart and ``report.html``);
* ``one-core``: the same with ``CRWV_BT_CHART_JOBS=1`` (the charts drawn in the run's own
  process, one after the other: what the parallel drawing saves);
* ``no-plots``: ``crwv-bt run --no-plots --out DIR``;
* ``no-files``: ``crwv-bt run --no-files`` (the terminal table only).

For each it prints the best and the median wall time, the median CPU time (the process and the
chart processes it started and reaped: ``wait4`` counts them), the best run's ratio to the
3-second target and to ``no-plots`` (what the charts and the report add), then whether the
target is met. On a shared machine the best run is the least disturbed one; the CPU time shows
what the job costs whatever the load (above the wall time when two cores work in parallel).
The load average before and after is printed too. Usage, from the project root::

    .venv/bin/python benchmarks/bench_run.py [--repeat 7] [--variant full] [--keep DIR]
        [--before OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from engine.testing.processes import time_cli

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0
VARIANTS = {
    "full": ["run"],
    "one-core": ["run"],
    "no-plots": ["run", "--no-plots"],
    "no-files": ["run", "--no-files"],
}
ENV = {"one-core": {"CRWV_BT_CHART_JOBS": "1"}}


def time_once(
    argv: list[str], extra_env: dict[str, str] | None = None, root: Path = ROOT
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``python -m engine ARGV`` process of the checkout at
    ``root`` (this one by default)."""
    t = time_cli(argv, root, extra_env)
    if t.status != 0:
        raise SystemExit(f"crwv-bt {' '.join(argv)} failed (status {t.status}): {t.stderr.strip()}")
    return t.wall, t.cpu


def measure(
    variants: list[str], repeat: int, out: Path, before: Path | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Every variant ``repeat`` times, in turn (and ``full`` of the checkout ``before``, as
    variant ``before``); one warm-up run of each first (not counted)."""
    names = [*variants, *(["before"] if before else [])]
    runs: dict[str, list[tuple[float, float]]] = {v: [] for v in names}
    for round_ in range(repeat + 1):
        for v in names:
            argv = [*VARIANTS.get(v, ["run"])]
            argv += [] if v == "no-files" else ["--out", str(out / v)]
            root = before if v == "before" and before else ROOT
            result = time_once(argv, ENV.get(v), root)
            if round_:  # round 0 warms the file cache and numba/pyc caches
                runs[v].append(result)
    return runs


def _median_cpu(rows: list[tuple[float, float]]) -> float:
    return statistics.median(c for _w, c in rows)


def report(runs: dict[str, list[tuple[float, float]]]) -> str:
    """The table of figures, one line per variant, and the verdict on the target."""
    lines = [
        f"{'variant':<10} {'best wall':>10} {'median wall':>12} {'median CPU':>11} "
        f"{'best / 3 s':>11} {'best / no-plots':>16}",
    ]
    best = {v: min(w for w, _c in rows) for v, rows in runs.items()}
    for v, rows in runs.items():
        walls = [w for w, _c in rows]
        cpus = [c for _w, c in rows]
        base = f"{best[v] / best['no-plots']:>15.2f}x" if "no-plots" in best else f"{'':>16}"
        lines.append(
            f"{v:<10} {best[v]:>9.2f}s {statistics.median(walls):>11.2f}s "
            f"{statistics.median(cpus):>10.2f}s {best[v] / TARGET_S:>10.2f}x {base}"
        )
    if "full" in best:
        met = "met" if best["full"] < TARGET_S else "NOT met"
        lines.append(
            f"target: crwv-bt run under {TARGET_S:.0f} s wall: {met} (best {best['full']:.2f} s)"
        )
    if "full" in best and "before" in best:
        lines.append(
            f"full vs before (the other checkout): {best['before'] / best['full']:.2f}x faster "
            f"wall (best), {_median_cpu(runs['before']) / _median_cpu(runs['full']):.2f}x "
            "less CPU (median)"
        )
    if "full" in best and "one-core" in best:
        lines.append(
            f"charts on every core vs one process: {best['one-core'] / best['full']:.2f}x faster"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per variant (default 5)")
    ap.add_argument(
        "--variant",
        action="append",
        choices=list(VARIANTS),
        help="variant to time (repeatable; default all)",
    )
    ap.add_argument("--keep", help="write the run folders here instead of a temp folder")
    ap.add_argument(
        "--before",
        help="another checkout of the project (e.g. `git worktree add /tmp/base main`): its "
        "crwv-bt run is timed in the same rounds, as variant `before`",
    )
    args = ap.parse_args(argv)
    variants = args.variant or list(VARIANTS)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        runs = measure(variants, args.repeat, out, Path(args.before) if args.before else None)
    load_after = os.getloadavg()
    print(f"crwv-bt run, {args.repeat} timed runs per variant, {os.cpu_count()} CPUs")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
