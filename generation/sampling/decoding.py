"""Latent -> image decoding with a Gaussian-blended sliding window.

The full-size model's latent (4x120x120x64) decodes to 480x480x256 with 64-channel feature maps
at full resolution, which does not fit a GPU in one pass; decoding overlapping latent windows
and blending them with Gaussian weights bounds the memory by the window size, not the volume.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.inferers import SlidingWindowInferer
from torch import nn


class _ScaledDecoder(nn.Module):
    """Undo the latent scale factor, then decode (what the inferer calls per window)."""

    def __init__(self, autoencoder: nn.Module, scale_factor: float) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.scale_factor = scale_factor

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(z / self.scale_factor)


def decode_latents(
    autoencoder: nn.Module,
    latents: torch.Tensor,
    scale_factor: float = 1.0,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    sw_batch_size: int = 1,
    output_device: torch.device | str | None = None,
) -> torch.Tensor:
    """Decode [B, C, *latent] to [B, 1, *image].

    ``roi_size`` is in latent voxels (network axis order); None or a window at least as large as
    the latent decodes in one pass. ``output_device`` holds the blended output (use "cpu" to keep
    the full-size image off the GPU).
    """
    decoder = _ScaledDecoder(autoencoder, scale_factor)
    spatial = tuple(latents.shape[2:])
    if roi_size is None or all(r >= s for r, s in zip(roi_size, spatial, strict=True)):
        out = decoder(latents)
        return out.to(output_device) if output_device is not None else out
    roi = tuple(min(r, s) for r, s in zip(roi_size, spatial, strict=True))
    inferer = SlidingWindowInferer(
        roi_size=roi,
        sw_batch_size=sw_batch_size,
        overlap=overlap,
        mode="gaussian",
        sw_device=latents.device,
        device=output_device if output_device is not None else latents.device,
    )
    return inferer(latents, decoder)
