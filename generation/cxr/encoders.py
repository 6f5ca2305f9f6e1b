"""Prompt encoders of the shared latent space (MedCoDi-M §2.1, §3.2.1).

- :class:`ImageEncoder`: ONE convolutional encoder for both views, as the paper uses one ViT for
  frontal and lateral. It keeps a coarse spatial grid before projecting (no global pooling):
  laterality (a LEFT effusion) is a position, and global pooling would throw it away.
- :class:`TextHead`: a frozen sentence encoder (MiniLM by default, from :mod:`generation.text`)
  gives contextual token states; a small trainable transformer layer + attention pooling +
  projection maps them into the space. Mean-pooled MiniLM vectors of "left" and "right" effusion
  differ by little (cosine 0.98), whereas the token states of "left"/"right" differ strongly,
  so the head reads tokens rather than a pooled sentence vector.
- :class:`SharedSpace`: both encoders plus the learnable temperature, trained contrastively.

All outputs are L2-normalised [B, D] vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generation.cxr.contrastive import LearnableTemperature
from generation.text.encoder import TextEncoder


class ImageEncoder(nn.Module):
    """[B, 1, H, W] in [0, 1] -> [B, D]: strided conv blocks, a 4x4 grid, a linear projection."""

    def __init__(
        self, dim: int = 128, channels: Sequence[int] = (32, 64, 96, 128), grid: int = 4
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, channels[0], 3, padding=1), nn.SiLU()]
        previous = channels[0]
        for width in channels:
            layers += [
                nn.Conv2d(previous, width, 3, stride=2, padding=1),
                nn.GroupNorm(min(8, width), width),
                nn.SiLU(),
                nn.Conv2d(width, width, 3, padding=1),
                nn.GroupNorm(min(8, width), width),
                nn.SiLU(),
            ]
            previous = width
        self.features = nn.Sequential(*layers)
        self.grid = grid
        self.project = nn.Sequential(
            nn.Flatten(), nn.Linear(previous * grid * grid, dim * 2), nn.SiLU(), nn.Linear(dim * 2, dim)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # Centre intensities: the phantom and real images both live in [0, 1].
        feats = self.features(images * 2.0 - 1.0)
        feats = F.adaptive_avg_pool2d(feats, self.grid)
        return F.normalize(self.project(feats), dim=-1)


class TextHead(nn.Module):
    """Token states [B, T, E] + mask [B, T] -> [B, D]."""

    def __init__(self, in_dim: int = 384, dim: int = 128, width: int = 128, layers: int = 1, heads: int = 4) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=width * 2, dropout=0.0, batch_first=True, norm_first=True
        )
        self.mixer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.score = nn.Linear(width, 1)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        valid = mask.bool()
        h = self.mixer(self.inp(states.float()), src_key_padding_mask=~valid)
        # Attention pooling: the head learns which tokens carry the findings (a laterality word,
        # a negation) instead of averaging them away with the boilerplate.
        scores = self.score(h).squeeze(-1).masked_fill(~valid, torch.finfo(h.dtype).min)
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return F.normalize(self.out((weights * h).sum(dim=1)), dim=-1)


class SharedSpace(nn.Module):
    """Image encoder + text head + learnable temperature: the shared latent space."""

    def __init__(
        self,
        dim: int = 128,
        text_in_dim: int = 384,
        image_channels: Sequence[int] = (32, 64, 96, 128),
        text_width: int = 128,
        text_layers: int = 1,
        text_heads: int = 4,
        init_temperature: float = 0.07,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.image_encoder = ImageEncoder(dim, image_channels)
        self.text_head = TextHead(text_in_dim, dim, text_width, text_layers, text_heads)
        self.temperature = LearnableTemperature(init_temperature)

    @classmethod
    def from_config(cls, config: dict[str, Any], text_in_dim: int) -> SharedSpace:
        return cls(
            dim=int(config.get("dim", 128)),
            text_in_dim=text_in_dim,
            image_channels=tuple(config.get("image_channels", (32, 64, 96, 128))),
            text_width=int(config.get("text_width", 128)),
            text_layers=int(config.get("text_layers", 1)),
            text_heads=int(config.get("text_heads", 4)),
            init_temperature=float(config.get("init_temperature", 0.07)),
        )

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(images)

    def encode_text_states(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.text_head(states, mask)


class TextBackbone(nn.Module):
    """The frozen sentence encoder's per-token states (tokenizer + transformer, no pooling)."""

    def __init__(self, encoder: TextEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.width = encoder.width

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    def truncation_warnings(self, texts: list[str]) -> list[str]:
        return self.encoder.truncation_warnings(texts, "report")

    def states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """([B, T, E] float32 token states, [B, T] attention mask) on the encoder's device."""
        return self.encoder.token_states(texts)


def report_text(findings: str, impression: str) -> str:
    """The one text a report contributes to the shared space: findings then impression."""
    return " ".join(part.strip() for part in (findings, impression) if part and part.strip())
