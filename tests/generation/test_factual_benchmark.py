"""The factual-correctness benchmark's machinery on a tiny configuration (benchmarks/ct_factual).

Untrained generator weights, a tiny classifier trained for a few steps on a handful of small real
phantoms, three held-out reports, one diffusion step: only the plumbing and the well-formedness
of the outputs are checked here, never the numbers (those come from the benchmark script).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.ct_factual import classifier as clf
from benchmarks.ct_factual.cli import build_parser, config_from_args, write_outputs
from benchmarks.ct_factual.heldout import select_reports
from benchmarks.ct_factual.metrics import (
    auc,
    bootstrap_macro,
    evaluable_findings,
    json_safe,
    pairwise_diversity,
)
from benchmarks.ct_factual.runner import BenchConfig, _weights_stamp, generate_cached, run_benchmark
from generation.phantom import FINDING_NAMES, make_case


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"non-finite number {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    s = np.round(rng.random(40), 1)  # many ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))
    with pytest.raises(ValueError):
        auc(np.ones(5), np.arange(5.0))


def test_findings_without_enough_positives_get_a_reason():
    labels = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 1], [0, 0, 1], [0, 0, 0], [0, 0, 1]])
    keep, skipped = evaluable_findings(labels, ["a", "b", "c"], min_positives=3, min_negatives=3)
    assert keep == [0]
    assert "1 positive" in skipped["b"] and "negative" in skipped["c"]


def test_bootstrap_is_paired_and_diversity_is_zero_for_identical_samples():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (30, 2))
    good = y + 0.3 * rng.random((30, 2))
    noise = rng.random((30, 2))
    boot = bootstrap_macro(y, {"1": noise, "5": good}, [0, 1], reference="1", n_boot=50)
    lo, hi = boot["5"]["macro_ci95"]
    assert 0.0 <= lo <= hi <= 1.0
    assert boot["5"]["diff_vs_reference"]["ci95"][0] > 0  # clearly better, paired
    v = rng.integers(-1000, 1000, (6, 8, 8)).astype(np.int16)
    same = pairwise_diversity([v, v.copy()], 2000.0)
    assert same["mean_abs_diff_hu"] == 0.0 and same["one_minus_ssim"] == pytest.approx(0.0, abs=1e-9)
    other = pairwise_diversity([v, v.copy(), -v], 2000.0)
    assert other["pairs"] == 3 and other["mean_abs_diff_hu"] > 0
    assert json_safe({"x": np.float32(np.nan), "y": np.arange(2)}) == {"x": None, "y": [0, 1]}


def test_cli_defaults_follow_the_issue():
    args = build_parser().parse_args([])
    cfg = config_from_args(args)
    assert cfg.guidance == [1.0, 3.0, 5.0, 7.0] and cfg.steps == 30
    assert cfg.report_seed != 20261123 and cfg.seeds_per_report >= 2


def test_tiny_benchmark_run_is_well_formed(untrained_weights_dir, tmp_path):
    names = tuple(FINDING_NAMES)
    # a tiny judge, trained a few steps on a handful of small REAL phantoms
    cases = [make_case(s, shape=(16, 24, 24), spacing_mm=(20.0, 14.0, 14.0), drr=False, keep_masks=False)
             for s in range(6)]  # fmt: skip
    vols = np.stack([c.volume_hu for c in cases])
    labels = np.stack([c.labels for c in cases]).astype(np.int8)
    model, record = clf.train_classifier(
        vols, labels, names, clf.ClassifierConfig(width=2, epochs=1, batch_size=3), progress=False, max_steps=2
    )
    clf.save_classifier(model, record, tmp_path / "clf")
    model, record = clf.load_classifier(tmp_path / "clf", len(names))

    cfg = BenchConfig(
        weights_dir=str(untrained_weights_dir), allow_untrained=True, n_reports=3, steps=1,
        guidance=[1.0, 5.0], seeds_per_report=2, diversity_reports=1, min_positives=1,
        min_negatives=1, n_boot=20, out=str(tmp_path), progress=False,
    )  # fmt: skip
    result = run_benchmark(cfg, classifier=(model, record, set()))
    paths = write_outputs(result, tmp_path, "tiny")

    data = _strict_json((tmp_path / "tiny.json").read_text())
    # random weights saved as files look installed to the engine: no UNTRAINED warning here
    assert isinstance(data["untrained_weights"], bool) and data["weights_sha256"]
    assert set(data["rows"]) == {"real", "1", "5"}
    assert data["heldout"]["n_reports"] == 3 and data["n_generated"] == 3 * 2 + 1 * 1 * 2
    for key, row in data["rows"].items():
        for name in names:
            value = row["auc"][name]
            if value is None:
                assert name in data["skipped_findings"], (key, name)
            else:
                assert 0.0 <= value <= 1.0
        for macro in (row["macro_auc"], row["macro_auc_judge_reliable"]):
            assert macro is None or 0.0 <= macro <= 1.0
    for key in ("1", "5"):
        div = data["rows"][key]["diversity"]
        assert div["reports"] == 1 and div["seeds_per_report"] == 2
        assert math.isfinite(div["mean_abs_diff_hu"]) and div["mean_abs_diff_hu"] >= 0
        assert 0.0 <= div["one_minus_ssim"] <= 2.0
    assert data["targets"]["default_guidance"] == 5.0
    assert set(data["judge_reliable_findings"]["findings"]) <= set(data["evaluated_findings"])
    assert data["n_generated_from_cache"] == 0  # first run: everything generated
    assert {s["guidance"] for s in data["samples"]} == {1.0, 5.0}
    md = (tmp_path / "tiny.md").read_text()
    assert "real CT (ceiling)" in md and "generated, s = 1" in md and "generated, s = 5" in md
    # the generated volumes were cached: asking again reads them back instead of generating
    from generation import GenerationRequest
    from generation.registry import load_preset

    first = data["heldout"]["cases"][0]
    request = GenerationRequest(findings=first["findings"], impression=first["impression"], seed=cfg.gen_seed,
                                guidance_scale=1.0, num_inference_steps=1, num_samples=2)  # fmt: skip
    stamp = _weights_stamp(load_preset("demo"), str(untrained_weights_dir))
    again = generate_cached(request, tmp_path / "generated", stamp, weights_dir=str(untrained_weights_dir),
                            device="cpu", allow_untrained=True)  # fmt: skip
    assert again["cached"] and again["volumes"].shape == (2, 48, 64, 64)
    for kind in ("figure", "examples"):
        assert (tmp_path / f"tiny{'_examples' if kind == 'examples' else ''}.png").read_bytes()[:4] == b"\x89PNG"
        assert kind in paths


def test_heldout_reports_are_balanced_and_reproducible():
    a = select_reports(30, 990001)
    positives = np.stack([r.labels for r in a]).sum(0)
    assert len(a) == 30 and (positives >= 3).all()
    assert any(not r.labels.any() for r in a)  # normal studies stay in the mix
    first = select_reports(4, 990001, selection="random")
    again = select_reports(4, 990001, selection="random", exclude_seeds={first[0].case_seed})
    assert [r.case_seed for r in again][:3] == [r.case_seed for r in first][1:]
