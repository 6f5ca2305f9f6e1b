"""The generation request: what a user asks for, validated before any model is loaded.

No torch import here, so a web process can validate a form without paying for torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from generation.errors import InvalidRequest

#: Modalities the request accepts; only "ct" is implemented by this engine version.
MODALITIES: tuple[str, ...] = ("ct", "cxr-frontal", "cxr-lateral", "cxr-both")

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
    if not request.findings.strip() and not request.impression.strip():
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
