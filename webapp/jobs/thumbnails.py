"""PNG thumbnails of the three central orthogonal planes of a volume, in radiological display.

Volumes follow generation.conventions: [z, y, x], x → patient left, y → posterior, z → superior.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LUNG_WINDOW = (-600.0, 1500.0)  # (level, width) — chest CT is read in lung and mediastinal windows


def window_to_uint8(image: np.ndarray, level: float, width: float) -> np.ndarray:
    low = level - width / 2.0
    scaled = (image.astype(np.float32) - low) / width
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def central_planes(volume: np.ndarray) -> dict[str, np.ndarray]:
    """Axial (anterior up, patient right on image left), coronal and sagittal (superior up)."""
    nz, ny, nx = volume.shape
    return {
        "axial": volume[nz // 2],
        "coronal": volume[::-1, ny // 2, :],  # flip z so superior is at the top
        "sagittal": volume[::-1, :, nx // 2],  # columns run anterior → posterior
    }


def plane_pixel_mm(spacing_zyx: tuple[float, float, float]) -> dict[str, tuple[float, float]]:
    dz, dy, dx = spacing_zyx
    return {"axial": (dy, dx), "coronal": (dz, dx), "sagittal": (dz, dy)}


def write_thumbnails(
    volume: np.ndarray,
    spacing_zyx: tuple[float, float, float],
    out_dir: Path,
    *,
    size: int = 256,
    window: tuple[float, float] = LUNG_WINDOW,
) -> dict[str, Path]:
    """Write axial/coronal/sagittal PNGs with square pixels; the longer side is `size` pixels."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    pixel_mm = plane_pixel_mm(spacing_zyx)
    for plane, image in central_planes(volume).items():
        row_mm, col_mm = pixel_mm[plane]
        height_mm, width_mm = image.shape[0] * row_mm, image.shape[1] * col_mm
        scale = size / max(height_mm, width_mm)
        target = (max(1, round(width_mm * scale)), max(1, round(height_mm * scale)))
        picture = Image.fromarray(window_to_uint8(image, *window)).resize(target, Image.Resampling.BILINEAR)
        path = out_dir / f"{plane}.png"
        picture.save(path, optimize=True)
        written[plane] = path
    return written
