"""Smooth random fields defined in millimetres, independent of the voxel grid.

A field is a lattice of N(0, 1) values with a fixed cell size laid over a fixed box in patient
space, interpolated with cubic B-splines. Because the lattice lives in mm and is drawn from its
own seed, the same case rendered on a 64^3 and on a 256^2 x 128 grid shows the same blobs in the
same places (parenchymal texture, patchy ground glass, emphysema distribution ...).
"""

from __future__ import annotations

import numpy as np

from .grid import F32, Grid

# The box every field lattice covers (x, y, z mm); generous so that any sensible field of view
# around the thorax lies inside it.
BOX_LO = np.array([-280.0, -280.0, -460.0])
BOX_HI = np.array([280.0, 280.0, 330.0])


def _bspline_weights(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline weights (n, 4) for fractional positions t in [0, 1)."""
    t2, t3 = t * t, t * t * t
    return np.stack(
        [(1 - t) ** 3 / 6.0, (3 * t3 - 6 * t2 + 4) / 6.0, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6.0, t3 / 6.0],
        axis=1,
    )


# mean over t of sum_i w_i(t)^2: the variance of a 1-D B-spline interpolant of unit white noise
_T = (np.arange(1000) + 0.5) / 1000
_VAR1 = float((_bspline_weights(_T) ** 2).sum(1).mean())


def _axis_matrix(coords: np.ndarray, lo: float, cell: float, n_lat: int):
    """Interpolation matrix (n, k) from lattice nodes [i0, i0 + k) to ``coords``."""
    u = (coords - lo) / cell
    base = np.floor(u).astype(np.int64) - 1
    w = _bspline_weights(u - np.floor(u))
    base = np.clip(base, 0, n_lat - 4)
    i0, i1 = int(base.min()), int(base.max()) + 4
    m = np.zeros((len(coords), i1 - i0), dtype=np.float64)
    rows = np.arange(len(coords))
    for j in range(4):
        m[rows, base - i0 + j] += w[:, j]
    return m, i0, i1


class SmoothField:
    """Unit-variance smooth random field with correlation length ~ ``cell_mm``.

    The lattice is generated lazily in blocks of 16^3 nodes, each from its own seed derived from
    (seed, block index), so sampling a small region (a nodule's texture) costs little and the
    values never depend on which regions were asked for first.
    """

    BLOCK = 16

    def __init__(self, seed: int, cell_mm: float):
        self.cell = float(cell_mm)
        self.seed = int(seed)
        self.n = np.ceil((BOX_HI - BOX_LO) / self.cell).astype(int) + 4  # x, y, z
        self._blocks: dict[tuple[int, int, int], np.ndarray] = {}
        self._scale = np.float32(1.0 / np.sqrt(_VAR1**3))

    def _block(self, key: tuple[int, int, int]) -> np.ndarray:
        b = self._blocks.get(key)
        if b is None:
            ss = np.random.SeedSequence([self.seed, int(self.cell * 1000), *key])
            b = np.random.default_rng(ss).standard_normal((self.BLOCK,) * 3, dtype=np.float32) * self._scale
            self._blocks[key] = b
        return b

    def _lattice(self, z0: int, z1: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        B = self.BLOCK
        out = np.empty((z1 - z0, y1 - y0, x1 - x0), dtype=np.float32)
        for bz in range(z0 // B, (z1 - 1) // B + 1):
            for by in range(y0 // B, (y1 - 1) // B + 1):
                for bx in range(x0 // B, (x1 - 1) // B + 1):
                    blk = self._block((bz, by, bx))
                    sz = slice(max(z0, bz * B), min(z1, (bz + 1) * B))
                    sy = slice(max(y0, by * B), min(y1, (by + 1) * B))
                    sx = slice(max(x0, bx * B), min(x1, (bx + 1) * B))
                    out[sz.start - z0:sz.stop - z0, sy.start - y0:sy.stop - y0, sx.start - x0:sx.stop - x0] = blk[
                        sz.start - bz * B:sz.stop - bz * B, sy.start - by * B:sy.stop - by * B,
                        sx.start - bx * B:sx.stop - bx * B]
        return out

    def sample(self, grid: Grid, slices=None) -> np.ndarray:
        """Field values on the grid (or on a block of it given by ``slices``)."""
        if slices is None:
            slices = (slice(None),) * 3
        zc, yc, xc = (grid.axis(i)[slices[i]].astype(np.float64) for i in range(3))
        wz, z0, z1 = _axis_matrix(zc, BOX_LO[2], self.cell, self.n[2])
        wy, y0, y1 = _axis_matrix(yc, BOX_LO[1], self.cell, self.n[1])
        wx, x0, x1 = _axis_matrix(xc, BOX_LO[0], self.cell, self.n[0])
        f = self._lattice(z0, z1, y0, y1, x0, x1).astype(np.float64)
        f = np.tensordot(wz, f, axes=(1, 0))  # (nz, Ly, Lx)
        f = f @ wx.T  # (nz, Ly, nx)
        f = np.matmul(wy[None], f)  # (nz, ny, nx)
        return f.astype(F32)

    def at_points(self, pts: np.ndarray) -> np.ndarray:
        """Field values at arbitrary points (N, 3) x/y/z mm (used while sampling geometry)."""
        u = (np.asarray(pts) - BOX_LO) / self.cell
        base = np.clip(np.floor(u).astype(np.int64) - 1, 0, self.n - 4)
        lo = base.min(0)
        hi = base.max(0) + 4
        lat = self._lattice(lo[2], hi[2], lo[1], hi[1], lo[0], hi[0])
        b = base - lo
        w = [_bspline_weights(u[:, k] - np.floor(u[:, k])) for k in range(3)]
        out = np.zeros(len(pts))
        for i in range(4):
            for j in range(4):
                for k in range(4):
                    out += w[0][:, i] * w[1][:, j] * w[2][:, k] * lat[b[:, 2] + k, b[:, 1] + j, b[:, 0] + i]
        return out
