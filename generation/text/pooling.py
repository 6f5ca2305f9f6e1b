"""Pooling of a text encoder's last hidden state into one vector per text.

Report2CT pools every encoder with the attention-mask-weighted mean. Sentence-transformers
models ship their own pooling (``1_Pooling/config.json``), which is honoured in "auto" mode so
a packaged model gives the embedding it was trained to give.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

POOLING_MODES: tuple[str, ...] = ("mean", "cls", "max", "mean_sqrt_len")

# sentence-transformers' config keys, in the order it concatenates them.
_ST_KEYS: tuple[tuple[str, str], ...] = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
)


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool ``hidden`` [B, T, D] with ``mask`` [B, T] (1 = real token) to [B, D]."""
    m = mask.to(hidden.dtype).unsqueeze(-1)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        # Padding must never win the max, so push it to the dtype's lowest value.
        filled = hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min)
        return filled.max(dim=1).values
    counts = m.sum(dim=1).clamp(min=1e-9)
    summed = (hidden * m).sum(dim=1)
    if mode == "mean":
        return summed / counts
    if mode == "mean_sqrt_len":
        return summed / counts.sqrt()
    raise ValueError(f"unknown pooling mode {mode!r}; choose from {', '.join(POOLING_MODES)}")


def sentence_transformers_pooling(model_dir: Path) -> list[str] | None:
    """Pooling modes declared by a sentence-transformers directory, or None if there are none."""
    config_path = None
    modules = model_dir / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            if str(module.get("type", "")).endswith("Pooling"):
                config_path = model_dir / module.get("path", "") / "config.json"
                break
    if config_path is None:
        config_path = model_dir / "1_Pooling" / "config.json"
    if not config_path.is_file():
        return None
    config = json.loads(config_path.read_text())
    modes = [mode for key, mode in _ST_KEYS if config.get(key)]
    return modes or None


def resolve_pooling(mode: str, model_dir: Path) -> list[str]:
    """Turn a preset's pooling setting ("auto" or a mode) into the list of modes to apply."""
    if mode == "auto":
        return sentence_transformers_pooling(model_dir) or ["mean"]
    if mode not in POOLING_MODES:
        raise ValueError(
            f"unknown pooling {mode!r}; choose auto or one of {', '.join(POOLING_MODES)}"
        )
    return [mode]
