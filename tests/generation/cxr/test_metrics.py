"""Benchmark metrics: Fréchet distance, BLEU, F1, AUC."""

from __future__ import annotations

import numpy as np
import pytest

from generation.cxr.metrics import corpus_bleu, f1_table, frechet_distance, per_label_auc


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    x = np.random.default_rng(0).normal(size=(200, 4))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(x, x + 2.0) == pytest.approx(16.0, rel=1e-6)  # |mu diff|^2 = 4 * 2^2
    with pytest.raises(ValueError):
        frechet_distance(x, x[:, :3])


def test_bleu_perfect_partial_and_brevity():
    ref = "large left pleural effusion .".split()
    assert corpus_bleu([ref], [ref]) == pytest.approx({"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0})
    hyp = "large right pleural effusion .".split()
    scores = corpus_bleu([ref], [hyp])
    assert scores["bleu1"] == pytest.approx(0.8)
    assert scores["bleu2"] == pytest.approx((0.8 * 0.5) ** 0.5)
    short = corpus_bleu([ref], [["large", "left"]])
    assert short["bleu1"] == pytest.approx(np.exp(1 - 5 / 2))
    assert corpus_bleu([ref], [[]])["bleu1"] == 0.0


def test_f1_and_auc_tables():
    names = ["a", "b", "c"]
    true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]])
    pred = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]])
    table = f1_table(true, pred, names)
    assert table["per_label"]["a"] == pytest.approx(2 / 3) and table["per_label"]["b"] == 1.0
    assert table["per_label"]["c"] is None and table["macro"] == pytest.approx((2 / 3 + 1) / 2)
    assert table["micro"] == pytest.approx(2 * 3 / (2 * 3 + 0 + 1))
    auc = per_label_auc(true, np.array([[0.9, 0.1, 0.5], [0.8, 0.7, 0.5], [0.1, 0.2, 0.5], [0.2, 0.9, 0.5]]), names)
    assert auc["per_label"] == {"a": 1.0, "b": 1.0, "c": None} and auc["macro"] == 1.0
