"""Voxel grid, soft (anti-aliased) painting and signed-distance primitives.

All geometry of the phantom is defined in millimetres in patient coordinates (DICOM LPS:
x toward the patient's left, y toward posterior, z toward superior) and only sampled onto a
grid at the end. Arrays follow ``generation.conventions``: indexed ``[z, y, x]``, spacing
``(dz, dy, dx)``. Points handled as ``(N, 3)`` arrays are ``(x, y, z)`` in mm because that is
how the anatomy is written down; the grid helpers do the index bookkeeping.

Anti-aliasing: every shape is a signed distance function (negative inside, mm) and its voxel
occupancy is ``clip(0.5 - sdf / h, 0, 1)`` with ``h`` the voxel size, i.e. a linear partial
volume ramp one voxel wide. Structures thinner than a voxel (small vessels) are splatted as
mass instead (see ``splat_segments``) so that their partial-volume contribution, and hence
their line integral in a radiograph, stays right at any resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import PhantomError

F32 = np.float32


@dataclass(frozen=True)
class Grid:
    """A regular voxel grid in patient space.

    ``origin`` is the patient position (mm) of the centre of voxel ``[0, 0, 0]``, in (z, y, x).
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    @staticmethod
    def centred(
        shape: tuple[int, int, int], spacing: tuple[float, float, float], centre_zyx: tuple[float, float, float]
    ) -> Grid:
        """A grid whose centre lies at ``centre_zyx`` (mm)."""
        shape = validate_shape(shape)
        spacing = validate_spacing(spacing)
        origin = tuple(float(c - (n - 1) / 2.0 * s) for c, n, s in zip(centre_zyx, shape, spacing, strict=True))
        return Grid(shape, spacing, origin)  # type: ignore[arg-type]

    @property
    def h(self) -> float:
        """Characteristic voxel size (geometric mean of the spacing) used for edge softness."""
        return float(np.prod(self.spacing) ** (1.0 / 3.0))

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.spacing))

    def axis(self, i: int) -> np.ndarray:
        """Patient coordinates (mm) of the voxel centres along array axis ``i`` (0=z, 1=y, 2=x)."""
        return self._axes[i]

    @cached_property
    def _axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = []
        for i in range(3):
            a = (self.origin[i] + self.spacing[i] * np.arange(self.shape[i])).astype(F32)
            a.setflags(write=False)  # shared by every caller
            out.append(a)
        return tuple(out)

    def extent_mm(self) -> tuple[tuple[float, float], ...]:
        """(lo, hi) voxel-centre coordinates per axis, (z, y, x)."""
        return tuple(
            (self.origin[i], self.origin[i] + self.spacing[i] * (self.shape[i] - 1)) for i in range(3)
        )

    def region(self, lo_xyz, hi_xyz):
        """Sub-block covering the box [lo, hi] (mm, x/y/z order), or None when it misses the grid.

        Returns ``(slices, Z, Y, X)`` with broadcastable coordinate arrays of the block.
        """
        sl = []
        for ax, (lo, hi) in zip((2, 1, 0), zip(lo_xyz, hi_xyz, strict=True), strict=True):
            o, s, n = self.origin[ax], self.spacing[ax], self.shape[ax]
            i0 = max(0, int(np.floor((lo - o) / s)))
            i1 = min(n, int(np.ceil((hi - o) / s)) + 1)
            if i1 <= i0:
                return None
            sl.append(slice(i0, i1))
        sx, sy, sz = sl
        slices = (sz, sy, sx)
        z = self.axis(0)[sz][:, None, None]
        y = self.axis(1)[sy][None, :, None]
        x = self.axis(2)[sx][None, None, :]
        return slices, z, y, x

    def full(self):
        """``(slices, Z, Y, X)`` for the whole grid."""
        z = self.axis(0)[:, None, None]
        y = self.axis(1)[None, :, None]
        x = self.axis(2)[None, None, :]
        return (slice(None),) * 3, z, y, x


def validate_shape(shape) -> tuple[int, int, int]:
    try:
        t = tuple(int(v) for v in shape)
    except (TypeError, ValueError) as exc:
        raise PhantomError(f"shape must be three integers (z, y, x), got {shape!r}") from exc
    if len(t) != 3 or any(v < 8 for v in t) or any(v > 1024 for v in t):
        raise PhantomError(f"shape must be three integers between 8 and 1024 (z, y, x), got {shape!r}")
    return t  # type: ignore[return-value]


def validate_spacing(spacing) -> tuple[float, float, float]:
    try:
        t = tuple(float(v) for v in spacing)
    except (TypeError, ValueError) as exc:
        raise PhantomError(f"spacing must be three numbers in mm (z, y, x), got {spacing!r}") from exc
    if len(t) != 3 or not all(np.isfinite(t)) or any(v < 0.2 or v > 20.0 for v in t):
        raise PhantomError(f"spacing must be three numbers between 0.2 and 20 mm (z, y, x), got {spacing!r}")
    return t  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# occupancy and painting


def coverage(sdf: np.ndarray, h: float) -> np.ndarray:
    """Partial-volume occupancy of a shape from its signed distance (mm)."""
    out = np.multiply(sdf, np.float32(-1.0 / h), dtype=F32)
    out += np.float32(0.5)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def smoothstep(e0: float, e1: float, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class Canvas:
    """An HU volume being painted, plus the grid it lives on."""

    def __init__(self, grid: Grid, fill: float = -1000.0):
        self.grid = grid
        self.h = grid.h
        self.vol = np.full(grid.shape, fill, dtype=F32)

    def blend(self, slices, alpha: np.ndarray, value) -> None:
        """vol := vol + alpha * (value - vol) on a block (alpha in [0, 1], value scalar or array)."""
        v = self.vol[slices]
        v += alpha * (value - v)

    def paint_sdf(
        self,
        lo_xyz,
        hi_xyz,
        sdf_fn: Callable,
        value,
        within: np.ndarray | None = None,
        store: np.ndarray | None = None,
    ) -> None:
        """Paint the shape ``sdf_fn(Z, Y, X) <= 0`` (evaluated on its bounding box only).

        ``value`` may be a number or a callable ``value(Z, Y, X)`` giving an HU array.
        ``within``: full-grid occupancy that limits the paint (e.g. the lungs).
        ``store``: full-grid float array that receives max(occupancy) for a mask.
        """
        pad = 1.5 * self.h
        reg = self.grid.region(np.asarray(lo_xyz) - pad, np.asarray(hi_xyz) + pad)
        if reg is None:
            return
        sl, z, y, x = reg
        a = coverage(sdf_fn(z, y, x), self.h)
        if within is not None:
            a = a * within[sl]
        if not a.any():
            return
        val = value(z, y, x) if callable(value) else value
        self.blend(sl, a, val)
        if store is not None:
            np.maximum(store[sl], a, out=store[sl])


# ----------------------------------------------------------------------------------------------
# signed-distance primitives (mm). All accept broadcastable arrays.


def sdf_ellipsoid(x, y, z, c, r):
    """Approximate signed distance to an axis-aligned ellipsoid (centre c, semi-axes r), x/y/z."""
    # python floats keep float32 arrays float32 (NumPy 2 weak scalars)
    c = [float(v) for v in c]
    r = [float(v) for v in r]
    px, py, pz = (x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2]
    k0 = np.sqrt(px * px + py * py + pz * pz)
    qx, qy, qz = px / r[0], py / r[1], pz / r[2]
    k1 = np.sqrt(qx * qx + qy * qy + qz * qz)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def rotated(x, y, z, c, rot: np.ndarray):
    """Coordinates relative to c expressed in the body frame whose axes are the rows of rot."""
    dx, dy, dz = x - c[0], y - c[1], z - c[2]
    u = rot[0, 0] * dx + rot[0, 1] * dy + rot[0, 2] * dz
    v = rot[1, 0] * dx + rot[1, 1] * dy + rot[1, 2] * dz
    w = rot[2, 0] * dx + rot[2, 1] * dy + rot[2, 2] * dz
    return u, v, w


def sdf_superellipse(x, y, cx, cy, a, b, p: float = 2.0):
    """Approximate distance (mm) to the 2-D superellipse |dx/a|^p + |dy/b|^p = 1 (radial scaling).

    a and b may be arrays (varying with z), which is how the chest tapers to the apex.
    """
    dx, dy = np.abs(x - cx), np.abs(y - cy)
    f = ((dx / a) ** p + (dy / b) ** p) ** (1.0 / p)
    rho = np.sqrt(dx * dx + dy * dy)
    # along the ray from the centre the boundary sits at rho / f
    return np.where(f > 1e-6, rho * (1.0 - 1.0 / np.maximum(f, 1e-6)), -np.minimum(a, b))


def segment_distance(x, y, z, p0, p1):
    """Distance to the segment p0-p1 and the segment parameter t in [0, 1]."""
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p0, dtype=np.float64)
    dd = float(d @ d) or 1e-9
    ax, ay, az = x - p0[0], y - p0[1], z - p0[2]
    t = np.clip((ax * d[0] + ay * d[1] + az * d[2]) / dd, 0.0, 1.0)
    ex, ey, ez = ax - t * d[0], ay - t * d[1], az - t * d[2]
    return np.sqrt(ex * ex + ey * ey + ez * ez), t


def tube_sdf_block(grid: Grid, pts: np.ndarray, radii: np.ndarray, pad: float = 0.0):
    """Signed distance to a tapered polyline tube on its bounding box.

    pts (N, 3) x/y/z mm, radii (N,) mm. Returns (slices, sdf) or None.
    """
    pts = np.asarray(pts, dtype=np.float64)
    radii = np.asarray(radii, dtype=np.float64)
    return segments_sdf_block(grid, pts[:-1], pts[1:], radii[:-1], radii[1:], pad)


def segments_sdf_block(grid: Grid, a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray, pad: float = 0.0):
    """Signed distance to the union of tapered segments a-b (radii ra-rb) on their bounding box.

    Small blocks (coarse grids) are done for all segments at once; large ones segment by
    segment, each updating only its own sub-box, so long thin tubes (ribs, aorta) cost little.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ra = np.asarray(ra, dtype=np.float64)
    rb = np.asarray(rb, dtype=np.float64)
    if len(a) == 0:
        return None
    rmax = float(max(ra.max(), rb.max())) + pad + 2.0 * grid.h
    reg = grid.region(np.minimum(a.min(0), b.min(0)) - rmax, np.maximum(a.max(0), b.max(0)) + rmax)
    if reg is None:
        return None
    sl, z, y, x = reg
    nvox = z.shape[0] * y.shape[1] * x.shape[2]
    if nvox * len(a) <= 2_000_000:
        # all segments at once, no per-segment Python overhead
        af = a.astype(F32)
        d = (b - a).astype(F32)
        inv = (1.0 / np.maximum(np.sum(d * d, axis=1), 1e-9)).astype(F32)
        r0 = ra.astype(F32)
        dr = (rb - ra).astype(F32)
        col = (slice(None), None, None, None)
        ax, ay, az = x[None] - af[:, 0][col], y[None] - af[:, 1][col], z[None] - af[:, 2][col]
        t = np.clip((ax * d[:, 0][col] + ay * d[:, 1][col] + az * d[:, 2][col]) * inv[col], 0.0, 1.0)
        ex, ey, ez = ax - t * d[:, 0][col], ay - t * d[:, 1][col], az - t * d[:, 2][col]
        dist = np.sqrt(ex * ex + ey * ey + ez * ez) - (r0[col] + t * dr[col])
        return sl, dist.min(axis=0)
    out = np.full((z.shape[0], y.shape[1], x.shape[2]), np.inf, dtype=F32)
    z0, y0, x0 = sl[0].start, sl[1].start, sl[2].start
    for i in range(len(a)):
        p, q = a[i], b[i]
        r = max(ra[i], rb[i]) + pad + 2.0 * grid.h
        sub = grid.region(np.minimum(p, q) - r, np.maximum(p, q) + r)
        if sub is None:
            continue
        ssl, sz, sy, sx = sub
        dist, t = segment_distance(sx, sy, sz, p, q)
        sdf = dist - (ra[i] + t * (rb[i] - ra[i]))
        loc = (
            slice(ssl[0].start - z0, ssl[0].stop - z0),
            slice(ssl[1].start - y0, ssl[1].stop - y0),
            slice(ssl[2].start - x0, ssl[2].stop - x0),
        )
        np.minimum(out[loc], sdf, out=out[loc])
    return sl, out


def splat_points(grid: Grid, pts: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Trilinear splat of point masses (mm^3) into a full-grid volume-fraction array."""
    size = int(np.prod(grid.shape))
    if len(pts) == 0:
        return np.zeros(grid.shape, dtype=F32)
    # continuous indices, (z, y, x)
    ci = np.stack([(pts[:, 2 - k] - grid.origin[k]) / grid.spacing[k] for k in range(3)], axis=1)
    i0 = np.floor(ci).astype(np.int64)
    fr = ci - i0
    nz, ny, nx = grid.shape
    flats, weights = [], []
    for dz in (0, 1):
        wz = fr[:, 0] if dz else 1 - fr[:, 0]
        for dy in (0, 1):
            wy = fr[:, 1] if dy else 1 - fr[:, 1]
            for dx in (0, 1):
                wx = fr[:, 2] if dx else 1 - fr[:, 2]
                iz, iy, ix = i0[:, 0] + dz, i0[:, 1] + dy, i0[:, 2] + dx
                ok = (iz >= 0) & (iz < nz) & (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
                flats.append((iz[ok] * ny + iy[ok]) * nx + ix[ok])
                weights.append((mass * wz * wy * wx)[ok])
    out = np.bincount(np.concatenate(flats), weights=np.concatenate(weights), minlength=size)
    return (out * (1.0 / grid.voxel_volume)).astype(F32).reshape(grid.shape)


def splat_segments(grid: Grid, p0: np.ndarray, p1: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Volume fraction of thin tubes (segments p0-p1 with radius r), mass-conserving.

    Samples each centre line every half voxel and deposits the tube volume pi r^2 ds there.
    Tubes with r above half a voxel are also spread across their cross-section so they do not
    collapse into one over-full voxel line.
    """
    if len(p0) == 0:
        return np.zeros(grid.shape, dtype=F32)
    d = p1 - p0
    length = np.linalg.norm(d, axis=1)
    step = 0.5 * min(grid.spacing)
    n = np.maximum(1, np.ceil(length / step).astype(np.int64))
    seg = np.repeat(np.arange(len(p0)), n)
    # sample positions at the middle of each sub-step
    starts = np.cumsum(n) - n
    offs = (np.arange(int(n.sum())) - np.repeat(starts, n) + 0.5) / n[seg]
    pts = p0[seg] + d[seg] * offs[:, None]
    mass = np.pi * r[seg] ** 2 * (length[seg] / n[seg])
    wide = r[seg] > 0.5 * grid.h
    if wide.any():
        # spread the wide ones over 4 points on a ring at 0.7 r in the cross-section plane
        pw, mw, sw = pts[wide], mass[wide], seg[wide]
        dirs = d[sw] / np.maximum(length[sw], 1e-6)[:, None]
        ref = np.where(np.abs(dirs[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        u = np.cross(dirs, ref)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        v = np.cross(dirs, u)
        rr = 0.7 * r[sw][:, None]
        ring = [pw + rr * u, pw - rr * u, pw + rr * v, pw - rr * v]
        pts = np.concatenate([pts[~wide], *ring])
        mass = np.concatenate([mass[~wide], *([mw / 4.0] * 4)])
    return splat_points(grid, pts, mass)
