"""The fast engine runs each distinct kernel input once: rows that differ only in a parameter
their variant never reads (``ma_trend``'s ``hold_bars`` and ``exit_on`` in cross mode, ``fast``
under ``exit_on=slow``) get the results of the row they share it with, bit for bit, within a
chunk and from the results kept across chunks and calls (``engine.fast.api._KEPT``)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from engine.distinct import distinct_rows
from engine.fast import api
from engine.fast import specs as specs_mod
from engine.fast.specs import spec_for
from engine.result import Costs
from engine.sweep.engines import EngineInput, evaluate_fast
from engine.sweep.store import result_hashes

GRIDS = {
    "ma_trend": {
        "fast": [5, 10, 20],
        "slow": [30, 60],
        "hold_bars": [1, 3, 5],
        "mode": ["reclaim", "cross"],
        "exit_on": ["slow", "fast"],
        "side": ["long", "both"],
        "atr_stop": [0.0, 2.0],
    },
    "macd": {"fast": [8, 12], "slow": [26], "signal": [9], "side": ["long", "short"]},
    "rsi": {"period": [7, 14], "side": ["long", "both"], "atr_stop": [0.0, 3.0]},
}


def columns(grid: dict[str, list]) -> dict[str, np.ndarray]:
    rows = list(itertools.product(*grid.values()))
    return {k: np.array([r[i] for r in rows]) for i, k in enumerate(grid)}


def scores(strategy: str, cols: dict, prices: pd.DataFrame, chunk: int) -> tuple:
    parts = list(
        api.evaluate_arrays(
            strategy, cols, prices, Costs(), want_returns=True, chunk=chunk, jobs=2, validate=False
        )
    )
    return np.vstack([p.metrics for p in parts]), np.vstack([p.returns for p in parts])


@pytest.mark.parametrize("strategy", sorted(GRIDS))
def test_rows_sharing_a_kernel_input_get_identical_results(
    strategy: str, crwv: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    cols = columns(GRIDS[strategy])
    m = len(next(iter(cols.values())))
    api._KEPT.owner = ()  # nothing kept from an earlier test
    deduped = scores(strategy, cols, crwv, chunk=m // 3 + 1)
    assert len(api._KEPT.slots) > 0
    again = scores(strategy, cols, crwv, chunk=7)  # every input found kept, chunks cut elsewhere
    monkeypatch.setattr(specs_mod.Spec, "distinct", lambda self, prep: None)
    monkeypatch.setattr(specs_mod.SignalSpec, "distinct", lambda self, prep: None)
    each = scores(strategy, cols, crwv, chunk=m // 3 + 1)
    for got in (deduped, again):
        assert got[0].tobytes() == each[0].tobytes()  # NaN included, bit for bit
        assert got[1].tobytes() == each[1].tobytes()


def test_results_kept_across_chunks_are_found_by_content_not_by_row_index(
    crwv: pd.DataFrame,
) -> None:
    """A chunk's function rows are numbered in that chunk: the same ``srows`` index names
    another SMA in the next one. Kept results must be found by the parameters behind it."""
    grid = {"fast": [5, 10, 20, 30], "slow": [40], "mode": ["cross"], "hold_bars": [1, 2]}
    cols = columns(grid)
    api._KEPT.owner = ()
    for chunk in (2, 8):  # fast=5 alone, then every fast: slot 0 is sma(5) in the first chunk only
        got = scores("ma_trend", cols, crwv, chunk=chunk)
        trades = got[0][:, api.NUM_KEYS.index("n_trades")]
        totals = got[0][:, api.NUM_KEYS.index("total_return")]
        assert len(set(totals.tolist())) == 4, (chunk, totals)  # one result per fast, not one
        assert (got[0][0::2] == got[0][1::2])[~np.isnan(got[0][0::2])].all()
        assert trades.shape == (8,)


def test_ma_trend_cross_mode_runs_once_per_fast_slow_pair(crwv: pd.DataFrame) -> None:
    grid = {"fast": [5, 10], "slow": [30, 60], "hold_bars": [1, 2, 3], "mode": ["cross"]}
    grid["exit_on"] = ["slow", "fast"]
    cols, m = api.full_columns("ma_trend", columns(grid))
    spec = spec_for("ma_trend")
    prep = spec.prepare(api.market(crwv, Costs(), 100_000.0), cols)
    _, first, inverse = spec.distinct(prep)
    assert len(first) == 4 and m == 24  # hold_bars and exit_on are read by no cross program
    pairs = {
        (int(f), int(s)) for f, s in zip(cols["fast"][first], cols["slow"][first], strict=True)
    }
    assert pairs == {(5, 30), (5, 60), (10, 30), (10, 60)}
    assert (cols["fast"] == cols["fast"][first][inverse]).all()
    reclaim = dict(grid, mode=["reclaim"])
    cols, m = api.full_columns("ma_trend", columns(reclaim))
    _, first, _ = spec.distinct(spec.prepare(api.market(crwv, Costs(), 100_000.0), cols))
    # reclaim reads hold_bars; exit_on=slow reads no fast SMA: 2 slows x 3 holds, + 2 fasts for fast
    assert len(first) == 2 * 3 + 2 * 2 * 3


def test_rows_are_grouped_by_their_words_even_when_hashes_collide() -> None:
    rng = np.random.default_rng(3)
    words = rng.integers(0, 4, size=(500, 3)).astype(np.uint64)
    first, inverse = distinct_rows(words)
    ref = np.unique(words, axis=0, return_index=True, return_inverse=True)
    assert sorted(first.tolist()) == sorted(ref[1].tolist())
    assert (words == words[first[inverse]]).all()
    # two different rows with one 64-bit hash: (h0 ^ a1) * P ^ b1 == (h0 ^ a2) * P ^ b2
    h0, p, mask = 0xCBF29CE484222325, 0x100000001B3, 2**64 - 1
    a1, b1, a2 = 1, 2, 7
    b2 = (((h0 ^ a1) * p & mask) ^ b1) ^ ((h0 ^ a2) * p & mask)
    clash = np.array([[a1, b1], [a2, b2], [a1, b1]], dtype=np.uint64)
    first, inverse = distinct_rows(clash)
    assert sorted(first.tolist()) == [0, 1] and inverse.tolist()[0] == inverse.tolist()[2]
    assert inverse.tolist()[0] != inverse.tolist()[1]


def test_results_evicted_from_a_small_store_are_run_again(
    crwv: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    cols = columns(GRIDS["ma_trend"])
    monkeypatch.setattr(api, "KEPT_RESULTS", 5)
    api._KEPT.owner = ()
    small = [scores("ma_trend", cols, crwv, chunk=chunk) for chunk in (7, 13)]
    assert len(api._KEPT.slots) == 5
    monkeypatch.setattr(specs_mod.SignalSpec, "distinct", lambda self, prep: None)
    each = scores("ma_trend", cols, crwv, chunk=50)
    for got in small:
        assert got[0].tobytes() == each[0].tobytes() and got[1].tobytes() == each[1].tobytes()


def test_each_chunk_names_the_row_whose_results_a_row_shares(crwv: pd.DataFrame) -> None:
    """``Chunk.same``: a row's results are a copy of the row it names (in its own chunk), and
    the rows naming one row are those that share its kernel input; the sweep store hashes only
    the named rows' returns (``Scores.same``), so a wrong name would store a wrong result."""
    cols = columns(GRIDS["ma_trend"])
    m = len(next(iter(cols.values())))
    api._KEPT.owner = ()
    parts = list(
        api.evaluate_arrays(
            "ma_trend", cols, crwv, Costs(), want_returns=True, chunk=100, jobs=2, validate=False
        )
    )
    assert sum(p.stop - p.start for p in parts) == m
    for p in parts:
        assert p.same is not None and p.returns is not None
        assert p.same.shape == (p.stop - p.start,)
        assert ((p.same >= 0) & (p.same < p.stop - p.start)).all()
        assert (p.same[p.same] == p.same).all()  # a named row names itself
        assert p.metrics[p.same].tobytes() == p.metrics.tobytes()
        assert p.returns[p.same].tobytes() == p.returns.tobytes()
        assert len(np.unique(p.same)) < len(p.same)  # the grid has shared inputs in each chunk


def test_sweep_rows_store_the_same_results_whether_or_not_the_engine_names_copies(
    crwv: pd.DataFrame,
) -> None:
    grid = columns(GRIDS["ma_trend"])
    params = [dict(zip(grid, vs, strict=True)) for vs in zip(*grid.values(), strict=True)]
    params = [{k: v.item() for k, v in p.items()} for p in params]
    api._KEPT.owner = ()
    scores = evaluate_fast(EngineInput("ma_trend", params, crwv, Costs(), 100_000.0, jobs=2))
    assert scores.same is not None and len(np.unique(scores.same)) < len(params)
    trades = scores.columns["n_trades"]
    assert result_hashes(scores.returns, trades, scores.same) == result_hashes(
        scores.returns, trades
    )
