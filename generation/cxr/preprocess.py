"""Real chest X-ray -> model input, as MedCoDi-M §3.1 prepares MIMIC-CXR DICOMs.

1. pixel data scaled by the maximum value its bit depth allows (BitsStored) -> [0, 1];
2. MONOCHROME1 inverted, so bright always means dense (MONOCHROME2);
3. resampled to a standard pixel spacing (the paper's is the dataset's most common one; ours is
   the preset's ``preprocess.target_spacing_mm``), using PixelSpacing or, for DX/CR detectors,
   ImagerPixelSpacing;
4. zero-padded to a square (no crop, no distortion of the anatomy);
5. resized to the model size.

Pure numpy + Pillow (+ pydicom to read files); no torch, so a web process can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation.errors import InvalidRequest

_FRONTAL_POSITIONS = {"PA", "AP", "AP SUPINE", "PA UPRIGHT"}
_LATERAL_POSITIONS = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"}


@dataclass
class CXRImage:
    """A radiograph in [0, 1], MONOCHROME2, with its pixel spacing (row, col) in mm if known."""

    pixels: np.ndarray
    pixel_spacing_mm: tuple[float, float] | None = None
    view: str | None = None


def scale_by_bit_depth(array: np.ndarray, bits_stored: int, signed: bool = False) -> np.ndarray:
    """Stored values -> [0, 1] by the largest value ``bits_stored`` bits can hold."""
    if not 1 <= int(bits_stored) <= 32:
        raise InvalidRequest(f"BitsStored must be between 1 and 32, got {bits_stored}.")
    values = array.astype(np.float64)
    if signed:  # two's complement range [-2^(b-1), 2^(b-1) - 1] -> [0, 2^b - 1]
        values = values + 2.0 ** (int(bits_stored) - 1)
    return np.clip(values / (2.0 ** int(bits_stored) - 1.0), 0.0, 1.0).astype(np.float32)


def invert_monochrome1(pixels: np.ndarray, photometric: str) -> np.ndarray:
    """MONOCHROME1 displays low values bright; flip it so bright = dense everywhere."""
    return (1.0 - pixels).astype(np.float32) if photometric.strip().upper() == "MONOCHROME1" else pixels


def _resize(pixels: np.ndarray, rows: int, cols: int) -> np.ndarray:
    # Pillow's resize widens the filter when shrinking, i.e. it anti-aliases a 3000 -> 64 reduction.
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.resize((int(cols), int(rows)), Image.Resampling.BILINEAR), dtype=np.float32)


def resample_to_spacing(
    pixels: np.ndarray, spacing_mm: Sequence[float], target_spacing_mm: float
) -> np.ndarray:
    """Resample so both axes have ``target_spacing_mm`` (the physical extent is kept)."""
    row_mm, col_mm = (float(v) for v in spacing_mm)
    if not (row_mm > 0 and col_mm > 0 and target_spacing_mm > 0):
        raise InvalidRequest(f"pixel spacing must be positive, got {tuple(spacing_mm)} -> {target_spacing_mm}.")
    rows = max(1, round(pixels.shape[0] * row_mm / target_spacing_mm))
    cols = max(1, round(pixels.shape[1] * col_mm / target_spacing_mm))
    if (rows, cols) == pixels.shape:
        return pixels.astype(np.float32)
    return _resize(pixels, rows, cols)


def pad_to_square(pixels: np.ndarray) -> np.ndarray:
    """Zero-pad the shorter axis symmetrically (odd remainders go to the bottom / right)."""
    rows, cols = pixels.shape
    side = max(rows, cols)
    top, left = (side - rows) // 2, (side - cols) // 2
    out = np.zeros((side, side), dtype=np.float32)
    out[top : top + rows, left : left + cols] = pixels
    return out


def to_model_input(
    pixels: np.ndarray,
    size: int,
    pixel_spacing_mm: Sequence[float] | None = None,
    target_spacing_mm: float | None = None,
) -> np.ndarray:
    """[rows, cols] in [0, 1] -> float32 [size, size]: spacing resampling, square padding, resize."""
    array = np.asarray(pixels, dtype=np.float32)
    if array.ndim != 2:
        raise InvalidRequest(f"a radiograph must be a 2D array, got shape {array.shape}.")
    if pixel_spacing_mm is not None and target_spacing_mm is not None:
        array = resample_to_spacing(array, pixel_spacing_mm, float(target_spacing_mm))
    array = pad_to_square(array)
    if array.shape != (size, size):
        array = _resize(array, size, size)
    return np.clip(array, 0.0, 1.0)


def view_from_position(view_position: str | None) -> str | None:
    """DICOM ViewPosition -> "frontal" / "lateral" / None."""
    value = (view_position or "").strip().upper()
    if value in _FRONTAL_POSITIONS:
        return "frontal"
    if value in _LATERAL_POSITIONS:
        return "lateral"
    return None


def _spacing(ds: Any) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = getattr(ds, keyword, None)
        if value is not None and len(value) == 2:
            return float(value[0]), float(value[1])
    return None


def read_dicom_cxr(source: Any) -> CXRImage:
    """A pydicom Dataset or a file path -> :class:`CXRImage` (steps 1-2 of the module doc)."""
    import pydicom

    ds = source if isinstance(source, pydicom.Dataset) else pydicom.dcmread(str(Path(source)))
    try:
        array = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - pydicom raises several types for missing/odd data
        raise InvalidRequest(f"Cannot decode the DICOM pixel data: {exc}") from exc
    if array.ndim == 3:  # multi-frame: a radiograph is its first frame
        array = array[0]
    if array.ndim != 2:
        raise InvalidRequest(f"Expected a single 2D radiograph, got pixel data of shape {array.shape}.")
    bits = int(getattr(ds, "BitsStored", None) or getattr(ds, "BitsAllocated", 16))
    signed = int(getattr(ds, "PixelRepresentation", 0)) == 1
    pixels = scale_by_bit_depth(array, bits, signed)
    pixels = invert_monochrome1(pixels, str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")))
    return CXRImage(pixels, _spacing(ds), view_from_position(getattr(ds, "ViewPosition", None)))


def preprocess_dicom(source: Any, size: int, target_spacing_mm: float | None) -> tuple[np.ndarray, CXRImage]:
    """Steps 1-5: (model input [size, size] float32 in [0, 1], the decoded :class:`CXRImage`)."""
    image = read_dicom_cxr(source)
    return to_model_input(image.pixels, size, image.pixel_spacing_mm, target_spacing_mm), image


def normalise_input_array(array: np.ndarray, name: str = "image") -> np.ndarray:
    """A request's input image -> float32 in [0, 1]: floats must already be in [0, 1]; integer
    arrays are divided by their dtype's maximum (use :func:`read_dicom_cxr` for DICOM, which
    knows the real bit depth)."""
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise InvalidRequest(f"input image {name!r} must be 2D (rows, cols), got shape {arr.shape}.")
    if min(arr.shape) < 8 or max(arr.shape) > 16384:
        raise InvalidRequest(f"input image {name!r} has an implausible size {arr.shape}.")
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        info = np.iinfo(arr.dtype) if arr.dtype != np.bool_ else None
        top = float(info.max) if info else 1.0
        return np.clip(arr.astype(np.float64) / top, 0.0, 1.0).astype(np.float32)
    if not np.issubdtype(arr.dtype, np.floating):
        raise InvalidRequest(f"input image {name!r} must be numeric, got dtype {arr.dtype}.")
    if not np.isfinite(arr).all():
        raise InvalidRequest(f"input image {name!r} contains NaN or infinite values.")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise InvalidRequest(
            f"input image {name!r} must be in [0, 1] (bright = dense), got values in [{lo:.3g}, {hi:.3g}]."
        )
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def read_input_image(path: str | Path) -> CXRImage:
    """A radiograph file for a request's ``input_images``: DICOM (by content or .dcm) through
    :func:`read_dicom_cxr`, otherwise an 8/16-bit grey image (PNG, JPEG, TIFF) scaled by its bit
    depth, with no spacing. Use ``.pixels`` (and ``.pixel_spacing_mm``) in the request."""
    file = Path(path)
    if not file.is_file():
        raise InvalidRequest(f"input image {file} does not exist.")
    with file.open("rb") as fh:
        head = fh.read(132)
    if file.suffix.lower() in (".dcm", ".dicom") or head[128:132] == b"DICM":
        return read_dicom_cxr(file)
    try:
        with Image.open(file) as image:
            array = np.asarray(image)
    except OSError as exc:
        raise InvalidRequest(f"cannot read {file} as DICOM or as an image: {exc}") from exc
    if array.ndim == 3:
        array = array[..., :3].mean(axis=-1).astype(array.dtype)  # grey export of an RGB file
    top = 65535.0 if array.dtype == np.uint16 or array.max() > 255 else 255.0
    return CXRImage(np.clip(array.astype(np.float32) / top, 0.0, 1.0), None, None)
