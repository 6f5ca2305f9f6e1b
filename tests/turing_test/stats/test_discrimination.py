"""AUC, DeLong, Mann–Whitney, the case bootstrap and forced-choice accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from turing_test.stats import UndefinedStatistic, discrimination


def likert_sample(n_pos=40, n_neg=50, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.clip(np.rint(3.4 + rng.normal(size=n_pos)), 1, 5)
    neg = np.clip(np.rint(2.9 + rng.normal(size=n_neg)), 1, 5)
    return pos, neg


def naive_delong(pos, neg):
    """DeLong (1988) from the n1 x n0 kernel, written out with loops."""
    def psi(x, y):
        return 1.0 if x > y else (0.5 if x == y else 0.0)

    v10 = [sum(psi(x, y) for y in neg) / len(neg) for x in pos]
    v01 = [sum(psi(x, y) for x in pos) / len(pos) for y in neg]
    auc = sum(v10) / len(pos)
    s10 = sum((v - auc) ** 2 for v in v10) / (len(pos) - 1)
    s01 = sum((v - auc) ** 2 for v in v01) / (len(neg) - 1)
    return auc, (s10 / len(pos) + s01 / len(neg)) ** 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_against_naive_kernel_and_sklearn(seed):
    pos, neg = likert_sample(seed=seed)
    result = discrimination.delong(pos, neg)
    auc, se = naive_delong(pos, neg)
    assert result["auc"] == pytest.approx(auc, abs=1e-12)
    assert result["se_delong"] == pytest.approx(se, abs=1e-12)
    truth = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    assert result["auc"] == pytest.approx(roc_auc_score(truth, np.r_[pos, neg]), abs=1e-12)
    lo, hi = result["ci95_delong"]
    assert lo == pytest.approx(auc - 1.959963984540054 * se)
    assert hi == pytest.approx(auc + 1.959963984540054 * se)


def test_delong_se_matches_the_sampling_spread_of_the_auc():
    """Monte Carlo: the mean DeLong SE equals the SD of the AUC over repeated studies."""
    rng = np.random.default_rng(5)
    aucs, ses = [], []
    for _ in range(400):
        result = discrimination.delong(rng.normal(1, 1, 60), rng.normal(0, 1, 50))
        aucs.append(result["auc"])
        ses.append(result["se_delong"])
    assert np.mean(ses) == pytest.approx(np.std(aucs, ddof=1), rel=0.1)


def test_mann_whitney_u_is_auc_times_pairs():
    pos, neg = likert_sample(seed=3)
    mw = discrimination.mann_whitney(pos, neg)
    ref = stats.mannwhitneyu(pos, neg, alternative="two-sided")
    assert mw["u"] == pytest.approx(ref.statistic)
    assert mw["p"] == pytest.approx(ref.pvalue)
    assert mw["u"] / (pos.size * neg.size) == pytest.approx(discrimination.delong(pos, neg)["auc"])


def test_identical_ratings_and_single_class_are_explained():
    same = discrimination.mann_whitney(np.full(5, 3.0), np.full(6, 3.0))
    assert same["p"] is None and "identical" in same["reason"]
    with pytest.raises(UndefinedStatistic, match="both classes"):
        discrimination.delong(np.array([1.0, 2.0]), np.array([]))
    one = discrimination.delong(np.array([4.0]), np.array([1.0, 2.0]))
    assert one["se_delong"] is None and "at least 2" in one["reason"]


def naive_bootstrap(ratings, truth, cases, n_boot, seed):
    """The same resampling written directly: draw cases, expand their ratings, sklearn AUC."""
    frame = pd.DataFrame({"r": ratings, "t": truth, "c": cases})
    codes, _ = pd.factorize(frame["c"])
    frame["code"] = codes
    per_case = [g for _, g in frame.groupby("code", sort=True)]
    case_truth = np.array([g["t"].iloc[0] for g in per_case])
    pos_cases = [g for g, t in zip(per_case, case_truth, strict=True) if t == 1]
    neg_cases = [g for g, t in zip(per_case, case_truth, strict=True) if t == 0]
    rng = np.random.default_rng(seed)
    w_pos = discrimination.resample_counts(rng, len(pos_cases), n_boot)
    w_neg = discrimination.resample_counts(rng, len(neg_cases), n_boot)
    aucs = []
    for b in range(n_boot):
        pos = np.concatenate([np.repeat(g["r"].to_numpy(), w) for g, w in zip(pos_cases, w_pos[b], strict=True)])
        neg = np.concatenate([np.repeat(g["r"].to_numpy(), w) for g, w in zip(neg_cases, w_neg[b], strict=True)])
        aucs.append(roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg]))
    return list(np.percentile(aucs, [2.5, 97.5]))


def clustered_table(n_items=30, n_readers=4, seed=0, continuous=False):
    rng = np.random.default_rng(seed)
    truth = np.arange(n_items) % 2
    latent = rng.normal(size=n_items) + 0.6 * truth
    ratings = latent[:, None] + rng.normal(0, 0.5, (n_items, n_readers))
    if not continuous:
        ratings = np.clip(np.rint(3 + ratings), 1, 5)
    return ratings.ravel(), np.repeat(truth, n_readers), np.repeat(np.arange(n_items), n_readers)


@pytest.mark.parametrize("continuous", [False, True])
def test_bootstrap_closed_form_equals_naive_resampling(continuous, monkeypatch):
    ratings, truth, cases = clustered_table(continuous=continuous)
    if continuous:  # force the case-pair kernel path as well
        monkeypatch.setattr(discrimination, "_HISTOGRAM_MAX_VALUES", 10)
    ours = discrimination.bootstrap_auc_ci(ratings, truth, cases, n_boot=60, seed=7)
    assert ours == pytest.approx(naive_bootstrap(ratings, truth, cases, 60, 7), abs=1e-12)


def test_case_bootstrap_is_wider_than_rating_level_delong_when_ratings_cluster():
    ratings, truth, cases = clustered_table(n_items=80, n_readers=10, seed=2)
    pos, neg = discrimination.split_by_truth(ratings, truth)
    delong = discrimination.delong(pos, neg)
    lo, hi = discrimination.bootstrap_auc_ci(ratings, truth, cases, n_boot=500, seed=0)
    assert lo < delong["auc"] < hi
    assert hi - lo > 1.5 * (delong["ci95_delong"][1] - delong["ci95_delong"][0])


def test_resample_counts_are_draws_with_replacement():
    counts = discrimination.resample_counts(np.random.default_rng(0), 50, 4000)
    assert counts.shape == (4000, 50) and (counts.sum(axis=1) == 50).all()
    # each case is drawn Binomial(50, 1/50) times: mean 1, variance 0.98
    assert counts.mean() == pytest.approx(1.0)
    assert counts.var() == pytest.approx(0.98, rel=0.05)


def test_per_reader_auc_handles_one_class_readers():
    frame = pd.DataFrame({"reader": ["a"] * 4 + ["b"] * 2, "rating": [1, 2, 4, 5, 3, 4],
                          "truth": [0, 0, 1, 1, 1, 1]})
    result = discrimination.per_reader_auc(frame)
    assert result["a"]["auc"] == 1.0
    assert result["b"]["auc"] is None and "both classes" in result["b"]["reason"]


def test_clopper_pearson_and_binomial_test():
    acc = discrimination.binomial_accuracy(7, 10)
    assert acc["accuracy"] == 0.7
    assert acc["p"] == pytest.approx(352 / 1024)  # 2 * P(X >= 7), X ~ Bin(10, 1/2), exact
    lo, hi = acc["ci95"]
    # Clopper–Pearson bounds solve P(X >= 7 | lo) = 0.025 and P(X <= 7 | hi) = 0.025
    assert stats.binom.sf(6, 10, lo) == pytest.approx(0.025, abs=1e-9)
    assert stats.binom.cdf(7, 10, hi) == pytest.approx(0.025, abs=1e-9)
    assert [lo, hi] == pytest.approx(list(proportion_confint(7, 10, method="beta")), abs=1e-10)
    assert discrimination.binomial_accuracy(0, 0)["accuracy"] is None
    for correct, n in ((0, 12), (12, 12), (1, 3), (250, 400)):
        ours = discrimination.binomial_accuracy(correct, n)["ci95"]
        assert ours == pytest.approx(list(proportion_confint(correct, n, method="beta")), abs=1e-10)


def test_forced_choice_per_reader_and_pooled():
    frame = pd.DataFrame({"reader": ["a"] * 4 + ["b"] * 4, "truth": [1, 0, 1, 0] * 2,
                          "forced_choice": [1, 0, 1, 1, 0, 0, np.nan, 1]})
    result = discrimination.forced_choice_accuracy(frame)
    assert result["per_reader"]["a"]["correct"] == 3 and result["per_reader"]["a"]["n"] == 4
    assert result["per_reader"]["b"]["n"] == 3  # the unanswered choice is not counted
    assert result["pooled"]["correct"] == 4 and result["pooled"]["n"] == 7
