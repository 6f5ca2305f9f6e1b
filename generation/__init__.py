"""RadSynth generation engine: radiology report -> synthetic image.

Pure engine: torch, MONAI, transformers, numpy. It never imports Django, ``webapp`` or
``turing_test`` (a test checks this), so it runs in a worker, a notebook or a training script.

The one entry point is :func:`generate`::

    from generation import GenerationRequest, generate
    result = generate(GenerationRequest(findings="...", impression="...", seed=1, preset="demo"))
    volume = result.samples[0].volume_hu        # int16 [z, y, x], see generation.conventions

Importing this package is cheap: torch and the models are only imported when
:func:`generate` (or the pipeline modules) are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generation.errors import (
    WEIGHTS_ENV_VAR,
    Cancelled,
    GenerationError,
    InvalidRequest,
    MissingWeights,
    OutOfMemory,
    UnknownPreset,
)
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from generation.result import GeneratedCXRSample, GeneratedSample, GenerationResult

__all__ = [
    "WEIGHTS_ENV_VAR",
    "Cancelled",
    "GeneratedCXRSample",
    "GeneratedSample",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "InvalidRequest",
    "MissingWeights",
    "OutOfMemory",
    "UnknownPreset",
    "generate",
]


def generate(
    request: GenerationRequest,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    weights_dir: str | Path | None = None,
    device: str | None = None,
    allow_untrained: bool = False,
) -> GenerationResult:
    """Run one request end to end; see :func:`generation.api.generate`."""
    from generation.api import generate as _generate

    return _generate(
        request,
        on_step=on_step,
        should_cancel=should_cancel,
        weights_dir=weights_dir,
        device=device,
        allow_untrained=allow_untrained,
    )


def __getattr__(name: str) -> Any:
    # Result classes live next to numpy; load them on first use to keep `import generation` light.
    if name in ("GenerationResult", "GeneratedSample", "GeneratedCXRSample"):
        from generation import result

        return getattr(result, name)
    raise AttributeError(f"module 'generation' has no attribute {name!r}")
