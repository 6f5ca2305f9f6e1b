"""Symmetric InfoNCE with a learnable temperature."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from generation.cxr.contrastive import LearnableTemperature, info_nce, same_text_mask


def _pair(n: int = 6, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def test_info_nce_is_symmetric_in_its_two_inputs():
    a, b = _pair()
    assert torch.allclose(info_nce(a, b, 10.0), info_nce(b, a, 10.0), atol=1e-6)


def test_info_nce_matches_the_mean_of_both_directions():
    a, b = _pair()
    logits = 5.0 * F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t()
    target = torch.arange(len(a))
    expected = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    assert torch.allclose(info_nce(a, b, 5.0), expected, atol=1e-6)


def test_aligned_pairs_score_lower_than_shuffled_pairs():
    a, _ = _pair()
    noisy = a + 0.05 * torch.randn_like(a)
    assert info_nce(a, noisy, 20.0) < info_nce(a, noisy.roll(1, dims=0), 20.0)


def test_temperature_is_learnable_and_clamped():
    temp = LearnableTemperature(init_temperature=0.07)
    assert math.isclose(temp.temperature, 0.07, rel_tol=1e-5)
    a, b = _pair()
    a.requires_grad_(True)
    info_nce(a, b, temp()).backward()
    assert temp.log_scale.grad is not None and temp.log_scale.grad.abs() > 0
    before = float(temp.log_scale.detach())
    torch.optim.SGD(temp.parameters(), lr=0.1).step()
    assert float(temp.log_scale.detach()) != before
    with torch.no_grad():
        temp.log_scale.fill_(10.0)
    assert float(temp().detach()) == pytest.approx(100.0)


def test_duplicate_texts_count_as_positives():
    mask = same_text_mask(["No effusion.", "Left effusion.", "no  effusion."])
    assert mask.tolist() == [[True, False, True], [False, True, False], [True, False, True]]
    a, b = _pair(n=3)
    logits = 7.0 * F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t()
    target = mask.float() / mask.float().sum(dim=1, keepdim=True)  # symmetric mask
    expected = -0.5 * (
        (target * F.log_softmax(logits, dim=1)).sum(1).mean()
        + (target * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    )
    assert torch.allclose(info_nce(a, b, 7.0, positives=mask), expected, atol=1e-6)
    # Without the mask the duplicate is a negative: matching it costs more.
    dup = torch.stack([a[0], a[1], a[0]])
    assert info_nce(dup, dup, 20.0, positives=mask) <= info_nce(dup, dup, 20.0) + 1e-6


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError):
        info_nce(torch.zeros(3, 4), torch.zeros(2, 4), 1.0)
