"""The generation request: what a user asks for, validated before any model is loaded.

No torch import here, so a web process can validate a form without paying for torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from generation.errors import InvalidRequest

#: Modalities the request accepts. "cxr-*" run the MedCoDi-M pipeline (generation.cxr):
#: frontal, lateral or both views, or "cxr-report" (a draft report from input images only).
MODALITIES: tuple[str, ...] = ("ct", "cxr-frontal", "cxr-lateral", "cxr-both", "cxr-report")
CXR_MODALITIES: tuple[str, ...] = ("cxr-frontal", "cxr-lateral", "cxr-both", "cxr-report")
#: Views a CXR request may give as input images.
CXR_INPUT_VIEWS: tuple[str, ...] = ("frontal", "lateral")

# Allowed ranges. Guidance 1 = purely conditional (no guidance); the Report2CT paper recommends
# 3-7; above ~15 the RFlow samples saturate, so larger values are refused rather than clipped.
GUIDANCE_RANGE: tuple[float, float] = (1.0, 15.0)
DEFAULT_GUIDANCE = 5.0
# Steps: RFlow gives usable samples from ~10 steps; 200 is far past the point of any gain.
STEPS_RANGE: tuple[int, int] = (1, 200)
DEFAULT_STEPS = 30
SAMPLES_RANGE: tuple[int, int] = (1, 8)
# Voxel spacing override, per axis, in millimetres.
SPACING_RANGE_MM: tuple[float, float] = (0.2, 20.0)
SEED_RANGE: tuple[int, int] = (0, 2**63 - 1)
#: Longest accepted section (characters); encoders truncate far below this, it only stops abuse.
MAX_SECTION_CHARS = 20_000


@dataclass
class GenerationRequest:
    """One report-to-image request.

    ``spacing_mm`` optionally overrides the preset's voxel spacing and is given in the engine's
    axis order (dz, dy, dx), see :mod:`generation.conventions`. ``seed=None`` draws a random
    seed, which is reported back in the result. ``indication`` is recorded but, as in the
    Report2CT paper, only findings and impression condition the model.

    Chest X-ray requests (``modality`` "cxr-frontal", "cxr-lateral", "cxr-both", "cxr-report")
    may be prompted by the report, by ``input_images`` or by both (MedCoDi-M multi-prompt):
    ``input_images`` maps "frontal" / "lateral" to a 2D array, bright = dense, radiological
    display orientation, floats in [0, 1] (integer arrays are divided by their dtype's maximum;
    DICOM files go through ``generation.cxr.preprocess.read_dicom_cxr`` first).
    ``input_pixel_spacing_mm`` optionally gives each input's (row, col) spacing, so it can be
    resampled to the model's standard spacing. ``with_report`` also drafts a report (always on
    for "cxr-report"). A view cannot be both an input and an output. For CXR modalities the
    default preset name "demo" means "cxr-demo".
    """

    findings: str = ""
    impression: str = ""
    modality: str = "ct"
    indication: str = ""
    seed: int | None = None
    guidance_scale: float = DEFAULT_GUIDANCE
    num_inference_steps: int = DEFAULT_STEPS
    preset: str = "demo"
    spacing_mm: tuple[float, float, float] | None = None
    num_samples: int = 1
    input_images: dict[str, Any] | None = None
    input_pixel_spacing_mm: dict[str, tuple[float, float]] | None = None
    with_report: bool = False

    def check_inputs(self) -> None:
        """Raise :class:`InvalidRequest` with an explicit message on the first bad field."""
        check_request(self)


def _check_number(name: str, value: object, lo: float, hi: float, integer: bool) -> None:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"{name} must be {kind} between {lo:g} and {hi:g}, got {value!r}.")
    if integer and not float(value).is_integer():
        raise InvalidRequest(f"{name} must be {kind} between {lo:g} and {hi:g}, got {value!r}.")
    if not math.isfinite(float(value)) or not lo <= value <= hi:
        raise InvalidRequest(f"{name} must be between {lo:g} and {hi:g}, got {value!r}.")


def check_request(request: GenerationRequest) -> None:
    """Validate every field of ``request``; the preset name is checked later by the registry."""
    if request.modality not in MODALITIES:
        raise InvalidRequest(
            f"modality must be one of {', '.join(MODALITIES)}, got {request.modality!r}."
        )
    for name in ("findings", "impression", "indication"):
        text = getattr(request, name)
        if not isinstance(text, str):
            raise InvalidRequest(f"{name} must be text, got {type(text).__name__}.")
        if len(text) > MAX_SECTION_CHARS:
            raise InvalidRequest(
                f"{name} is {len(text)} characters long; the limit is {MAX_SECTION_CHARS}."
            )
    has_text = bool(request.findings.strip() or request.impression.strip())
    if request.modality in CXR_MODALITIES:
        _check_cxr_inputs(request, has_text)
    elif request.input_images or request.input_pixel_spacing_mm or request.with_report:
        raise InvalidRequest(f"input images and report drafting are for chest X-ray modalities, not {request.modality!r}.")
    elif not has_text:
        raise InvalidRequest("findings and impression are both empty; write at least one of them.")
    _check_number("guidance_scale", request.guidance_scale, *GUIDANCE_RANGE, integer=False)
    _check_number("num_inference_steps", request.num_inference_steps, *STEPS_RANGE, integer=True)
    _check_number("num_samples", request.num_samples, *SAMPLES_RANGE, integer=True)
    if request.seed is not None:
        _check_number("seed", request.seed, *SEED_RANGE, integer=True)
    if not isinstance(request.preset, str) or not request.preset.strip():
        raise InvalidRequest("preset must be a preset name, e.g. 'demo'.")
    if request.spacing_mm is not None:
        spacing = request.spacing_mm
        if isinstance(spacing, (str, bytes)) or len(spacing) != 3:
            raise InvalidRequest(
                f"spacing_mm must be three numbers (dz, dy, dx) in mm, got {spacing!r}."
            )
        for axis, value in zip(("dz", "dy", "dx"), spacing, strict=True):
            _check_number(f"spacing_mm {axis}", value, *SPACING_RANGE_MM, integer=False)


def _check_cxr_inputs(request: GenerationRequest, has_text: bool) -> None:
    """Which CXR prompts are given, and that they can produce the requested outputs."""
    images = request.input_images or {}
    if not isinstance(images, dict):
        raise InvalidRequest("input_images must map 'frontal'/'lateral' to 2D arrays.")
    unknown = [k for k in images if k not in CXR_INPUT_VIEWS]
    if unknown:
        raise InvalidRequest(f"input_images keys must be among {', '.join(CXR_INPUT_VIEWS)}, got {unknown}.")
    for view, array in images.items():
        shape = getattr(array, "shape", None)
        if shape is None or len(shape) != 2 or min(shape) < 8:
            raise InvalidRequest(f"input image {view!r} must be a 2D array of at least 8x8 pixels, got shape {shape}.")
    for view, spacing in (request.input_pixel_spacing_mm or {}).items():
        if view not in images:
            raise InvalidRequest(f"input_pixel_spacing_mm given for {view!r}, which is not an input image.")
        if isinstance(spacing, (str, bytes)) or len(spacing) != 2:
            raise InvalidRequest(f"input_pixel_spacing_mm[{view!r}] must be (row, col) in mm, got {spacing!r}.")
        for value in spacing:
            _check_number(f"input_pixel_spacing_mm[{view!r}]", value, 0.01, 20.0, integer=False)
    if not isinstance(request.with_report, bool):
        raise InvalidRequest(f"with_report must be true or false, got {request.with_report!r}.")
    outputs = {
        "cxr-frontal": ["frontal"], "cxr-lateral": ["lateral"],
        "cxr-both": ["frontal", "lateral"], "cxr-report": [],
    }[request.modality]  # fmt: skip
    clash = [v for v in outputs if v in images]
    if clash:
        raise InvalidRequest(f"the {clash[0]} view is an input image, so it cannot also be generated.")
    if request.modality == "cxr-report" or request.with_report:
        if has_text:
            raise InvalidRequest("a report cannot be drafted from a report: leave findings and impression empty.")
        if not images:
            raise InvalidRequest("drafting a report needs at least one input image (frontal or lateral).")
    elif not has_text and not images:
        raise InvalidRequest("give a report (findings or impression), an input image, or both.")
