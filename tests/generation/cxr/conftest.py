"""Fixtures for the CXR engine tests: a tiny BERT, a tiny CXR preset, a tiny pipeline and a tiny
phantom-layout dataset, all built in tmp dirs (one thread; each test runs in about a second)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

WORDS = (
    "the a of and in with no is are left right lower upper lobe lung lungs nodule pa lateral views "
    "consolidation effusion pleural heart normal size opacity small large pneumothorax chest"
).split()


def make_tiny_bert(directory: Path, hidden_size: int = 16, seed: int = 0) -> Path:
    """A 1-layer BERT + WordPiece tokenizer saved in Hugging Face format."""
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)] + [".", ","]
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *letters, *[f"##{c}" for c in letters]]))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(directory / "vocab.txt"), model_max_length=64).save_pretrained(str(directory))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=2 * hidden_size, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(seed)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(directory))
    return directory


def randomize_zero_layers(module: torch.nn.Module, seed: int = 0) -> None:
    """MONAI zero-initialises a UNet's output conv and attention projections, so an untrained
    UNet predicts 0 whatever its condition; random values make the conditioning observable."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() > 1 and p.abs().max() == 0:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)


def tiny_cxr_preset(bert_dir: Path, name: str = "cxr-tiny") -> dict:
    return {
        "name": name, "version": 1, "title": "Tiny CXR test preset", "modality": "cxr", "spatial_dims": 2,
        "output": {"shape_zyx": [32, 32], "spacing_mm_zyx": [12.0, 12.0], "bits_stored": 12},
        "latent": {"channels": 4, "shape_zyx": [8, 8], "scale_factor": 1.0},
        "text_encoders": [{"name": "TinyBert", "path": str(bert_dir), "model_class": "auto", "pooling": "mean"}],
        "shared_space": {"dim": 16, "image_channels": [4, 8, 8, 8], "text_width": 16, "text_layers": 1, "text_heads": 2},
        "autoencoder": {
            "in_channels": 1, "out_channels": 1, "latent_channels": 4, "num_channels": [8, 8, 8],
            "num_res_blocks": [1, 1, 1], "norm_num_groups": 4, "norm_eps": 1e-6,
            "attention_levels": [False, False, False], "with_encoder_nonlocal_attn": False,
            "with_decoder_nonlocal_attn": False,
        },
        "unet": {
            "in_channels": 4, "out_channels": 4, "num_channels": [16, 16, 16],
            "attention_levels": [False, True, True], "num_head_channels": [0, 8, 8], "num_res_blocks": 1,
            "norm_num_groups": 8, "with_conditioning": True, "cross_attention_dim": 16,
            "include_fc": True, "use_flash_attention": False,
        },
        "scheduler": {"num_train_timesteps": 1000, "use_discrete_timesteps": False},
        "conditioning": {"context_scale": 4.0, "prompt_sampling": "multi"},
        "report_decoder": {"embed_dim": 8, "hidden": 16, "layers": 1, "max_tokens": 24},
        "preprocess": {"target_spacing_mm": 12.0},
        "sampling": {"num_inference_steps": 4, "guidance_scale": 3.0},
        "files": {
            "shared_space": "shared_space.safetensors", "autoencoder": "autoencoder.safetensors",
            "unet_frontal": "unet_frontal.safetensors", "unet_lateral": "unet_lateral.safetensors",
            "report_decoder": "report_decoder.safetensors", "joint": "joint.safetensors",
        },
        "training": {
            "encoders": {"batch_size": 4, "lr": 1e-3, "max_steps": 2, "save_every": 1},
            "autoencoder": {"batch_size": 4, "lr": 1e-3, "max_steps": 2, "save_every": 1},
            "ldm": {"batch_size": 4, "lr": 1e-3, "max_steps": 2, "save_every": 1, "loss": "mse"},
            "report": {"batch_size": 4, "lr": 1e-3, "max_steps": 2, "save_every": 1},
            "joint": {"batch_size": 4, "lr": 1e-3, "max_steps": 2, "save_every": 1},
        },
    }  # fmt: skip


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("cxr_bert") / "tiny-bert")


@pytest.fixture(scope="session")
def cxr_preset_path(tmp_path_factory, bert_dir) -> Path:
    path = tmp_path_factory.mktemp("cxr_preset") / "cxr-tiny.json"
    path.write_text(json.dumps(tiny_cxr_preset(bert_dir)))
    return path


@pytest.fixture
def tiny_pipeline(cxr_preset_path):
    """An untrained tiny pipeline with its zero-initialised layers randomised."""
    from generation.cxr.loading import build_cxr_pipeline
    from generation.registry import load_preset

    torch.manual_seed(0)
    loaded = build_cxr_pipeline(load_preset(cxr_preset_path), device="cpu", allow_untrained=True)
    parts = loaded.pipeline.parts
    for i, module in enumerate([*parts.unets.values(), parts.joint]):
        randomize_zero_layers(module, seed=i)
    return loaded.pipeline


def write_cxr_dataset(root: Path, n_cases: int = 10, size: int = 40) -> Path:
    """cases.csv + cxr/<id>_frontal.png / _lateral.png, the phantom dataset layout."""
    (root / "cxr").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["case_id,findings,impression,cxr_findings,cxr_impression,split,cxr_label_pleural_effusion"]
    for i in range(n_cases):
        side = "left" if i % 2 else "right"
        for view in ("frontal", "lateral"):
            image = rng.integers(0, 255, size=(size, size + 6), dtype=np.uint8)
            if side == "left":
                image[size // 2 :, size // 2 :] = 250
            Image.fromarray(image).save(root / "cxr" / f"case{i}_{view}.png")
        split = "test" if i >= n_cases - 2 else "train"
        rows.append(
            f'case{i},"ct text","ct text","PA and lateral views. Large {side} pleural effusion.","{side.title()} pleural effusion.",{split},1'
        )
    (root / "cases.csv").write_text("\n".join(rows) + "\n")
    return root
