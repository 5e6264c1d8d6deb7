"""engine.fast.scope: the fast engine's list of covered strategies, without its kernels."""

from __future__ import annotations

import subprocess
import sys

from engine.fast import scope
from engine.fast.builtins import MAKERS
from engine.fast.specs import spec_for
from strategies import STRATEGIES


def test_the_list_is_the_compiled_signals() -> None:
    # one list: every built-in the kernels compile, and every registered strategy they cover
    assert set(scope.BUILTINS) == set(MAKERS)
    assert spec_for(scope.SWING).name == scope.SWING
    assert {s for s in STRATEGIES if scope.covers(s)} == {*scope.BUILTINS, scope.SWING}
    assert scope.covers("rule:abc") and not scope.covers("nope")
    assert not scope.supports("ma_trend", fractional=True) and scope.supports("ma_trend")


def test_the_sweep_api_does_not_import_the_kernels() -> None:
    # a sweep the store holds runs nothing: choosing its engine must not import numba
    code = (
        "import sys, engine.cli.main, engine.api.sweeps, engine.sweep.engines as e; "
        "assert e.default_engine('ma_trend') == 'fast'; "
        "print(sorted(m for m in sys.modules if m == 'numba' or m.startswith('engine.fast.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['engine.fast.scope']"
