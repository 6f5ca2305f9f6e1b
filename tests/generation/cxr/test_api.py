"""generate() dispatch for chest X-ray requests, request validation and the result format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from generation import GenerationRequest, InvalidRequest, MissingWeights, generate
from generation.result import GeneratedCXRSample


def _request(**kwargs) -> GenerationRequest:
    base = {"modality": "cxr-both", "findings": "Large left pleural effusion.", "seed": 7, "num_inference_steps": 2}
    return GenerationRequest(**{**base, **kwargs})


def test_cxr_request_returns_dx_ready_images_and_json_summary(cxr_preset_path):
    result = generate(_request(preset=str(cxr_preset_path)), allow_untrained=True, device="cpu")
    sample = result.samples[0]
    assert isinstance(sample, GeneratedCXRSample)
    assert set(sample.images) == {"frontal", "lateral"}
    assert sample.view_positions == {"frontal": "PA", "lateral": "LL"}
    for image in sample.images.values():
        assert image.dtype == np.uint16 and image.shape == (32, 32) and int(image.max()) <= 4095
    assert sample.pixel_spacing_mm == (12.0, 12.0) and sample.seed == 7 and sample.joint
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["modality"] == "cxr-both" and summary["samples"][0]["inputs"] == ["report"]
    assert any("UNTRAINED" in w for w in result.warnings)


def test_progress_counts_every_sample(cxr_preset_path):
    calls = []
    generate(
        _request(preset=str(cxr_preset_path), num_samples=2, modality="cxr-frontal"),
        on_step=lambda done, total: calls.append((done, total)), allow_untrained=True, device="cpu",
    )  # fmt: skip
    assert calls[-1] == (4, 4) and len(calls) == 4


def test_image_to_report_request(cxr_preset_path):
    frontal = np.random.default_rng(1).integers(0, 255, (60, 50), dtype=np.uint8)
    result = generate(
        GenerationRequest(modality="cxr-report", input_images={"frontal": frontal}, preset=str(cxr_preset_path)),
        allow_untrained=True, device="cpu",
    )  # fmt: skip
    sample = result.samples[0]
    assert sample.images == {} and set(sample.report) == {"findings", "impression"}


def test_missing_weights_name_the_file(cxr_preset_path, tmp_path):
    with pytest.raises(MissingWeights, match="shared_space.safetensors"):
        generate(_request(preset=str(cxr_preset_path)), weights_dir=tmp_path, device="cpu")


def test_default_preset_of_a_cxr_request_is_the_cxr_demo(tmp_path):
    with pytest.raises(MissingWeights, match="cxr-demo"):
        generate(_request(), weights_dir=tmp_path, device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"findings": "", "impression": ""}, "give a report"),
        ({"modality": "cxr-frontal", "input_images": {"frontal": np.zeros((16, 16))}}, "cannot also be generated"),
        ({"modality": "cxr-report"}, "cannot be drafted from a report"),
        ({"modality": "cxr-report", "findings": "", "input_images": {}}, "at least one input image"),
        ({"input_images": {"axial": np.zeros((16, 16))}}, "keys must be among"),
        ({"modality": "cxr-lateral", "input_images": {"frontal": np.zeros(16)}}, "2D array"),
        ({"modality": "ct", "input_images": {"frontal": np.zeros((16, 16))}}, "chest X-ray modalities"),
    ],
)
def test_invalid_cxr_requests(kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        _request(**kwargs).check_inputs()


def test_a_ct_preset_is_refused_for_a_cxr_request():
    with pytest.raises(InvalidRequest, match="generates ct"):
        generate(_request(preset="report2ct"), allow_untrained=True, device="cpu")
