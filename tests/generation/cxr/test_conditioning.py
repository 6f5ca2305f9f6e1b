"""Multi-prompt subset sampling and the linear combination of shared-space embeddings."""

from __future__ import annotations

import torch

from generation.cxr.conditioning import (
    combine,
    combine_named,
    nonempty_subsets,
    sample_prompt_masks,
    subset_masks,
    to_context,
)


def test_nonempty_subsets_enumerates_2_pow_m_minus_1():
    assert nonempty_subsets(["report", "lateral"]) == [("report",), ("lateral",), ("report", "lateral")]
    assert len(nonempty_subsets(list("abc"))) == 7
    assert subset_masks(3).shape == (7, 3)


def test_multi_prompt_sampling_covers_every_nonempty_subset_uniformly():
    g = torch.Generator().manual_seed(0)
    masks = sample_prompt_masks(6000, 3, "multi", generator=g)
    assert (masks.sum(dim=1) > 0).all()
    rows, counts = torch.unique(masks, dim=0, return_counts=True)
    assert len(rows) == 7  # every non-empty subset of 3 inputs, never the empty one
    assert (counts.float() / 6000 - 1 / 7).abs().max() < 0.03


def test_single_prompt_sampling_is_one_input_at_a_time():
    masks = sample_prompt_masks(500, 2, "single", generator=torch.Generator().manual_seed(1))
    assert (masks.sum(dim=1) == 1).all()
    assert set(map(tuple, masks.tolist())) == {(1.0, 0.0), (0.0, 1.0)}


def test_sampling_respects_available_inputs():
    available = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]).repeat(200, 1)
    masks = sample_prompt_masks(600, 2, "multi", generator=torch.Generator().manual_seed(2), available=available)
    assert (masks <= available).all()
    assert (masks[1::3] == 0).all()  # nothing available -> unconditional


def test_combination_is_linear_and_averages_the_drawn_inputs():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(4, 2, 5, generator=g), torch.randn(4, 2, 5, generator=g)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    assert torch.allclose(combine(2.0 * x - 3.0 * y, mask), 2.0 * combine(x, mask) - 3.0 * combine(y, mask), atol=1e-6)
    out = combine(x, mask)
    assert torch.allclose(out[0], x[0, 0]) and torch.allclose(out[1], x[1, 1])
    assert torch.allclose(out[2], x[2].mean(dim=0), atol=1e-6)
    weighted = combine(x, mask, torch.tensor([3.0, 1.0]))
    assert torch.allclose(weighted[3], 0.75 * x[3, 0] + 0.25 * x[3, 1], atol=1e-6)
    assert torch.equal(combine(x, torch.zeros(4, 2)), torch.zeros(4, 5))


def test_named_combination_and_context_shape():
    a, b = torch.ones(1, 4), torch.zeros(1, 4)
    assert torch.allclose(combine_named({"report": a, "lateral": b}), torch.full((1, 4), 0.5))
    assert torch.allclose(combine_named({"report": a, "lateral": b}, {"report": 1.0, "lateral": 3.0}), torch.full((1, 4), 0.25))
    assert to_context(torch.ones(2, 4), 2.0).shape == (2, 1, 4)
