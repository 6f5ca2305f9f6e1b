"""rating_stats(): the exact contract keys, JSON safety and the bad-input edge cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from turing_test.stats import RatingTableError, rating_stats
from turing_test.stats.simulate import simulate_study
from turing_test.stats.summary import format_summary, to_jsonable

ICC_FORMS = {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}


def long_table(n_readers=4, n_items=30, modalities=None, seed=0):
    frame = simulate_study(n_readers, n_items, modalities=modalities, forced_choice=False, seed=seed)
    return frame.drop(columns=["task"])


def dumps(result):
    return json.dumps(result, allow_nan=False)  # raises on NaN / inf


def test_contract_keys_with_truth_and_two_modalities():
    out = rating_stats(long_table(modalities=("genA", "genB")), "1-5", n_bootstrap=200)
    dumps(out)
    for key in ("n_items", "n_readers", "n_ratings", "icc", "krippendorff_alpha", "fleiss_kappa",
                "cohen_kappa", "kendall_w", "discrimination", "per_reader_auc", "mrmc"):
        assert key in out
    assert (out["n_items"], out["n_readers"], out["n_ratings"]) == (30, 4, 240)
    assert set(out["icc"]) == ICC_FORMS
    for entry in out["icc"].values():
        assert {"value", "ci95"} <= set(entry) and len(entry["ci95"]) == 2
    assert set(out["krippendorff_alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    assert len(out["cohen_kappa"]) == 6
    assert {"readers", "unweighted", "linear", "quadratic"} <= set(out["cohen_kappa"][0])
    assert set(out["kendall_w"]) == {"w", "chi2", "df", "p"}
    assert {"auc", "se_delong", "ci95_delong", "mann_whitney_u", "p"} <= set(out["discrimination"])
    assert set(out["per_reader_auc"]) == {"reader000", "reader001", "reader002", "reader003"}
    m = out["mrmc"]
    assert {"auc_by_modality", "ci95_by_modality", "diff", "diff_ci95", "f", "df1", "df2", "p"} <= set(m)
    assert list(m["auc_by_modality"]) == ["genA", "genB"]
    assert m["diff"] == pytest.approx(m["auc_by_modality"]["genA"] - m["auc_by_modality"]["genB"])
    assert out["notes"] == {}


def test_without_truth_there_is_no_discrimination_section():
    out = rating_stats(long_table().drop(columns=["truth"]))
    assert "discrimination" not in out and "mrmc" not in out and "per_reader_auc" not in out
    dumps(out)


def test_without_modality_mrmc_has_one_modality_and_no_comparison():
    out = rating_stats(long_table(), n_bootstrap=0)
    assert list(out["mrmc"]["auc_by_modality"]) == ["all"]
    assert "diff" not in out["mrmc"]
    assert "ci95_bootstrap" not in out["discrimination"]


def test_bootstrap_is_reproducible_and_brackets_the_auc():
    table = long_table()
    a = rating_stats(table, n_bootstrap=300, seed=3)["discrimination"]
    b = rating_stats(table, n_bootstrap=300, seed=3)["discrimination"]
    assert a["ci95_bootstrap"] == b["ci95_bootstrap"]
    assert a["ci95_bootstrap"][0] < a["auc"] < a["ci95_bootstrap"][1]


def test_one_reader_gives_nulls_with_reasons():
    table = long_table(n_readers=1)
    out = rating_stats(table, "1-5")
    dumps(out)
    for key in ("icc", "krippendorff_alpha", "fleiss_kappa", "kendall_w", "mrmc"):
        assert out[key] is None
        assert "reader" in out["notes"][key]
    assert out["cohen_kappa"] == [] and "reader pairs" in out["notes"]["cohen_kappa"]
    assert out["discrimination"]["auc"] is not None  # one reader can still be scored
    assert out["per_reader_auc"]["reader000"] is not None
    assert any("one reader" in w for w in out["warnings"])


def test_all_identical_ratings_give_nulls_not_nan():
    table = long_table().assign(rating=3)
    out = rating_stats(table, "1-5", n_bootstrap=100)
    text = dumps(out)
    assert "NaN" not in text
    for key in ("icc", "krippendorff_alpha", "fleiss_kappa", "kendall_w"):
        assert out[key] is None and out["notes"][key]
    assert all(p["unweighted"] is None for p in out["cohen_kappa"])
    assert out["discrimination"]["auc"] == 0.5 and out["discrimination"]["p"] is None
    assert "identical" in out["notes"]["discrimination.p"]
    assert out["discrimination"]["ci95_delong"] == [None, None]
    assert out["discrimination"]["ci95_bootstrap"] is None
    assert out["mrmc"]["ci95_by_modality"]["all"] == [None, None]


def test_one_truth_class_gives_null_discrimination():
    out = rating_stats(long_table().assign(truth=1))
    dumps(out)
    for key in ("discrimination", "per_reader_auc", "mrmc"):
        assert out[key] is None
        assert "one class" in out["notes"][key]
    assert out["icc"] is not None  # agreement does not need truth


def test_missing_ratings_drop_items_from_icc_but_not_from_krippendorff():
    table = long_table(n_readers=3, n_items=20)
    table = table.drop(index=table.index[:2])  # item 0 loses two ratings
    out = rating_stats(table, n_bootstrap=0)
    assert out["n_complete_items"] == 19
    assert out["icc"]["ICC2"]["value"] is not None
    assert out["krippendorff_alpha"]["interval"] is not None


@pytest.mark.parametrize("bad,fragment", [
    (pd.DataFrame({"item": [1], "reader": ["a"]}), "missing required column(s): rating"),
    (pd.DataFrame({"item": [1, 2], "reader": ["a", "a"], "rating": [3, 9]}), "outside the declared scale"),
])
def test_bad_tables_raise_one_line_errors(bad, fragment):
    with pytest.raises(RatingTableError, match=None) as info:
        rating_stats(bad, "1-5")
    assert fragment in str(info.value)


def test_several_tasks_must_be_analysed_one_at_a_time():
    table = simulate_study(3, 10, ("realism", "coherence"), forced_choice=False)
    with pytest.raises(RatingTableError, match="2 tasks .*one task at a time"):
        rating_stats(table)
    one = rating_stats(table[table["task"] == "realism"], n_bootstrap=0)
    assert one["n_items"] == 10


def test_to_jsonable_never_lets_a_nan_through_silently():
    notes = {}
    clean = to_jsonable({"a": np.float64("nan"), "b": [np.int64(2), (1.5, np.inf)]}, notes)
    assert clean == {"a": None, "b": [2, [1.5, None]]}
    assert set(notes) == {"a", "b[1][1]"}


def test_readable_summary_mentions_every_section():
    text = format_summary(rating_stats(long_table(modalities=("A", "B")), "1-5", n_bootstrap=100))
    for fragment in ("ICC2k", "Krippendorff", "Fleiss", "Kendall", "Cohen", "AUC (pooled)", "OR-MRMC", "difference"):
        assert fragment in text


def export_layouts(seed=0):
    """The two layouts of turing_test.exports: 'ratings' (every rating once, real items under
    modality 'real') and 'mrmc' (real ratings repeated per generator, copies flagged)."""
    rng = np.random.default_rng(seed)
    rows = []
    for reader in ("R01", "R02", "R03"):
        bias = rng.normal(0, 0.3)
        for i in range(12):
            rows.append({"item": f"real{i}", "reader": reader, "truth": 1, "modality": "real",
                         "rating": int(np.clip(np.rint(3.5 + bias + rng.normal()), 1, 5))})
        for gen in ("genA", "genB"):
            for i in range(12):
                rows.append({"item": f"{gen}{i}", "reader": reader, "truth": 0, "modality": gen,
                             "rating": int(np.clip(np.rint(2.8 + bias + rng.normal()), 1, 5))})
    ratings = pd.DataFrame(rows).assign(replicated=0)
    real = ratings[ratings["truth"] == 1]
    mrmc_layout = pd.concat([ratings[ratings["truth"] == 0],
                             real.assign(modality="genA"), real.assign(modality="genB", replicated=1)],
                            ignore_index=True)
    return ratings, mrmc_layout


def test_export_mrmc_layout_counts_each_rating_once_and_compares_generators():
    ratings, mrmc_layout = export_layouts()
    a = rating_stats(ratings, "1-5", n_bootstrap=0)
    b = rating_stats(mrmc_layout, "1-5", n_bootstrap=0)
    assert b["n_ratings"] == a["n_ratings"] == len(ratings)
    assert b["discrimination"]["auc"] == pytest.approx(a["discrimination"]["auc"])
    assert b["krippendorff_alpha"] == pytest.approx(a["krippendorff_alpha"])
    assert b["icc"]["ICC2"]["value"] == pytest.approx(a["icc"]["ICC2"]["value"])
    assert list(b["mrmc"]["auc_by_modality"]) == ["genA", "genB"] and b["mrmc"]["p"] is not None
    assert any("replicated" in w for w in b["warnings"])
    assert "share 12 of 36 cases" in b["notes"]["mrmc"]  # real items shared, synthetic per generator
    # the 'ratings' layout has a real-only modality: MRMC explains why it cannot run
    assert a["mrmc"] is None and "one truth class" in a["notes"]["mrmc"]
