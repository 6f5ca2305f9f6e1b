"""Sample-size planner: formula and simulation checked against brute-force simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from turing_test.stats import agreement, discrimination, planner


def test_hanley_mcneil_variance_matches_monte_carlo():
    rng = np.random.default_rng(0)
    d_prime = np.sqrt(2) * stats.norm.ppf(0.75)  # binormal, equal variances: AUC 0.75
    aucs = [discrimination.structural_components(rng.normal(d_prime, 1, 50), rng.normal(0, 1, 60))[0]
            for _ in range(1000)]
    predicted = np.sqrt(planner.hanley_mcneil_variance(0.75, 50, 60))
    assert np.std(aucs, ddof=1) == pytest.approx(predicted, rel=0.1)


def test_auc_halfwidth_shrinks_with_readers_and_items_and_has_a_case_floor():
    base = planner.auc_halfwidth(5, 100)
    assert planner.auc_halfwidth(10, 100)["halfwidth"] < base["halfwidth"]
    assert planner.auc_halfwidth(5, 400)["halfwidth"] < base["halfwidth"]
    # infinitely many readers still share the same cases: SE -> sqrt(Cov2)
    many = planner.auc_halfwidth(100_000, 100, reader_correlation=0.5)
    floor = np.sqrt(0.5 * planner.hanley_mcneil_variance(0.5, 50, 50))
    assert many["se"] == pytest.approx(floor, rel=1e-3)


def test_single_reader_auc_uses_the_normal_quantile():
    result = planner.auc_halfwidth(1, 200, reader_sd=0.0)
    assert result["df"] is None
    expected = stats.norm.ppf(0.975) * np.sqrt(planner.hanley_mcneil_variance(0.5, 100, 100))
    assert result["halfwidth"] == pytest.approx(expected)


def test_icc_chi_square_shortcut_equals_simulating_whole_rating_matrices():
    n, k, icc, share = 30, 4, 0.5, 0.1
    rng = np.random.default_rng(1)
    halves = []
    for _ in range(300):
        x = (rng.normal(0, np.sqrt(icc), (n, 1)) + rng.normal(0, np.sqrt(share), (1, k))
             + rng.normal(0, np.sqrt(1 - icc - share), (n, k)))
        lo, hi = agreement.icc(x)["ICC2"]["ci95"]
        halves.append((hi - lo) / 2)
    shortcut = planner.icc2_halfwidth(k, n, icc=icc, reader_share=share, n_sim=4000)
    assert shortcut["halfwidth"] == pytest.approx(np.mean(halves), rel=0.05)


def test_icc_halfwidth_shrinks_with_more_items():
    small = planner.icc2_halfwidth(5, 20)["halfwidth"]
    large = planner.icc2_halfwidth(5, 200)["halfwidth"]
    assert large < small


def test_plan_study_and_grid():
    plan = planner.plan_study(20, 1000, icc=0.6, reader_sd=0.04)
    assert 0 < plan["auc"]["halfwidth"] < 0.1 and 0 < plan["icc2"]["halfwidth"] < 0.2
    one = planner.plan_study(1, 50)
    assert one["icc2"] is None and "2 readers" in one["notes"]["icc2"]
    assert len(planner.plan_grid([3, 5], [50, 100, 200])) == 6
    with pytest.raises(ValueError, match="unknown planning assumption"):
        planner.plan_study(3, 50, colour=1)
    with pytest.raises(ValueError, match="readers"):
        planner.auc_halfwidth(0, 50)
