"""Helpers shared by the teaching case tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.conf import settings


def phantom_volume(seed: int = 0, shape=(4, 16, 16)) -> np.ndarray:
    """A chest-like toy: air outside, soft tissue body, two dark lungs, one bright effusion."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    volume = np.full(shape, -1000.0)
    volume[:, 2:ny - 2, 1:nx - 1] = 40.0
    volume[:, 4:ny - 4, 2:nx // 2 - 1] = -850.0
    volume[:, 4:ny - 4, nx // 2 + 1:nx - 2] = -850.0
    volume[:, ny // 2:ny - 4, 2:nx // 2 - 1] = 15.0
    return volume + rng.normal(0, 5, shape)


def dicom_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "dicom"
    return set(root.rglob("*")) if root.exists() else set()
