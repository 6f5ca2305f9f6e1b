"""The CXR training commands end to end on a tiny dataset (two steps per stage)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open

from generation import GenerationRequest, generate
from generation.cxr.data import CXRDatasetError, hashed_split, read_cxr_cases
from generation.cxr.training import main as training_main

from .conftest import write_cxr_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cxr_preset_path):
    root = tmp_path_factory.mktemp("cxr_train")
    data = write_cxr_dataset(root / "data")
    out = root / "weights" / "cxr-tiny"
    argv = ["all", "--data", str(data), "--out", str(out), "--preset", str(cxr_preset_path), "--device", "cpu",
            "--log-every", "1", "--ship", str(root / "shipped" / "cxr-tiny")]  # fmt: skip
    assert training_main(argv) == 0
    return {"data": data, "out": out, "root": root, "preset": cxr_preset_path}


def test_every_stage_exports_its_weights_logs_and_a_model_card(trained):
    out = trained["out"]
    for name in ("shared_space", "autoencoder", "unet_frontal", "unet_lateral", "report_decoder", "joint"):
        path = out / f"{name}.safetensors"
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata()
            assert meta["stored_dtype"] == "float16"
            assert all(str(fh.get_tensor(k).dtype) in ("torch.float16", "torch.int64") for k in fh.keys())
    assert "scale_factor" in safe_open(str(out / "unet_frontal.safetensors"), framework="pt").metadata()
    for stage in ("encoders", "autoencoder", "ldm_frontal", "ldm_lateral", "report", "joint"):
        log = [json.loads(line) for line in (out / stage / "loss_log.jsonl").read_text().splitlines()]
        assert [r["step"] for r in log] == [1, 2]
        assert (out / stage / "config.json").is_file()
    card = (out / "MODEL_CARD.md").read_text()
    assert "not for clinical use" in card and "python -m generation.cxr.training all" in card
    shipped = trained["root"] / "shipped" / "cxr-tiny"
    assert (shipped / "MODEL_CARD.md").is_file() and (shipped / "training" / "joint_loss_log.jsonl").is_file()


def test_trained_weights_load_through_generate(trained):
    request = GenerationRequest(
        modality="cxr-both", findings="Large left pleural effusion.", seed=1, num_inference_steps=2,
        preset=str(trained["preset"]),
    )  # fmt: skip
    result = generate(request, weights_dir=trained["out"].parent, device="cpu")
    assert result.weights_sha256 != "untrained" and not result.warnings
    frontal = np.zeros((40, 40), dtype=np.float32)
    report = generate(
        GenerationRequest(modality="cxr-report", input_images={"frontal": frontal}, preset=str(trained["preset"])),
        weights_dir=trained["out"].parent, device="cpu",
    )  # fmt: skip
    assert set(report.samples[0].report) == {"findings", "impression"}


def test_stage_resume_and_refusal_to_overwrite(trained, capsys):
    base = ["--data", str(trained["data"]), "--out", str(trained["out"]), "--preset", str(trained["preset"]), "--device", "cpu"]
    assert training_main(["report", *base]) == 2  # checkpoints exist: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert training_main(["report", *base, "--resume", "--max-steps", "3"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["resumed_from"] == 2 and summary["step"] == 3


def test_dataset_problems_are_reported(tmp_path):
    with pytest.raises(CXRDatasetError, match="does not exist"):
        read_cxr_cases(tmp_path / "missing")
    data = write_cxr_dataset(tmp_path / "d", n_cases=3)
    (data / "cxr" / "case1_lateral.png").unlink()
    with pytest.raises(CXRDatasetError, match="case1_lateral.png not found"):
        read_cxr_cases(data)
    assert {hashed_split(f"c{i}") for i in range(200)} == {"train", "test"}
    assert training_main(["bogus"]) == 2


def test_report_augmentation_keeps_an_impression_sentence():
    import torch

    from generation.cxr.training.encoders import text_variant

    findings = "PA and lateral views of the chest. Heart size is normal. Large left pleural effusion."
    impression = "Large left pleural effusion. Cardiomegaly."
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(300):
        text = text_variant(findings, impression, torch.rand(64, generator=generator))
        assert text.strip()
        seen.add(text)
        assert "effusion" in text.lower() or "cardiomegaly" in text.lower()
    assert impression in seen and f"{findings} {impression}" in seen and findings in seen
    assert len(seen) > 5  # sentence subsets too
