"""Agreement coefficients against independent computations and the known pitfalls."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from turing_test.stats import UndefinedStatistic, agreement

from .reference import assert_published, units_by_readers


def random_ratings(n_items=30, n_readers=5, seed=0, missing=0.0):
    rng = np.random.default_rng(seed)
    item = rng.normal(size=(n_items, 1))
    reader = rng.normal(0, 0.5, size=(1, n_readers))
    x = np.clip(np.rint(3 + item + reader + rng.normal(0, 0.8, (n_items, n_readers))), 1, 5)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x


def to_long(matrix):
    rows, cols = np.nonzero(~np.isnan(matrix))
    return pd.DataFrame({"item": rows, "reader": cols, "rating": matrix[rows, cols]})


@pytest.mark.parametrize("seed,missing", [(0, 0.0), (1, 0.0), (2, 0.05)])
def test_icc_matches_pingouin_on_random_data(seed, missing, monkeypatch):
    matrix = random_ratings(seed=seed, missing=missing)
    ours = agreement.icc(matrix)
    # pingouin rounds CIs to 2 decimals by default; compare at full precision
    monkeypatch.setitem(pingouin.options, "round.column.CI95%", None)
    theirs = pingouin.intraclass_corr(to_long(matrix), targets="item", raters="reader",
                                      ratings="rating", nan_policy="omit").set_index("Type")
    for form in agreement.ICC_FORMS:
        assert ours[form]["value"] == pytest.approx(theirs.loc[form, "ICC"], abs=1e-10)
        assert ours[form]["ci95"] == pytest.approx(list(theirs.loc[form, "CI95%"]), abs=1e-10)
        assert ours[form]["f"] == pytest.approx(theirs.loc[form, "F"], rel=1e-10)
        assert ours[form]["p"] == pytest.approx(theirs.loc[form, "pval"], rel=1e-8, abs=1e-300)


def test_icc_degenerate_cases_are_explained():
    with pytest.raises(UndefinedStatistic, match="at least 2 readers"):
        agreement.icc(np.ones((5, 1)))
    with pytest.raises(UndefinedStatistic, match="identical"):
        agreement.icc(np.full((5, 3), 4.0))
    with pytest.raises(UndefinedStatistic, match="at least 2 items"):
        agreement.icc(np.array([[1.0, 2.0], [np.nan, 3.0]]))
    perfect = agreement.icc(np.array([[1.0, 1, 1], [2, 2, 2], [4, 4, 4]]))
    assert perfect["ICC2"]["value"] == 1.0
    assert perfect["ICC2"]["ci95"] == [None, None] and "residual" in perfect["ICC2"]["reason"]


def test_icc2k_lower_bound_past_the_spearman_brown_pole_is_unbounded_not_garbage():
    # two readers who disagree: the ICC(2,1) lower bound falls below -1/(k-1) = -1, where
    # k L / (1 + (k-1) L) flips to a large positive number (psych and pingouin print it)
    x = np.array([[4, 3], [2, 3], [5, 2], [1, 4], [3, 3], [2, 1]], dtype=float)
    result = agreement.icc(x)
    assert result["ICC2"]["ci95"][0] < -1
    assert result["ICC2k"]["ci95"][0] is None and "unbounded" in result["ICC2k"]["reason"]
    assert result["ICC2k"]["ci95"][1] is not None and result["ICC2k"]["ci95"][1] < 1


def test_krippendorff_transposition_pitfall():
    """The library wants readers x units; given units x readers it silently returns nonsense."""
    units_x_readers, _ = units_by_readers("krippendorff2011_4obs_12units.csv")
    right = krippendorff.alpha(reliability_data=units_x_readers.T, level_of_measurement="nominal")
    wrong = krippendorff.alpha(reliability_data=units_x_readers, level_of_measurement="nominal")
    assert_published(right, 0.743, 3)
    assert abs(wrong - 0.743) > 0.5  # -0.055: no error, just a wrong number
    # our wrapper takes the units x readers layout of every other function in the module
    assert agreement.krippendorff_alpha(units_x_readers, "nominal") == pytest.approx(right)


def test_krippendorff_undefined_cases():
    with pytest.raises(UndefinedStatistic, match="identical"):
        agreement.krippendorff_alpha(np.full((4, 3), 2.0), "interval")
    with pytest.raises(UndefinedStatistic, match="at least 2 readers"):
        agreement.krippendorff_alpha(np.ones((4, 1)), "interval")
    with pytest.raises(UndefinedStatistic, match="at least 2 readers"):
        agreement.krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]]), "nominal")


def naive_weighted_kappa(a, b, categories, power):
    """Textbook definition with disagreement weights |i - j|^power over the category list."""
    k, n = len(categories), len(a)
    index = {c: i for i, c in enumerate(categories)}
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1 / n
    expected = np.outer(observed.sum(1), observed.sum(0))
    i, j = np.indices((k, k))
    v = (i != j).astype(float) if power == 0 else np.abs(i - j) ** power
    return 1 - (v * observed).sum() / (v * expected).sum()


def test_weighted_kappa_declared_scale_vs_observed_categories():
    # nobody in the pair used 2 or 5: with the observed categories (1, 3, 4) the step 1 -> 3 counts
    # as one category apart, on the declared 1-5 scale as two. (A gap-free run of observed
    # categories gives the same kappa either way: the weight normalisation cancels.)
    a = [1, 3, 4, 3, 1, 4, 3, 3, 1]
    b = [1, 4, 4, 3, 3, 3, 1, 3, 3]
    observed = agreement.cohen_kappa(a, b)
    declared = agreement.cohen_kappa(a, b, categories=[1, 2, 3, 4, 5])
    assert observed["unweighted"] == pytest.approx(declared["unweighted"])  # empty categories are inert
    for name, power in (("linear", 1), ("quadratic", 2)):
        assert observed[name] == pytest.approx(naive_weighted_kappa(a, b, [1, 3, 4], power))
        assert declared[name] == pytest.approx(naive_weighted_kappa(a, b, [1, 2, 3, 4, 5], power))
        assert declared[name] != pytest.approx(observed[name], abs=1e-3)  # the choice matters
        assert observed[name] == pytest.approx(cohen_kappa_score(a, b, weights=name))
        assert declared[name] == pytest.approx(cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights=name))


@pytest.mark.parametrize("seed", [3, 4])
def test_cohen_kappa_and_se_match_statsmodels(seed):
    matrix = random_ratings(n_items=60, n_readers=2, seed=seed)
    ours = agreement.cohen_kappa(matrix[:, 0], matrix[:, 1], categories=[1, 2, 3, 4, 5])
    table = pd.crosstab(pd.Categorical(matrix[:, 0], [1, 2, 3, 4, 5]),
                        pd.Categorical(matrix[:, 1], [1, 2, 3, 4, 5]), dropna=False).to_numpy()
    for name, wt in (("unweighted", None), ("linear", "linear"), ("quadratic", "quadratic")):
        ref = sm_cohens_kappa(table, wt=wt)
        assert ours[name] == pytest.approx(ref.kappa, abs=1e-12)
        assert ours["se"][name] == pytest.approx(ref.std_kappa, abs=1e-12)


def test_cohen_kappa_undefined_when_both_readers_use_one_category():
    result = agreement.cohen_kappa([3, 3, 3], [3, 3, 3])
    assert result["unweighted"] is None and result["linear"] is None and "reason" in result
    pairs = agreement.pairwise_cohen_kappa(np.array([[1.0, np.nan], [2.0, np.nan]]), ["a", "b"])
    assert pairs[0]["unweighted"] is None and "no item in common" in pairs[0]["reason"]


def test_kendall_w_tie_correction_by_hand():
    # 4 items x 3 readers. Ranks within reader (mid-ranks for ties):
    #   r1: 1 2 2 3 -> 1, 2.5, 2.5, 4  (one tie of 2: T = 2^3 - 2 = 6)
    #   r2: 2 2 3 3 -> 1.5, 1.5, 3.5, 3.5  (two ties of 2: T = 12)
    #   r3: 1 3 2 4 -> 1, 3, 2, 4  (T = 0)
    # Rank sums 3.5, 7, 8, 11.5; mean m(n+1)/2 = 7.5; S = 16 + .25 + .25 + 16 = 32.5
    # W = 12 S / (m^2 (n^3 - n) - m sum T) = 390 / (540 - 54) = 390 / 486
    x = np.array([[1, 2, 1], [2, 2, 3], [2, 3, 2], [3, 3, 4]], dtype=float)
    result = agreement.kendall_w(x)
    assert result["w"] == pytest.approx(390 / 486)
    assert result["chi2"] == pytest.approx(3 * 3 * 390 / 486)
    assert result["df"] == 3
    assert result["p"] == pytest.approx(stats.chi2.sf(3 * 3 * 390 / 486, 3))
    # without the correction W would be 390 / 540: the tie correction is applied
    assert result["w"] > 390 / 540 + 0.05
    # and chi2 is Friedman's tie-corrected statistic (scipy, computed independently)
    assert result["chi2"] == pytest.approx(stats.friedmanchisquare(*x).statistic)


def test_kendall_w_and_fleiss_undefined_cases():
    with pytest.raises(UndefinedStatistic, match="same rating"):
        agreement.kendall_w(np.full((5, 3), 3.0))
    with pytest.raises(UndefinedStatistic, match="at least 2 readers"):
        agreement.kendall_w(np.ones((5, 1)))
    with pytest.raises(UndefinedStatistic, match="one category"):
        agreement.fleiss_kappa(np.full((5, 3), 3.0))
    with pytest.raises(UndefinedStatistic, match="rated by every reader"):
        agreement.fleiss_kappa(np.array([[1.0, np.nan], [np.nan, 2.0]]))
