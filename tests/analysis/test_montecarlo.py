"""Monte Carlo statistics (engine.analysis.montecarlo): hand-checked paths, exactness of the
vectorised trade bootstrap against brute force, the block sampler, Politis-White, summaries."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.analysis import montecarlo as mc
from engine.analysis.metrics import compute_metrics, sharpe_ratio


def _equity(values: list[float], start: str = "2025-01-06") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values), name="date"))


def _trades(
    equity: pd.Series, spans: list[tuple[int, int]], open_last: bool = False
) -> pd.DataFrame:
    idx = equity.index
    rows = [
        {"entry_date": idx[a], "exit_date": idx[b], "is_open": open_last and k == len(spans) - 1}
        for k, (a, b) in enumerate(spans)
    ]
    return pd.DataFrame(rows, columns=["entry_date", "exit_date", "is_open"])


# two round trips: +10% then -10% (sessions 2-3), then +10% +10% (sessions 6-7), flat between
EQ = _equity([100, 100, 110, 99, 99, 99, 108.9, 119.79, 119.79])
TR = _trades(EQ, [(2, 3), (6, 7)])


# --------------------------------------------------------------------------- path statistics
def test_path_stats_by_hand() -> None:
    s = mc.path_stats(np.array([[0.1, -0.1, 0.05]])).iloc[0]
    # equity 1 -> 1.1 -> 0.99 -> 1.0395
    assert s.total_return == pytest.approx(0.0395, abs=1e-12)
    assert s.max_drawdown == pytest.approx(0.99 / 1.1 - 1, abs=1e-12)
    # mean 1/60, std (ddof 1) sqrt(0.0216667 / 2)
    assert s.sharpe == pytest.approx((1 / 60) / math.sqrt(0.065 / 6) * math.sqrt(252), rel=1e-12)


def test_path_stats_agrees_with_the_metrics_module() -> None:
    rng = np.random.default_rng(5)
    eq = _equity(list(100 * np.cumprod(1 + rng.normal(0.001, 0.03, 300))))
    m = compute_metrics(eq, pd.DataFrame(columns=["entry_date", "exit_date", "pnl", "return"]))
    s = mc.path_stats(eq.pct_change().to_numpy()[None, 1:], risk_free=0.03).iloc[0]
    m_rf = compute_metrics(eq, pd.DataFrame(columns=["entry_date", "exit_date"]), risk_free=0.03)
    assert s.total_return == pytest.approx(m.total_return, rel=1e-12)
    assert s.max_drawdown == pytest.approx(m.max_drawdown, rel=1e-12)
    assert s.sharpe == pytest.approx(m_rf.sharpe, rel=1e-10)


def test_zero_spread_path_has_nan_sharpe() -> None:
    s = mc.path_stats(np.zeros((2, 10)))
    assert s.sharpe.isna().all() and (s.total_return == 0).all() and (s.max_drawdown == 0).all()


# --------------------------------------------------------------------------- trade bootstrap
def test_trade_segments_by_hand() -> None:
    seg = mc.trade_segments(EQ, TR)
    assert seg[["start", "stop", "days"]].values.tolist() == [[2, 3, 2], [6, 7, 2]]
    first, second = seg.iloc[0], seg.iloc[1]
    assert first.growth == pytest.approx(0.99) and first.high == pytest.approx(1.1)
    assert first.low == pytest.approx(0.99) and first.inner_dd == pytest.approx(0.99 / 1.1 - 1)
    assert second.growth == pytest.approx(1.21) and second.low == 1.0 and second.inner_dd == 0.0
    assert first.sum_r == pytest.approx(0.0) and first.sum_r2 == pytest.approx(0.02)


def test_a_session_shared_by_two_trades_stays_with_the_first() -> None:
    seg = mc.trade_segments(EQ, _trades(EQ, [(2, 3), (3, 7)]))
    assert seg[["start", "stop"]].values.tolist() == [[2, 3], [4, 7]]


def _brute_force(eq: pd.Series, seg: pd.DataFrame, picks: np.ndarray) -> pd.DataFrame:
    """Build each path's daily returns explicitly: the picked trades' days, then flat days."""
    r = np.concatenate([[0.0], eq.pct_change().to_numpy()[1:]])
    n_returns = len(eq) - 1
    rows = []
    for row in picks:
        days = [r[s : e + 1] for s, e in seg.loc[row[row >= 0], ["start", "stop"]].to_numpy()]
        path = np.concatenate(days) if days else np.zeros(0)
        path = np.concatenate([path, np.zeros(max(n_returns - path.size, 0))])
        rows.append(mc.path_stats(path[None, :]).iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True)


def test_identity_draw_gives_back_the_run() -> None:
    seg = mc.trade_segments(EQ, TR)
    got = mc._trade_path_stats(seg, np.array([[0, 1]]), len(EQ) - 1, 0.0, 252).iloc[0]
    want = mc.path_stats(EQ.pct_change().to_numpy()[None, 1:]).iloc[0]
    assert np.allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-15)


def test_swapped_order_by_hand() -> None:
    seg = mc.trade_segments(EQ, TR)
    got = mc._trade_path_stats(seg, np.array([[1, 0]]), len(EQ) - 1, 0.0, 252).iloc[0]
    # 1 -> 1.1 -> 1.21 -> 1.331 -> 1.1979: total +19.79 %, drawdown 1.1979 / 1.331 - 1 = -10 %
    assert got.total_return == pytest.approx(0.1979, abs=1e-12)
    assert got.max_drawdown == pytest.approx(-0.1, abs=1e-12)


def test_vectorised_trade_paths_equal_brute_force() -> None:
    rng = np.random.default_rng(11)
    for case in range(25):
        n = int(rng.integers(20, 80))
        eq = _equity(list(100 * np.cumprod(1 + rng.normal(0, 0.04, n))))
        cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
        spans = [(int(a), int(b)) for a, b in zip(cuts[::2], cuts[1::2], strict=True)]
        flat = np.ones(n, dtype=bool)
        for a, b in spans:
            flat[a : b + 1] = False
        eq = eq.where(~flat).ffill().fillna(100.0)  # flat days: equity unchanged
        seg = mc.trade_segments(eq, _trades(eq, spans))
        picks = mc.draw_trades(len(seg), 8, np.random.default_rng(case), "poisson")
        fast = mc._trade_path_stats(seg, picks, n - 1, 0.0, 252)
        slow = _brute_force(eq, seg, picks)
        assert np.allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)


def test_draw_trades_counts_and_padding() -> None:
    fixed = mc.draw_trades(4, 100, np.random.default_rng(0), "fixed")
    assert fixed.shape == (100, 4) and (fixed >= 0).all() and fixed.max() <= 3
    pois = mc.draw_trades(4, 20_000, np.random.default_rng(0), "poisson")
    counts = (pois >= 0).sum(axis=1)
    assert counts.mean() == pytest.approx(4, abs=0.05) and counts.var() == pytest.approx(
        4, rel=0.05
    )
    assert all((row[c:] == -1).all() for row, c in zip(pois[:50], counts[:50], strict=True))
    with pytest.raises(ValueError, match="count="):
        mc.draw_trades(4, 10, np.random.default_rng(0), "sometimes")


def test_trade_bootstrap_is_seeded_and_skips_the_open_trade() -> None:
    a = mc.trade_bootstrap(EQ, TR, 500, seed=3)
    b = mc.trade_bootstrap(EQ, TR, 500, seed=3)
    c = mc.trade_bootstrap(EQ, TR, 500, seed=4)
    pd.testing.assert_frame_equal(a.paths, b.paths)
    assert not a.paths.equals(c.paths)
    assert a.observed["total_return"] == pytest.approx(0.1979)
    only_open = mc.trade_bootstrap(EQ, _trades(EQ, [(2, 8)], open_last=True), 50, seed=1)
    assert (only_open.paths.total_return == 0).all() and only_open.settings["n_trades"] == 0
    kept = mc.trade_bootstrap(EQ, _trades(EQ, [(2, 8)], open_last=True), 50, 1, include_open=True)
    assert kept.settings["n_trades"] == 1


# --------------------------------------------------------------------------- block bootstrap
def test_stationary_indices_run_in_blocks() -> None:
    idx = mc.stationary_indices(50, 2000, 5.0, np.random.default_rng(2))
    step = np.diff(idx, axis=1) % 50
    starts = step != 1  # a position that does not continue the previous one starts a block
    # a new block may by chance continue the old one, so the visible rate is a bit under 1/5
    assert starts.mean() == pytest.approx(1 / 5 * (1 - 1 / 50), abs=0.01)
    assert idx.min() == 0 and idx.max() == 49
    iid = mc.stationary_indices(50, 10, 1.0, np.random.default_rng(2))
    assert iid.shape == (10, 50)
    with pytest.raises(ValueError, match="block_length"):
        mc.stationary_indices(50, 10, 0.5, np.random.default_rng(2))


def _ar1(phi: float, n: int, seed: int) -> np.ndarray:
    e = np.random.default_rng(seed).standard_normal(n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_optimal_block_length_matches_arch() -> None:
    arch = pytest.importorskip("arch.bootstrap")
    for k, phi in enumerate((0.0, 0.2, 0.5, 0.8)):
        x = _ar1(phi, 385, k)
        ref = max(float(arch.optimal_block_length(x).iloc[0, 0]), 1.0)
        assert mc.optimal_block_length(x) == pytest.approx(ref, rel=1e-10)


def test_optimal_block_length_near_the_ar1_closed_form() -> None:
    # for AR(1), G / g = 2 phi / (1 - phi^2), so b = (2 phi / (1 - phi^2))^(2/3) n^(1/3)
    n, phi = 20_000, 0.5
    theory = (2 * phi / (1 - phi**2)) ** (2 / 3) * n ** (1 / 3)
    assert mc.optimal_block_length(_ar1(phi, n, 7)) == pytest.approx(theory, rel=0.25)


def test_block_bootstrap_fan_and_determinism() -> None:
    rng = np.random.default_rng(9)
    eq = _equity(list(1000 * np.cumprod(1 + rng.normal(0.002, 0.02, 120))))
    a = mc.block_bootstrap(eq, 400, seed=1)
    assert a.paths.equals(mc.block_bootstrap(eq, 400, seed=1).paths)
    assert a.settings["block_length_rule"].startswith("Politis-White")
    fan = a.fan
    assert (
        fan is not None
        and len(fan) == len(eq)
        and list(fan.columns) == ["p5", "p25", "p50", "p75", "p95"]
    )
    assert (fan.iloc[0] == eq.iloc[0]).all() and fan.index.equals(eq.index)
    assert (fan.diff(axis=1).iloc[:, 1:] >= 0).all().all()  # quantiles are ordered
    fixed = mc.block_bootstrap(eq, 10, seed=1, block_length=len(eq) * 100.0)
    # blocks longer than the run: each path is the run rotated, so the total return is the run's
    assert np.allclose(fixed.paths.total_return, a.observed["total_return"])


# --------------------------------------------------------------------------- summaries
def test_summarize_by_hand() -> None:
    paths = pd.DataFrame(
        {
            "total_return": [-0.1, 0.0, 0.1, 0.2, 0.3],
            "max_drawdown": [-0.3, -0.2, -0.1, -0.05, 0.0],
            "sharpe": [np.nan, 0.5, 1.0, 1.5, 2.0],
        }
    )
    res = mc.MonteCarloResult(
        "trades", 0, paths, {"total_return": 0.1, "max_drawdown": -0.2, "sharpe": 1.0}
    )
    s = mc.summarize(res, quantiles=(0.0, 0.5, 1.0), dd_threshold=0.15)
    assert s["bands"]["total_return"] == {"p0": -0.1, "p50": 0.1, "p100": 0.3}
    assert s["bands"]["sharpe"]["p50"] == pytest.approx(1.25)  # NaN paths left out
    assert s["prob_loss"] == pytest.approx(0.2) and s["prob_drawdown"] == pytest.approx(0.4)
    assert s["observed_rank"] == {"total_return": 0.6, "max_drawdown": 0.4, "sharpe": 0.5}
    with pytest.raises(ValueError, match="dd_threshold"):
        mc.summarize(res, dd_threshold=25)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "7"])
def test_bad_seed_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        mc.block_bootstrap(EQ, 10, seed=bad)  # type: ignore[arg-type]


def test_bad_path_count_and_curve_are_refused() -> None:
    with pytest.raises(ValueError, match="n_paths"):
        mc.trade_bootstrap(EQ, TR, 0)
    with pytest.raises(ValueError, match="equity curve"):
        mc.block_bootstrap(_equity([100.0]), 10)


def test_sharpe_helper_consistency() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    assert mc.path_stats(r[None, :]).sharpe.iloc[0] == pytest.approx(sharpe_ratio(r))
