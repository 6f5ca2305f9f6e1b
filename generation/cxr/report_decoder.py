"""Report generation: a conditional GRU decoder over the phantom-corpus vocabulary.

Why not a text latent diffusion as in MedCoDi-M (§3.2.2)? The paper's report branch is an
Optimus text VAE (BERT + GPT-2, 241 M parameters) plus a 2 B-parameter report UNet, trained in two
rounds on 150 k reports. Our demo corpus is procedural, with a closed vocabulary of a few hundred
words, and everything must train in minutes on a CPU. A decoder conditioned on the same
shared-space vector keeps what matters for the system: the report is generated from the
multi-prompt combination of the inputs' embeddings (so F, L and F+L prompts work exactly as for
the image LDMs), greedy decoding is deterministic, and a few hundred thousand parameters learn
the corpus' phrasing. A real-weights preset could swap in a text LDM behind the same interface
(``condition [B, D] -> report``).

Token sequence: ``<bos> findings... <sep> impression... <eos>``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from torch import nn

PAD, BOS, EOS, UNK, SEP = "<pad>", "<bos>", "<eos>", "<unk>", "<sep>"
SPECIALS: tuple[str, ...] = (PAD, BOS, EOS, UNK, SEP)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-'.][a-z0-9]+)*|[^\sa-z0-9]")
_NO_SPACE_BEFORE = {".", ",", ";", ":", ")", "%", "?", "!"}
_NO_SPACE_AFTER = {"("}


def tokenize(text: str) -> list[str]:
    """Lower-case words (keeping "3.5", "x-ray", "patient's" whole) and punctuation marks."""
    return _TOKEN_RE.findall(text.lower())


def detokenize(tokens: Sequence[str]) -> str:
    """Words back to text: no space before punctuation, sentences capitalised."""
    out = ""
    for tok in tokens:
        if out and tok not in _NO_SPACE_BEFORE and not out.endswith(tuple(_NO_SPACE_AFTER)):
            out += " "
        out += tok
    sentences = re.split(r"(?<=[.?!])\s+", out.strip())
    return " ".join(s[:1].upper() + s[1:] for s in sentences if s)


class Vocabulary:
    """Word <-> id table; ids 0..4 are the special tokens."""

    def __init__(self, words: Iterable[str]) -> None:
        self.itos: list[str] = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        counts = Counter(tok for text in texts for tok in tokenize(text))
        # Sorted by frequency then alphabetically, so the same corpus always gives the same ids.
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    def ids(self, text: str) -> list[int]:
        unk = self.stoi[UNK]
        return [self.stoi.get(tok, unk) for tok in tokenize(text)]

    def encode_report(self, findings: str, impression: str, max_len: int) -> list[int]:
        """``<bos> findings <sep> impression <eos>``, cut to ``max_len`` (keeping ``<eos>``)."""
        seq = [self.stoi[BOS], *self.ids(findings), self.stoi[SEP], *self.ids(impression)]
        return seq[: max_len - 1] + [self.stoi[EOS]]

    def decode_report(self, ids: Sequence[int]) -> tuple[str, str]:
        """Ids (without or with ``<bos>``) -> (findings, impression); stops at ``<eos>``."""
        words: list[str] = []
        for i in ids:
            tok = self.itos[int(i)] if 0 <= int(i) < len(self.itos) else UNK
            if tok == EOS:
                break
            if tok in (BOS, PAD):
                continue
            words.append(tok)
        if SEP in words:
            cut = words.index(SEP)
            findings, impression = words[:cut], [w for w in words[cut + 1 :] if w != SEP]
        else:
            findings, impression = words, []
        return detokenize(findings), detokenize(impression)

    def to_json(self) -> str:
        return json.dumps(self.itos[len(SPECIALS) :])

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls(json.loads(text))


class ReportDecoder(nn.Module):
    """GRU language model conditioned on a shared-space vector.

    The condition sets the initial hidden state and is also fed at every step (concatenated to
    the word embedding), so it cannot be forgotten over a long report.
    """

    def __init__(
        self, vocab_size: int, cond_dim: int = 128, embed_dim: int = 64, hidden: int = 256, layers: int = 1
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.layers = layers
        self.hidden = hidden
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.cond_in = nn.Linear(cond_dim, embed_dim)
        self.init_h = nn.Linear(cond_dim, hidden * layers)
        self.gru = nn.GRU(embed_dim * 2, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def _h0(self, cond: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.init_h(cond))
        return h.view(cond.shape[0], self.layers, self.hidden).transpose(0, 1).contiguous()

    def forward(self, cond: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits [B, T, V] for predicting ``tokens[:, 1:]`` from ``tokens[:, :-1]``
        (pass the full sequence; the last position's prediction is returned too)."""
        emb = self.embed(tokens)
        c = self.cond_in(cond).unsqueeze(1).expand(-1, tokens.shape[1], -1)
        out, _ = self.gru(torch.cat([emb, c], dim=-1), self._h0(cond))
        return self.out(out)

    @torch.no_grad()
    def greedy(self, cond: torch.Tensor, bos_id: int, eos_id: int, max_len: int) -> torch.Tensor:
        """Argmax decoding, [B, <=max_len] ids after ``<bos>``; deterministic for a condition."""
        batch = cond.shape[0]
        h = self._h0(cond)
        c = self.cond_in(cond).unsqueeze(1)
        token = torch.full((batch, 1), bos_id, dtype=torch.long, device=cond.device)
        finished = torch.zeros(batch, dtype=torch.bool, device=cond.device)
        steps = []
        for _ in range(max_len):
            out, h = self.gru(torch.cat([self.embed(token), c], dim=-1), h)
            token = self.out(out[:, -1]).argmax(dim=-1, keepdim=True)
            token = token.masked_fill(finished.unsqueeze(1), eos_id)
            steps.append(token)
            finished |= token.squeeze(1) == eos_id
            if bool(finished.all()):
                break
        return torch.cat(steps, dim=1)


def sequence_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Next-token cross-entropy, padding ignored."""
    return nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=pad_id
    )


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    length = max(len(s) for s in sequences)
    return torch.tensor([list(s) + [pad_id] * (length - len(s)) for s in sequences], dtype=torch.long)
