"""``generate()`` for chest X-ray requests: request -> CXR pipeline -> GenerationResult.

Called by :func:`generation.api.generate` (validation, preset lookup, device, lock and OOM
handling happen there). Outputs of a request:

- ``cxr-frontal`` / ``cxr-lateral``: that view; ``cxr-both``: both, generated jointly;
- ``cxr-report``: a draft report only (needs input images);
- ``with_report=True`` adds a draft report to an image request prompted by images.

The prompts are the report (findings + impression, if given) and ``request.input_images``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from generation.api import _cache_key, finish_result  # shared with the CT path
from generation.cxr.loading import LoadedCXRPipeline, build_cxr_pipeline
from generation.cxr.modalities import REPORT, REQUEST_VIEWS, VIEW_POSITION
from generation.pipelines.loading import pick_device
from generation.registry import Preset
from generation.request import GenerationRequest
from generation.result import GeneratedCXRSample, GenerationResult

BITS_STORED = 12
_CACHE: dict[tuple, LoadedCXRPipeline] = {}


def get_cxr_pipeline(
    preset: Preset,
    weights_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    allow_untrained: bool = False,
) -> LoadedCXRPipeline:
    """The cached CXR pipeline for these settings (a worker keeps the last one loaded)."""
    dev = pick_device(device)
    key = _cache_key(preset, weights_dir, dev, allow_untrained)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = build_cxr_pipeline(preset, weights_dir, dev, allow_untrained)
    return _CACHE[key]


def clear_cache() -> None:
    _CACHE.clear()


def request_outputs(request: GenerationRequest) -> list[str]:
    outputs = list(REQUEST_VIEWS[request.modality])
    if request.modality == "cxr-report" or request.with_report:
        outputs.append(REPORT)
    return outputs


def to_uint16(image: np.ndarray, bits: int = BITS_STORED) -> np.ndarray:
    """[0, 1] float -> uint16 with ``bits`` significant bits (DICOM BitsStored)."""
    top = (1 << bits) - 1
    return np.round(np.clip(image, 0.0, 1.0) * top).astype(np.uint16)


def run_cxr(
    request: GenerationRequest,
    preset: Preset,
    seed: int,
    dev: torch.device,
    weights_dir,
    allow_untrained: bool,
    on_step: Callable[[int, int], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> GenerationResult:
    start = time.perf_counter()
    loaded = get_cxr_pipeline(preset, weights_dir, dev, allow_untrained)
    timings = {"load": time.perf_counter() - start}
    pipe = loaded.pipeline
    warnings = list(loaded.warnings)
    outputs = request_outputs(request)
    n = request.num_samples
    steps = request.num_inference_steps
    samples = []
    for i in range(n):
        sample_seed = (seed + i) % 2**63
        per_sample = steps if REQUEST_VIEWS[request.modality] else 1

        def progress(done: int, total: int, offset: int = i * per_sample) -> None:
            if on_step is not None:
                on_step(offset + done, n * total)

        out = pipe(
            request.findings,
            request.impression,
            images=request.input_images,
            pixel_spacing_mm=request.input_pixel_spacing_mm,
            outputs=outputs,
            seed=sample_seed,
            guidance_scale=float(request.guidance_scale),
            num_inference_steps=steps,
            on_step=progress,
            should_cancel=should_cancel,
        )
        warnings.extend(out.warnings)
        for stage, seconds in out.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
        samples.append(
            GeneratedCXRSample(
                images={v: to_uint16(img) for v, img in out.images.items()},
                pixel_spacing_mm=pipe.config.pixel_spacing_mm,
                seed=sample_seed,
                view_positions={v: VIEW_POSITION[v] for v in out.images},
                bits_stored=BITS_STORED,
                report=out.report,
                inputs=out.inputs,
                coherence=out.coherence,
                joint=out.joint,
            )
        )
    timings["total"] = time.perf_counter() - start
    return finish_result(request, preset, loaded.weights_sha256, steps, dev, samples, warnings, timings)
