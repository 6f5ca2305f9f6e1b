"""Rectified-flow sampling helpers (MONAI RFlowScheduler timesteps, Euler updates)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.networks.schedulers import RFlowScheduler


def inference_timesteps(
    scheduler: RFlowScheduler,
    num_inference_steps: int,
    latent_spatial_shape: Sequence[int],
    device: torch.device | str,
) -> list[tuple[float, float]]:
    """(t, t_next) pairs from t ~ T (pure noise) down to 0 (data).

    The scheduler's resolution-dependent timestep shift (MAISI's ``use_timestep_transform``)
    needs the latent size, which is why it is passed here.
    """
    scheduler.set_timesteps(
        num_inference_steps=num_inference_steps,
        device=device,
        input_img_size_numel=int(math.prod(latent_spatial_shape)),
    )
    current = [float(t) for t in scheduler.timesteps]
    return list(zip(current, current[1:] + [0.0], strict=True))


def euler_step(
    latents: torch.Tensor, velocity: torch.Tensor, t: float, t_next: float, num_train_timesteps: int
) -> torch.Tensor:
    """x_{t_next} = x_t + v * (t - t_next) / T with v = x0 - noise.

    Same update as ``RFlowScheduler.step``, except that it does not round ``t_next`` to an
    integer, so with continuous timesteps the step sizes add up exactly to 1.
    """
    return latents + velocity * ((t - t_next) / num_train_timesteps)
