"""Conversion between the engine's volume layout and the networks' tensor layout.

Public arrays follow :mod:`generation.conventions`: [z, y, x] with z toward superior,
y toward posterior, x toward the patient's left (LPS), spacing (dz, dy, dx).

Network tensors follow MONAI/MAISI, which train on NIfTI volumes reoriented to RAS+:
[..., X, Y, Z] with X toward the patient's RIGHT, Y toward ANTERIOR, Z toward SUPERIOR.
Keeping that layout inside the networks means MAISI / Report2CT checkpoints see the anatomy
the way they were trained, and ``nibabel.as_closest_canonical`` arrays feed training directly.
The MAISI spacing input is likewise ordered (sx, sy, sz).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def volume_to_network(volume: np.ndarray) -> np.ndarray:
    """[z, y(P), x(L)] volume -> [X(R), Y(A), Z(S)] network array (a view where possible)."""
    return np.ascontiguousarray(volume[:, ::-1, ::-1].transpose(2, 1, 0))


def network_to_volume(array: np.ndarray) -> np.ndarray:
    """[X(R), Y(A), Z(S)] network array -> [z, y(P), x(L)] volume; exact inverse of the above."""
    return np.ascontiguousarray(array.transpose(2, 1, 0)[:, ::-1, ::-1])


def network_tensor_to_volume(tensor: torch.Tensor) -> torch.Tensor:
    """Same as :func:`network_to_volume` for the last three dims of a tensor."""
    return tensor.transpose(-1, -3).flip(-2, -1)


def zyx_to_xyz(values: Sequence[float]) -> tuple[float, float, float]:
    """Reorder a (dz, dy, dx) or shape (Z, Y, X) triple to network order (x, y, z)."""
    z, y, x = values
    return (x, y, z)


def xyz_to_zyx(values: Sequence[float]) -> tuple[float, float, float]:
    """Inverse of :func:`zyx_to_xyz`."""
    x, y, z = values
    return (z, y, x)


def centred_origin_lps(shape_zyx: Sequence[int], spacing_zyx: Sequence[float]) -> tuple:
    """LPS (x, y, z) position of voxel [0, 0, 0] for a volume centred on the LPS origin."""
    (nz, ny, nx), (dz, dy, dx) = shape_zyx, spacing_zyx
    return (-(nx - 1) * dx / 2.0, -(ny - 1) * dy / 2.0, -(nz - 1) * dz / 2.0)
