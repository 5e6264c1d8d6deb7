"""The fast engine inside ``crwv-bt sweep``: chosen by default, forced off by ``--engine
backtrader``, recorded per row, resumable, and streaming its results in bounded chunks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.cli.main import main
from engine.errors import ParamError
from engine.fast import _cache
from engine.fast.api import evaluate_arrays
from engine.result import Costs
from engine.sweep import engines
from engine.sweep.run import run_sweep
from engine.sweep.store import SweepStore
from engine.sweep.tasks import SweepData, make_job
from strategies import STRATEGIES

GRID = [
    "--strategy",
    "ma_trend",
    "--grid",
    "fast=5,10,20",
    "--grid",
    "slow=30,60",
    "--grid",
    "mode=reclaim,cross",
]
RUN = ["--jobs", "2", "--no-files", "--no-progress"]


@pytest.fixture(autouse=True, scope="module")
def fresh_kernels() -> None:
    _cache.ensure_fresh()


@pytest.fixture()
def workdir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRWV_BT_DATA_DIR", str(data_dir))
    return tmp_path


def test_fast_is_the_default_wherever_it_covers_the_strategy() -> None:
    assert {s: engines.default_engine(s) for s in STRATEGIES} == dict.fromkeys(STRATEGIES, "fast")
    assert engines.default_engine("ma_trend", fractional=True) == "backtrader"
    with pytest.raises(ParamError, match="does not cover --fractional"):
        engines.get_engine("fast", "ma_trend", fractional=True)
    info = engines.get_engine("fast")
    assert info.threaded and info.chunk and not info.fractional


def test_cli_rows_record_the_engine_and_agree_across_engines(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", *GRID, *RUN]) == 0
    assert "engine fast" in capsys.readouterr().out
    assert main(["sweep", *GRID, *RUN, "--engine", "backtrader"]) == 0
    assert "engine backtrader" in capsys.readouterr().out
    with SweepStore(workdir / "results" / "sweeps.sqlite") as store:
        frame = store.frame()
        by_engine = {
            e: frame[frame["engine"] == e].sort_values(["fast", "slow", "mode"])
            for e in ("fast", "backtrader")
        }
        returns = {e: store.returns_matrix(list(f["key"])) for e, f in by_engine.items()}
    assert len(by_engine["fast"]) == len(by_engine["backtrader"]) == 12
    for col in ("sharpe", "total_return", "max_drawdown", "n_trades", "commission_paid", "alpha"):
        for a, b in zip(by_engine["fast"][col], by_engine["backtrader"][col], strict=True):
            assert (a == b) or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * abs(b), col
    np.testing.assert_array_equal(returns["fast"], returns["backtrader"])


def test_fractional_needs_the_reference(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", *GRID, *RUN, "--engine", "fast", "--fractional"]) == 2
    assert "does not cover --fractional" in capsys.readouterr().err
    assert main(["sweep", *GRID, *RUN, "--fractional"]) == 0  # the default falls back
    assert "engine backtrader" in capsys.readouterr().out


def test_fast_sweep_resumes(tmp_path: Path, crwv) -> None:  # noqa: ANN001
    data = SweepData(crwv, "CRWV")
    job = make_job(data, "ma_trend", costs=Costs(), cash=100_000.0, engine="fast")
    params = [
        {"fast": f, "slow": s, "hold_bars": 3, "mode": "cross", "exit_on": "slow"}
        for f in range(5, 30, 5)
        for s in (40, 60, 80)
    ]
    with SweepStore(tmp_path / "s.sqlite") as store:
        first = run_sweep(store, data, [(job, params[:7])], jobs=2, progress=False)
        again = run_sweep(store, data, [(job, params)], jobs=2, chunk_size=4, progress=False)
        assert (first.added, again.done_before, again.added, store.count()) == (7, 7, 8, 15)
        assert set(store.frame()["engine"]) == {"fast"}


def test_batches_stream_in_bounded_chunks(crwv) -> None:  # noqa: ANN001
    cols = {"fast": np.repeat(np.arange(2, 12), 300), "slow": np.full(3000, 60)}
    sizes = [
        ch.stop - ch.start
        for ch in evaluate_arrays("ma_trend", cols, crwv, want_returns=True, chunk=700)
    ]
    assert sizes == [700, 700, 700, 700, 200]
    auto = next(evaluate_arrays("ma_trend", cols, crwv, want_returns=True))
    assert auto.returns is not None and auto.returns.nbytes <= 16_100_000
