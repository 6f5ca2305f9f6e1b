"""Preset registry: presets are JSON files in ``generation/presets/``, never code branches.

A preset names the architecture (MONAI constructor arguments), the text encoders, the output
grid and the weight files expected under ``<weights dir>/<preset>/``. The weights dir is, in
order: the explicit argument, the ``RADSYNTH_WEIGHTS_DIR`` environment variable, the shipped
default ``generation/weights/``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from generation.errors import WEIGHTS_ENV_VAR, GenerationError, UnknownPreset

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
_REQUIRED_KEYS = (
    "name", "version", "modality", "spatial_dims", "output", "latent", "text_encoders",
    "autoencoder", "unet", "scheduler", "files",
)  # fmt: skip


@dataclass(frozen=True)
class ExpectedFile:
    """One thing the preset needs on disk: ``kind`` is "file" or "dir" (a text encoder)."""

    role: str
    path: Path
    kind: str = "file"

    @property
    def present(self) -> bool:
        if self.kind == "dir":
            return (self.path / "config.json").is_file()
        return self.path.is_file()


@dataclass(frozen=True)
class Preset:
    """A parsed preset file; ``data`` is the JSON content."""

    name: str
    version: int
    source: Path
    data: dict[str, Any] = field(repr=False)

    @property
    def spatial_dims(self) -> int:
        return int(self.data["spatial_dims"])

    @property
    def modality(self) -> str:
        return str(self.data["modality"])

    @property
    def output_shape_zyx(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.data["output"]["shape_zyx"])

    @property
    def spacing_mm_zyx(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.data["output"]["spacing_mm_zyx"])

    @property
    def hu_range(self) -> tuple[float, float]:
        lo, hi = self.data["output"].get("hu_range", [-1000, 1000])
        return float(lo), float(hi)

    @property
    def latent_shape_zyx(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.data["latent"]["shape_zyx"])

    @property
    def latent_channels(self) -> int:
        return int(self.data["latent"]["channels"])

    @property
    def model_version(self) -> str:
        return f"{self.name}-v{self.version}"

    def section(self, key: str) -> dict[str, Any]:
        return dict(self.data.get(key) or {})

    def weights_root(self, weights_dir: str | Path | None = None) -> Path:
        """``<weights dir>/<preset>/``."""
        return resolve_weights_dir(weights_dir)[0] / self.name

    def expected_files(self, weights_dir: str | Path | None = None) -> list[ExpectedFile]:
        """Weight files and text-encoder directories, with absolute paths."""
        from generation.text.encoder import resolve_encoder_path

        root = self.weights_root(weights_dir)
        files = [ExpectedFile(role, root / rel) for role, rel in self.data["files"].items()]
        for spec in self.data["text_encoders"]:
            path = resolve_encoder_path(spec["path"], root)
            files.append(ExpectedFile(f"text encoder {spec['name']}", path, kind="dir"))
        space = self.report_space(weights_dir)
        if space is not None:
            other, path = space
            role = "report head" if other is self else f"report space ({other.name} shared_space)"
            files.append(ExpectedFile(role, path))
        return files

    def report_space(self, weights_dir: str | Path | None = None) -> tuple[Preset, Path] | None:
        """The preset whose report space conditions this one (a preset's
        ``conditioning.report_space``, see generation/text/report_space.py) and its weights
        file: this preset and its own head (``{"file": ...}``), or another preset and the text
        head of its shared space (``{"preset": ...}``)."""
        space = self.section("conditioning").get("report_space")
        if not space:
            return None
        if space.get("file"):
            return self, self.weights_root(weights_dir) / str(space["file"])
        other = load_preset(str(space.get("preset", "")))
        return other, other.weights_root(weights_dir) / other.data["files"]["shared_space"]

    @cached_property
    def parameter_counts(self) -> dict[str, int | None]:
        return parameter_counts(self)


def resolve_weights_dir(weights_dir: str | Path | None = None) -> tuple[Path, str]:
    """The weights directory and where that choice came from (for messages)."""
    if weights_dir is not None:
        return Path(weights_dir).expanduser(), "argument"
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        return Path(env).expanduser(), f"environment variable {WEIGHTS_ENV_VAR}"
    return DEFAULT_WEIGHTS_DIR, "shipped default (generation/weights/)"


def list_presets() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def load_preset(name_or_path: str | Path) -> Preset:
    """Load a shipped preset by name, or any preset JSON by path (used by tests and training)."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".json") else PRESETS_DIR / f"{text}.json"
    if not path.is_file():
        if text.endswith(".json"):
            raise GenerationError(f"Preset file not found: {path}")
        raise UnknownPreset(text, list_presets())
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GenerationError(f"Preset file {path} is not valid JSON: {exc}") from exc
    _validate(data, path)
    return Preset(name=str(data["name"]), version=int(data["version"]), source=path, data=data)


def _validate(data: dict[str, Any], path: Path) -> None:
    """Catch inconsistent presets at load time, not deep inside a network constructor."""
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise GenerationError(f"Preset {path.name} lacks keys: {', '.join(missing)}")
    problems = []
    declared = [spec.get("hidden_size") for spec in data["text_encoders"]]
    cross_dim = data["unet"].get("cross_attention_dim")
    if all(declared) and cross_dim != sum(declared):
        problems.append(
            f"unet.cross_attention_dim {cross_dim} != sum of encoder widths {sum(declared)}"
        )
    factor = 2 ** (len(data["autoencoder"]["num_channels"]) - 1)
    latent = data["latent"]["shape_zyx"]
    expected = [n * factor for n in latent]
    if expected != list(data["output"]["shape_zyx"]):
        problems.append(f"latent {latent} x {factor} != output {data['output']['shape_zyx']}")
    unet_factor = 2 ** (len(data["unet"]["num_channels"]) - 1)
    if any(n % unet_factor for n in latent):
        problems.append(f"latent {latent} not divisible by the UNet's downsampling {unet_factor}")
    if data["latent"]["channels"] != data["autoencoder"]["latent_channels"]:
        problems.append("latent.channels != autoencoder.latent_channels")
    if problems:
        raise GenerationError(f"Preset {path.name} is inconsistent: " + "; ".join(problems))


def parameter_counts(preset: Preset) -> dict[str, int | None]:
    """Parameter counts, computed by building the networks on the meta device (no memory)."""
    import torch

    from generation.networks import build_autoencoder, build_unet, count_parameters

    counts: dict[str, int | None] = {}
    with torch.device("meta"):
        counts["autoencoder"] = count_parameters(
            build_autoencoder(preset.section("autoencoder"), preset.spatial_dims)
        )
        counts["unet"] = count_parameters(
            build_unet(preset.section("unet"), preset.spatial_dims, use_flash_attention=False)
        )
    for item in preset.expected_files():
        if item.kind == "dir":
            counts[item.role] = _text_encoder_params(item.path) if item.present else None
    counts["total"] = (
        None if any(v is None for v in counts.values()) else sum(v for v in counts.values() if v)
    )
    return counts


def _text_encoder_params(model_dir: Path) -> int | None:
    try:
        import torch
        from transformers import AutoConfig, AutoModel, BertConfig, BertModel

        try:
            config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
            builder = AutoModel.from_config
        except (ValueError, KeyError):  # custom model types (CXR-BERT) read as BERT
            config = BertConfig.from_pretrained(str(model_dir), local_files_only=True)
            builder = BertModel
        with torch.device("meta"):
            return sum(p.numel() for p in builder(config).parameters())
    except Exception:  # noqa: BLE001 - a listing must not fail because one config is odd
        return None


def describe_presets(weights_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """What ``manage.py models`` prints: one dict per preset, JSON-ready."""
    root, source = resolve_weights_dir(weights_dir)
    described = []
    for name in list_presets():
        preset = load_preset(name)
        files = preset.expected_files(root)
        described.append(
            {
                "name": preset.name,
                "version": preset.version,
                "model_version": preset.model_version,
                "title": preset.data.get("title", preset.name),
                "description": preset.data.get("description", ""),
                "modality": preset.modality,
                "output_shape_zyx": list(preset.output_shape_zyx),
                "spacing_mm_zyx": list(preset.spacing_mm_zyx),
                "latent_shape": [preset.latent_channels, *preset.latent_shape_zyx],
                "text_encoders": [spec["name"] for spec in preset.data["text_encoders"]],
                "context_dim": preset.data["unet"].get("cross_attention_dim"),
                "defaults": {
                    "guidance_scale": preset.section("sampling").get("guidance_scale"),
                    "num_inference_steps": preset.section("sampling").get("num_inference_steps"),
                },
                "parameters": preset.parameter_counts,
                "weights_dir": str(root / preset.name),
                "weights_dir_source": source,
                "expected_files": [
                    {"role": f.role, "path": str(f.path), "kind": f.kind, "present": f.present}
                    for f in files
                ],
                "weights_present": all(f.present for f in files),
            }
        )
    return described


def format_presets_table(described: list[dict[str, Any]]) -> str:
    """Plain-text rendering of :func:`describe_presets` for a terminal."""
    lines = []
    for item in described:
        params = item["parameters"]
        total = params.get("total")
        status = "ready" if item["weights_present"] else "weights missing"
        lines.append(f"{item['name']} (v{item['version']}): {item['title']} [{status}]")
        shape = "x".join(str(n) for n in item["output_shape_zyx"])
        lines.append(f"  output {shape} (z,y,x) at {item['spacing_mm_zyx']} mm")
        lines.append(
            "  parameters: "
            + ", ".join(f"{k}={_human(v)}" for k, v in params.items() if k != "total")
            + (f", total={_human(total)}" if total else "")
        )
        lines.append(f"  weights dir: {item['weights_dir']} ({item['weights_dir_source']})")
        for f in item["expected_files"]:
            lines.append(f"    [{'x' if f['present'] else ' '}] {f['role']}: {f['path']}")
    return "\n".join(lines)


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    exponent = min(int(math.log10(max(n, 1)) // 3), 3)
    return f"{n / 1000**exponent:.1f}{['', 'K', 'M', 'G'][exponent]}" if exponent else str(n)
