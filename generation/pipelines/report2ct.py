"""Report2CT pipeline: findings + impression -> 3D CT volume (diffusers-style, injected parts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from monai.networks.schedulers import RFlowScheduler
from torch import nn

from generation.errors import Cancelled, InvalidRequest
from generation.networks.layout import network_tensor_to_volume, xyz_to_zyx, zyx_to_xyz
from generation.request import GUIDANCE_RANGE, SPACING_RANGE_MM, STEPS_RANGE
from generation.sampling import decode_latents, euler_step, guided_velocity, inference_timesteps
from generation.text import MultiEncoder

StepCallback = Callable[[int, int], None]


@dataclass
class Report2CTConfig:
    """Grid and conditioning settings; shapes and spacings in the public (z, y, x) order."""

    latent_channels: int
    latent_shape_zyx: tuple[int, int, int]
    output_shape_zyx: tuple[int, int, int]
    default_spacing_zyx: tuple[float, float, float]
    scale_factor: float = 1.0
    spacing_input_scale: float = 1.0
    hu_range: tuple[float, float] = (-1000.0, 1000.0)
    decode_roi_latent_zyx: tuple[int, int, int] | None = None
    decode_overlap: float = 0.25


@dataclass
class Report2CTOutput:
    """``volume_hu``: int16 [z, y, x] (generation.conventions); spacing (dz, dy, dx) mm."""

    volume_hu: np.ndarray
    spacing_mm: tuple[float, float, float]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Report2CTPipeline:
    """text encoder -> RFlow denoising with CFG in latent space -> sliding-window decode -> HU."""

    def __init__(
        self,
        text_encoder: MultiEncoder,
        unet: nn.Module,
        autoencoder: nn.Module,
        scheduler: RFlowScheduler,
        config: Report2CTConfig,
    ) -> None:
        self.text_encoder = text_encoder
        self.unet = unet.eval()
        self.autoencoder = autoencoder.eval()
        self.scheduler = scheduler
        self.config = config

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @torch.inference_mode()
    def __call__(
        self,
        findings: str = "",
        impression: str = "",
        *,
        seed: int = 0,
        guidance_scale: float = 5.0,
        num_inference_steps: int = 30,
        spacing_mm: Sequence[float] | None = None,
        prompt_embeds: torch.Tensor | None = None,
        on_step: StepCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> Report2CTOutput:
        timings: dict[str, float] = {}
        warnings: list[str] = []
        # 1. Check inputs.
        spacing_zyx = self.check_inputs(
            findings, impression, guidance_scale, num_inference_steps, spacing_mm, prompt_embeds
        )
        # 2. Encode the report (findings and impression -> two context tokens).
        tic = time.perf_counter()
        if prompt_embeds is None:
            prompt_embeds, notes = self.encode_prompt(findings, impression)
            warnings.extend(notes)
        context = prompt_embeds.to(self.device, dtype=torch.float32)
        timings["text_encoding"] = time.perf_counter() - tic
        # 3. Prepare the spacing condition and the initial noise.
        tic = time.perf_counter()
        spacing = self.prepare_spacing(spacing_zyx)
        latents = self.prepare_latents(seed)
        # 4. Denoise.
        latents = self.denoise(
            latents, context, spacing, guidance_scale, num_inference_steps, on_step, should_cancel
        )
        self._sync()
        timings["sampling"] = time.perf_counter() - tic
        # 5. Decode with the autoencoder (sliding window).
        tic = time.perf_counter()
        image = self.decode(latents)
        timings["decoding"] = time.perf_counter() - tic
        # 6. Post-process to Hounsfield units in the public axis order.
        tic = time.perf_counter()
        volume = self.postprocess(image)
        timings["postprocess"] = time.perf_counter() - tic
        return Report2CTOutput(volume, tuple(spacing_zyx), warnings, timings)

    def check_inputs(
        self,
        findings: str,
        impression: str,
        guidance_scale: float,
        num_inference_steps: int,
        spacing_mm: Sequence[float] | None,
        prompt_embeds: torch.Tensor | None,
    ) -> tuple[float, float, float]:
        """Validate what the pipeline itself depends on; returns the spacing (dz, dy, dx)."""
        if prompt_embeds is None and not (findings.strip() or impression.strip()):
            raise InvalidRequest(
                "findings and impression are both empty; write at least one of them."
            )
        lo, hi = GUIDANCE_RANGE
        if not lo <= guidance_scale <= hi:
            raise InvalidRequest(
                f"guidance_scale must be between {lo:g} and {hi:g}, got {guidance_scale}."
            )
        lo, hi = STEPS_RANGE
        if not lo <= num_inference_steps <= hi:
            raise InvalidRequest(
                f"num_inference_steps must be between {lo} and {hi}, got {num_inference_steps}."
            )
        spacing = tuple(float(v) for v in (spacing_mm or self.config.default_spacing_zyx))
        lo, hi = SPACING_RANGE_MM
        if len(spacing) != 3 or not all(lo <= v <= hi for v in spacing):
            raise InvalidRequest(
                f"spacing_mm must be three values between {lo} and {hi} mm, got {spacing}."
            )
        return spacing  # type: ignore[return-value]

    def encode_prompt(self, findings: str, impression: str) -> tuple[torch.Tensor, list[str]]:
        """Context [1, 2, D] and truncation warnings."""
        return self.text_encoder.encode_report(findings, impression)

    def prepare_spacing(self, spacing_zyx: Sequence[float]) -> torch.Tensor | None:
        """[1, 3] spacing input in network order (sx, sy, sz), scaled as at training time."""
        if not getattr(self.unet, "include_spacing_input", False):
            return None
        values = [v * self.config.spacing_input_scale for v in zyx_to_xyz(spacing_zyx)]
        return torch.tensor([values], dtype=torch.float32, device=self.device)

    def prepare_latents(self, seed: int) -> torch.Tensor:
        """Gaussian noise drawn on the CPU from a seeded generator, so a seed means the same
        starting point on every device; the result is moved to the model's device."""
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        shape = (1, self.config.latent_channels, *zyx_to_xyz(self.config.latent_shape_zyx))
        return torch.randn(shape, generator=generator, dtype=torch.float32).to(self.device)

    def _sync(self) -> None:
        # CUDA kernels run asynchronously: wait for them so stage timings are true.
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _autocast(self):
        # Mixed precision on CUDA, as MAISI does at inference; CPU stays float32.
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return nullcontext()

    def denoise(
        self,
        latents: torch.Tensor,
        context: torch.Tensor,
        spacing: torch.Tensor | None,
        guidance_scale: float,
        num_inference_steps: int,
        on_step: StepCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> torch.Tensor:
        """Euler integration of the guided velocity from noise (t = T) to data (t = 0)."""
        steps = inference_timesteps(
            self.scheduler, num_inference_steps, latents.shape[2:], self.device
        )
        total = len(steps)
        for i, (t, t_next) in enumerate(steps):
            if should_cancel is not None and should_cancel():
                raise Cancelled(f"Cancelled at diffusion step {i} of {total}.")
            timestep = torch.tensor([t], dtype=torch.float32, device=self.device)
            with self._autocast():
                velocity = guided_velocity(
                    self.unet, latents, timestep, context, spacing, guidance_scale
                )
            latents = euler_step(
                latents, velocity.float(), t, t_next, self.scheduler.num_train_timesteps
            )
            if on_step is not None:
                on_step(i + 1, total)
        return latents

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """[1, 1, X, Y, Z] image in [0, 1] (before clipping), on the CPU."""
        roi = self.config.decode_roi_latent_zyx
        with self._autocast():
            image = decode_latents(
                self.autoencoder,
                latents,
                scale_factor=self.config.scale_factor,
                roi_size=zyx_to_xyz(roi) if roi else None,
                overlap=self.config.decode_overlap,
                output_device="cpu",
            )
        expected = zyx_to_xyz(self.config.output_shape_zyx)
        if tuple(image.shape[2:]) != tuple(expected):
            raise RuntimeError(
                f"decoded shape {xyz_to_zyx(image.shape[2:])} != preset output {self.config.output_shape_zyx}"
            )
        return image.float()

    def postprocess(self, image: torch.Tensor) -> np.ndarray:
        """[0, 1] -> [-1000, 1000] HU (the paper's normalisation, inverted), int16 [z, y, x]."""
        lo, hi = self.config.hu_range
        hu = image[0, 0].clamp(0.0, 1.0) * (hi - lo) + lo
        return network_tensor_to_volume(hu).round().to(torch.int16).contiguous().numpy()
