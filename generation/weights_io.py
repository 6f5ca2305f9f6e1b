"""Reading and writing network weights (safetensors) and hashing them for provenance."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from generation.errors import GenerationError, MissingWeights

# Hashing a multi-GB checkpoint takes seconds; remember results per (path, size, mtime).
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def combined_sha256(named_files: Iterable[tuple[str, Path]]) -> str:
    """One hash over several files: sha256 of the sorted "name:file-sha256" lines."""
    lines = sorted(f"{name}:{file_sha256(path)}" for name, path in named_files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def encoder_weight_files(model_dir: Path) -> list[Path]:
    """The files that define a Hugging Face encoder's behaviour (weights, config, vocab)."""
    patterns = ("*.safetensors", "*.bin", "config.json", "tokenizer.json", "vocab.txt")
    return sorted({p for pattern in patterns for p in model_dir.glob(pattern) if p.is_file()})


def read_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def load_weights(module: torch.nn.Module, path: Path, preset: str, role: str) -> dict[str, str]:
    """Load a safetensors state dict strictly; returns the file's metadata.

    A missing file raises :class:`MissingWeights` naming the path; a file that does not fit the
    preset's architecture raises :class:`GenerationError` naming the first mismatching keys.
    """
    if not path.is_file():
        raise MissingWeights(str(path), preset, role=f"{role} weights")
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad files
        raise GenerationError(f"Cannot read {role} weights {path}: {exc}") from exc
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise GenerationError(
            f"{role} weights {path} do not match preset {preset!r}: "
            f"missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
    return read_metadata(path)


def save_weights(
    module: torch.nn.Module, path: Path, metadata: dict[str, str] | None = None
) -> None:
    """Write a module's state dict as safetensors (contiguous CPU copies), atomically."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={k: str(v) for k, v in (metadata or {}).items()})
    tmp.replace(path)
