"""Assemble a :class:`CXRPipeline` from a CXR preset and its weights directory.

Files expected under ``<weights dir>/<preset>/`` (names from the preset's ``files``):
``shared_space`` (image encoder + text head + temperature), ``autoencoder``, ``unet_frontal``,
``unet_lateral`` (latent scale factor in their metadata), ``report_decoder`` (vocabulary in its
metadata) and ``joint`` (latent projectors + fine-tuned cross-attention). A missing file raises
:class:`MissingWeights` naming the path and how to point the engine elsewhere
(``RADSYNTH_WEIGHTS_DIR`` or ``weights_dir=``); ``allow_untrained`` replaces missing parts by
random initialisation, with a loud warning.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from generation.cxr.conditioning import default_context_scale
from generation.cxr.encoders import SharedSpace, TextBackbone
from generation.cxr.joint import build_joint_model
from generation.cxr.modalities import VIEWS
from generation.cxr.pipeline import CXRConfig, CXRParts, CXRPipeline
from generation.cxr.report_decoder import ReportDecoder, Vocabulary
from generation.errors import GenerationError, MissingWeights
from generation.networks import build_autoencoder, build_scheduler, build_unet
from generation.pipelines.loading import UNTRAINED_WARNING, load_text_encoders, pick_device
from generation.registry import Preset
from generation.text.encoder import resolve_encoder_path
from generation.weights_io import combined_sha256, load_weights, read_metadata

logger = logging.getLogger(__name__)

#: Roles of the preset's ``files`` section, in loading order.
FILE_ROLES: tuple[str, ...] = (
    "shared_space", "autoencoder", "unet_frontal", "unet_lateral", "report_decoder", "joint",
)  # fmt: skip


@dataclass
class LoadedCXRPipeline:
    pipeline: CXRPipeline
    preset: Preset
    weights_sha256: str
    device: torch.device
    warnings: list[str] = field(default_factory=list)


def check_cxr_preset(preset: Preset) -> None:
    if preset.modality != "cxr" or preset.spatial_dims != 2:
        raise GenerationError(f"Preset {preset.name!r} is not a 2D CXR preset (modality {preset.modality!r}).")
    missing = [role for role in FILE_ROLES if role not in preset.data["files"]]
    if missing:
        raise GenerationError(f"CXR preset {preset.name!r} lacks files for: {', '.join(missing)}.")


def text_encoder_width(preset: Preset, root: Path) -> int:
    """Hidden size of the preset's (first) text encoder, read from its config.json."""
    spec = preset.data["text_encoders"][0]
    if spec.get("hidden_size"):
        return int(spec["hidden_size"])
    config = resolve_encoder_path(spec["path"], root) / "config.json"
    try:
        return int(json.loads(config.read_text())["hidden_size"])
    except (OSError, KeyError, ValueError) as exc:
        raise MissingWeights(str(config), preset.name, role=f"text encoder {spec['name']} config") from exc


def cxr_config(preset: Preset, scale_factors: dict[str, float] | None = None) -> CXRConfig:
    shared = preset.section("shared_space")
    dim = int(shared.get("dim", 128))
    rows, cols = preset.spacing_mm_zyx
    size = preset.output_shape_zyx[0]
    conditioning = preset.section("conditioning")
    return CXRConfig(
        image_size=int(size),
        latent_channels=preset.latent_channels,
        latent_size=int(preset.latent_shape_zyx[0]),
        pixel_spacing_mm=(float(rows), float(cols)),
        context_scale=float(conditioning.get("context_scale") or default_context_scale(dim)),
        scale_factors=dict(scale_factors or {v: 1.0 for v in VIEWS}),
        target_spacing_mm=preset.section("preprocess").get("target_spacing_mm"),
        max_report_tokens=int(preset.section("report_decoder").get("max_tokens", 96)),
    )


def build_report_decoder(preset: Preset, vocabulary: Vocabulary) -> ReportDecoder:
    cfg = preset.section("report_decoder")
    return ReportDecoder(
        len(vocabulary),
        cond_dim=int(preset.section("shared_space").get("dim", 128)),
        embed_dim=int(cfg.get("embed_dim", 64)),
        hidden=int(cfg.get("hidden", 256)),
        layers=int(cfg.get("layers", 1)),
    )


def build_cxr_pipeline(
    preset: Preset,
    weights_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    allow_untrained: bool = False,
) -> LoadedCXRPipeline:
    check_cxr_preset(preset)
    dev = pick_device(device)
    root = preset.weights_root(weights_dir)
    files_cfg = preset.data["files"]
    if not allow_untrained:  # fail fast, naming the first missing file
        for item in preset.expected_files(weights_dir):
            if not item.present:
                role = item.role if item.kind == "dir" else f"{item.role} weights"
                raise MissingWeights(str(item.path), preset.name, role=role)
    multi, files, untrained = load_text_encoders(preset, root, allow_untrained)
    backbone = TextBackbone(multi.encoders[0])

    def path_of(role: str) -> Path | None:
        path = root / files_cfg[role]
        if path.is_file():
            return path
        if allow_untrained:
            untrained.append(role)
            return None
        raise MissingWeights(str(path), preset.name, role=f"{role} weights")

    shared = SharedSpace.from_config(preset.section("shared_space"), backbone.width)
    autoencoder = build_autoencoder(preset.section("autoencoder"), 2)
    unets = {v: build_unet(preset.section("unet"), 2, use_flash_attention=False) for v in VIEWS}
    scale_factors = {v: float(preset.data["latent"].get("scale_factor", 1.0)) for v in VIEWS}
    modules = {"shared_space": shared, "autoencoder": autoencoder, **{f"unet_{v}": unets[v] for v in VIEWS}}
    for role, module in modules.items():
        path = path_of(role)
        if path is None:
            continue
        metadata = load_weights(module, path, preset.name, role)
        files.append((role, path))
        if role.startswith("unet_") and "scale_factor" in metadata:
            scale_factors[role[len("unet_") :]] = float(metadata["scale_factor"])

    decoder_path = path_of("report_decoder")
    if decoder_path is not None:
        vocab_json = read_metadata(decoder_path).get("vocabulary")
        if not vocab_json:
            raise GenerationError(f"{decoder_path} has no vocabulary in its metadata.")
        vocabulary = Vocabulary.from_json(vocab_json)
        decoder = build_report_decoder(preset, vocabulary)
        load_weights(decoder, decoder_path, preset.name, "report_decoder")
        files.append(("report_decoder", decoder_path))
    else:
        vocabulary = Vocabulary(["no", "acute", "findings", "."])
        decoder = build_report_decoder(preset, vocabulary)

    dim = int(preset.section("shared_space").get("dim", 128))
    joint = build_joint_model(unets, preset.latent_channels, dim)
    joint_path = path_of("joint")
    if joint_path is not None:
        try:
            joint.load_coupling_state(load_file(str(joint_path), device="cpu"))
        except (KeyError, RuntimeError) as exc:
            raise GenerationError(f"joint weights {joint_path} do not match preset {preset.name!r}: {exc}") from exc
        files.append(("joint", joint_path))

    warnings = [UNTRAINED_WARNING.format(parts=", ".join(untrained))] if untrained else []
    sha = combined_sha256(files) if not untrained else "untrained"
    parts = CXRParts(
        text_backbone=backbone.to(dev),
        shared=shared.to(dev),
        autoencoder=autoencoder.to(dev),
        unets={v: u.to(dev) for v, u in unets.items()},
        scheduler=build_scheduler(preset.section("scheduler"), 2),
        report_decoder=decoder.to(dev),
        vocabulary=vocabulary,
        joint=joint.to(dev),
    )
    pipeline = CXRPipeline(parts, cxr_config(preset, scale_factors))
    logger.info("loaded CXR preset %s on %s (weights %s)", preset.name, dev, sha[:12])
    return LoadedCXRPipeline(pipeline, preset, sha, dev, warnings)
