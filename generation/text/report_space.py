"""A trained report encoder as extra conditioning: the shared report space of the CXR model.

The frozen MiniLM's pooled vectors of "Large right pleural effusion." and "Large left pleural
effusion." have cosine 0.984, and a small CT model trained on them put fluid on both sides (the
demo CT model v1). The CXR model's text head (MedCoDi-M's shared space, trained by the project
contrastively against phantom radiographs of the same procedural world) reads the same MiniLM
token states and maps the two prompts to cosine 0.43: laterality is what the radiographs taught
it. A preset opts in with ``conditioning.report_space = {"preset": "cxr-demo"}``; each report
section then adds one context token, the unit-norm space vector times the space's context scale
(sqrt(D): unit-variance entries, as the CXR UNets see it), zero-padded to the context width.

A preset can instead carry its own head, ``conditioning.report_space = {"file": ..., "dim": ...}``:
a :class:`ReportHead`, the same kind of text head trained by ``python -m
generation.training.report_head`` to read what a CT report states (finding, side, size, lobe:
``generation.phantom.facts``) through a linear probe. The demo CT model v3 uses it: radiographs
taught the CXR head laterality but not, say, a lobe or a small pneumothorax.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from generation.cxr.encoders import TextHead
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


class ReportHead(nn.Module):
    """A preset's own report space: text head (token states -> unit [B, dim]) + fact probe.

    The probe (logits over ``facts``) is what the head is trained through; generation reads
    the head only, and the probe lets tests and model cards ask what the head understood.
    """

    def __init__(
        self,
        facts: Sequence[str],
        in_dim: int = 384,
        dim: int = 128,
        width: int = 128,
        layers: int = 1,
        heads: int = 4,
    ) -> None:
        super().__init__()
        if not facts:
            raise ValueError("ReportHead needs at least one fact to be trained on")
        self.facts = tuple(facts)
        self.dim = int(dim)
        self.text_head = TextHead(in_dim, dim, width, layers, heads)
        self.probe = nn.Linear(dim, len(self.facts))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], facts: Sequence[str], in_dim: int) -> ReportHead:
        return cls(
            facts,
            in_dim=in_dim,
            dim=int(config.get("dim", 128)),
            width=int(config.get("text_width", 128)),
            layers=int(config.get("text_layers", 1)),
            heads=int(config.get("text_heads", 4)),
        )

    @property
    def context_scale(self) -> float:
        return math.sqrt(self.dim)

    def embed(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.text_head(states, mask)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Fact logits [B, n_facts] (training and inspection)."""
        return self.probe(self.embed(states, mask) * self.context_scale)
