"""Sampling: RFlow timesteps and Euler updates, classifier-free guidance, latent decoding."""

from generation.sampling.decoding import decode_latents
from generation.sampling.guidance import guided_velocity
from generation.sampling.rflow import euler_step, inference_timesteps

__all__ = ["decode_latents", "euler_step", "guided_velocity", "inference_timesteps"]
