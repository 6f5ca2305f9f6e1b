"""Pixels for blinded presentation copies: one grid per modality for real and synthetic alike.

No Django. Header blinding is the codec's job (``webapp.dicom.codec.write_presentation_copy``:
one template, fresh UIDs); this module makes the *pixel grids* identical too, because matrix size,
voxel spacing, field-of-view origin and bit depth would otherwise tell a reader (or a DICOM tag
browser) which scanner or generator an image came from:

* CT: every volume is resampled to the study's coarsest spacing per axis and centre-cropped to
  the smallest extent (so nothing is invented), centred on the origin, HU kept;
* chest X-ray: MONOCHROME1 inverted, cover-fitted and centre-cropped to one square matrix
  (the smallest side in the study, at most ``CXR_MAX_SIDE``), intensities windowed to the 0.5–99.5
  percentiles and stored as 12-bit; every copy gets the study's median pixel spacing;
* view labels normalised (frontal -> PA, lateral -> LL).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from scipy.ndimage import gaussian_filter1d

from webapp.dicom.codec import read_series, write_ct_series, write_dx_image
from webapp.dicom.codec_geometry import rescaled_pixels

CT_MAX_IN_PLANE = 512
CT_MAX_SLICES = 512
CXR_MAX_SIDE = 1024
CXR_MIN_SIDE = 64
CT_AIR_HU = -1024.0


@dataclass(frozen=True)
class CtGrid:
    shape: tuple[int, int, int]  # (slices, rows, columns)
    spacing_mm: tuple[float, float, float]  # (dz, dy, dx)


@dataclass(frozen=True)
class CxrGrid:
    side: int
    spacing_mm: float


def ct_common_grid(sources: Sequence[tuple[Sequence[int], Sequence[float]]]) -> CtGrid:
    """Coarsest spacing per axis, smallest physical extent per axis -> one grid for every CT."""
    if not sources:
        raise ValueError("no CT sources")
    spacing = tuple(max(float(s[1][a]) for s in sources) for a in range(3))
    extents = [min(int(s[0][a]) * float(s[1][a]) for s in sources) for a in range(3)]
    caps = (CT_MAX_SLICES, CT_MAX_IN_PLANE, CT_MAX_IN_PLANE)
    shape = tuple(max(1, min(caps[a], int(math.floor(extents[a] / spacing[a] + 1e-6)))) for a in range(3))
    return CtGrid(shape=shape, spacing_mm=spacing)


def cxr_common_grid(sources: Sequence[tuple[Sequence[int], float | None]]) -> CxrGrid:
    """One square side (the smallest image side, capped) and the median resulting pixel spacing."""
    if not sources:
        raise ValueError("no radiograph sources")
    side = min(min(int(s[0][0]), int(s[0][1])) for s in sources)
    side = max(CXR_MIN_SIDE, min(CXR_MAX_SIDE, side))
    spacings = [float(sp) * min(int(sh[0]), int(sh[1])) / side for sh, sp in sources if sp]
    spacing = float(np.median(spacings)) if spacings else 0.35
    return CxrGrid(side=side, spacing_mm=round(spacing, 4))


def _resample_axis(arr: np.ndarray, axis: int, src_index: np.ndarray, factor: float) -> np.ndarray:
    """Linear interpolation along one axis at fractional source indices (anti-aliased when shrinking)."""
    if factor > 1.2:
        arr = gaussian_filter1d(arr, sigma=0.4 * factor, axis=axis, mode="nearest")
    n = arr.shape[axis]
    idx = np.clip(src_index, 0, n - 1)
    i0 = np.floor(idx).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (idx - i0).astype(np.float32)
    shape = [1] * arr.ndim
    shape[axis] = len(idx)
    w = w.reshape(shape)
    return np.take(arr, i0, axis=axis) * (1 - w) + np.take(arr, i1, axis=axis) * w


def _centre_indices(n_src: int, spacing_src: float, n_dst: int, spacing_dst: float) -> np.ndarray:
    """Source indices sampling a centred window of n_dst points spaced spacing_dst apart."""
    offsets = (np.arange(n_dst) - (n_dst - 1) / 2.0) * spacing_dst
    return (n_src - 1) / 2.0 + offsets / spacing_src


def ct_to_grid(volume: np.ndarray, spacing_mm: Sequence[float], grid: CtGrid) -> np.ndarray:
    """Resample a [z, y, x] HU volume onto ``grid`` (centred), float32."""
    out = np.asarray(volume, dtype=np.float32)
    for axis in range(3):
        src_sp = float(spacing_mm[axis])
        idx = _centre_indices(out.shape[axis], src_sp, grid.shape[axis], grid.spacing_mm[axis])
        out = _resample_axis(out, axis, idx, grid.spacing_mm[axis] / src_sp)
    return out.astype(np.float32)


def cxr_to_grid(image: np.ndarray, grid: CxrGrid) -> np.ndarray:
    """Cover-fit + centre-crop a radiograph to ``grid.side`` squared, windowed to 0..1."""
    img = np.asarray(image, dtype=np.float32)
    scale = grid.side / min(img.shape)
    for axis in range(2):
        idx = _centre_indices(img.shape[axis], 1.0, grid.side, 1.0 / scale)
        img = _resample_axis(img, axis, idx, 1.0 / scale)
    lo, hi = np.percentile(img, [0.5, 99.5])
    if hi <= lo:
        return np.zeros_like(img)
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0)


def radiograph_pixels(ds: Dataset) -> np.ndarray:
    """Display-ready values (bright = dense) of a single-frame radiograph."""
    pixels = rescaled_pixels(ds)
    if pixels.ndim == 3:  # multi-frame: the first frame
        pixels = pixels[0]
    if str(ds.get("PhotometricInterpretation", "MONOCHROME2")) == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return pixels


def radiograph_spacing(ds: Dataset) -> float | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value:
            try:
                return float(value[0])
            except (TypeError, ValueError, IndexError):
                continue
    return None


def read_ct(paths: Sequence[Path]):
    """(HU volume [z, y, x], spacing (dz, dy, dx)) of one CT series."""
    volume = read_series(paths)
    return volume.array, volume.spacing_mm


def read_radiograph(path: Path) -> tuple[np.ndarray, float | None]:
    ds = pydicom.dcmread(path)
    return radiograph_pixels(ds), radiograph_spacing(ds)


def write_ct_intermediate(volume: np.ndarray, grid: CtGrid, out_dir: Path) -> list[Dataset]:
    """Write the regridded CT with the codec (origin centred) and read the slices back."""
    written = write_ct_series(volume, grid.spacing_mm, out_dir, synthetic=False)
    return [pydicom.dcmread(p) for p in written.paths]


def write_cxr_intermediate(image01: np.ndarray, grid: CxrGrid, out_path: Path, *, view: str) -> Dataset:
    """Write one regridded radiograph as DX For Presentation (PA or LL) and read it back."""
    view_position = "LL" if view == "lateral" else "PA"
    written = write_dx_image(image01, (grid.spacing_mm, grid.spacing_mm), out_path, view_position=view_position, synthetic=False)
    return pydicom.dcmread(written.paths[0])


def presentation_template(modality: str) -> dict:
    """The header template every presentation copy of one modality shares (on top of the codec's)."""
    common = {
        "PatientName": "BLINDED^CASE",
        "PatientID": "BLINDED",
        "StudyDescription": "RadSynth reader study",
        "SeriesDescription": "",
        "Manufacturer": "",
        "InstitutionName": "",
    }
    if modality == "ct":
        return {**common, "ImageType": ["DERIVED", "SECONDARY", "AXIAL"], "WindowCenter": "40", "WindowWidth": "400"}
    return {**common, "ImageType": ["DERIVED", "SECONDARY"], "WindowCenter": "2048", "WindowWidth": "4096"}
