"""Small DICOM inputs the dicom tests share (no Django here: the codec tests import it too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webapp.dicom.codec import write_ct_series, write_dx_image

# A marker volume: air background, a soft-tissue "body", and three bright cubes placed so each
# anatomical plane through one marker contains no other marker (their x, y and z all differ).
SPACING = (2.0, 2.0, 2.0)  # (dz, dy, dx) mm
SHAPE = (48, 64, 64)  # [z, y, x]
MARKERS_LPS = {
    "left": (40.0, 20.0, -30.0),  # patient LEFT (+x), a little posterior, inferior
    "anterior": (-20.0, -40.0, 10.0),  # patient ANTERIOR (-y), a little right
    "superior": (10.0, -10.0, 36.0),  # patient SUPERIOR (+z)
}
MARKER_HALF_MM = 5.0
MARKER_HU = 1500.0


def voxel_centres_lps(shape=SHAPE, spacing=SPACING) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS coordinates (x, y, z) of voxel centres for a volume centred on the origin."""
    nz, ny, nx = shape
    dz, dy, dx = spacing
    x = (np.arange(nx) - (nx - 1) / 2) * dx
    y = (np.arange(ny) - (ny - 1) / 2) * dy
    z = (np.arange(nz) - (nz - 1) / 2) * dz
    return x, y, z


def marker_volume() -> np.ndarray:
    x, y, z = voxel_centres_lps()
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    volume = np.full(SHAPE, -1000.0, dtype=np.float32)
    body = (xx / 58) ** 2 + (yy / 52) ** 2 <= 1.0
    volume[body] = 30.0
    for cx, cy, cz in MARKERS_LPS.values():
        cube = (abs(xx - cx) <= MARKER_HALF_MM) & (abs(yy - cy) <= MARKER_HALF_MM) & (abs(zz - cz) <= MARKER_HALF_MM)
        volume[cube] = MARKER_HU
    return volume


def write_marker_ct(out_dir: Path, **kwargs) -> list[Path]:
    kwargs.setdefault("synthetic", True)
    kwargs.setdefault("series_description", "MARKER PHANTOM")
    kwargs.setdefault("study", {"StudyDescription": "Orientation phantom"})
    return write_ct_series(marker_volume(), SPACING, out_dir, **kwargs).paths


def write_cxr_pair(out_dir: Path, *, synthetic: bool = True) -> list[Path]:
    rng = np.random.default_rng(0)
    study = {"StudyInstanceUID": "2.25.1234567890123", "StudyDescription": "Chest PA and lateral"}
    frontal = np.clip(rng.normal(0.5, 0.1, (96, 80)), 0, 1)
    frontal[:, 60:] += 0.3  # brighter patient-left side, so orientation is visible
    lateral = np.clip(rng.normal(0.4, 0.1, (96, 80)), 0, 1)
    a = write_dx_image(frontal, (0.5, 0.5), out_dir / "pa.dcm", view_position="PA", study=study, synthetic=synthetic)
    b = write_dx_image(
        lateral, (0.5, 0.5), out_dir / "ll.dcm", view_position="LL", study=study, series_number=2, synthetic=synthetic
    )
    return a.paths + b.paths
