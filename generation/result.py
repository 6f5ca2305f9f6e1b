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
class GenerationResult:
    """All samples of one request plus provenance.

    ``timings`` are seconds per stage (``load``, ``text_encoding``, ``sampling``, ``decoding``,
    ``postprocess``, ``total``), summed over samples. ``peak_memory_bytes`` is the CUDA peak
    allocated during the call on GPU, or the process's peak resident set size on CPU
    (``peak_memory_kind`` says which).
    """

    samples: list[GeneratedSample]
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
                {
                    "seed": s.seed,
                    "shape_zyx": list(s.volume_hu.shape),
                    "dtype": str(s.volume_hu.dtype),
                    "spacing_mm_zyx": list(s.spacing_mm),
                    "origin_lps_mm": list(s.origin_lps_mm),
                }
                for s in self.samples
            ],
        }
