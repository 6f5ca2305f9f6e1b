"""The shipped demo CT model follows the report (issue: phantom world + demo models).

Runs the trained weights in generation/weights/demo/ with fixed seeds. A right pleural effusion is
dependent fluid (≈ 0–20 HU) in the posterior-inferior right hemithorax, where lung (≈ −850 HU)
is otherwise; the patient's right is low x in the engine's [z, y, x] arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generation import GenerationRequest, generate
from generation.registry import load_preset

SEEDS = (0, 1, 2)
#: A large unilateral effusion on a phantom opens a right-left gap of > 100 HU (checked below).
RIGHT_LEFT_GAP_HU = 100.0
#: How far the side without fluid may move from the normal report's value.
UNCHANGED_SIDE_HU = 100.0


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
    """An effusion report gives dependent fluid where a normal report gives lung (same seeds)."""
    effusion = [run("Large right pleural effusion.", "Large right pleural effusion. No pneumothorax.", s) for s in SEEDS]
    normal = [run("The lungs are clear. No pleural effusion.", "No acute abnormality.", s) for s in SEEDS]
    eff = np.array([dependent_hemithorax_hu(v) for v in effusion])
    norm = np.array([dependent_hemithorax_hu(v) for v in normal])
    assert (eff - norm).mean() > 150, (eff, norm)
    assert (eff[:, 0] > norm[:, 0]).all(), (eff, norm)


RIGHT_REPORT = "Large right pleural effusion. No pneumothorax."
LEFT_REPORT = "Large left pleural effusion. No pneumothorax."
NORMAL = ("The lungs are clear. No pleural effusion.", "No acute abnormality.")


@pytest.fixture(scope="module")
def hemithoraces(shipped):
    """[seed, (right HU, left HU)] for the right, left and normal reports, same seeds."""
    return {
        "right": np.array([dependent_hemithorax_hu(run(RIGHT_REPORT, RIGHT_REPORT, s)) for s in SEEDS]),
        "left": np.array([dependent_hemithorax_hu(run(LEFT_REPORT, LEFT_REPORT, s)) for s in SEEDS]),
        "normal": np.array([dependent_hemithorax_hu(run(*NORMAL, s)) for s in SEEDS]),
    }


def test_the_side_of_the_effusion_follows_the_report(hemithoraces):
    """What the demo model has learned since v2: with the same seed, the right-effusion report makes the right
    dependent chest denser relative to the left than the left-effusion report does, by more
    than a phantom's right-left gap threshold; and both fill the chest compared with a normal
    report."""
    gap = lambda hu: hu[:, 0] - hu[:, 1]  # noqa: E731  (right minus left, per seed)
    assert (gap(hemithoraces["right"]) - gap(hemithoraces["left"]) > RIGHT_LEFT_GAP_HU).all(), hemithoraces
    assert (hemithoraces["right"][:, 0] - hemithoraces["normal"][:, 0] > RIGHT_LEFT_GAP_HU).all()
    assert (hemithoraces["left"][:, 1] - hemithoraces["normal"][:, 1] > RIGHT_LEFT_GAP_HU).all()


def test_right_effusion_report_fills_the_right_hemithorax_only(hemithoraces):
    """Issue 4's acceptance check: "Large right pleural effusion. No pneumothorax." puts fluid in
    the right hemithorax and not in the left, and a left-effusion report mirrors it (per seed,
    against the normal report of the same seed)."""
    right, left, normal = hemithoraces["right"], hemithoraces["left"], hemithoraces["normal"]
    assert (right[:, 0] - right[:, 1] > RIGHT_LEFT_GAP_HU).all(), right
    assert (np.abs(right[:, 1] - normal[:, 1]) < UNCHANGED_SIDE_HU).all(), (right, normal)
    assert (left[:, 1] - left[:, 0] > RIGHT_LEFT_GAP_HU).all(), left
    assert (np.abs(left[:, 0] - normal[:, 0]) < UNCHANGED_SIDE_HU).all(), (left, normal)


@pytest.fixture(scope="module")
def report_head(shipped):
    """The shipped report head with its fact probe, reading the packaged MiniLM."""
    from generation.pipelines.loading import build_report_head, load_text_encoders
    from generation.weights_io import load_weights

    root = shipped.weights_root(None)
    encoders, _, _ = load_text_encoders(shipped, root, report_space=False)
    head, encoder = build_report_head(shipped, list(encoders.encoders))
    load_weights(head, shipped.report_space(None)[1], shipped.name, "report head")

    def facts(text: str) -> dict[str, float]:
        with torch.no_grad():
            logits = head(*encoder.token_states([text]))[0]
        return dict(zip(head.facts, logits.tolist(), strict=True))

    return facts


@pytest.mark.parametrize(
    ("report", "stated", "not_stated"),
    [
        (RIGHT_REPORT, ["pleural_effusion", "pleural_effusion:right", "pleural_effusion:large"],
         ["pleural_effusion:left", "pneumothorax"]),
        (LEFT_REPORT, ["pleural_effusion", "pleural_effusion:left"], ["pleural_effusion:right", "pneumothorax"]),
        ("Small left pneumothorax. No pleural effusion.", ["pneumothorax", "pneumothorax:left"],
         ["pneumothorax:right", "pleural_effusion"]),
        ("Spiculated 4 cm mass in the left lower lobe.", ["lung_mass"], ["lung_nodule", "pleural_effusion"]),
        ("Consolidation in the right lower lobe.", ["consolidation", "consolidation:RLL"], ["consolidation:LLL"]),
        (NORMAL[0], [], ["pleural_effusion", "pneumothorax", "lung_mass", "lung_nodule"]),
    ],
)  # fmt: skip
def test_the_report_head_reads_finding_side_and_lobe_from_a_typed_report(report_head, report, stated, not_stated):
    """The demo model's conditioning understands a short typed report as its training reports."""
    logits = report_head(report)
    assert all(logits[f] > 0 for f in stated), {f: round(logits[f], 2) for f in stated}
    assert all(logits[f] < 0 for f in not_stated), {f: round(logits[f], 2) for f in not_stated}


def test_the_report_head_places_a_mass_in_the_lobe_the_report_names(report_head):
    for lobe, words in (("LLL", "left lower"), ("RUL", "right upper")):
        logits = report_head(f"Spiculated 4 cm mass in the {words} lobe.")
        lobes = {k: v for k, v in logits.items() if k.startswith("lung_mass:")}
        assert max(lobes, key=lobes.get) == f"lung_mass:{lobe}", lobes
