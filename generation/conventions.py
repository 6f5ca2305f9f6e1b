"""Array axis and patient-coordinate conventions shared by the whole engine.

Volume arrays are indexed [z, y, x]; x (columns) increases toward the patient's LEFT,
y (rows) toward POSTERIOR, z (slices) toward SUPERIOR; this is DICOM LPS with
ImageOrientationPatient [1,0,0,0,1,0]; spacing tuples are (z, y, x) in mm.

Consequences worth spelling out:
- ``volume[k]`` is one axial slice; displayed with row 0 at the top and column 0 at the left it is
  already in radiological convention (anterior up, patient's right on the image left).
- Slice k sits at patient z = origin_z + k * spacing_z, so k = 0 is the most INFERIOR slice.
  A DICOM series written from the array uses ImagePositionPatient = origin + (0, 0, k * dz).
- A NIfTI affine (RAS+ world) for an array stored as [x, y, z] (``volume.transpose(2, 1, 0)``) is
  ``diag(-dx, -dy, dz, 1)`` with the LPS origin negated in x and y.
"""

from __future__ import annotations

#: Axis order of every volume array.
VOLUME_AXES: tuple[str, str, str] = ("z", "y", "x")

#: Patient direction each array axis increases toward (DICOM LPS letters), in VOLUME_AXES order.
VOLUME_AXIS_DIRECTIONS: tuple[str, str, str] = ("S", "P", "L")

#: DICOM ImageOrientationPatient for slices taken as ``volume[k]``.
IMAGE_ORIENTATION_PATIENT: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

#: Spacing tuples are given in the same order as the axes: (dz, dy, dx) in millimetres.
SPACING_ORDER: tuple[str, str, str] = ("z", "y", "x")
