"""Tests for the overfitting statistics: PSR / DSR formulas and PBO by CSCV."""

from __future__ import annotations

import math
import time
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from engine.analysis.deflated_sharpe import (
    EULER_GAMMA,
    ZERO_VAR_RTOL,
    deflated_sharpe,
    deflated_sharpe_of_best,
    expected_max_sharpe,
    per_period_sharpe,
    probabilistic_sharpe_ratio,
)
from engine.analysis.pbo import (
    _block_sets,
    _half_combinations,
    _set_sums,
    _sums_metric,
    pbo,
    performance_degradation,
    prob_oos_loss,
)
from engine.errors import ParamError

PHI = NormalDist()

# Hand example for PBO: T = 4 rows, S = 2 blocks (A = rows 0-1, B = rows 2-3), N = 3 columns.
#   col0: A [.01, .03] mean .02 std .01414 -> SR 1.41421 | B [-.01, .01] mean 0 -> SR 0
#   col1: A [.00, .02] mean .01 std .01414 -> SR 0.70711 | B [.02, .04] mean .03 -> SR 2.12132
#   col2: A [-.02, 0.] mean -.01           -> SR -0.70711 | B [0., .01] mean .005 std .00707 -> 0.70711
HAND = np.array(
    [
        [0.01, 0.00, -0.02],
        [0.03, 0.02, 0.00],
        [-0.01, 0.02, 0.00],
        [0.01, 0.04, 0.01],
    ]
)


def reference_cscv(m: np.ndarray, n_splits: int, metric) -> tuple[np.ndarray, np.ndarray]:
    """Slow, literal CSCV (loops over itertools.combinations, pandas average ranks).

    Returns the logits and the in-sample best column per combination.
    """
    t_block = m.shape[0] // n_splits
    m = m[: t_block * n_splits]
    blocks = np.arange(len(m)) // t_block
    logits, best = [], []
    for c in combinations(range(n_splits), n_splits // 2):
        is_rows = np.isin(blocks, c)
        r_is, r_oos = metric(m[is_rows]), metric(m[~is_rows])
        n_star = int(np.argmax(r_is))
        rank = pd.Series(r_oos).rank(method="average").iloc[n_star]
        omega = rank / (m.shape[1] + 1)
        logits.append(math.log(omega / (1 - omega)))
        best.append(n_star)
    return np.array(logits), np.array(best)


def noise(seed: int, t: int = 400, n: int = 200) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, size=(t, n))


# ------------------------------------------------------------------ Sharpe, PSR, E[max], DSR


def test_per_period_sharpe_hand_computed():
    # mean .01, deviations [0, .02, -.02, 0] -> var = .0008 / 3 -> SR = .01 / sqrt(.0008/3)
    # = sqrt(3/8)
    assert per_period_sharpe(HAND[:, 0]) == pytest.approx(math.sqrt(0.375), rel=1e-12)
    out = per_period_sharpe(HAND[:2])
    assert out == pytest.approx([math.sqrt(2), math.sqrt(0.5), -math.sqrt(0.5)], rel=1e-12)


def test_per_period_sharpe_constant_and_short():
    assert per_period_sharpe(np.full(5, 0.01)) == 0.0  # zero std -> defined as 0, not inf
    assert per_period_sharpe(np.zeros(5)) == 0.0
    assert math.isnan(per_period_sharpe(np.array([0.01])))


def test_psr_equal_to_benchmark_is_one_half():
    assert probabilistic_sharpe_ratio(0.1, 0.1, 100, -1.0, 7.0) == pytest.approx(0.5)


def test_psr_hand_computed_normal():
    # denominator = 1 - 0*0.1 + (3-1)/4 * 0.1^2 = 1.005
    # z = 0.1 * sqrt(252) / sqrt(1.005) = 1.58349698...; Phi(z) = 0.94334588...
    assert probabilistic_sharpe_ratio(0.1, 0.0, 253, 0.0, 3.0) == pytest.approx(
        0.9433458828, abs=1e-9
    )


def test_psr_hand_computed_fat_tailed():
    # denominator = 1 - (-1)(0.1) + (6-1)/4 * 0.01 = 1.1125
    # z = (0.1 - 0.05) * sqrt(100) / sqrt(1.1125) = 0.47404546...; Phi(z) = 0.68226626...
    assert probabilistic_sharpe_ratio(0.1, 0.05, 101, -1.0, 6.0) == pytest.approx(
        0.6822662562, abs=1e-9
    )


def test_psr_undefined_cases():
    assert math.isnan(probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0))
    # 1 - 2*1 + (2-1)/4 * 1 = -0.75 < 0
    assert math.isnan(probabilistic_sharpe_ratio(1.0, 0.0, 100, 2.0, 2.0))


def test_expected_max_sharpe_two_trials_hand_computed():
    # (1-g) * Phi^-1(1/2) = 0; g * Phi^-1(1 - 1/(2e)) = 0.5772157 * 0.9004526 = 0.5197553
    assert expected_max_sharpe(2, 1.0) == pytest.approx(0.5197553443, abs=1e-9)
    assert expected_max_sharpe(2, 4.0) == pytest.approx(2 * 0.5197553443, abs=1e-9)


def test_expected_max_sharpe_edge_cases():
    assert expected_max_sharpe(1, 0.3) == 0.0
    assert expected_max_sharpe(50, 0.0) == 0.0
    values = [expected_max_sharpe(n, 1.0) for n in (2, 10, 100, 1000)]
    assert values == sorted(values)
    with pytest.raises(ParamError):
        expected_max_sharpe(0, 1.0)
    with pytest.raises(ParamError):
        expected_max_sharpe(10, -0.1)


def test_dsr_paper_numerical_example():
    # Bailey & Lopez de Prado (2014), numerical example: annualised SR 2.5 over 5 years of daily
    # data (T = 1250, 250 days a year), skew -3, kurtosis 10, N = 100 trials whose annualised
    # Sharpe ratios have variance 1/2. Per day: V = 0.5 / 250, SR = 2.5 / sqrt(250).
    # SR0 = sqrt(.002) * (0.4228 * 2.3263 + 0.5772 * Phi^-1(1 - 1/(100e))) = 0.1132
    # DSR = Phi((0.1581 - 0.1132) * sqrt(1249) / sqrt(1 + 3*0.1581 + 9/4*0.1581^2)) = 0.9004
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_matches_monte_carlo():
    # N = 100 worthless strategies (true SR 0), T = 250 normal returns each; the mean over 300
    # repetitions of the best sample Sharpe ratio vs the formula with the trials' variance.
    rng = np.random.default_rng(7)
    maxima, variances = [], []
    for _ in range(300):
        srs = per_period_sharpe(rng.normal(0.0, 0.01, size=(250, 100)))
        maxima.append(srs.max())
        variances.append(srs.var(ddof=1))
    predicted = expected_max_sharpe(100, float(np.mean(variances)))
    assert np.mean(maxima) == pytest.approx(predicted, rel=0.03)


def test_deflated_sharpe_hand_computed():
    # returns [.01, .03, -.01, .01]: SR = sqrt(3/8) = 0.6123724; deviations [0, .02, -.02, 0]
    # -> m2 = 2e-4, m3 = 0, m4 = 8e-8 -> skew 0, kurtosis 8e-8 / 4e-8 = 2.
    # trials [.6, .2, -.2]: V = (.16 + 0 + .16) / 2 = 0.16
    # SR0 = 0.4 * ((1-g) * Phi^-1(2/3) + g * Phi^-1(1 - 1/(3e)))
    #     = 0.4 * (0.4227843 * 0.4307273 + 0.5772157 * 1.1619569) = 0.3411218
    # DSR = Phi((0.6123724 - 0.3411218) * sqrt(3) / sqrt(1 + 1/4 * 0.375)) = Phi(0.4492337)
    #     = 0.6733685
    res = deflated_sharpe(HAND[:, 0], np.array([0.6, 0.2, -0.2]))
    assert res.sr == pytest.approx(0.6123724357, abs=1e-9)
    assert res.skew == pytest.approx(0.0, abs=1e-9)
    assert res.kurtosis == pytest.approx(2.0, rel=1e-9)
    assert res.var_sr == pytest.approx(0.16)
    assert res.sr0 == pytest.approx(0.3411217985, abs=1e-9)
    assert res.dsr == pytest.approx(0.6733684727, abs=1e-9)
    assert (res.n_trials, res.n_obs, res.reason) == (3, 4, None)
    assert EULER_GAMMA == pytest.approx(0.5772156649015329)


def test_deflated_sharpe_single_trial_is_psr_against_zero():
    x = np.random.default_rng(1).normal(0.001, 0.01, 300)
    res = deflated_sharpe(x, np.array([per_period_sharpe(x)]))
    assert res.sr0 == 0.0 and res.reason is None
    psr = probabilistic_sharpe_ratio(res.sr, 0.0, 300, res.skew, res.kurtosis)
    assert res.dsr == pytest.approx(psr)
    # n_trials=1 overrides the number of Sharpe ratios passed
    assert deflated_sharpe(x, np.array([0.1, 0.2, 0.3]), n_trials=1).sr0 == 0.0


def test_deflated_sharpe_zero_variance_of_trials():
    x = np.random.default_rng(2).normal(0.0, 0.01, 100)
    res = deflated_sharpe(x, np.full(10, 0.05))
    assert res.var_sr == 0.0 and res.sr0 == 0.0 and not math.isnan(res.dsr)


def test_deflated_sharpe_undefined_cases():
    short = deflated_sharpe(np.array([0.01, 0.02]), np.array([0.1, 0.2]))
    assert math.isnan(short.dsr) and "3 return observations" in short.reason
    flat = deflated_sharpe(np.full(50, 0.001), np.array([0.1, 0.2]))
    assert math.isnan(flat.dsr) and "constant" in flat.reason
    one = deflated_sharpe(noise(3)[:, 0], np.array([0.1]), n_trials=20)
    assert math.isnan(one.dsr) and "2 trial Sharpe ratios" in one.reason
    with pytest.raises(ParamError):
        deflated_sharpe(noise(3)[:, 0], np.array([]))


# ------------------------------------------------------------------ PBO


def test_reference_helper_on_hand_example():
    logits, best = reference_cscv(HAND, 2, per_period_sharpe)
    assert list(best) == [0, 1]
    assert logits == pytest.approx([math.log(1 / 3), 0.0])


def test_pbo_hand_example():
    # c = (A,): IS best col0 (1.414); OOS B = [0, 2.121, 0.707] -> rank 1 -> omega 1/4
    #           -> lambda = ln(1/3)
    # c = (B,): IS best col1 (2.121); OOS A = [1.414, 0.707, -0.707] -> rank 2 -> omega 2/4
    #           -> lambda = 0, which counts as overfit (lambda <= 0): PBO = 2/2 = 1
    res = pbo(HAND, n_splits=2)
    assert res.n_combinations == 2 and res.n_splits == 2
    assert list(res.best_is_column) == [0, 1]
    assert res.oos_relative_rank == pytest.approx([0.25, 0.5])
    assert res.logits == pytest.approx([math.log(1 / 3), 0.0])
    assert res.pbo == 1.0
    assert res.is_performance == pytest.approx([math.sqrt(2), 1.5 * math.sqrt(2)])
    assert res.oos_performance == pytest.approx([0.0, math.sqrt(0.5)], abs=1e-12)
    # pairs (1.414, 0) and (2.121, 0.707): slope 1, intercept -1.414, R^2 1
    assert res.degradation.slope == pytest.approx(1.0)
    assert res.degradation.intercept == pytest.approx(-math.sqrt(2))
    assert res.degradation.r_squared == pytest.approx(1.0)
    assert res.prob_oos_loss == 0.0  # an OOS Sharpe of exactly 0 is not a loss


def test_pbo_ties_first_best_and_average_oos_rank():
    # metric "mean"; col1 == col2. A means [.03, .01, .01], B means [-.01, .01, .01].
    # IS A -> col0, OOS B rank 1 -> omega 1/4. IS B -> tie col1/col2, first (col1) chosen;
    # OOS A = [.03, .01, .01] -> col1 shares ranks 1-2 -> average 1.5 -> omega 0.375.
    m = np.array([[0.03, 0.0, 0.0], [0.03, 0.02, 0.02], [-0.01, 0.01, 0.01], [-0.01, 0.01, 0.01]])
    res = pbo(m, n_splits=2, metric="mean")
    assert list(res.best_is_column) == [0, 1]
    assert res.oos_relative_rank == pytest.approx([0.25, 0.375])
    assert res.logits == pytest.approx([math.log(1 / 3), math.log(0.6)])


@pytest.mark.parametrize("n_splits", [2, 4, 8])
def test_pbo_matches_literal_reference(n_splits):
    m = noise(11, t=96, n=25)
    m[:, 3] = 0.0  # a configuration that never trades
    m[:48, 4] = 0.002  # constant in the first half only: zero std in some row sets
    res = pbo(m, n_splits=n_splits)
    logits, best = reference_cscv(m, n_splits, per_period_sharpe)
    assert res.n_combinations == math.comb(n_splits, n_splits // 2)
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res.best_is_column, best)


def test_pbo_fast_path_equals_callable_metric():
    m = noise(12, t=160, n=40)
    fast = pbo(m, n_splits=8)
    slow = pbo(m, n_splits=8, metric=lambda x: np.asarray(per_period_sharpe(x)))
    np.testing.assert_allclose(fast.is_performance, slow.is_performance, rtol=1e-9)
    np.testing.assert_allclose(fast.oos_performance, slow.oos_performance, rtol=1e-9)
    np.testing.assert_array_equal(fast.logits, slow.logits)
    mean = pbo(m, n_splits=8, metric="mean")
    mean_slow = pbo(m, n_splits=8, metric=lambda x: x.mean(axis=0))
    np.testing.assert_allclose(mean.is_performance, mean_slow.is_performance, atol=1e-15)
    assert mean.metric == "mean" and slow.metric == "<lambda>"


@pytest.mark.parametrize("n_splits", [2, 8, 16])
def test_pbo_block_sums_equal_the_indicator_product_to_the_bit(n_splits):
    # The fast path adds the chosen blocks' sums in ascending order and computes the Sharpe
    # ratio in place; it must give the very numbers of the 0/1-indicator product accumulated
    # in block order and of the `where(flat, 0, mean / sqrt(var))` formula it replaced.
    rng = np.random.default_rng(30 + n_splits)
    sums = rng.normal(size=(n_splits, 300)) * 10.0 ** rng.integers(-9, 3, size=(n_splits, 300))
    sumsq = sums * sums
    sumsq[:, :5] = 0.0  # flat columns score 0
    mu = rng.normal(0.0, 1e-3, size=300)
    ind = _half_combinations(n_splits)
    is_blocks, oos_blocks = _block_sets(n_splits)
    for sel, blocks in ((ind, is_blocks), (1.0 - ind, oos_blocks)):

        def product(x, sel=sel):
            acc = np.zeros((sel.shape[0], x.shape[1]))
            for k in range(n_splits):  # the product's additions, k = 0, 1, ... in order
                acc += sel[:, k : k + 1] * x[k]
            return acc

        s1, s2, n = product(sums), product(sumsq), 7
        np.testing.assert_array_equal(_set_sums(sums, blocks), s1)
        var = (s2 - s1 * (s1 / n)) / (n - 1)
        flat = var <= ZERO_VAR_RTOL * (s2 / n)
        literal = np.where(flat, 0.0, (s1 / n + mu) / np.sqrt(np.where(flat, 1.0, var)))
        assert flat.any() and not flat.all()
        np.testing.assert_array_equal(_sums_metric(blocks, sums, sumsq, n, mu, "sharpe"), literal)
        np.testing.assert_array_equal(_sums_metric(blocks, sums, sumsq, n, mu, "mean"), s1 / n + mu)


def test_pbo_zero_std_in_sample_scores_zero():
    # col0 is a constant 0.005 in block A (but not overall): its IS Sharpe there is 0, not huge;
    # col1 is negative in A, so col0 (Sharpe 0) is the IS best of combination (A,).
    m = np.array([[0.005, -0.01], [0.005, 0.0], [0.01, 0.01], [-0.02, 0.02]])
    res = pbo(m, n_splits=2)
    assert res.best_is_column[0] == 0 and res.is_performance[0] == 0.0


def test_pbo_drops_trailing_rows():
    m = noise(13, t=403, n=30)
    res = pbo(m, n_splits=4)
    assert (res.rows_used, res.rows_dropped) == (400, 3)
    np.testing.assert_array_equal(res.logits, pbo(m[:400], n_splits=4).logits)


def test_pbo_reduces_splits_for_short_history():
    with pytest.warns(UserWarning, match="using n_splits=4"):
        res = pbo(noise(14, t=10, n=5), n_splits=16)
    assert (res.n_splits, res.n_splits_requested, res.n_combinations) == (4, 16, 6)


def test_pbo_dataframe_labels_and_read_only_result():
    df = pd.DataFrame(noise(15, t=40, n=3), columns=["a", "b", "c"])
    res = pbo(df, n_splits=4)
    assert res.columns == ("a", "b", "c")
    with pytest.raises(ValueError):
        res.logits[0] = 1.0


@pytest.mark.parametrize("bad", [0, 3, -2, 2.0])
def test_pbo_rejects_bad_splits(bad):
    with pytest.raises(ParamError):
        pbo(noise(16, t=40, n=3), n_splits=bad)


def test_pbo_rejects_bad_input():
    with pytest.raises(ParamError, match="combinations"):
        pbo(noise(17, t=100, n=3), n_splits=24)
    with pytest.raises(ParamError, match="unknown metric"):
        pbo(noise(17, t=40, n=3), metric="sortino")
    with pytest.raises(ValueError, match="2 columns"):
        pbo(noise(17, t=40, n=1))
    with pytest.raises(ValueError, match="at least 4 rows"):
        pbo(noise(17, t=3, n=3))
    with pytest.raises(ValueError, match="T x N"):
        pbo(np.zeros(40))
    m = noise(17, t=40, n=3)
    m[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pbo(m)
    with pytest.raises(ValueError, match="finite value per column"):
        pbo(noise(17, t=40, n=3), n_splits=2, metric=lambda x: x.mean(axis=0)[:2])


def test_degradation_and_loss_helpers():
    d = performance_degradation(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, -0.5]))
    assert (d.slope, d.intercept, d.r_squared) == pytest.approx((-0.5, 1.0, 1.0))
    assert math.isnan(performance_degradation(np.ones(3), np.arange(3.0)).slope)
    assert prob_oos_loss(np.array([-0.1, 0.0, 0.2, -0.3])) == 0.5
    assert math.isnan(prob_oos_loss(np.array([])))


# ------------------------------------------------------------------ simulations


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_noise_overfits(seed):
    # 200 configurations of iid N(0, 0.01) daily returns, T = 400: the IS winner is a coin
    # flip out of sample, and its Sharpe ratio does not survive deflation.
    m = noise(seed)
    res = pbo(m, n_splits=16)
    assert 0.3 <= res.pbo <= 0.7
    assert res.degradation.slope < 0
    _, dsr = deflated_sharpe_of_best(m)
    assert dsr.dsr < 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_drift_is_not_overfit(seed):
    # Same noise, but column 7 has a true drift of 0.004 a day (per-period SR 0.4).
    m = noise(seed)
    m[:, 7] += 0.004
    res = pbo(m, n_splits=16)
    assert res.pbo < 0.1
    assert np.mean(res.best_is_column == 7) > 0.9
    best, dsr = deflated_sharpe_of_best(m)
    assert best == 7 and dsr.dsr > 0.95


def test_pbo_runtime_390_by_1000():
    m = np.random.default_rng(18).normal(0.0, 0.01, size=(390, 1000))
    start = time.perf_counter()
    res = pbo(m, n_splits=16)
    assert time.perf_counter() - start < 10.0  # about 0.3 s on a 2-core runner
    assert res.n_combinations == 12870 and res.rows_dropped == 6
