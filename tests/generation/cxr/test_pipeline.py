"""The CXR pipeline with tiny random parts: determinism, guidance, flows, progress, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generation.cxr.conditioning import to_context
from generation.errors import Cancelled, InvalidRequest
from generation.sampling import guided_velocity

REPORT = "Large left pleural effusion."


def test_same_seed_same_images_and_other_seed_other_images(tiny_pipeline):
    a = tiny_pipeline(REPORT, outputs=("frontal", "lateral"), seed=3, num_inference_steps=3)
    b = tiny_pipeline(REPORT, outputs=("frontal", "lateral"), seed=3, num_inference_steps=3)
    c = tiny_pipeline(REPORT, outputs=("frontal", "lateral"), seed=4, num_inference_steps=3)
    for view in ("frontal", "lateral"):
        assert a.images[view].shape == (32, 32) and a.images[view].dtype == np.float32
        assert np.array_equal(a.images[view], b.images[view])
        assert not np.array_equal(a.images[view], c.images[view])


def test_a_view_gets_the_same_noise_alone_or_with_the_other_view(tiny_pipeline):
    noise_alone = tiny_pipeline.prepare_latents([5])
    assert torch.equal(noise_alone["frontal"], tiny_pipeline.prepare_latents([5])["frontal"])
    single = tiny_pipeline(REPORT, outputs=("lateral",), seed=5, num_inference_steps=2)
    independent = tiny_pipeline(REPORT, outputs=("frontal", "lateral"), seed=5, num_inference_steps=2, joint=False)
    assert np.array_equal(single.images["lateral"], independent.images["lateral"])


def test_guidance_scale_one_equals_the_conditional_prediction(tiny_pipeline):
    unet = tiny_pipeline.parts.unets["frontal"]
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    context = to_context(torch.nn.functional.normalize(torch.randn(2, 16), dim=-1), 4.0)
    t = torch.tensor([500.0, 500.0])
    with torch.no_grad():
        guided = guided_velocity(unet, latents, t, context, None, 1.0)
        conditional = unet(latents, t, context=context)
        stronger = guided_velocity(unet, latents, t, context, None, 3.0)
    assert torch.allclose(guided, conditional, atol=1e-5)
    assert not torch.allclose(stronger, conditional, atol=1e-4)


def test_joint_and_independent_coherence_are_computed(tiny_pipeline):
    embeds = tiny_pipeline.encode_inputs([REPORT, "No pleural effusion."], {})
    joint = tiny_pipeline.run_batch(embeds, ("frontal", "lateral"), [1, 2], 3.0, 2, joint=True)
    independent = tiny_pipeline.run_batch(embeds, ("frontal", "lateral"), [1, 2], 3.0, 2, joint=False)
    assert joint.joint and not independent.joint
    from generation.cxr.joint import coherence

    for result in (joint, independent):
        sims = coherence(result.embeddings["frontal"], result.embeddings["lateral"])
        assert sims.shape == (2,) and bool(((sims >= -1.0001) & (sims <= 1.0001)).all())
    # The coupling changes the images (the partner's latent is attended to).
    assert not torch.allclose(joint.images["frontal"], independent.images["frontal"])
    out = tiny_pipeline(REPORT, outputs=("frontal", "lateral"), seed=1, num_inference_steps=2)
    assert set(out.coherence) == {"frontal|lateral"} and out.joint


def test_image_to_report_and_mixed_prompts(tiny_pipeline):
    frontal = np.random.default_rng(0).random((50, 40)).astype(np.float32)
    out = tiny_pipeline(images={"frontal": frontal}, outputs=("report",), seed=0)
    assert set(out.report) == {"findings", "impression"} and out.inputs == ["frontal"]
    again = tiny_pipeline(images={"frontal": frontal}, outputs=("report",), seed=9)
    assert again.report == out.report  # greedy decoding ignores the seed
    mixed = tiny_pipeline(REPORT, images={"frontal": frontal}, outputs=("lateral",), seed=0, num_inference_steps=2)
    assert mixed.inputs == ["frontal", "report"] and set(mixed.images) == {"lateral"}
    both = tiny_pipeline(images={"lateral": frontal}, outputs=("frontal", "report"), seed=0, num_inference_steps=2)
    assert set(both.coherence) == {"frontal|report"}


def test_progress_and_cancel(tiny_pipeline):
    calls = []
    tiny_pipeline(REPORT, outputs=("frontal",), num_inference_steps=3, on_step=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(Cancelled):
        tiny_pipeline(REPORT, outputs=("frontal",), num_inference_steps=3, should_cancel=lambda: True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"outputs": ("report",)},  # a report cannot prompt a report
        {"outputs": ("frontal",), "images": {"frontal": np.zeros((16, 16))}},  # input == output
        {"outputs": ("bone",)},
        {"outputs": ("frontal",), "guidance_scale": 50.0},
    ],
)
def test_invalid_flows_are_refused(tiny_pipeline, kwargs):
    with pytest.raises(InvalidRequest):
        tiny_pipeline(REPORT, **kwargs)
