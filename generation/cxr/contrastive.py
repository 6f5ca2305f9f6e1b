"""Symmetric InfoNCE with a learnable temperature (CLIP; MedCoDi-M eq. 4).

The loss pulls matching pairs (image i, report i) together and pushes the other pairs of the
batch apart, in both directions (image -> text and text -> image), which is what makes the two
encoders land in one shared space.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LearnableTemperature(nn.Module):
    """``logit_scale = exp(s) = 1 / temperature`` with ``s`` trained.

    The log parametrisation keeps the temperature positive; the clamp (CLIP's 100) stops the
    scale from running away once the batch is separated, which would make the loss spiky.
    """

    def __init__(self, init_temperature: float = 0.07, max_scale: float = 100.0) -> None:
        super().__init__()
        if not init_temperature > 0:
            raise ValueError(f"init_temperature must be positive, got {init_temperature}")
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))
        self.max_scale = float(max_scale)

    def forward(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.max_scale)

    @property
    def temperature(self) -> float:
        return float(1.0 / self.forward().detach())


def info_nce(
    a: torch.Tensor,
    b: torch.Tensor,
    logit_scale: torch.Tensor | float,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE between row-aligned embeddings ``a`` [B, D] and ``b`` [B, D].

    Rows are L2-normalised here. ``positives`` [B, B] (bool) optionally marks further matching
    pairs besides the diagonal: phantom cases with the same report text are true matches, and
    treating them as negatives would teach the encoders to separate identical content. Targets
    are then spread uniformly over a row's positives (a soft cross-entropy).
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"a and b must both be [B, D], got {tuple(a.shape)} and {tuple(b.shape)}")
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = logit_scale * a @ b.t()
    n = a.shape[0]
    if positives is None:
        target = torch.arange(n, device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    mask = positives.to(device=a.device, dtype=torch.bool) | torch.eye(n, dtype=torch.bool, device=a.device)
    target = mask.float() / mask.float().sum(dim=1, keepdim=True)
    target_t = mask.t().float() / mask.t().float().sum(dim=1, keepdim=True)
    loss_ab = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss_ba = -(target_t * F.log_softmax(logits.t(), dim=1)).sum(dim=1).mean()
    return 0.5 * (loss_ab + loss_ba)


def same_text_mask(texts: list[str]) -> torch.Tensor:
    """[B, B] bool: True where two cases have identical (normalised) report text."""
    keys = [" ".join(t.lower().split()) for t in texts]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    codes = torch.tensor([ids[k] for k in keys])
    return codes[:, None] == codes[None, :]
