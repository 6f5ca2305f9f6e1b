"""Quick-look PNGs of a phantom volume (axial / coronal / sagittal, lung and mediastinal windows).

Images are in radiological display: axial with anterior up and the patient's right on the image
left; coronal with superior up and the patient's right on the left; sagittal with superior up
and anterior on the left. Non-square voxels are resampled to square display pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

WINDOWS = {"lung": (1500.0, -600.0), "mediastinum": (350.0, 40.0), "bone": (2500.0, 480.0)}


def window(img: np.ndarray, width: float, level: float) -> np.ndarray:
    lo = level - width / 2.0
    return (np.clip((img - lo) / width, 0, 1) * 255).astype(np.uint8)


def _resize(img8: np.ndarray, px_h: float, px_w: float, scale: float) -> Image.Image:
    h, w = img8.shape
    return Image.fromarray(img8).resize(
        (max(1, round(w * px_w * scale)), max(1, round(h * px_h * scale))), Image.BILINEAR
    )


def mpr_images(vol: np.ndarray, spacing, index=None, win: str = "lung", mm_per_px: float | None = None):
    """(axial, coronal, sagittal) PIL images through ``index`` (z, y, x; default the centre)."""
    dz, dy, dx = spacing
    nz, ny, nx = vol.shape
    k, j, i = index if index is not None else (nz // 2, ny // 2, nx // 2)
    scale = 1.0 / (mm_per_px or min(spacing))
    w, lvl = WINDOWS[win]
    axial = window(vol[k], w, lvl)  # rows = y (anterior up), cols = x (patient right on the left)
    coronal = window(vol[::-1, j, :], w, lvl)  # superior up
    sagittal = window(vol[::-1, :, i], w, lvl)  # superior up, anterior on the left
    return (_resize(axial, dy, dx, scale), _resize(coronal, dz, dx, scale), _resize(sagittal, dz, dy, scale))


def save_mpr_sheet(vol: np.ndarray, spacing, path: str | Path, index=None, mm_per_px: float | None = None) -> Path:
    """One PNG with the three planes in lung (top row) and mediastinal (bottom row) windows."""
    rows = []
    for win in ("lung", "mediastinum"):
        ims = mpr_images(vol, spacing, index, win, mm_per_px)
        h = max(im.height for im in ims)
        row = Image.new("L", (sum(im.width for im in ims) + 8 * (len(ims) - 1), h), 0)
        x = 0
        for im in ims:
            row.paste(im, (x, 0))
            x += im.width + 8
        rows.append(row)
    sheet = Image.new("L", (max(r.width for r in rows), sum(r.height for r in rows) + 8), 0)
    sheet.paste(rows[0], (0, 0))
    sheet.paste(rows[1], (0, rows[0].height + 8))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
