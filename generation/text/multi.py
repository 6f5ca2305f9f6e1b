"""Several text encoders side by side: the Report2CT report conditioning.

Each report section (findings, impression) is encoded by every encoder; the pooled vectors are
concatenated along channels (768 + 768 + 1024 = 2560 in the paper) and the two sections become
two context tokens, so the UNet cross-attends to a [B, 2, D] context.

A pooled sentence vector hardly tells "right pleural effusion" from "left pleural effusion"
(MiniLM mean pools of the two reports have cosine 0.984), whereas at the laterality token the
contextual states differ far more (cosine 0.84), which cross-attention can key on. With
``tokens_per_section = N > 0`` (a preset's ``conditioning.tokens_per_section``) the context
therefore also carries, after the two pooled tokens, the first N token states of each section
from each encoder: padding positions are zero (the classifier-free "no text" context is all
zeros too), and each encoder's states sit in that encoder's own channel slot of D so encoders of
different widths share one context. A :class:`~generation.text.report_space.ReportSpace` (a
preset's ``conditioning.report_space``: the demo model's own report head) adds one token per
section.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from generation.text.encoder import TextEncoder
from generation.text.report_space import ReportSpace

#: Report sections, in context-token order.
SECTIONS: tuple[str, ...] = ("findings", "impression")


class MultiEncoder(nn.Module):
    """Concatenation of the pooled outputs of several :class:`TextEncoder` objects."""

    def __init__(
        self,
        encoders: Sequence[TextEncoder],
        tokens_per_section: int = 0,
        report_space: ReportSpace | None = None,
    ) -> None:
        super().__init__()
        if not encoders:
            raise ValueError("MultiEncoder needs at least one text encoder")
        if int(tokens_per_section) < 0:
            raise ValueError(f"tokens_per_section must be >= 0, got {tokens_per_section}")
        self.encoders = nn.ModuleList(encoders)
        self.dim = sum(e.dim for e in encoders)
        self.tokens_per_section = int(tokens_per_section)
        if report_space is not None and report_space.dim > self.dim:
            raise ValueError(
                f"report space {report_space.name} is {report_space.dim}-d, wider than the "
                f"{self.dim}-d context"
            )
        self.report_space = report_space

    @property
    def context_length(self) -> int:
        """Context tokens per report: per section, the pooled token, N token states per
        encoder and the report-space token."""
        per_section = 1 + self.tokens_per_section * len(self.encoders)
        return len(SECTIONS) * (per_section + (self.report_space is not None))

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
        context = torch.stack(tokens, dim=1)
        if self.tokens_per_section:
            states = [self.section_states(texts) for texts in (findings, impression)]
            context = torch.cat([context, *states], dim=1)
        if self.report_space is not None:
            space = torch.zeros(len(findings), len(SECTIONS), self.dim)
            for i, texts in enumerate((findings, impression)):
                space[:, i, : self.report_space.dim] = self.report_space.encode(texts)
            context = torch.cat([context, space], dim=1)
        return context, warnings

    def section_states(self, texts: list[str]) -> torch.Tensor:
        """[B, N * n_encoders, dim]: each encoder's first N token states in its channel slot."""
        n, blocks, offset = self.tokens_per_section, [], 0
        for encoder in self.encoders:
            hidden, mask = encoder.token_states(texts)
            hidden = (hidden * mask[..., None]).cpu()[:, :n]
            block = torch.zeros(len(texts), n, self.dim)
            block[:, : hidden.shape[1], offset : offset + encoder.width] = hidden
            blocks.append(block)
            offset += encoder.dim
        return torch.cat(blocks, dim=1)


def encode_report(
    encoder: MultiEncoder, findings: str | list[str], impression: str | list[str]
) -> tuple[torch.Tensor, list[str]]:
    """Functional form of :meth:`MultiEncoder.encode_report`."""
    return encoder.encode_report(findings, impression)
