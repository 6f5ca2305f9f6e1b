"""Multi-prompt conditioning (MedCoDi-M §2.2, eq. 1).

At every training step a random non-empty subset of an output's available input modalities is
drawn (each of the 2^M - 1 subsets with probability 1 / (2^M - 1)) and the shared-space
embeddings of the drawn inputs are combined linearly (a weighted mean) into one condition
vector. At inference the same combination is applied to whatever inputs the user gave, so the
model has seen every combination it will be asked for.

The "single" mode (one input drawn per step) is the ablation: the paper's MedCoDi baseline,
which never sees combinations at training time and must interpolate them at inference.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import torch

PROMPT_SAMPLING_MODES: tuple[str, ...] = ("multi", "single")


def nonempty_subsets(names: Sequence[str]) -> list[tuple[str, ...]]:
    """All 2^M - 1 non-empty subsets, smallest first, each in the order of ``names``."""
    return [
        combo for size in range(1, len(names) + 1) for combo in itertools.combinations(names, size)
    ]


def subset_masks(n_inputs: int) -> torch.Tensor:
    """[2^M - 1, M] 0/1 rows, one per non-empty subset (same order as :func:`nonempty_subsets`)."""
    rows = [
        [1.0 if i in combo else 0.0 for i in range(n_inputs)]
        for combo in nonempty_subsets(list(range(n_inputs)))
    ]
    return torch.tensor(rows)


def sample_prompt_masks(
    batch: int,
    n_inputs: int,
    mode: str = "multi",
    generator: torch.Generator | None = None,
    available: torch.Tensor | None = None,
) -> torch.Tensor:
    """[batch, M] float masks of the inputs used to prompt each sample.

    ``multi``: a uniformly drawn non-empty subset per sample. ``single``: exactly one input per
    sample, uniformly. ``available`` [batch, M] (0/1) restricts the draw to inputs a case has;
    a sample with no available input gets an all-zero mask (an unconditional sample).
    """
    if mode not in PROMPT_SAMPLING_MODES:
        raise ValueError(f"mode must be one of {PROMPT_SAMPLING_MODES}, got {mode!r}")
    if mode == "multi":
        table = subset_masks(n_inputs)
    else:
        table = torch.eye(n_inputs)
    if available is None:
        index = torch.randint(len(table), (batch,), generator=generator)
        return table[index]
    avail = available.float()
    # Keep only subsets inside each sample's available set, then draw uniformly among them.
    allowed = (table[None] <= avail[:, None]).all(dim=-1).float()  # [batch, n_subsets]
    empty = allowed.sum(dim=1) == 0
    allowed[empty] = 1.0
    index = torch.multinomial(allowed, 1, generator=generator).squeeze(1)
    masks = table[index]
    masks[empty] = 0.0
    return masks


def combine(
    embeddings: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Linear combination c = sum_i a_i z_i over the masked inputs, with sum_i a_i = 1.

    ``embeddings`` [B, M, D], ``mask`` [B, M] (0/1), ``weights`` [M] or [B, M] (default equal).
    For a fixed mask the map is linear in the embeddings. An all-zero mask yields the zero
    vector, which is exactly the unconditional (classifier-free guidance) context.
    """
    coeff = mask.float()
    if weights is not None:
        coeff = coeff * weights.float().expand_as(coeff)
    total = coeff.sum(dim=1, keepdim=True)
    coeff = coeff / total.clamp(min=1e-12)
    return (coeff.unsqueeze(-1) * embeddings).sum(dim=1)


def combine_named(
    embeddings: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """Inference form: combine whatever inputs were given ({name: [B, D]}) into [B, D]."""
    if not embeddings:
        raise ValueError("at least one input embedding is needed")
    names = list(embeddings)
    stacked = torch.stack([embeddings[n] for n in names], dim=1)
    mask = torch.ones(stacked.shape[:2], device=stacked.device)
    w = None
    if weights:
        w = torch.tensor([float(weights.get(n, 1.0)) for n in names], device=stacked.device)
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"prompt weights must be non-negative with a positive sum, got {weights}")
    return combine(stacked, mask, w)


def to_context(condition: torch.Tensor, scale: float) -> torch.Tensor:
    """[B, D] condition -> [B, 1, D] cross-attention context.

    Shared-space vectors have unit norm (entries ~ 1/sqrt(D)); scaling by ~sqrt(D) gives the
    UNet's key/value projections inputs of unit variance, as a text encoder's states would be.
    """
    return (condition * scale).unsqueeze(1)


def default_context_scale(dim: int) -> float:
    return math.sqrt(dim)
