"""Classifier-free guidance around the diffusion UNet."""

from __future__ import annotations

import torch
from torch import nn


def guided_velocity(
    unet: nn.Module,
    latents: torch.Tensor,
    timestep: torch.Tensor,
    context: torch.Tensor,
    spacing: torch.Tensor | None,
    guidance_scale: float,
) -> torch.Tensor:
    """v = v_u + s * (v_c - v_u), both predictions from ONE batched forward.

    The unconditional branch uses an all-zero context, exactly what training feeds when it
    drops the text (guidance dropout). Spacing is a property of the requested grid, not of
    the report, so both branches receive it.
    """
    batch = latents.shape[0]
    x = torch.cat([latents, latents], dim=0)
    ctx = torch.cat([torch.zeros_like(context), context], dim=0)
    t = timestep.reshape(-1).expand(batch).repeat(2)
    kwargs = {}
    if spacing is not None:
        kwargs["spacing_tensor"] = torch.cat([spacing, spacing], dim=0)
    v_uncond, v_cond = unet(x, t, context=ctx, **kwargs).chunk(2, dim=0)
    return v_uncond + guidance_scale * (v_cond - v_uncond)
