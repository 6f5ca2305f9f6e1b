"""The shipped demo CT model follows the report (issue: phantom world + demo models).

Runs the trained weights in generation/weights/demo/ with fixed seeds. A right pleural effusion is
dependent fluid (≈ 0–20 HU) in the posterior-inferior right hemithorax, where lung (≈ −850 HU)
is otherwise; the patient's right is low x in the engine's [z, y, x] arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from generation import GenerationRequest, generate
from generation.registry import load_preset

SEEDS = (0, 1, 2)


def dependent_hemithorax_hu(volume: np.ndarray) -> tuple[float, float]:
    """Mean HU of the posterior-inferior chest on the patient's right and left."""
    nz, ny, nx = volume.shape
    box = volume[int(0.15 * nz) : int(0.55 * nz), int(0.45 * ny) : int(0.80 * ny)]
    right = box[:, :, int(0.15 * nx) : int(0.45 * nx)]
    left = box[:, :, int(0.55 * nx) : int(0.85 * nx)]
    return float(right.mean()), float(left.mean())


def run(findings: str, impression: str, seed: int) -> np.ndarray:
    request = GenerationRequest(findings=findings, impression=impression, seed=seed, preset="demo")
    return generate(request).samples[0].volume_hu


@pytest.fixture(scope="module")
def shipped():
    preset = load_preset("demo")
    missing = [f.path for f in preset.expected_files(None) if not f.path.exists()]
    assert not missing, f"the demo weights must ship with the project; missing: {missing}"
    return preset


def test_phantom_metric_separates_right_from_left_effusions():
    # The metric itself, checked on the procedural phantoms the model was trained on.
    from generation.phantom import make_case

    shape, spacing = (48, 64, 64), (6.5, 5.5, 5.5)
    for seed in SEEDS:
        right, left = dependent_hemithorax_hu(make_case(seed, "pleural_effusion:side=right:size=large", shape, spacing, drr=False).volume_hu)
        assert right - left > 100
        right, left = dependent_hemithorax_hu(make_case(seed, "normal", shape, spacing, drr=False).volume_hu)
        assert right - left < 50


def test_effusion_report_fills_the_dependent_chest_with_fluid(shipped):
    """What the shipped demo model has learned: an effusion report gives dependent fluid.

    Same seeds, a normal report versus a large-effusion report: the posterior-inferior chest
    holds far more fluid-density voxels with the effusion report. (Laterality — right versus
    left — is not learned yet by this demo model; see its model card.)
    """
    effusion = [run("Large right pleural effusion.", "Large right pleural effusion. No pneumothorax.", s) for s in SEEDS]
    normal = [run("The lungs are clear. No pleural effusion.", "No acute abnormality.", s) for s in SEEDS]
    eff = np.array([dependent_hemithorax_hu(v) for v in effusion])
    norm = np.array([dependent_hemithorax_hu(v) for v in normal])
    assert (eff - norm).mean() > 150, (eff, norm)
    assert (eff[:, 0] > norm[:, 0]).all(), (eff, norm)
