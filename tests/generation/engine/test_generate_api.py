"""The public entry point: validation, errors, provenance, progress."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from generation import (
    GenerationError,
    GenerationRequest,
    InvalidRequest,
    MissingWeights,
    OutOfMemory,
    UnknownPreset,
    generate,
)
from generation.weights_io import save_weights


def _request(**overrides) -> GenerationRequest:
    fields = {"findings": "Left lower lobe nodule.", "impression": "Nodule.", "seed": 5}
    fields.update(overrides)
    return GenerationRequest(**fields)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"findings": " ", "impression": ""}, "both empty"),
        ({"guidance_scale": 0.5}, "between 1 and 15"),
        ({"guidance_scale": 40}, "between 1 and 15"),
        ({"num_inference_steps": 0}, "between 1 and 200"),
        ({"num_inference_steps": 2.5}, "integer between 1 and 200"),
        ({"num_samples": 9}, "between 1 and 8"),
        ({"spacing_mm": (1.0, 1.0)}, "three numbers"),
        ({"spacing_mm": (1.0, 0.0, 1.0)}, "between 0.2 and 20"),
        ({"modality": "mri"}, "modality must be one of"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_requests_are_refused_with_the_allowed_range(overrides, message):
    with pytest.raises(InvalidRequest, match=message):
        generate(_request(**overrides))


def test_one_empty_section_is_allowed():
    _request(findings="", impression="Normal chest CT.").check_inputs()


def test_unknown_preset_lists_the_presets():
    with pytest.raises(UnknownPreset) as info:
        generate(_request(preset="huge"))
    assert "demo" in str(info.value) and "report2ct" in str(info.value)


def test_preset_of_another_modality_is_refused(tiny_preset_path):
    with pytest.raises(InvalidRequest, match="generates ct, not cxr-frontal"):
        generate(_request(modality="cxr-frontal", preset=str(tiny_preset_path)))


def test_missing_weights_name_the_file_and_the_setting(tmp_path):
    with pytest.raises(MissingWeights) as info:
        generate(_request(preset="demo"), weights_dir=tmp_path)
    text = str(info.value)
    assert str(tmp_path / "demo" / "autoencoder.safetensors") in text
    assert "RADSYNTH_WEIGHTS_DIR" in text


def test_demo_without_its_report_head_names_it(tmp_path):
    from generation.networks import build_autoencoder, build_unet
    from generation.registry import load_preset

    preset = load_preset("demo")
    save_weights(build_autoencoder(preset.section("autoencoder"), 3), tmp_path / "demo" / "autoencoder.safetensors")
    save_weights(build_unet(preset.section("unet"), 3), tmp_path / "demo" / "unet.safetensors")
    with pytest.raises(MissingWeights) as info:
        generate(_request(preset="demo", num_inference_steps=1), weights_dir=tmp_path)
    assert str(tmp_path / "demo" / "report_head.safetensors") in str(info.value)
    assert "report head" in str(info.value)


def test_a_preset_can_borrow_the_cxr_shared_space_as_its_report_space(tmp_path):
    import json

    from generation.pipelines.loading import load_text_encoders
    from generation.registry import DEFAULT_WEIGHTS_DIR, load_preset

    data = load_preset("demo").data
    data = {**data, "name": "borrower", "conditioning": {**data["conditioning"], "report_space": {"preset": "cxr-demo"}}}
    (tmp_path / "borrower.json").write_text(json.dumps(data))
    preset = load_preset(tmp_path / "borrower.json")
    other, path = preset.report_space(DEFAULT_WEIGHTS_DIR)
    assert other.name == "cxr-demo" and path == DEFAULT_WEIGHTS_DIR / "cxr-demo" / "shared_space.safetensors"
    encoder, files, missing = load_text_encoders(preset, DEFAULT_WEIGHTS_DIR / "borrower")
    assert not missing and encoder.report_space.name == "cxr-demo" and encoder.context_length == 4
    assert any(p == path for _, p in files)
    right, left = (encoder.report_space.encode([t])[0] for t in ("Large right pleural effusion.", "Large left pleural effusion."))
    assert float(torch.nn.functional.cosine_similarity(right, left, dim=0)) < 0.8


def _install_weights(tiny_preset_path, weights_dir):
    """Random weights saved where the tiny preset expects them."""
    from generation.networks import build_autoencoder, build_unet
    from generation.registry import load_preset

    from .conftest import randomize_unet_output

    preset = load_preset(tiny_preset_path)
    torch.manual_seed(0)
    unet = build_unet(preset.section("unet"))
    randomize_unet_output(unet)
    root = weights_dir / preset.name
    save_weights(build_autoencoder(preset.section("autoencoder")), root / "autoencoder.safetensors")
    save_weights(unet, root / "unet.safetensors", {"scale_factor": "1.25"})
    return root


def test_generate_end_to_end_with_provenance(tiny_preset_path, tmp_path):
    _install_weights(tiny_preset_path, tmp_path)
    steps = []
    request = _request(preset=str(tiny_preset_path), num_inference_steps=3, num_samples=2)
    result = generate(request, on_step=lambda i, n: steps.append((i, n)), weights_dir=tmp_path)

    assert steps == [(i, 6) for i in range(1, 7)]  # counted over both samples
    assert [s.seed for s in result.samples] == [5, 6]
    sample = result.samples[0]
    assert sample.volume_hu.dtype == np.int16 and sample.volume_hu.shape == (16, 16, 16)
    assert sample.volume_hu.min() >= -1000 and sample.volume_hu.max() <= 1000
    assert sample.spacing_mm == (4.0, 3.0, 3.0)
    assert sample.origin_lps_mm == (-22.5, -22.5, -30.0)  # centred on the LPS origin
    assert re.fullmatch(r"[0-9a-f]{64}", result.weights_sha256)
    assert result.model_version == "tiny-v1" and result.warnings == []
    for stage in ("load", "text_encoding", "sampling", "decoding", "total"):
        assert result.timings[stage] >= 0
    assert result.peak_memory_bytes > 0
    json.dumps(result.to_dict())  # JSON-ready summary

    again = generate(
        _request(preset=str(tiny_preset_path), num_inference_steps=3), weights_dir=tmp_path
    )
    np.testing.assert_array_equal(again.samples[0].volume_hu, sample.volume_hu)  # same seed


def test_untrained_run_is_flagged(tiny_preset_path, tmp_path):
    result = generate(
        _request(preset=str(tiny_preset_path), num_inference_steps=2),
        weights_dir=tmp_path, allow_untrained=True,
    )  # fmt: skip
    assert result.weights_sha256 == "untrained"
    assert any("UNTRAINED" in w for w in result.warnings)


def test_truncation_warning_reaches_the_result(tiny_preset_path, tmp_path):
    _install_weights(tiny_preset_path, tmp_path)
    long = "the left lower lobe nodule is small " * 20  # > 64 tokens (tiny encoders' limit)
    result = generate(
        _request(preset=str(tiny_preset_path), findings=long, num_inference_steps=1),
        weights_dir=tmp_path,
    )
    assert any(
        w.startswith("findings:") and "64-token limit were cut" in w for w in result.warnings
    )


def test_out_of_memory_suggests_a_smaller_preset(tiny_preset_path, tmp_path, monkeypatch):
    from generation.pipelines.report2ct import Report2CTPipeline

    _install_weights(tiny_preset_path, tmp_path)

    def explode(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB")

    monkeypatch.setattr(Report2CTPipeline, "denoise", explode)
    with pytest.raises(OutOfMemory, match="Try the 'demo' preset"):
        generate(
            _request(preset=str(tiny_preset_path), num_inference_steps=1), weights_dir=tmp_path
        )


def test_weights_that_do_not_fit_the_preset_are_reported(tiny_preset_path, tmp_path):
    root = _install_weights(tiny_preset_path, tmp_path)
    save_weights(torch.nn.Linear(2, 2), root / "unet.safetensors")
    with pytest.raises(GenerationError, match="do not match preset"):
        generate(
            _request(preset=str(tiny_preset_path), num_inference_steps=1), weights_dir=tmp_path
        )
