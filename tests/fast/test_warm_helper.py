"""The compile helper (engine/fast/_warm.py) writes the cache entries the engine then loads.

If the helper compiled ``score`` or a row function with other argument types than the engine
calls it with, the engine would compile its own copy and the helper would only cost CPU; this
checks, in fresh processes on an empty numba cache, that the engine finds them in the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.fast import _warm

ROOT = Path(__file__).resolve().parents[2]

ENGINE_RUN = """
import json, sys
import numpy as np
from engine.data.load import load_prices
from engine.fast import batch, rows
from engine.fast.api import evaluate_arrays
from engine.rules import load_rules
from strategies.rule import rule_strategy
prices = load_prices("CRWV", data_dir_=sys.argv[1])
ref = rule_strategy(load_rules("strategies/rules/examples.toml").get("ema_rsi")).rule.ref()
list(evaluate_arrays(ref, {"len": np.array([20, 30])}, prices, want_returns=True))
out = {}
for name, fn in [("score", batch.score), ("ema", rows.ema), ("rsi", rows.rsi)]:
    out[name] = [sum(fn.stats.cache_hits.values()), sum(fn.stats.cache_misses.values())]
print(json.dumps(out))
"""


def _env(cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NUMBA_CACHE_DIR": str(cache),
        "PYTHONPATH": str(ROOT),
        _warm.ENV_OFF: "1",  # no helper of its own: the test runs it first, to completion
    }


def test_the_engine_loads_what_the_helper_compiled(tmp_path: Path, data_dir: Path) -> None:
    env = _env(tmp_path / "numba")
    subprocess.run(
        [sys.executable, "-c", _warm.HELPER_CODE], env=env, cwd=ROOT, check=True, timeout=600
    )
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_RUN, str(data_dir)],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (hits, misses) in stats.items():
        assert hits >= 1 and misses == 0, (name, hits, misses)


def test_not_started_when_off_cached_or_without_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list = []
    mp = monkeypatch
    mp.setattr(_warm.subprocess, "Popen", lambda *a, **k: started.append(a))
    mp.setattr(_warm, "_started", False)
    _warm.start(None)
    (tmp_path / "batch.score-31.py311.nbi").write_text("")
    mp.setattr(_warm, "_started", False)
    _warm.start(tmp_path)  # score cached
    mp.setenv(_warm.ENV_OFF, "1")
    mp.setattr(_warm, "_started", False)
    _warm.start(tmp_path / "empty")
    assert started == []
    mp.delenv(_warm.ENV_OFF)
    mp.setattr(_warm, "_started", False)
    mp.setattr(_warm.atexit, "register", lambda *a: None)
    _warm.start(tmp_path / "empty")
    _warm.start(tmp_path / "empty")  # once per process
    assert len(started) == 1 and started[0][0][-1] == _warm.HELPER_CODE
