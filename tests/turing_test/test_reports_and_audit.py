"""Report normalisation and the blinding-audit classifier (pure modules, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from turing_test.blinding_audit import cues_audit, header_features, image_features, report_features
from turing_test.reports import report_normalise, report_sections


def test_one_format_whatever_the_style():
    dictated = report_normalise(
        findings="FINDINGS: PA and lateral views.\n- No focal consolidation\n- Small left pleural effusion",
        impression="1. Small left effusion.\n2. No pneumothorax.",
    )
    generated = report_normalise(
        findings="pa and lateral views . no focal consolidation . small left pleural effusion .",
        impression="small left effusion . no pneumothorax .",
    )
    shouting = report_normalise(
        findings="PA AND LATERAL VIEWS.  NO FOCAL CONSOLIDATION.\n\nSMALL LEFT PLEURAL EFFUSION.",
        impression="SMALL LEFT EFFUSION. NO PNEUMOTHORAX.",
    )
    expected = (
        "FINDINGS:\nPA and lateral views. No focal consolidation. Small left pleural effusion.\n\n"
        "IMPRESSION:\nSmall left effusion. No pneumothorax."
    )
    assert dictated == generated == shouting == expected
    assert report_sections(expected) == (
        "PA and lateral views. No focal consolidation. Small left pleural effusion.",
        "Small left effusion. No pneumothorax.",
    )


def test_empty_sections_and_decimals():
    text = report_normalise(findings="Nodule measuring 1.5 cm in the RUL", impression="")
    assert text == "FINDINGS:\nNodule measuring 1.5 cm in the RUL.\n\nIMPRESSION:\nNone."


def _rows(n, rng, separating):
    rows, labels = [], []
    for i in range(n):
        synthetic = i % 2
        noise = 5 + (20 * synthetic if separating else 0)
        image = rng.normal(100, noise, (48, 48))
        header = {"Manufacturer": "", "Modality": "CT"}
        rows.append({**image_features(image, (1.0, 1.0)), **header_features(header, n_elements=40, n_private=0)})
        labels.append(synthetic)
    return rows, labels


def test_audit_flags_a_pixel_cue():
    rows, labels = _rows(20, np.random.default_rng(0), separating=True)
    result = cues_audit(rows, labels, permutations=10)
    assert result.auc >= 0.9 and result.warning
    assert any("noise" in c.feature or "std" in c.feature or "gradient" in c.feature for c in result.worst_cues)


def test_audit_quiet_without_cues():
    rows, labels = _rows(20, np.random.default_rng(1), separating=False)
    result = cues_audit(rows, labels, permutations=10)
    assert result.auc < 0.75
    assert result.auc_permutation_p is not None and result.auc_permutation_p > 0.05


def test_audit_flags_a_header_cue_and_drops_constants():
    rows = [header_features({"Manufacturer": "ACME" if i % 2 == 0 else "RadSynth", "Modality": "CT"}) for i in range(12)]
    result = cues_audit(rows, [i % 2 for i in range(12)], permutations=0)
    assert result.warning
    assert result.worst_cues[0].feature.startswith("header.Manufacturer=")
    assert result.worst_cues[0].auc == 1.0
    assert result.constant_features > 0  # Modality and absent keys are identical everywhere


def test_audit_needs_enough_items():
    result = cues_audit([report_features("a"), report_features("bb")], [0, 1])
    assert result.auc is None and "Too few" in result.messages[0]


def test_audit_rejects_bad_labels():
    with pytest.raises(ValueError):
        cues_audit([{}, {}], [0, 2])
