"""Study report: Table 7 layout, every format, pseudonymisation, bad input."""

from __future__ import annotations

import base64
import io
import json
import re

import openpyxl
import pandas as pd
import pytest

from turing_test.stats import RatingTableError
from turing_test.stats.report import build_study_report, pseudonymise_readers
from turing_test.stats.simulate import simulate_study

TASKS = ("image realism", "report coherence")


@pytest.fixture(scope="module")
def study():
    return simulate_study(4, 30, TASKS, seed=2)


@pytest.fixture(scope="module")
def report(study):
    return build_study_report(study, title="Demo study", n_bootstrap=100)


def test_table7_layout_is_task_by_real_and_synthetic(report, study):
    rows = {row["task"]: row for row in report.results["table7"]}
    assert list(rows) == sorted(TASKS)
    for task in TASKS:
        part = study[study["task"] == task]
        real = part.loc[part["truth"] == 1, "rating"]
        assert rows[task]["real"]["mean"] == pytest.approx(real.mean())
        assert rows[task]["real"]["sd"] == pytest.approx(real.std(ddof=1))
        assert rows[task]["real_label"] == f"{real.mean():.2f} ± {real.std(ddof=1):.2f}"
        assert rows[task]["synthetic"]["n"] == int((part["truth"] == 0).sum())


def test_every_statistic_is_reported_per_task(report):
    for task in TASKS:
        res = report.results["per_task"][task]
        for key in ("icc", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "kendall_w",
                    "discrimination", "per_reader_auc", "mrmc", "forced_choice", "by_truth"):
            assert res[key] is not None, key
        assert res["discrimination"]["ci95_bootstrap"] is not None
        assert set(res["forced_choice"]["per_reader"]) == {"R01", "R02", "R03", "R04"}
        assert res["forced_choice"]["auc_signed_confidence"]["auc"] is not None


def test_html_has_tables_and_embedded_figures(report):
    html = report.to_html()
    assert html.startswith("<!DOCTYPE html>") and "Demo study" in html
    assert "Real (mean ± SD)" in html and report.results["table7"][0]["real_label"] in html
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) == 4  # distributions, ROC curves, AUC and accuracy heatmaps
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def test_pdf_json_csv_xlsx(report, tmp_path):
    assert report.to_pdf()[:5] == b"%PDF-"
    parsed = json.loads(report.to_json())
    json.dumps(parsed, allow_nan=False)
    results = pd.read_csv(io.BytesIO(report.to_csv()))
    assert {"task", "section", "statistic", "group", "value", "ci95_lo", "ci95_hi", "p", "n"} <= set(results.columns)
    assert {"agreement", "discrimination", "mrmc", "forced_choice", "cohen_kappa"} <= set(results["section"])
    book = openpyxl.load_workbook(io.BytesIO(report.to_xlsx(include_ratings=True)), read_only=True)
    assert book.sheetnames == ["Table 7", "Results", "Per reader", "Notes", "Ratings"]
    paths = report.write(tmp_path)
    assert all(path.stat().st_size > 0 for path in paths.values())


def test_readers_are_pseudonymised_in_every_export(report, study):
    exports = [report.to_html(), report.to_json().decode(), report.to_csv().decode(), report.ratings_csv().decode()]
    book = openpyxl.load_workbook(io.BytesIO(report.to_xlsx(include_ratings=True)), read_only=True)
    exports.append(" ".join(str(c) for ws in book for row in ws.iter_rows(values_only=True) for c in row))
    for reader in study["reader"].unique():
        assert all(reader not in text for text in exports), reader
    assert set(report.ratings["reader"]) == {"R01", "R02", "R03", "R04"}


def test_real_identities_only_when_asked(study):
    named = build_study_report(study, pseudonymise=False, n_bootstrap=0)
    assert "reader000" in named.to_html()
    assert named.results["readers_pseudonymised"] is False


def test_pseudonyms_follow_sorted_ids_and_widen_past_99():
    frame = pd.DataFrame({"reader": [f"u{i}" for i in range(120)]})
    renamed, mapping = pseudonymise_readers(frame)
    assert mapping["u0"] == "R001" and renamed["reader"].nunique() == 120


def test_forced_choice_words_and_bad_values(study):
    worded = study.assign(forced_choice=study["forced_choice"].map({1: "Real", 0: "synthetic"}))
    result = build_study_report(worded, n_bootstrap=0).results["per_task"]["image realism"]["forced_choice"]
    assert result["pooled"]["n"] == 120
    with pytest.raises(RatingTableError, match="forced_choice must be"):
        build_study_report(study.assign(forced_choice="maybe"), n_bootstrap=0)


def test_report_needs_task_and_truth(study):
    with pytest.raises(RatingTableError, match="missing required column: task"):
        build_study_report(study.drop(columns=["task"]))
    with pytest.raises(RatingTableError, match="truth"):
        build_study_report(study.drop(columns=["truth"]))


def test_degenerate_task_still_renders(study):
    flat = study.copy()
    flat.loc[flat["task"] == "report coherence", "rating"] = 3
    report = build_study_report(flat, n_bootstrap=50)
    res = report.results["per_task"]["report coherence"]
    assert res["icc"] is None and "identical" in res["notes"]["icc"]
    assert "identical" in report.to_html()
    assert report.to_pdf()[:5] == b"%PDF-"
    json.dumps(report.results, allow_nan=False)
