"""CT image formation on top of the clean phantom: blur (system PSF) and correlated noise.

Filtered-back-projection noise is not white: its in-plane noise power spectrum rises from zero
at DC (the ramp filter) and is rolled off by the reconstruction kernel, which gives CT noise its
characteristic blotchy "mottle" whose grain size depends on the kernel; along z it is
correlated over about a slice thickness. We shape white Gaussian noise slice by slice with
NPS(f) ~ f * exp(-(f / f_c)^2) (f in cycles/mm, so the texture is the same physical size at any
pixel spacing), smooth it slightly along z, and scale it to the requested standard deviation.

Noise falls with voxel volume (fewer photons per voxel in small voxels): ``sigma_hu`` is quoted
for a reference voxel of 0.7 x 0.7 x 2.5 mm and scaled by sqrt(reference / voxel volume).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from .grid import F32

REFERENCE_VOXEL_MM3 = 0.7 * 0.7 * 2.5
KERNELS = {"soft": 0.32, "standard": 0.45, "sharp": 0.75}  # roll-off frequency f_c, cycles/mm
PSF_MM = {"soft": 0.75, "standard": 0.6, "sharp": 0.4}  # in-plane Gaussian PSF sigma


def effective_sigma(sigma_hu: float, spacing) -> float:
    """Noise standard deviation for the given voxel size (never below 1.5 HU)."""
    vol = float(np.prod(spacing))
    return float(max(1.5, sigma_hu * np.sqrt(REFERENCE_VOXEL_MM3 / vol)))


def apply_psf(vol: np.ndarray, spacing, kernel: str = "standard") -> np.ndarray:
    """Blur with the scanner's point spread function (in-plane per kernel, ~0.4 slice along z)."""
    _, dy, dx = spacing
    s_in = PSF_MM[kernel]
    sig = (0.35, s_in / dy, s_in / dx)  # z: ~a third of a slice of overlap between slices
    sig = tuple(s if s >= 0.15 else 0.0 for s in sig)
    if not any(sig):
        return vol
    return ndimage.gaussian_filter(vol, sig, mode="nearest").astype(F32)


def correlated_noise(shape, spacing, sigma: float, rng: np.random.Generator, kernel: str = "standard") -> np.ndarray:
    """Zero-mean noise with an FBP-like in-plane NPS and mild z correlation, std ~= sigma."""
    nz, ny, nx = shape
    dz, dy, dx = spacing
    white = rng.standard_normal((nz, ny, nx), dtype=np.float32)
    fy = np.fft.fftfreq(ny, d=dy)[:, None]
    fx = np.fft.rfftfreq(nx, d=dx)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    fc = KERNELS[kernel]
    # amplitude filter = sqrt(NPS); NPS ~ f * exp(-(f/fc)^2) (ramp times apodisation)
    amp = np.sqrt(f * np.exp(-((f / fc) ** 2))).astype(np.float32)
    spec = sfft.rfft2(white, axes=(1, 2), workers=1)
    spec *= amp[None]
    out = sfft.irfft2(spec, s=(ny, nx), axes=(1, 2), workers=1).astype(F32)
    # correlation between neighbouring slices (overlapping slice sensitivity profiles): a
    # two-tap recursive mix, cheaper than a Gaussian along z and enough for adjacent slices
    k = np.float32(0.35 if dz <= 3.0 else 0.15)
    for i in range(1, nz):
        out[i] += k * out[i - 1]
    sd = float(out.std()) or 1.0
    out *= np.float32(sigma / sd)
    return out


def add_ct_noise(vol: np.ndarray, spacing, rng: np.random.Generator, sigma_hu: float, kernel: str = "standard",
                 body: np.ndarray | None = None) -> np.ndarray:
    """PSF blur + correlated noise; noise is ~40% lower outside the body (less attenuation)."""
    out = apply_psf(vol, spacing, kernel)
    sigma = effective_sigma(sigma_hu, spacing)
    noise = correlated_noise(vol.shape, spacing, sigma, rng, kernel)
    if body is not None:
        noise *= 0.6 + 0.4 * body
    out += noise
    return out
