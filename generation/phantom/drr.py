"""Digitally reconstructed radiographs (frontal PA and lateral) from a phantom HU volume.

Physics, kept simple and stated:
- HU -> linear attenuation at the effective energy of a chest radiograph (~60 keV), where
  water has mu_w = 0.0206 /mm (NIST XCOM: mu/rho = 0.2059 cm^2/g). For HU <= 0,
  mu = mu_w (1 + HU / 1000) (air/lung/fat/soft tissue mix linearly). For HU > 0 the slope is
  steeper, mu = mu_w (1 + 1.5 HU / 1000): bone attenuates relatively more at a radiograph's
  lower energy than at the CT effective energy at which its HU were measured.
- Parallel projection (a 180 cm source distance makes the real cone angle small), line
  integral P = sum(mu * step) along the beam; transmitted intensity I = I0 exp(-P).
- Display: a radiograph is bright where little was transmitted. The image is the log
  attenuation P (= -log(I / I0)), windowed between air and a high percentile of the body, with
  a mild gamma and unsharp masking (the "processing" every digital CXR gets).

Orientation (radiological display convention):
- Frontal PA: viewed as if facing the patient. Image rows run superior (top) to inferior;
  columns run from the patient's RIGHT (image left) to the patient's LEFT (image right).
- Lateral (left lateral, the standard one): image rows superior to inferior; columns run from
  ANTERIOR (image left) to POSTERIOR (image right), i.e. the patient faces the viewer's left.
Pixels are square; ``pixel_mm`` gives their size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MU_WATER_PER_MM = 0.0206
BONE_SLOPE = 1.25


def hu_to_mu(hu: np.ndarray) -> np.ndarray:
    """Linear attenuation (1/mm) at ~60 keV from HU (bilinear, see module doc)."""
    h = hu.astype(np.float32) / 1000.0
    mu = np.where(h <= 0, 1.0 + h, 1.0 + BONE_SLOPE * h)
    return (np.clip(mu, 0.0, None) * MU_WATER_PER_MM).astype(np.float32)


@dataclass
class Radiograph:
    """A DRR: ``attenuation`` is the line integral P (dimensionless), display-oriented."""

    view: str  # "frontal" or "lateral"
    attenuation: np.ndarray  # float32 (rows, cols), square pixels
    pixel_mm: float

    def image(self, bits: int = 8) -> np.ndarray:
        return display(self.attenuation, bits)


def _square(img: np.ndarray, row_mm: float, col_mm: float, pixel_mm: float) -> np.ndarray:
    zoom = (row_mm / pixel_mm, col_mm / pixel_mm)
    if abs(zoom[0] - 1) < 1e-6 and abs(zoom[1] - 1) < 1e-6:
        return img
    return ndimage.zoom(img, zoom, order=1, mode="nearest").astype(np.float32)


def project(vol_hu: np.ndarray, spacing, pixel_mm: float | None = None) -> tuple[Radiograph, Radiograph]:
    """Frontal (PA) and lateral DRRs of a [z, y, x] HU volume with spacing (dz, dy, dx)."""
    dz, dy, dx = (float(s) for s in spacing)
    mu = hu_to_mu(vol_hu)
    px = float(pixel_mm or min(dz, dx))
    # frontal: integrate along y (antero-posterior); rows = z flipped (superior at the top),
    # columns = x (increasing toward the patient's left = image right)
    frontal = mu.sum(axis=1) * dy
    frontal = _square(frontal[::-1, :], dz, dx, px)
    # lateral: integrate along x (right-left); rows = z flipped, columns = y (anterior on the left)
    lateral = mu.sum(axis=2) * dx
    lateral = _square(lateral[::-1, :], dz, dy, px)
    return Radiograph("frontal", frontal, px), Radiograph("lateral", lateral, px)


def display(att: np.ndarray, bits: int = 8, gamma: float = 1.1, unsharp: float = 0.5) -> np.ndarray:
    """Window the log-attenuation image like a processed radiograph (bright = attenuating).

    The window runs from a low percentile of the body (the most lucent lung) to a high one
    (spine behind the heart), so the lungs come out dark and the mediastinum and bones bright;
    unsharp masking at ~1/40 of the image height adds the edge enhancement of a processed CXR.
    """
    body = att[att > 0.15 * float(att.max() or 1.0)]
    lo = float(np.percentile(body, 2.0)) * 0.92 if body.size else 0.0
    hi = float(np.percentile(att, 99.8)) or 1.0
    img = np.clip((att - lo) / max(hi - lo, 1e-6), 0.0, 1.0) ** gamma
    if unsharp > 0:
        blur = ndimage.gaussian_filter(img, max(1.0, img.shape[0] / 40.0))
        img = np.clip(img + unsharp * (img - blur), 0.0, 1.0)
    top = (1 << bits) - 1
    return np.round(img * top).astype(np.uint8 if bits <= 8 else np.uint16)
