"""Space-filling branching trees (bronchi, pulmonary arteries and veins) and smooth polylines.

A tree is grown by recursive partition of "territory" points scattered through a lung: every
node walks part of the way toward the centroid of the points it has to supply, then splits
them in two along their principal axis and hands one half to each child. That is a cheap
stand-in for constrained constructive optimisation: the tree fills the lung, branches
dichotomously and its calibres follow Murray's law (r^3 proportional to the supplied
territory), so vessels taper from ~6 mm at the hilum to sub-millimetre at the periphery.
Everything is in mm and independent of any voxel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Tree:
    """Segments of a tree: start/end points (N, 3) x/y/z mm, radius (N,) mm, generation (N,)."""

    p0: np.ndarray
    p1: np.ndarray
    r: np.ndarray
    gen: np.ndarray

    def transformed(self, fn) -> Tree:
        """The same tree with every point mapped through ``fn((N, 3)) -> (N, 3)``."""
        return Tree(fn(self.p0), fn(self.p1), self.r.copy(), self.gen.copy())

    def subset(self, keep: np.ndarray) -> Tree:
        return Tree(self.p0[keep], self.p1[keep], self.r[keep], self.gen[keep])

    def __len__(self) -> int:
        return len(self.r)


def grow_tree(
    root: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    r_leaf: float = 0.5,
    leaf_size: int = 2,
    companion_offset: float | None = None,
) -> tuple[Tree, Tree | None]:
    """Grow a tree from ``root`` that supplies ``points`` (M, 3).

    Vectorised one generation at a time (every group of territory points is one node), so a
    tree of a few thousand segments takes milliseconds. With ``companion_offset`` a second tree
    is returned that runs alongside the first one, offset sideways by about
    2 r * companion_offset: the pulmonary artery that accompanies each bronchus.
    """
    pts = np.asarray(points, dtype=np.float64)
    m = len(pts)
    order = np.arange(m)
    starts = np.array([0])
    sizes = np.array([m])
    node = np.asarray(root, dtype=np.float64)[None, :]
    cnode = node.copy()
    side = np.tile([[0.0, 0.0, 1.0]], (1, 1))
    out = {"p0": [], "p1": [], "r": [], "gen": [], "c0": [], "c1": []}
    gen = 0
    while len(sizes):
        g = len(sizes)
        gid = np.repeat(np.arange(g), sizes)
        p = pts[order]
        centroid = np.add.reduceat(p, starts, axis=0) / sizes[:, None]
        leaf = sizes <= leaf_size
        frac = rng.uniform(0.3, 0.5, g) if gen else rng.uniform(0.15, 0.25, g)
        end = np.where(leaf[:, None], centroid, node + frac[:, None] * (centroid - node))
        seg = end - node
        ln = np.linalg.norm(seg, axis=1)
        short = ln < 1e-3
        if short.any():
            end[short] += rng.normal(0, 1.0, (int(short.sum()), 3))
            seg = end - node
            ln = np.linalg.norm(seg, axis=1)
        r = r_leaf * sizes ** (1.0 / 3.0)
        out["p0"].append(node)
        out["p1"].append(end)
        out["r"].append(r)
        out["gen"].append(np.full(g, gen))
        cend = end
        if companion_offset is not None:
            # a sideways direction that changes slowly from parent to child keeps the companion
            # vessel on one side of its bronchus, as in a real bronchovascular bundle
            d = seg / ln[:, None]
            u = side - np.sum(side * d, axis=1, keepdims=True) * d
            bad = np.linalg.norm(u, axis=1) < 1e-3
            if bad.any():
                u[bad] = np.cross(d[bad], [1.0, 0.0, 0.0])
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            cend = end + u * (2.0 * r * companion_offset + 0.5)[:, None]
            out["c0"].append(cnode)
            out["c1"].append(cend)
            side = u
        # split every non-leaf territory along its principal axis at a jittered median
        split = ~leaf
        if not split.any():
            break
        cen = p - centroid[gid]
        outer = (cen[:, :, None] * cen[:, None, :]).reshape(len(p), 9)
        cov = np.add.reduceat(outer, starts, axis=0).reshape(g, 3, 3)
        _, vecs = np.linalg.eigh(cov)
        axis = vecs[:, :, -1]
        proj = np.sum(cen * axis[gid], axis=1)
        srt = np.lexsort((proj, gid))
        order = order[srt]
        k = np.clip(np.round(sizes * rng.uniform(0.4, 0.6, g)).astype(int), 1, np.maximum(sizes - 1, 1))
        keep = np.flatnonzero(split)
        new_starts = np.concatenate([starts[keep], starts[keep] + k[keep]])
        new_sizes = np.concatenate([k[keep], sizes[keep] - k[keep]])
        parent = np.concatenate([keep, keep])
        # drop the points of leaf groups from the ordering, keeping split groups contiguous
        srt2 = np.argsort(new_starts, kind="stable")
        new_starts, new_sizes, parent = new_starts[srt2], new_sizes[srt2], parent[srt2]
        idx = np.concatenate([np.arange(s0, s0 + n0) for s0, n0 in zip(new_starts, new_sizes, strict=True)])
        order = order[idx]
        starts = np.concatenate([[0], np.cumsum(new_sizes)[:-1]])
        sizes = new_sizes
        m = len(order)
        node = end[parent]
        cnode = cend[parent]
        side = side[parent] if companion_offset is not None else side
        gen += 1

    main = Tree(np.vstack(out["p0"]), np.vstack(out["p1"]), np.concatenate(out["r"]), np.concatenate(out["gen"]))
    comp = None
    if companion_offset is not None:
        comp = Tree(np.vstack(out["c0"]), np.vstack(out["c1"]), main.r * 1.05, main.gen.copy())
    return main, comp


def catmull_rom(ctrl: np.ndarray, step_mm: float = 4.0) -> np.ndarray:
    """A smooth polyline through control points (K, 3), sampled about every ``step_mm``."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    if len(ctrl) < 3:
        n = max(2, int(np.linalg.norm(ctrl[-1] - ctrl[0]) / step_mm) + 1)
        t = np.linspace(0, 1, n)[:, None]
        return ctrl[0] * (1 - t) + ctrl[-1] * t
    ext = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        n = max(2, int(np.linalg.norm(p2 - p1) / step_mm) + 1)
        t = np.linspace(0, 1, n, endpoint=False)[:, None]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(ctrl[-1:])
    return np.vstack(out)


def interp_radii(radii_ctrl, n: int) -> np.ndarray:
    """Radii for ``n`` polyline samples, linearly interpolated from per-control-point radii."""
    radii_ctrl = np.asarray(radii_ctrl, dtype=np.float64)
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(radii_ctrl)), radii_ctrl)
