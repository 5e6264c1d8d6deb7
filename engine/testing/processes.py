"""One ``crwv-bt`` process of a checkout, timed as a user waits for it (shared by the benchmarks).

:func:`time_cli` starts ``python -m engine ARGV`` with the checkout at ``root`` first on the
path, waits for it with ``os.wait4`` and returns its wall time (``perf_counter`` around the
process), its CPU time (user + system of the process and its threads, and of the child
processes it reaped) and its peak RSS. Standard error goes to a temporary file, not a pipe, so a
chatty process can never block on a full pipe while it is being waited for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliTiming:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss_mb: float  # peak resident set size
    status: int  # wait4's status: 0 when the command succeeded
    stderr: str


def time_cli(argv: list[str], root: Path, extra_env: dict[str, str] | None = None) -> CliTiming:
    """Run and time ``python -m engine ARGV`` in the checkout ``root`` (see the module)."""
    env = {**os.environ, "PYTHONPATH": str(root), **(extra_env or {})}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", *argv],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode(errors="replace")
    return CliTiming(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status, text)
