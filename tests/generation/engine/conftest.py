"""Fixtures for the engine tests: tiny BERT-style encoders and a tiny preset, built in tmp dirs.

Everything is small enough that a full pipeline run takes well under a second on one thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

WORDS = (
    "the a of and in with no is are left right lower upper lobe lung lungs nodule "
    "consolidation effusion pleural heart normal size mediastinum opacity small large "
    "pneumonia clear chest ct scan findings impression mm cm"
).split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_bert(
    directory: Path, hidden_size: int, max_position: int = 64, seed: int = 0
) -> Path:
    """Save a 1-layer BERT + WordPiece tokenizer in Hugging Face format under ``directory``."""
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    letters = (
        [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)] + [".", ","]
    )
    vocab = list(dict.fromkeys(SPECIAL + WORDS + letters + [f"##{c}" for c in letters]))
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(vocab_file), model_max_length=max_position).save_pretrained(str(directory))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max_position,
    )
    torch.manual_seed(seed)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def bert_dirs(tmp_path_factory) -> dict[str, Path]:
    """Two tiny encoders of different widths (16 and 24)."""
    root = tmp_path_factory.mktemp("encoders")
    return {
        "narrow": make_tiny_bert(root / "narrow", 16, seed=1),
        "wide": make_tiny_bert(root / "wide", 24, seed=2),
    }


def tiny_preset_data(bert_dirs: dict[str, Path], name: str = "tiny") -> dict:
    return {
        "name": name,
        "version": 1,
        "title": "Tiny test preset",
        "modality": "ct",
        "spatial_dims": 3,
        "output": {"shape_zyx": [16, 16, 16], "spacing_mm_zyx": [4.0, 3.0, 3.0], "hu_range": [-1000, 1000]},
        "latent": {"channels": 4, "shape_zyx": [4, 4, 4], "scale_factor": 1.0},
        "text_encoders": [
            {"name": "Narrow", "path": str(bert_dirs["narrow"]), "pooling": "auto", "hidden_size": 16},
            {"name": "Wide", "path": str(bert_dirs["wide"]), "pooling": "mean", "hidden_size": 24},
        ],
        "autoencoder": {
            "in_channels": 1, "out_channels": 1, "latent_channels": 4, "num_channels": [8, 8, 8],
            "num_res_blocks": [1, 1, 1], "norm_num_groups": 4, "norm_eps": 1e-6,
            "attention_levels": [False, False, False], "with_encoder_nonlocal_attn": False,
            "with_decoder_nonlocal_attn": False, "num_splits": 1, "dim_split": 1,
        },
        "unet": {
            "in_channels": 4, "out_channels": 4, "num_channels": [16, 16],
            "attention_levels": [False, True], "num_head_channels": [0, 8], "num_res_blocks": 1,
            "norm_num_groups": 8, "with_conditioning": True, "cross_attention_dim": 40,
            "include_fc": True, "include_spacing_input": True,
        },
        "scheduler": {"num_train_timesteps": 1000, "use_discrete_timesteps": False},
        "conditioning": {"spacing_input_scale": 1.0},
        "sampling": {"num_inference_steps": 4, "guidance_scale": 3.0, "decode_roi_latent_zyx": [2, 2, 2], "decode_overlap": 0.5},
        "files": {"autoencoder": "autoencoder.safetensors", "unet": "unet.safetensors"},
        "training": {
            "autoencoder": {"enabled": True, "batch_size": 2, "lr": 1e-3, "max_steps": 2, "save_every": 1},
            "ldm": {"batch_size": 2, "lr": 1e-3, "max_steps": 2, "save_every": 1, "guidance_dropout": 0.15},
        },
    }  # fmt: skip


@pytest.fixture
def tiny_preset_path(tmp_path, bert_dirs) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_preset_data(bert_dirs)))
    return path


def randomize_unet_output(unet: torch.nn.Module, seed: int = 0) -> None:
    """MONAI zero-initialises the UNet's last conv and the attention output projections, so an
    untrained UNet predicts exactly 0 and ignores its conditioning; random values in those
    layers make the conditioning observable."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in unet.parameters():
            if p.dim() > 1 and p.abs().max() == 0:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)


@pytest.fixture
def tiny_pipeline(tiny_preset_path):
    from generation.pipelines.loading import build_pipeline
    from generation.registry import load_preset

    torch.manual_seed(0)
    loaded = build_pipeline(load_preset(tiny_preset_path), device="cpu", allow_untrained=True)
    randomize_unet_output(loaded.pipeline.unet)
    return loaded.pipeline


def write_nifti_dataset(
    root: Path, n_cases: int = 3, shape_zyx=(16, 16, 16), spacing_zyx=(4.0, 3.0, 3.0)
) -> Path:
    """A dataset in the phantom generator's layout: cases.csv + ct/<id>.nii.gz (conventions affine)."""
    import nibabel as nib

    (root / "ct").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["case_id,findings,impression,split"]
    dz, dy, dx = spacing_zyx
    for i in range(n_cases):
        volume = rng.uniform(-1000, 1000, size=shape_zyx).astype(np.int16)  # [z, y, x]
        affine = np.diag([-dx, -dy, dz, 1.0])  # RAS affine for the [x, y, z] storage order
        nib.save(
            nib.Nifti1Image(volume.transpose(2, 1, 0), affine), str(root / "ct" / f"case{i}.nii.gz")
        )
        side = "left" if i % 2 else "right"
        rows.append(f'case{i},"Small nodule in the {side} lower lobe.","Nodule, {side}.",train')
    (root / "cases.csv").write_text("\n".join(rows) + "\n")
    return root
