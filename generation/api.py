"""``generate(request) -> GenerationResult``: validation, dispatch by modality, provenance."""

from __future__ import annotations

import resource
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from generation.errors import InvalidRequest, OutOfMemory
from generation.networks.layout import centred_origin_lps
from generation.pipelines.loading import LoadedPipeline, build_pipeline, pick_device
from generation.registry import Preset, load_preset
from generation.request import CXR_MODALITIES, GenerationRequest
from generation.result import GeneratedSample, GenerationResult

# A worker keeps the last pipeline loaded: reloading a multi-GB model per job would dominate.
_CACHE: dict[tuple, LoadedPipeline] = {}
# The scheduler holds per-run state and one model serves one request at a time.
_LOCK = threading.Lock()
#: Preset used for chest X-ray requests that leave the preset at its default.
DEFAULT_CXR_PRESET = "cxr-demo"


def _cache_key(preset: Preset, weights_dir, device: torch.device, allow_untrained: bool) -> tuple:
    # Include file stamps so replacing weights on disk is picked up without a restart.
    stamps = tuple(
        (str(f.path), f.path.stat().st_mtime_ns if f.path.exists() else None)
        for f in preset.expected_files(weights_dir)
    )
    return (
        str(preset.source),
        preset.source.stat().st_mtime_ns,
        stamps,
        str(device),
        allow_untrained,
    )


def get_pipeline(
    preset: Preset,
    weights_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    allow_untrained: bool = False,
) -> LoadedPipeline:
    """The cached pipeline for these settings, loading it (and dropping the old one) if needed."""
    dev = pick_device(device)
    key = _cache_key(preset, weights_dir, dev, allow_untrained)
    if key not in _CACHE:
        _CACHE.clear()  # free the previous model before loading the next
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        _CACHE[key] = build_pipeline(preset, weights_dir, dev, allow_untrained)
    return _CACHE[key]


def clear_cache() -> None:
    _CACHE.clear()


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def _peak_memory(device: torch.device) -> tuple[int, str]:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    # ru_maxrss is KiB on Linux, bytes on macOS; it is the process-lifetime peak.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024), "cpu_max_rss"


def finish_result(
    request: GenerationRequest,
    preset: Preset,
    weights_sha256: str,
    steps: int,
    dev: torch.device,
    samples: list,
    warnings: list[str],
    timings: dict[str, float],
) -> GenerationResult:
    """The provenance every modality reports with its samples (shared by CT and CXR)."""
    peak, kind = _peak_memory(dev)
    return GenerationResult(
        samples=samples,
        modality=request.modality,
        preset=preset.name,
        model_version=preset.model_version,
        weights_sha256=weights_sha256,
        guidance_scale=float(request.guidance_scale),
        num_inference_steps=steps,
        device=str(dev),
        warnings=list(dict.fromkeys(warnings)),
        timings={k: round(v, 4) for k, v in timings.items()},
        peak_memory_bytes=peak,
        peak_memory_kind=kind,
    )


def generate(
    request: GenerationRequest,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    weights_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    allow_untrained: bool = False,
) -> GenerationResult:
    """Generate ``request.num_samples`` volumes (CT) or chest X-ray studies (cxr-*).

    ``on_step(done, total)`` is called after every diffusion step, counted over all samples;
    ``should_cancel()`` is polled before every step and stops the run with ``Cancelled``.
    Sample i uses seed ``seed + i``, so each sample is reproducible on its own.
    Raises InvalidRequest, UnknownPreset, MissingWeights, OutOfMemory, Cancelled
    (all GenerationError).
    """
    request.check_inputs()
    is_cxr = request.modality in CXR_MODALITIES
    # The request's default preset "demo" is the CT demo; a CXR request means the CXR demo.
    preset_name = DEFAULT_CXR_PRESET if is_cxr and request.preset == "demo" else request.preset
    preset = load_preset(preset_name)
    if preset.modality != ("cxr" if is_cxr else request.modality):
        raise InvalidRequest(
            f"Preset {preset.name!r} generates {preset.modality}, not {request.modality}."
        )
    seed = int(request.seed) if request.seed is not None else secrets.randbits(31)
    dev = pick_device(device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    try:
        with _LOCK:
            if is_cxr:
                from generation.cxr.api import run_cxr

                return run_cxr(
                    request, preset, seed, dev, weights_dir, allow_untrained, on_step, should_cancel
                )
            return _run(
                request, preset, seed, dev, weights_dir, allow_untrained, on_step, should_cancel
            )
    except Exception as exc:
        if _is_oom(exc):
            raise OutOfMemory(preset.name, str(dev), str(exc).splitlines()[0][:200]) from exc
        raise


def _run(
    request: GenerationRequest,
    preset: Preset,
    seed: int,
    dev: torch.device,
    weights_dir,
    allow_untrained: bool,
    on_step,
    should_cancel,
) -> GenerationResult:
    start = time.perf_counter()
    loaded = get_pipeline(preset, weights_dir, dev, allow_untrained)
    timings = {"load": time.perf_counter() - start}
    pipe = loaded.pipeline
    warnings = list(loaded.warnings)

    tic = time.perf_counter()
    with torch.inference_mode():
        embeds, notes = pipe.encode_prompt(request.findings, request.impression)
    warnings.extend(notes)
    timings["text_encoding"] = time.perf_counter() - tic

    n, steps = request.num_samples, request.num_inference_steps
    samples = []
    for i in range(n):
        sample_seed = (seed + i) % 2**63

        def progress(done: int, total: int, offset: int = i * steps) -> None:
            if on_step is not None:
                on_step(offset + done, n * total)

        out = pipe(
            seed=sample_seed,
            guidance_scale=float(request.guidance_scale),
            num_inference_steps=steps,
            spacing_mm=request.spacing_mm,
            prompt_embeds=embeds,
            on_step=progress,
            should_cancel=should_cancel,
        )
        for stage in ("sampling", "decoding", "postprocess"):
            timings[stage] = timings.get(stage, 0.0) + out.timings.get(stage, 0.0)
        samples.append(
            GeneratedSample(
                volume_hu=out.volume_hu,
                spacing_mm=out.spacing_mm,
                origin_lps_mm=centred_origin_lps(out.volume_hu.shape, out.spacing_mm),
                seed=sample_seed,
            )
        )
    timings["total"] = time.perf_counter() - start
    return finish_result(request, preset, loaded.weights_sha256, steps, dev, samples, warnings, timings)
