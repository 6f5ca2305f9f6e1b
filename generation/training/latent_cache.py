"""Per-case cache of what the diffusion model trains on: latent mean, text context, spacing.

The autoencoder and the text encoders are frozen during LDM training, so each case is encoded
once. The latent stored is the encoder MEAN (not a sampled latent), as in MAISI/Report2CT.
One safetensors file per case keeps memory flat for 20k full-size cases; each file's metadata
carries its sum / sum of squares so the scale factor (1 / std of all latents) is computed
without reading the tensors again. A fingerprint makes a stale cache rebuild itself.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from generation.text import MultiEncoder
from generation.training.data import Case, load_volume, prepare_volume


def cache_fingerprint(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _safe_name(case_id: str) -> str:
    # Case ids come from a CSV; keep file names portable and collision-free.
    digest = hashlib.sha1(case_id.encode()).hexdigest()[:8]
    clean = "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)[:80]
    return f"{clean}-{digest}.safetensors"


def cache_paths(cases: Sequence[Case], cache_dir: Path, require: bool = False) -> list[Path]:
    """Each case's cache file, in case order; ``require`` checks they were all written."""
    paths = [cache_dir / _safe_name(c.case_id) for c in cases]
    missing = [p for p in paths if not p.is_file()] if require else []
    if missing:
        raise FileNotFoundError(f"latent cache incomplete: {missing[0]} was not written")
    return paths


def _is_current(path: Path, fingerprint: str) -> bool:
    if not path.is_file():
        return False
    try:
        with safe_open(str(path), framework="pt") as fh:
            return (fh.metadata() or {}).get("fingerprint") == fingerprint
    except Exception:  # noqa: BLE001 - a truncated file is simply rebuilt
        return False


@torch.no_grad()
def build_cache(
    cases: Sequence[Case],
    cache_dir: Path,
    fingerprint: str,
    autoencoder: torch.nn.Module,
    text_encoder: MultiEncoder,
    target_shape_xyz: Sequence[int],
    hu_range: tuple[float, float],
    device: torch.device,
    show_progress: bool = True,
) -> list[Path]:
    """Encode the cases that are not cached yet; returns every case's cache file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    autoencoder = autoencoder.to(device).eval()
    amp = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else nullcontext()
    paths = cache_paths(cases, cache_dir)
    for case, path in tqdm(
        list(zip(cases, paths, strict=True)),
        desc="encode",
        disable=not show_progress,
        dynamic_ncols=True,
    ):
        if _is_current(path, fingerprint):
            continue
        array, spacing = load_volume(case.ct_path)
        image, spacing = prepare_volume(array, spacing, target_shape_xyz, hu_range)
        with amp:
            z_mu, _ = autoencoder.encode(image[None].to(device))
        latent = z_mu[0].float().cpu().contiguous()
        context, _ = text_encoder.encode_report(case.findings, case.impression)
        tensors = {
            "latent": latent,
            "context": context[0].float().contiguous(),
            "spacing": torch.tensor(spacing, dtype=torch.float32),
        }
        metadata = {
            "fingerprint": fingerprint,
            "case_id": case.case_id,
            "sum": repr(float(latent.double().sum())),
            "sumsq": repr(float(latent.double().pow(2).sum())),
            "count": str(latent.numel()),
        }
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=metadata)
        tmp.replace(path)
    return paths


def latent_moments(paths: Sequence[Path]) -> tuple[float, float, int]:
    """(sum, sum of squares, count) over all cached latents, from file metadata only."""
    total = total_sq = 0.0
    count = 0
    for path in paths:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        total += float(meta["sum"])
        total_sq += float(meta["sumsq"])
        count += int(meta["count"])
    return total, total_sq, count


def scale_factor_from_moments(total: float, total_sq: float, count: int) -> float:
    """1 / std of the latents: the diffusion model then works on unit-variance latents."""
    mean = total / count
    var = max(total_sq / count - mean * mean, 1e-12)
    return 1.0 / math.sqrt(var)


class LatentDataset(torch.utils.data.Dataset):
    """Cached cases -> {"latent", "context", "spacing"} tensors."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return load_file(str(self.paths[index]))
