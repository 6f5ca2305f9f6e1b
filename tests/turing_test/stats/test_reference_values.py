"""Every published value in shared/reference-data/stats, through the public functions and
through rating_stats() (the management command is covered in test_command.py)."""

from __future__ import annotations

import pytest

from turing_test.stats import agreement, rating_stats

from .reference import assert_published, reference_table, units_by_readers

SHROUT_FLEISS = {"ICC1": 0.166, "ICC2": 0.290, "ICC3": 0.715, "ICC1k": 0.443, "ICC2k": 0.620, "ICC3k": 0.909}
KRIPPENDORFF = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def test_shrout_fleiss_icc_forms_and_ci_public_function():
    matrix, _ = units_by_readers("shrout_fleiss_1979.csv")
    result = agreement.icc(matrix)
    for form, published in SHROUT_FLEISS.items():
        assert_published(result[form]["value"], published, 3)
    lo, hi = result["ICC2"]["ci95"]
    assert_published(lo, 0.02, 2)
    assert_published(hi, 0.76, 2)


def test_shrout_fleiss_through_rating_stats():
    out = rating_stats(reference_table("shrout_fleiss_1979.csv"))
    for form, published in SHROUT_FLEISS.items():
        assert_published(out["icc"][form]["value"], published, 3)
    assert_published(out["icc"]["ICC2"]["ci95"][0], 0.02, 2)
    assert_published(out["icc"]["ICC2"]["ci95"][1], 0.76, 2)
    assert (out["n_items"], out["n_readers"], out["n_ratings"]) == (6, 4, 24)


def test_fleiss_1971_kappa_and_cohen_rater1_rater2():
    matrix, readers = units_by_readers("fleiss1971_irr_diagnoses.csv")
    assert_published(agreement.fleiss_kappa(matrix), 0.430, 3)
    a, b = readers.index("rater1"), readers.index("rater2")
    assert_published(agreement.cohen_kappa(matrix[:, a], matrix[:, b])["unweighted"], 0.651, 3)

    out = rating_stats(reference_table("fleiss1971_irr_diagnoses.csv"))
    assert_published(out["fleiss_kappa"], 0.430, 3)
    pair = next(p for p in out["cohen_kappa"] if p["readers"] == ["rater1", "rater2"])
    assert_published(pair["unweighted"], 0.651, 3)
    assert len(out["cohen_kappa"]) == 15  # every pair of 6 raters


@pytest.mark.parametrize("level", list(KRIPPENDORFF))
def test_krippendorff_2011_worked_example(level):
    matrix, _ = units_by_readers("krippendorff2011_4obs_12units.csv")
    assert_published(agreement.krippendorff_alpha(matrix, level), KRIPPENDORFF[level], 3)


def test_krippendorff_through_rating_stats_with_and_without_declared_scale():
    table = reference_table("krippendorff2011_4obs_12units.csv")
    for scale in (None, "1-5"):
        out = rating_stats(table, scale)
        for level, published in KRIPPENDORFF.items():
            assert_published(out["krippendorff_alpha"][level], published, 3)
    assert out["n_ratings"] == 41 and out["n_items"] == 12


def test_sas_kappa_values_and_asymptotic_se():
    matrix, _ = units_by_readers("sas_kappa_3x3_table.csv")
    result = agreement.cohen_kappa(matrix[:, 0], matrix[:, 1])
    assert_published(result["unweighted"], 0.4842, 4)
    assert_published(result["linear"], 0.4701, 4)
    assert_published(result["se"]["unweighted"], 0.1380, 4)
    assert_published(result["se"]["linear"], 0.1457, 4)

    for scale in (None, "1-3"):  # the table's three categories are the whole scale
        pair = rating_stats(reference_table("sas_kappa_3x3_table.csv"), scale)["cohen_kappa"][0]
        assert pair["readers"] == ["R1", "R2"]
        assert_published(pair["unweighted"], 0.4842, 4)
        assert_published(pair["linear"], 0.4701, 4)
        assert_published(pair["se"]["unweighted"], 0.1380, 4)
        assert_published(pair["se"]["linear"], 0.1457, 4)


def test_sas_table_is_the_published_3x3_table():
    table = reference_table("sas_kappa_3x3_table.csv")
    wide = table.pivot(index="item", columns="reader", values="rating")
    counts = wide.groupby(["R1", "R2"]).size()
    expected = {(1, 2): 4, (1, 3): 1, (2, 2): 8, (3, 2): 1, (3, 3): 5}
    assert counts.to_dict() == expected
