"""Wall and CPU time of the main job, ``crwv-bt run``, as a user starts it.

Each measurement is one fresh ``python -m engine run`` process (interpreter start-up, imports,
data loading, the six strategies, metrics, every chart and the report: what a user waits for),
timed with ``perf_counter`` around the process and its CPU time (user + system) read from its
own rusage (``os.wait4``). Variants, run in turn ``--repeat`` times so that background load hits
them alike:

* ``full``: ``crwv-bt run --out DIR`` (every PNG chart and ``report.html``);
* ``no-plots``: ``crwv-bt run --no-plots --out DIR``;
* ``no-files``: ``crwv-bt run --no-files`` (the terminal table only).

For each it prints the best and the median wall time, the median CPU time and the best run's
ratio to the 3-second target. On a shared machine the best run is the least disturbed one; the
CPU time shows what the job costs whatever the load (above the wall time when two cores work
in parallel). The load average before and after is printed too. Usage, from the project root::

    .venv/bin/python benchmarks/bench_run.py [--repeat 7] [--variant full] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0
VARIANTS = {
    "full": ["run"],
    "no-plots": ["run", "--no-plots"],
    "no-files": ["run", "--no-files"],
}


def time_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``python -m engine ARGV`` process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"crwv-bt {' '.join(argv)} failed (status {status}): {err.strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(variants: list[str], repeat: int, out: Path) -> dict[str, list[tuple[float, float]]]:
    """Every variant ``repeat`` times, in turn; one warm-up run of each first (not counted)."""
    runs: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for round_ in range(repeat + 1):
        for v in variants:
            argv = [*VARIANTS[v]] + ([] if v == "no-files" else ["--out", str(out / v)])
            result = time_once(argv)
            if round_:  # round 0 warms the file cache and numba/pyc caches
                runs[v].append(result)
    return runs


def report(runs: dict[str, list[tuple[float, float]]]) -> str:
    """The table of figures, one line per variant."""
    lines = [
        f"{'variant':<10} {'best wall':>10} {'median wall':>12} {'median CPU':>11} {'best / 3 s':>11}",
    ]
    for v, rows in runs.items():
        walls = [w for w, _c in rows]
        cpus = [c for _w, c in rows]
        best = min(walls)
        lines.append(
            f"{v:<10} {best:>9.2f}s {statistics.median(walls):>11.2f}s "
            f"{statistics.median(cpus):>10.2f}s {best / TARGET_S:>10.2f}x"
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
    args = ap.parse_args(argv)
    variants = args.variant or list(VARIANTS)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        runs = measure(variants, args.repeat, out)
    load_after = os.getloadavg()
    print(f"crwv-bt run, {args.repeat} timed runs per variant, {os.cpu_count()} CPUs")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
