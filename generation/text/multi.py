"""Several text encoders side by side: the Report2CT report conditioning.

Each report section (findings, impression) is encoded by every encoder; the pooled vectors are
concatenated along channels (768 + 768 + 1024 = 2560 in the paper) and the two sections become
two context tokens, so the UNet cross-attends to a [B, 2, D] context.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from generation.text.encoder import TextEncoder

#: Report sections, in context-token order.
SECTIONS: tuple[str, ...] = ("findings", "impression")


class MultiEncoder(nn.Module):
    """Concatenation of the pooled outputs of several :class:`TextEncoder` objects."""

    def __init__(self, encoders: Sequence[TextEncoder]) -> None:
        super().__init__()
        if not encoders:
            raise ValueError("MultiEncoder needs at least one text encoder")
        self.encoders = nn.ModuleList(encoders)
        self.dim = sum(e.dim for e in encoders)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.encoders]

    def encode(
        self, texts: list[str], section: str | None = None
    ) -> tuple[torch.Tensor, list[str]]:
        """[len(texts), dim] concatenated embeddings and every encoder's truncation warnings."""
        pooled, warnings = [], []
        for encoder in self.encoders:
            vectors, notes = encoder.encode(texts, section)
            pooled.append(vectors.cpu())
            warnings.extend(notes)
        return torch.cat(pooled, dim=-1), warnings

    def encode_report(
        self, findings: str | list[str], impression: str | list[str]
    ) -> tuple[torch.Tensor, list[str]]:
        """Context [B, 2, dim] (token 0 = findings, token 1 = impression) and warnings."""
        findings = [findings] if isinstance(findings, str) else list(findings)
        impression = [impression] if isinstance(impression, str) else list(impression)
        if len(findings) != len(impression):
            raise ValueError("findings and impression must have the same batch size")
        tokens, warnings = [], []
        for section, texts in zip(SECTIONS, (findings, impression), strict=True):
            vectors, notes = self.encode(texts, section)
            tokens.append(vectors)
            warnings.extend(notes)
        return torch.stack(tokens, dim=1), warnings


def encode_report(
    encoder: MultiEncoder, findings: str | list[str], impression: str | list[str]
) -> tuple[torch.Tensor, list[str]]:
    """Functional form of :meth:`MultiEncoder.encode_report`."""
    return encoder.encode_report(findings, impression)
