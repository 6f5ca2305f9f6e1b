"""Series geometry: is a set of single-frame slices a regular volume, and which voxel is where.

Plain pydicom/numpy, no Django (a test enforces it), so the engine, the importer and the
DICOMweb views share one definition of "a volume".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import pydicom
from pydicom.dataset import Dataset

# Orientation cosines of two slices count as equal within this; DICOM writers round to ~6 digits.
ORIENTATION_TOLERANCE = 1e-4
# Slice gaps may differ by this fraction of the mean gap (scanners print positions to 0.01 mm).
SPACING_RELATIVE_TOLERANCE = 0.01
SPACING_ABSOLUTE_TOLERANCE_MM = 0.02


class NotAVolume(ValueError):
    """The slices do not make one regular 3-D grid; ``str(exc)`` says why, for a person."""


@dataclass(frozen=True)
class Geometry:
    """Where a regular grid of slices sits in patient space (DICOM LPS, millimetres)."""

    rows: int
    columns: int
    n_slices: int
    row_cosines: tuple[float, float, float]  # direction of increasing column index
    column_cosines: tuple[float, float, float]  # direction of increasing row index
    normal: tuple[float, float, float]  # direction of increasing slice index
    spacing_mm: tuple[float, float, float]  # (between slices, between rows, between columns)
    origin_mm: tuple[float, float, float]  # ImagePositionPatient of slice 0
    positions_along_normal: tuple[float, ...] = field(repr=False)

    def voxel_to_patient(self, k: float, j: float, i: float) -> np.ndarray:
        """LPS position of voxel [k, j, i] (slice, row, column)."""
        dz, dy, dx = self.spacing_mm
        return (
            np.asarray(self.origin_mm)
            + i * dx * np.asarray(self.row_cosines)
            + j * dy * np.asarray(self.column_cosines)
            + k * dz * np.asarray(self.normal)
        )

    def summary(self) -> dict:
        """JSON-ready description stored on the study index."""
        return {
            "rows": self.rows,
            "columns": self.columns,
            "slices": self.n_slices,
            "spacing_mm": list(self.spacing_mm),
            "origin_mm": list(self.origin_mm),
            "row_cosines": list(self.row_cosines),
            "column_cosines": list(self.column_cosines),
            "normal": list(self.normal),
        }


@dataclass
class Volume:
    """Voxels in rescaled units (HU for CT) indexed [slice, row, column], slices sorted along the normal."""

    array: np.ndarray
    geometry: Geometry
    datasets: list[Dataset]  # headers in the same (sorted) order, pixel data included

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return self.geometry.spacing_mm


def _floats(ds: Dataset, keyword: str, count: int, where: str) -> tuple[float, ...]:
    value = ds.get(keyword)
    if value is None:
        raise NotAVolume(f"{where} has no {keyword}: the slice cannot be placed in space")
    try:
        numbers = tuple(float(v) for v in (value if count > 1 else [value]))
    except (TypeError, ValueError) as exc:
        raise NotAVolume(f"{where} has an unreadable {keyword} ({value!r})") from exc
    if len(numbers) != count:
        raise NotAVolume(f"{where} has {keyword} with {len(numbers)} values, expected {count}")
    return numbers


def _describe(ds: Dataset, index: int) -> str:
    number = ds.get("InstanceNumber")
    return f"instance {number}" if number is not None else f"slice #{index + 1}"


def sort_key_along_normal(ds: Dataset) -> float:
    """Position of a slice along its own normal; the sort key importers store per instance."""
    iop = np.asarray([float(v) for v in ds.ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    return float(np.dot(normal, [float(v) for v in ds.ImagePositionPatient]))


def check_geometry(headers: Sequence[Dataset]) -> tuple[Geometry, list[int]]:
    """Validate that ``headers`` form one regular volume.

    Returns the geometry and the order (indices into ``headers``) that sorts the slices along the
    normal. Raises :class:`NotAVolume` with a reason a radiologist understands.
    """
    if len(headers) < 2:
        raise NotAVolume("the series has a single image, so it is not a volume")
    first = headers[0]
    rows, columns = int(first.get("Rows", 0)), int(first.get("Columns", 0))
    iop0 = np.asarray(_floats(first, "ImageOrientationPatient", 6, _describe(first, 0)))
    spacing0 = _floats(first, "PixelSpacing", 2, _describe(first, 0))
    positions = []
    for index, ds in enumerate(headers):
        where = _describe(ds, index)
        if int(ds.get("NumberOfFrames", 1) or 1) != 1:
            raise NotAVolume(f"{where} is a multi-frame image; only single-frame slices are supported")
        if (int(ds.get("Rows", 0)), int(ds.get("Columns", 0))) != (rows, columns):
            raise NotAVolume(f"{where} is {ds.get('Rows')}×{ds.get('Columns')}, others {rows}×{columns}")
        iop = np.asarray(_floats(ds, "ImageOrientationPatient", 6, where))
        if np.max(np.abs(iop - iop0)) > ORIENTATION_TOLERANCE:
            raise NotAVolume(f"mixed orientations: {where} is tilted against the first slice")
        if np.max(np.abs(np.subtract(_floats(ds, "PixelSpacing", 2, where), spacing0))) > 1e-4:
            raise NotAVolume(f"{where} has a different pixel spacing from the first slice")
        positions.append(_floats(ds, "ImagePositionPatient", 3, where))
    row_cos, col_cos = iop0[:3], iop0[3:]
    if abs(np.linalg.norm(row_cos) - 1) > 1e-3 or abs(np.linalg.norm(col_cos) - 1) > 1e-3:
        raise NotAVolume("ImageOrientationPatient is not made of unit vectors")
    if abs(float(np.dot(row_cos, col_cos))) > 1e-3:
        raise NotAVolume("ImageOrientationPatient rows and columns are not perpendicular")
    normal = np.cross(row_cos, col_cos)
    pos = np.asarray(positions)
    along = pos @ normal
    order = [int(i) for i in np.argsort(along, kind="stable")]
    sorted_pos, sorted_along = pos[order], along[order]
    gaps = np.diff(sorted_along)
    if np.any(gaps < SPACING_ABSOLUTE_TOLERANCE_MM):
        raise NotAVolume("two slices share the same position (duplicate or overlapping images)")
    mean_gap = float(np.mean(gaps))
    tolerance = max(SPACING_ABSOLUTE_TOLERANCE_MM, SPACING_RELATIVE_TOLERANCE * mean_gap)
    if np.max(np.abs(gaps - mean_gap)) > tolerance:
        biggest = float(np.max(gaps))
        if biggest > 1.5 * float(np.min(gaps)):
            missing = round(biggest / float(np.min(gaps))) - 1
            raise NotAVolume(
                f"slice positions have a gap of {biggest:.2f} mm where the spacing is "
                f"{float(np.min(gaps)):.2f} mm: about {missing} slice(s) are missing"
            )
        raise NotAVolume("slices are not evenly spaced along the normal")
    # Slices must stack straight: in-plane offsets between slices mean a sheared (gantry-tilted) grid.
    drift = (sorted_pos - sorted_pos[0]) - np.outer(sorted_along - sorted_along[0], normal)
    if np.max(np.abs(drift)) > tolerance:
        raise NotAVolume("slices are shifted sideways against each other (tilted gantry or mixed stacks)")
    geometry = Geometry(
        rows=rows,
        columns=columns,
        n_slices=len(headers),
        row_cosines=tuple(float(v) for v in row_cos),
        column_cosines=tuple(float(v) for v in col_cos),
        normal=tuple(float(v) for v in normal),
        spacing_mm=(mean_gap, float(spacing0[0]), float(spacing0[1])),
        origin_mm=tuple(float(v) for v in sorted_pos[0]),
        positions_along_normal=tuple(float(v) for v in sorted_along),
    )
    return geometry, order


def rescaled_pixels(ds: Dataset) -> np.ndarray:
    """Pixel values in output units (HU for CT): stored * RescaleSlope + RescaleIntercept."""
    pixels = ds.pixel_array.astype(np.float32)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return pixels * slope + intercept


def read_series(paths: Iterable[str | PathLike[str]]) -> Volume:
    """Read slices, sort them along the normal, validate the grid and stack the voxels."""
    datasets = [pydicom.dcmread(p) for p in paths]
    if not datasets:
        raise NotAVolume("no images were given")
    series = {ds.get("SeriesInstanceUID") for ds in datasets}
    if len(series) > 1:
        raise NotAVolume(f"the files belong to {len(series)} different series")
    geometry, order = check_geometry(datasets)
    ordered = [datasets[i] for i in order]
    array = np.stack([rescaled_pixels(ds) for ds in ordered])
    return Volume(array=array, geometry=geometry, datasets=ordered)
