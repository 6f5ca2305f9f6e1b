"""What :func:`generation.generate` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class GeneratedSample:
    """One synthetic volume.

    ``volume_hu``: int16 array indexed [z, y, x] in Hounsfield units, clipped to the preset's
    HU range ([-1000, 1000]); axes as in :mod:`generation.conventions` (z toward superior,
    k = 0 most inferior; y toward posterior; x toward the patient's left).
    ``spacing_mm``: (dz, dy, dx) in millimetres, same order as the array axes.
    ``origin_lps_mm``: patient position (x, y, z), DICOM LPS, of voxel [0, 0, 0]; the volume is
    centred on the LPS origin.
    """

    volume_hu: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_lps_mm: tuple[float, float, float]
    seed: int


@dataclass
class GeneratedCXRSample:
    """One synthetic chest X-ray study (generation.cxr).

    ``images``: view ("frontal", "lateral") -> uint16 [rows, cols], MONOCHROME2 (bright =
    dense), ``bits_stored`` significant bits, radiological display orientation: rows superior ->
    inferior; frontal PA columns from the patient's RIGHT to LEFT (patient's left on the image
    right); lateral (left lateral) columns from anterior to posterior.
    ``view_positions``: view -> DICOM ViewPosition ("PA", "LL").
    ``pixel_spacing_mm``: (row, col) in mm, the same for every view.
    ``report``: {"findings", "impression"} when a report was drafted, else None.
    ``inputs``: the modalities that prompted the generation ("report", "frontal", "lateral").
    ``coherence``: "a|b" -> cosine similarity of two outputs in the shared space (MedCoDi-M
    eq. 5); ``joint``: whether the outputs were generated jointly (cross-modal alignment).
    """

    images: dict[str, np.ndarray]
    pixel_spacing_mm: tuple[float, float]
    seed: int
    view_positions: dict[str, str] = field(default_factory=dict)
    bits_stored: int = 12
    report: dict[str, str] | None = None
    inputs: list[str] = field(default_factory=list)
    coherence: dict[str, float] = field(default_factory=dict)
    joint: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "views": {
                view: {
                    "shape": list(img.shape),
                    "dtype": str(img.dtype),
                    "view_position": self.view_positions.get(view),
                }
                for view, img in self.images.items()
            },
            "pixel_spacing_mm": list(self.pixel_spacing_mm),
            "bits_stored": self.bits_stored,
            "report": dict(self.report) if self.report is not None else None,
            "inputs": list(self.inputs),
            "coherence": dict(self.coherence),
            "joint": self.joint,
        }


@dataclass
class GenerationResult:
    """All samples of one request plus provenance.

    ``timings`` are seconds per stage (``load``, ``text_encoding``, ``sampling``, ``decoding``,
    ``postprocess``, ``total``), summed over samples. ``peak_memory_bytes`` is the CUDA peak
    allocated during the call on GPU, or the process's peak resident set size on CPU
    (``peak_memory_kind`` says which).
    """

    samples: list[GeneratedSample] | list[GeneratedCXRSample]
    modality: str
    preset: str
    model_version: str
    weights_sha256: str
    guidance_scale: float
    num_inference_steps: int
    device: str
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    peak_memory_bytes: int = 0
    peak_memory_kind: str = "cpu_max_rss"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary without the voxel arrays."""
        return {
            "modality": self.modality,
            "preset": self.preset,
            "model_version": self.model_version,
            "weights_sha256": self.weights_sha256,
            "guidance_scale": self.guidance_scale,
            "num_inference_steps": self.num_inference_steps,
            "device": self.device,
            "warnings": list(self.warnings),
            "timings": dict(self.timings),
            "peak_memory_bytes": self.peak_memory_bytes,
            "peak_memory_kind": self.peak_memory_kind,
            "samples": [
                s.to_dict()
                if isinstance(s, GeneratedCXRSample)
                else {
                    "seed": s.seed,
                    "shape_zyx": list(s.volume_hu.shape),
                    "dtype": str(s.volume_hu.dtype),
                    "spacing_mm_zyx": list(s.spacing_mm),
                    "origin_lps_mm": list(s.origin_lps_mm),
                }
                for s in self.samples
            ],
        }
