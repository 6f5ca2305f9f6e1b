"""The joint-coupling model: what is trainable and what joint.safetensors stores."""

from __future__ import annotations

import pytest
import torch

from generation.cxr.joint import JointModel, build_joint_model, coupling_parameter_names


def test_only_cross_attention_and_projectors_are_trainable(tiny_pipeline):
    model = build_joint_model(tiny_pipeline.parts.unets, latent_channels=4, dim=16)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(("attn2" in n or "norm2" in n or n.startswith("projectors.")) for n in trainable)
    assert any(n.startswith("projectors.") for n in trainable)
    # The single-view UNets were copied, not modified.
    assert all(p.requires_grad for p in tiny_pipeline.parts.unets["frontal"].parameters())


def test_coupling_state_round_trip(tiny_pipeline):
    source = build_joint_model(tiny_pipeline.parts.unets, 4, 16)
    with torch.no_grad():
        for p in source.parameters():
            if p.requires_grad:
                p.add_(0.5)
    state = source.coupling_state()
    assert len([k for k in state if k.startswith("unet_frontal.")]) == len(coupling_parameter_names(source.unets["frontal"]))
    target = build_joint_model(tiny_pipeline.parts.unets, 4, 16)
    target.load_coupling_state(state)
    for (name, a), b in zip(source.named_parameters(), target.parameters(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(KeyError):
        target.load_coupling_state({k: v for k, v in state.items() if "attn2" not in k})


def test_partner_context_has_two_tokens(tiny_pipeline):
    model: JointModel = tiny_pipeline.parts.joint
    latents = {v: torch.randn(3, 4, 8, 8) for v in ("frontal", "lateral")}
    ctx = model.context("frontal", torch.zeros(3, 1, 16), latents, torch.full((3,), 300.0), 4.0)
    assert ctx.shape == (3, 2, 16)
    assert torch.allclose(ctx[:, 1].norm(dim=-1), torch.full((3,), 4.0), atol=1e-4)
