"""Network factories over MONAI, driven by the keyword dictionaries stored in preset files.

Each factory takes ``spatial_dims`` (3 for CT; 2 for the later chest X-ray presets) so one
preset format serves both. The dictionaries hold MONAI constructor arguments verbatim, so a
preset documents the exact architecture and a MAISI config can be pasted in.
"""

from __future__ import annotations

from typing import Any

import torch
from monai.apps.generation.maisi.networks.autoencoderkl_maisi import AutoencoderKlMaisi
from monai.apps.generation.maisi.networks.diffusion_model_unet_maisi import (
    DiffusionModelUNetMaisi,
)
from monai.networks.nets import AutoencoderKL
from monai.networks.schedulers import RFlowScheduler

# Arguments only AutoencoderKlMaisi understands (its memory-saving tensor splitting).
_MAISI_ONLY_AE_ARGS = ("num_splits", "dim_split", "norm_float16", "print_info", "save_mem")
_AE_ARG_RENAMES_2D = (("num_channels", "channels"), ("use_checkpointing", "use_checkpoint"))


def build_autoencoder(config: dict[str, Any], spatial_dims: int = 3) -> torch.nn.Module:
    """AutoencoderKlMaisi for 3D; MONAI's AutoencoderKL for 2D (the MAISI blocks are 3D-only)."""
    kwargs = dict(config)
    if spatial_dims == 3:
        # MAISI's default save_mem empties the CUDA cache after every block: slow and pointless
        # unless a preset asks for it.
        kwargs.setdefault("save_mem", False)
        return AutoencoderKlMaisi(spatial_dims=3, **kwargs)
    if spatial_dims == 2:
        for key in _MAISI_ONLY_AE_ARGS:
            kwargs.pop(key, None)
        # Presets use MAISI's argument names; MONAI's 2D AutoencoderKL spells two of them
        # differently, so one preset format serves both.
        for maisi_name, monai_name in _AE_ARG_RENAMES_2D:
            if maisi_name in kwargs:
                kwargs[monai_name] = kwargs.pop(maisi_name)
        return AutoencoderKL(spatial_dims=2, **kwargs)
    raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")


def build_unet(
    config: dict[str, Any], spatial_dims: int = 3, use_flash_attention: bool | None = None
) -> torch.nn.Module:
    """DiffusionModelUNetMaisi with cross-attention on the text context.

    ``use_flash_attention`` overrides the preset (MONAI refuses it without CUDA, and it is what
    keeps the 30x30x16 self-attention of the full-size model within memory on a GPU).
    """
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    kwargs = dict(config)
    if use_flash_attention is not None:
        kwargs["use_flash_attention"] = use_flash_attention
    if kwargs.get("use_flash_attention") and not torch.cuda.is_available():
        kwargs["use_flash_attention"] = False
    return DiffusionModelUNetMaisi(spatial_dims=spatial_dims, **kwargs)


def build_scheduler(config: dict[str, Any], spatial_dims: int = 3) -> RFlowScheduler:
    """RFlowScheduler: the model predicts the velocity x0 - noise."""
    return RFlowScheduler(spatial_dim=spatial_dims, **config)


def count_parameters(module: torch.nn.Module) -> int:
    """Number of parameters (works on meta-device modules)."""
    return sum(p.numel() for p in module.parameters())
