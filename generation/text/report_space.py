"""A trained report encoder as extra conditioning: the shared report space of the CXR model.

The frozen MiniLM's pooled vectors of "Large right pleural effusion." and "Large left pleural
effusion." have cosine 0.984, and a small CT model trained on them put fluid on both sides (the
demo CT model v1). The CXR model's text head (MedCoDi-M's shared space, trained by the project
contrastively against phantom radiographs of the same procedural world) reads the same MiniLM
token states and maps the two prompts to cosine 0.43: laterality is what the radiographs taught
it. A preset opts in with ``conditioning.report_space = {"preset": "cxr-demo"}``; each report
section then adds one context token, the unit-norm space vector times the space's context scale
(sqrt(D): unit-variance entries, as the CXR UNets see it), zero-padded to the context width.
"""

from __future__ import annotations

import torch
from torch import nn

from generation.text.encoder import TextEncoder


class ReportSpace(nn.Module):
    """Frozen sentence encoder + trained text head -> [B, dim] shared-space report vectors."""

    def __init__(self, encoder: TextEncoder, head: nn.Module, dim: int, scale: float, name: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head.eval().requires_grad_(False)
        self.dim = int(dim)
        self.scale = float(scale)
        self.name = name

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        states, mask = self.encoder.token_states(texts)
        return (self.head(states, mask).float() * self.scale).cpu()
