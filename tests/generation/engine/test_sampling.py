"""Sampling: classifier-free guidance, spacing conditioning, seeding, sliding-window decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generation.sampling import decode_latents, euler_step, guided_velocity, inference_timesteps

from .conftest import randomize_unet_output

FINDINGS = "Small nodule in the right lower lobe."
IMPRESSION = "Right lower lobe nodule."


@pytest.fixture
def unet_inputs(tiny_pipeline):
    pipe = tiny_pipeline
    latents = pipe.prepare_latents(seed=3)
    context, _ = pipe.encode_prompt(FINDINGS, IMPRESSION)
    spacing = pipe.prepare_spacing((4.0, 3.0, 3.0))
    t = torch.tensor([700.0])
    return pipe.unet, latents, t, context, spacing


@torch.no_grad()
def test_cfg_with_scale_one_equals_the_conditional_prediction(unet_inputs):
    unet, latents, t, context, spacing = unet_inputs
    guided = guided_velocity(unet, latents, t, context, spacing, guidance_scale=1.0)
    conditional = unet(latents, t, context=context, spacing_tensor=spacing)
    assert torch.allclose(guided, conditional, atol=1e-5)


@torch.no_grad()
def test_cfg_combines_unconditional_and_conditional(unet_inputs):
    unet, latents, t, context, spacing = unet_inputs
    cond = unet(latents, t, context=context, spacing_tensor=spacing)
    uncond = unet(latents, t, context=torch.zeros_like(context), spacing_tensor=spacing)
    assert not torch.allclose(cond, uncond)  # the text matters
    guided = guided_velocity(unet, latents, t, context, spacing, guidance_scale=4.0)
    assert torch.allclose(guided, uncond + 4.0 * (cond - uncond), atol=1e-4)


def test_rflow_timesteps_run_from_noise_to_data():
    from monai.networks.schedulers import RFlowScheduler

    steps = inference_timesteps(RFlowScheduler(use_discrete_timesteps=False), 10, (4, 4, 4), "cpu")
    assert len(steps) == 10 and steps[0][0] == pytest.approx(1000.0) and steps[-1][1] == 0.0
    # Euler steps add up to exactly one unit of time: a constant velocity moves x by v.
    x = torch.zeros(1)
    for t, t_next in steps:
        x = euler_step(x, torch.ones(1), t, t_next, 1000)
    assert float(x) == pytest.approx(1.0)


def test_same_seed_gives_the_same_volume(tiny_pipeline):
    a = tiny_pipeline(FINDINGS, IMPRESSION, seed=7, num_inference_steps=3)
    b = tiny_pipeline(FINDINGS, IMPRESSION, seed=7, num_inference_steps=3)
    c = tiny_pipeline(FINDINGS, IMPRESSION, seed=8, num_inference_steps=3)
    assert a.volume_hu.dtype == np.int16 and a.volume_hu.shape == (16, 16, 16)
    np.testing.assert_array_equal(a.volume_hu, b.volume_hu)
    assert not np.array_equal(a.volume_hu, c.volume_hu)


def test_requested_spacing_changes_the_output(tiny_pipeline):
    pipe = tiny_pipeline
    base = pipe(FINDINGS, IMPRESSION, seed=1, num_inference_steps=3, spacing_mm=(4.0, 3.0, 3.0))
    other = pipe(FINDINGS, IMPRESSION, seed=1, num_inference_steps=3, spacing_mm=(2.0, 0.8, 0.8))
    assert base.spacing_mm == (4.0, 3.0, 3.0) and other.spacing_mm == (2.0, 0.8, 0.8)
    assert not np.array_equal(base.volume_hu, other.volume_hu)
    # And the latent trajectory itself differs, not only through rounding after decoding.
    lat = pipe.prepare_latents(1)
    ctx, _ = pipe.encode_prompt(FINDINGS, IMPRESSION)
    with torch.no_grad():
        v1 = pipe.unet(
            lat,
            torch.tensor([500.0]),
            context=ctx,
            spacing_tensor=pipe.prepare_spacing((4.0, 3.0, 3.0)),
        )
        v2 = pipe.unet(
            lat,
            torch.tensor([500.0]),
            context=ctx,
            spacing_tensor=pipe.prepare_spacing((2.0, 0.8, 0.8)),
        )
    assert (v1 - v2).abs().max() > 1e-4


def test_denoise_reports_progress_and_can_be_cancelled(tiny_pipeline):
    from generation.errors import Cancelled

    calls = []
    tiny_pipeline(
        FINDINGS,
        IMPRESSION,
        seed=1,
        num_inference_steps=4,
        on_step=lambda i, n: calls.append((i, n)),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    polls = iter([False, False, True])
    with pytest.raises(Cancelled, match="step 2 of 4"):
        tiny_pipeline(
            FINDINGS, IMPRESSION, seed=1, num_inference_steps=4, should_cancel=lambda: next(polls)
        )


class _LocalDecoder(torch.nn.Module):
    """Each output voxel depends on exactly one latent voxel (kernel = stride = 4), so windowed
    decoding must reproduce the whole-volume decode exactly if the blending is right."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.up = torch.nn.ConvTranspose3d(4, 1, kernel_size=4, stride=4)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(z)


@torch.no_grad()
def test_sliding_window_decode_matches_whole_volume_decode():
    decoder = _LocalDecoder()
    latents = torch.randn(1, 4, 10, 8, 6)
    whole = decode_latents(decoder, latents, scale_factor=1.5)
    windowed = decode_latents(decoder, latents, scale_factor=1.5, roi_size=(4, 4, 4), overlap=0.5)
    assert windowed.shape == whole.shape == (1, 1, 40, 32, 24)
    assert torch.allclose(windowed, whole, atol=1e-5)


@torch.no_grad()
def test_sliding_window_decode_with_the_maisi_autoencoder(tiny_pipeline):
    latents = torch.randn(1, 4, 4, 4, 4)
    ae = tiny_pipeline.autoencoder
    whole = decode_latents(ae, latents, roi_size=(4, 4, 4))  # window covers everything
    assert torch.allclose(whole, ae.decode(latents), atol=1e-6)
    windowed = decode_latents(ae, latents, roi_size=(2, 2, 2), overlap=0.5, output_device="cpu")
    assert windowed.shape == (1, 1, 16, 16, 16) and torch.isfinite(windowed).all()


def test_untrained_unet_is_zero_until_output_layer_changes(tiny_preset_path):
    """Guards the test fixture's assumption (MONAI zero-initialises the last conv)."""
    from generation.networks import build_unet
    from generation.registry import load_preset

    unet = build_unet(load_preset(tiny_preset_path).section("unet"))
    x = torch.randn(1, 4, 4, 4, 4)
    kwargs = {"context": torch.randn(1, 2, 40), "spacing_tensor": torch.ones(1, 3)}
    with torch.no_grad():
        assert unet(x, torch.tensor([10.0]), **kwargs).abs().max() == 0
        randomize_unet_output(unet)
        assert unet(x, torch.tensor([10.0]), **kwargs).abs().max() > 0
