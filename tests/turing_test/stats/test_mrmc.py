"""Obuchowski–Rockette MRMC: the jackknife, the OR <-> DBM identity and the contract shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from turing_test.stats import UndefinedStatistic, discrimination, mrmc
from turing_test.stats.simulate import simulate_study


def study(n_readers=5, n_items=40, modalities=("genA", "genB"), seed=0):
    frame = simulate_study(n_readers, n_items, modalities=modalities, forced_choice=False, seed=seed)
    return frame.drop(columns=["task"])


def test_jackknife_matches_brute_force_case_deletion():
    df = study(n_readers=3, n_items=24)
    jk = mrmc.jackknife_aucs(df)
    cases = sorted(df["item"].unique())
    for i, modality in enumerate(jk["modalities"]):
        for j, reader in enumerate(jk["readers"]):
            cell = df[(df["modality"] == modality) & (df["reader"] == reader)]
            assert jk["theta"][i, j] == pytest.approx(roc_auc_score(cell["truth"], cell["rating"]))
            for k, case in enumerate(cases):
                rest = cell[cell["item"] != case]
                assert jk["jackknife"][k, i, j] == pytest.approx(roc_auc_score(rest["truth"], rest["rating"]), abs=1e-12)


def test_jackknife_covariance_is_the_textbook_formula():
    df = study(n_readers=3, n_items=20)
    jack = mrmc.jackknife_aucs(df)["jackknife"]
    c = jack.shape[0]
    flat = jack.reshape(c, -1)
    brute = np.array([[(c - 1) / c * sum((flat[k, a] - flat[:, a].mean()) * (flat[k, b] - flat[:, b].mean())
                                          for k in range(c)) for b in range(flat.shape[1])]
                      for a in range(flat.shape[1])])
    assert mrmc.jackknife_covariance(jack) == pytest.approx(brute, abs=1e-14)


def dbm_anova(theta, jack):
    """DBM: three-way ANOVA (modality x reader x case) of jackknife pseudovalues, written
    independently of the OR code. Returns the mean squares by effect name."""
    c = jack.shape[0]
    y = c * theta[:, :, None] - (c - 1) * np.moveaxis(jack, 0, -1)  # t x r x c pseudovalues
    t, r, _ = y.shape
    m = y.mean()
    mt, mr, mc = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    mtr, mtc, mrc = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    ss = {
        "T": r * c * ((mt - m) ** 2).sum(), "R": t * c * ((mr - m) ** 2).sum(), "C": t * r * ((mc - m) ** 2).sum(),
        "TR": c * ((mtr - mt[:, None] - mr[None, :] + m) ** 2).sum(),
        "TC": r * ((mtc - mt[:, None] - mc[None, :] + m) ** 2).sum(),
        "RC": t * ((mrc - mr[:, None] - mc[None, :] + m) ** 2).sum(),
    }
    ss["TRC"] = ((y - m) ** 2).sum() - sum(ss.values())
    df = {"T": t - 1, "R": r - 1, "C": c - 1, "TR": (t - 1) * (r - 1), "TC": (t - 1) * (c - 1),
          "RC": (r - 1) * (c - 1), "TRC": (t - 1) * (r - 1) * (c - 1)}
    return {k: ss[k] / df[k] for k in ss if df[k] > 0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_or_with_jackknife_equals_dbm_with_hillis_df(seed):
    """Hillis et al. (2005): OR with jackknife covariances and DBM give the same F test."""
    df = study(seed=seed)
    result = mrmc.obuchowski_rockette(df)
    jk = mrmc.jackknife_aucs(df)
    ms = dbm_anova(jk["theta"], jk["jackknife"])
    t, r = jk["theta"].shape
    denom = ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0)
    f_dbm = ms["T"] / denom
    ddf = denom**2 / (ms["TR"] ** 2 / ((t - 1) * (r - 1)))
    assert result["f"] == pytest.approx(f_dbm, rel=1e-9)
    assert result["df2"] == pytest.approx(ddf, rel=1e-9)
    assert result["p"] == pytest.approx(stats.f.sf(f_dbm, t - 1, ddf), rel=1e-9)
    c = jk["jackknife"].shape[0]
    half = stats.t.ppf(0.975, ddf) * np.sqrt(2 * denom / (r * c))
    assert result["diff_ci95"] == pytest.approx([result["diff"] - half, result["diff"] + half], rel=1e-9)


def test_single_modality_ci_equals_dbm_single_treatment():
    df = study(n_readers=6, modalities=None, seed=3)
    result = mrmc.obuchowski_rockette(df)
    jk = mrmc.jackknife_aucs(df)
    theta, jack = jk["theta"], jk["jackknife"]
    c, r = jack.shape[0], theta.shape[1]
    y = c * theta[0][:, None] - (c - 1) * jack[:, 0, :].T  # readers x cases pseudovalues
    ms_r = c * ((y.mean(axis=1) - y.mean()) ** 2).sum() / (r - 1)
    ms_c = r * ((y.mean(axis=0) - y.mean()) ** 2).sum() / (c - 1)
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    ms_rc = (resid**2).sum() / ((r - 1) * (c - 1))
    denom = ms_r + max(ms_c - ms_rc, 0.0)
    ddf = denom**2 / (ms_r**2 / (r - 1))
    half = stats.t.ppf(0.975, ddf) * np.sqrt(denom / (r * c))
    auc = theta.mean()
    assert list(result["auc_by_modality"]) == ["all"]
    assert result["auc_by_modality"]["all"] == pytest.approx(auc)
    assert result["ci95_by_modality"]["all"] == pytest.approx([auc - half, auc + half], rel=1e-9)
    assert result["df_by_modality"]["all"] == pytest.approx(ddf, rel=1e-9)
    assert "diff" not in result and "f" not in result


def test_one_reader_jackknife_variance_is_close_to_delong():
    df = study(n_readers=1, n_items=300, modalities=None, seed=4)
    jk = mrmc.jackknife_aucs(df)
    jack_var = mrmc.jackknife_covariance(jk["jackknife"])[0, 0]
    pos, neg = discrimination.split_by_truth(df["rating"], df["truth"])
    assert np.sqrt(jack_var) == pytest.approx(discrimination.delong(pos, neg)["se_delong"], rel=0.05)
    with pytest.raises(UndefinedStatistic, match="at least 2 readers"):
        mrmc.obuchowski_rockette(df)


def test_reader_averaged_auc_and_difference_sign():
    df = study(seed=5)
    result = mrmc.obuchowski_rockette(df)
    for modality in ("genA", "genB"):
        part = df[df["modality"] == modality]
        per_reader = [roc_auc_score(g["truth"], g["rating"]) for _, g in part.groupby("reader")]
        assert result["auc_by_modality"][modality] == pytest.approx(np.mean(per_reader))
        lo, hi = result["ci95_by_modality"][modality]
        assert lo < result["auc_by_modality"][modality] < hi
    assert result["diff"] == pytest.approx(result["auc_by_modality"]["genA"] - result["auc_by_modality"]["genB"])
    renamed = df.assign(modality=df["modality"].map({"genA": "zeta", "genB": "alpha"}))
    swapped = mrmc.obuchowski_rockette(renamed)
    assert swapped["diff"] == pytest.approx(-result["diff"])  # first minus second in sorted order
    assert swapped["p"] == pytest.approx(result["p"])


def test_identical_modalities_give_a_reason_not_nan():
    one = study(modalities=None, seed=6)
    df = pd.concat([one.assign(modality="A"), one.assign(modality="B")], ignore_index=True)
    result = mrmc.obuchowski_rockette(df)
    assert result["diff"] == 0.0
    assert result["f"] is None and result["p"] is None
    assert any("undefined" in note for note in result["notes"])


def test_incomplete_design_is_flagged_and_missing_cells_refused():
    df = study(seed=7)
    drop = df[(df["reader"] == "reader000") & (df["item"] == df["item"].iloc[0])].index
    result = mrmc.obuchowski_rockette(df.drop(index=drop))
    assert any("fully crossed" in note for note in result["notes"])
    no_cell = df[~((df["reader"] == "reader001") & (df["modality"] == "genB"))]
    with pytest.raises(UndefinedStatistic, match="no ratings under modality genB"):
        mrmc.obuchowski_rockette(no_cell)
