"""Compile the metrics kernel on a second core while the first compiles the bar loop.

numba compiles one function at a time, in one thread, and a fresh install has nothing in its
on-disk cache: the first sweep spends most of its time compiling, about half of it the bar loop
with the fill simulator (:func:`engine.fast.signals.run_signal`) and a third the compiled
metrics (:func:`engine.fast.batch.score`). :func:`start` (called by the first call into the
engine, :func:`engine.fast.api.market`, once the cache has been checked) starts
a Python process running :func:`compile_kernels` when ``score`` is not cached yet: that process compiles
``score`` and the common rows (SMA, EMA, RSI, MACD, ATR) *with the argument types the engine
uses*, into the same cache, while this one compiles the bar loop. numba looks a function up in
its cache before compiling it, so by the time the batch kernel needs ``score`` it loads it
instead of compiling it; if the helper has not finished, it compiles it itself, as before.

Nothing here changes a result: the helper writes the cache entries this process would have
written (same source, same types). It is not started when the cache is unavailable, when
``score`` is already cached, from the helper itself, or with ``CRWV_BT_NO_WARM=1``; it is
stopped when this process exits.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.fast import batch, layout, rows
from engine.fast import broker as B
from engine.fast._cache import ensure_fresh
from engine.fast.kmetrics import N_METRICS

ENV_OFF = "CRWV_BT_NO_WARM"
HELPER_CODE = "from engine.fast import _warm; _warm.compile_kernels()"
_started = False


def _cached(folder: Path, module: str, name: str) -> bool:
    return any(folder.glob(f"{module}.{name}-*.nbi"))


def start(folder: Path | None) -> None:
    """Start the helper process (once per process) when ``score`` is not cached in ``folder``."""
    global _started
    if _started or folder is None or os.environ.get(ENV_OFF):
        return
    _started = True
    if _cached(folder, "batch", "score"):
        return
    env = {**os.environ, ENV_OFF: "1", "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "")}
    if not env["NUMBA_CACHE_DIR"]:
        del env["NUMBA_CACHE_DIR"]
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", HELPER_CODE],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return
    atexit.register(_stop, proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # numba writes each cache file to a temporary name, then renames it
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def compile_kernels(n: int = 40) -> None:
    """Compile ``score`` and the common rows, called as the engine calls them, on dummy data."""
    ensure_fresh()  # started by the engine, it finds the stamp written: nothing to delete
    sim = B.new_sim(n, 100_000.0, False, layout.BOOK_CAP)
    eq = np.full(n, 100_000.0)
    pos = np.zeros(n)
    days = np.arange(n, dtype=np.int64)
    env = (days, np.zeros(0, dtype=np.int64), np.zeros(0), False, 0.0, 0.0, 252.0)
    out = np.empty((1, N_METRICS))
    rets = np.empty((1, n - 1), dtype=np.float32)
    status = np.zeros(1, dtype=np.int64)
    batch.score(0, sim, eq, pos, env, out, rets, True, status)
    px = np.ascontiguousarray(np.vstack([np.linspace(10.0, 20.0, n)] * 5))
    close = px[3]
    rows.sma(close, 5, 0)
    rows.ema(close, 5, 0)
    rows.rsi(close, 5, 0)
    rows.macd(close, 3, 6, 0)
    rows.macd_signal(close, 3, 6, 3, 0)
    rows.atr(px[1], px[2], close, 5)
