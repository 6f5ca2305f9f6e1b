"""Paint an ``Anatomy`` (plus findings) onto a voxel grid as a clean HU volume.

The order is a painter's algorithm, outside in: body fat, muscle, the cavity (fat), abdomen
below the diaphragm, mediastinum, lungs (with findings that change the lung outline before the
parenchyma is drawn), vessels and airways, lesions, pleural findings, then bone. Findings hook
in through ``Finding.adjust_anatomy/adjust_lungs/paint_parenchyma/paint_lesions/paint_pleura``.

``posture`` is "supine" for CT and "upright" for the radiographs: only gravity-dependent
things change (pleural fluid, pneumothorax air, the gastric air-fluid level, the parenchymal
density gradient).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .anatomy import HU, Anatomy, prepare_anatomy
from .fields import SmoothField
from .grid import (
    F32,
    Canvas,
    Grid,
    coverage,
    sdf_ellipsoid,
    sdf_superellipse,
    segment_distance,
    segments_sdf_block,
    smoothstep,
    splat_points,
    splat_segments,
    tube_sdf_block,
)
from .trees import Tree, catmull_rom

MEDIASTINAL_TUBES = (
    "aorta", "pa_trunk", "rpa", "lpa", "svc", "l_bcv", "r_bcv", "brachiocephalic", "l_carotid",
    "l_subclavian", "azygos", "ivc", "trachea", "rmb", "lmb", "esophagus",
)
SIDES = {"right": -1, "left": 1}


@dataclass
class RenderContext:
    anat: Anatomy
    grid: Grid
    canvas: Canvas
    posture: str
    coords: tuple  # (Z, Y, X) broadcastable full-grid coordinates (mm)
    env: np.ndarray  # signed distance of the mediastinal envelope (tubes), full grid
    hemi_sdf: dict[str, np.ndarray] = field(default_factory=dict)  # pleural space per side
    lung_sdf: dict[str, np.ndarray] = field(default_factory=dict)  # aerated lung per side
    lung_hu: dict[str, float] = field(default_factory=dict)  # parenchymal density per side
    tree_map: dict[str, object] = field(default_factory=dict)  # point transform after collapse
    extra: dict[str, object] = field(default_factory=dict)  # scratch space shared by findings
    cache: dict = field(default_factory=dict)  # posture-independent work shared between renders

    def smooth_field(self, seed: int, cell_mm: float) -> SmoothField:
        """A (cached) smooth random field: its lattice blocks are reused by later renders."""
        key = ("field", int(seed), float(cell_mm))
        if key not in self.cache:
            self.cache[key] = SmoothField(seed, cell_mm)
        return self.cache[key]

    def cached_block(self, key, fn):
        """Posture-independent sdf blocks (bones, tubes) computed once per grid."""
        k = ("block", self.grid, key)
        if k not in self.cache:
            self.cache[k] = fn()
        return self.cache[k]
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # float occupancies for export
    _lung_occ: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def h(self) -> float:
        return self.grid.h

    def lung_occ(self, side: str) -> np.ndarray:
        if side not in self._lung_occ:
            self._lung_occ[side] = coverage(self.lung_sdf[side], self.h)
        return self._lung_occ[side]

    def set_lung_sdf(self, side: str, sdf: np.ndarray) -> None:
        self.lung_sdf[side] = sdf
        self._lung_occ.pop(side, None)

    def lungs_occ(self) -> np.ndarray:
        return np.maximum(self.lung_occ("right"), self.lung_occ("left"))

    def trees(self, side: str) -> dict[str, Tree]:
        fn = self.tree_map.get(side)
        trees = self.anat.trees[side]
        if fn is None:
            return trees
        return {k: t.transformed(fn) for k, t in trees.items()}

    def add_mask(self, name: str, occ: np.ndarray, slices=None) -> None:
        if slices is None:
            cur = self.masks.get(name)
            self.masks[name] = occ.astype(F32) if cur is None else np.maximum(cur, occ)
            return
        if name not in self.masks:
            self.masks[name] = np.zeros(self.grid.shape, F32)
        np.maximum(self.masks[name][slices], occ, out=self.masks[name][slices])


def render(anat: Anatomy, findings: list, grid: Grid, posture: str = "supine", cache: dict | None = None
           ) -> RenderContext:
    """Render the patient onto ``grid``; returns the context (``ctx.canvas.vol`` is the HU volume).

    ``cache``: a dict shared by several renders of the same patient (e.g. supine CT and upright
    radiograph volume) so that posture-independent geometry is computed once.
    """
    anat = prepare_anatomy(anat, findings)
    canvas = Canvas(grid, HU["air"])
    _, Z, Y, X = grid.full()
    ctx = RenderContext(anat, grid, canvas, posture, (Z, Y, X), np.empty(0, F32))
    if cache is not None:
        ctx.cache = cache
    _paint_body(ctx)
    _paint_abdomen(ctx)
    _paint_mediastinum(ctx)
    _compute_lungs(ctx)
    for f in findings:
        f.adjust_lungs(ctx)
    _paint_lungs(ctx)
    for f in findings:
        f.paint_parenchyma(ctx)
    _paint_lung_structures(ctx)
    for f in findings:
        f.paint_lesions(ctx)
    for f in findings:
        f.paint_pleura(ctx)
    _paint_bones(ctx)
    return ctx


# ----------------------------------------------------------------------------------------------
# body wall


def _body_axes(anat: Anatomy, Z):
    """Base contour of the chest wall (tapers less than the cavity) and the muscle scale."""
    s = smoothstep(-60.0 * anat.sz, 115.0 * anat.sz, Z)
    a = anat.cav_a0 * (1.0 - 0.10 * s)
    b = anat.cav_b0 * (1.0 - 0.14 * s)
    mus = anat.muscle_mm * (1.0 + 0.5 * smoothstep(-60.0, 90.0, Z))
    return a, b, mus


def _layers(anat: Anatomy, X, Y, Z):
    """Radial distance outside the base contour and the wall/muscle/fat thickness at each angle.

    theta is 0 posteriorly and pi anteriorly: the pectoral muscles sit anterolaterally (more at
    the top), the latissimus/trapezius posteriorly, the erector spinae bulge beside the spine;
    subcutaneous fat is thickest over the flanks and, low down, the belly.
    """
    a, b, mus = _body_axes(anat, Z)
    r = sdf_superellipse(X, Y, 0.0, 0.0, a, b, 2.3)
    theta = np.arctan2(np.abs(X), Y)
    upper = smoothstep(-90.0, 50.0, Z)
    m = mus * (0.32 + (0.45 + 1.0 * upper) * np.exp(-(((theta - 2.5) / 0.45) ** 2))
               + 0.8 * np.exp(-((theta / 0.7) ** 2)) + 0.35 * np.exp(-(((theta - 1.25) / 0.3) ** 2)))
    # erector spinae: two bulges either side of the spinous processes
    para = 24.0 * anat.sy * np.exp(-(((theta - 0.28) / 0.3) ** 2))
    belly = smoothstep(anat.z_dome_r - 10.0, anat.z_dome_r - 120.0, Z) * np.exp(-(((theta - np.pi) / 0.8) ** 2))
    f = anat.fat_mm * (0.85 + 0.35 * np.exp(-(((theta - 1.7) / 0.6) ** 2)) + 0.9 * belly
                       - 0.25 * np.exp(-((theta / 0.5) ** 2)))
    return r, anat.wall_mm, m + para, f


def back_y(anat: Anatomy) -> float:
    """Where the supine patient's back is flattened against the couch (y, mm)."""
    return float(anat.cav_b0 + anat.wall_mm + 1.2 * anat.muscle_mm + 0.7 * anat.fat_mm + 14.0 * anat.sy)


def skin_sdf(anat: Anatomy, X, Y, Z, layers=None, supine: bool = True):
    """Outer body surface; lying supine, the back is flattened against the couch."""
    r, w, m, f = layers if layers is not None else _layers(anat, X, Y, Z)
    s = r - (w + m + f)
    if supine:
        s = np.maximum(s, Y - back_y(anat))
    # the neck above the thoracic inlet
    zt = anat.z_apex + 20.0
    t = smoothstep(zt, zt + 60.0, Z)
    neck = sdf_superellipse(X, Y, 0.0, 22.0 * anat.sy, 60.0 * anat.sx + 0.5 * anat.fat_mm,
                            55.0 * anat.sy + 0.5 * anat.fat_mm, 2.0)
    return s * (1 - t) + neck * t


def _paint_body(ctx: RenderContext) -> None:
    anat, c = ctx.anat, ctx.canvas
    Z, Y, X = ctx.coords
    ftex = ctx.smooth_field(anat.seeds["texture"] + 1, 6.0).sample(ctx.grid)
    layers = _layers(anat, X, Y, Z)
    skin = skin_sdf(anat, X, Y, Z, layers, supine=ctx.posture == "supine")
    body = coverage(skin, ctx.h)
    ctx.add_mask("body", body)
    c.blend((slice(None),) * 3, body, HU["fat"] + 6.0 * ftex)
    # skin: a thin denser rim
    rim = body - coverage(skin + 1.8, ctx.h)
    c.vol += rim * (30.0 - c.vol)
    r, w, m, _ = layers
    del layers, skin
    zt = anat.z_apex + 20.0
    t = smoothstep(zt, zt + 60.0, Z)
    neck_m = sdf_superellipse(X, Y, 0.0, 22.0 * anat.sy, 56.0 * anat.sx, 51.0 * anat.sy, 2.0)
    msdf = (r - (w + m)) * (1 - t) + neck_m * t
    c.vol += coverage(msdf, ctx.h) * (HU["muscle"] + 5.0 * ftex - c.vol)
    # fat planes: under the pectoral muscles anteriorly and around the back muscles
    theta = np.arctan2(np.abs(X), Y)
    where = np.clip((theta - 1.9) / 0.3, 0, 1) + np.clip((0.9 - theta) / 0.3, 0, 1)
    plane = np.abs(r - (w + 0.45 * m)) - 0.8
    c.vol += coverage(plane, ctx.h) * coverage(msdf + 3.0, ctx.h) * (1 - t) * 0.8 * where * (HU["fat"] - c.vol)
    if anat.breast_mm > 0:
        _paint_breasts(ctx)
    # the thoracic and abdominal cavities start out as fat; organs are painted into them
    cav = coverage(anat.cavity_sdf(X, Y, Z), ctx.h) * (1 - t)
    ctx.add_mask("cavity", cav)
    c.vol += cav * (HU["fat"] + 5.0 * ftex - c.vol)


def _paint_breasts(ctx: RenderContext) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    gland = ctx.smooth_field(anat.seeds["breast"], 7.0)
    zc = -55.0 * anat.sz
    for side in (-1, 1):
        y0 = -float(anat.cav_b0 + anat.wall_mm + 1.3 * anat.muscle_mm + anat.fat_mm)
        cen = (side * 0.42 * anat.cav_a0, y0 + 4.0, zc)
        rad = (52.0 * anat.sx, anat.breast_mm + 6.0, 55.0 * anat.sz)
        pad = 2.0 * h
        reg = ctx.grid.region((cen[0] - rad[0] - pad, cen[1] - rad[1] - pad, cen[2] - rad[2] - pad),
                              (cen[0] + rad[0] + pad, cen[1] + 10.0 + pad, cen[2] + rad[2] + pad))
        if reg is None:
            continue
        sl, z, y, x = reg
        ell = sdf_ellipsoid(x, y, z, cen, rad)
        sdf = np.maximum(ell, y - (cen[1] + 10.0))
        # fibroglandular tissue concentrates behind the nipple, fat at the periphery
        frac = np.clip(0.9 * gland.sample(ctx.grid, sl) + 2.2 * (-ell / rad[1]) - 0.6, 0, 1)
        c.blend(sl, coverage(sdf, h), HU["fat"] + frac * 130.0)
        c.blend(sl, coverage(np.abs(sdf + 0.9) - 0.9, h), 30.0)


# ----------------------------------------------------------------------------------------------
# abdomen below the diaphragm


def _paint_abdomen(ctx: RenderContext) -> None:
    anat, c, h, grid = ctx.anat, ctx.canvas, ctx.h, ctx.grid
    sx, sy, sz = anat.sx, anat.sy, anat.sz
    zl = anat.z_dome_l
    top = max(anat.z_dome_r, anat.z_dome_l) + 12.0
    reg = grid.region((-1e4, -1e4, -1e4), (1e4, 1e4, top))
    if reg is None:
        return
    S, Z, Y, X = reg
    v = c.vol[S]
    tex = ctx.smooth_field(anat.seeds["organs"], 9.0)
    organs_tex = tex.sample(grid, S)
    cav = anat.cavity_sdf(X, Y, Z)
    above = anat.above_diaphragm_sdf(X, Y, Z)  # negative above the lung base surface
    # diaphragm muscle: a 5 mm sheet just under the lung bases
    band = np.maximum(np.abs(above - 2.5) - 2.5, cav)
    v += coverage(band, h) * (HU["muscle"] - v)
    region = np.maximum(cav + 1.0, 5.0 - above)  # abdominal cavity under the diaphragm
    del band, cav, above
    # liver: right upper quadrant, its left lobe reaching across the midline anteriorly
    x_edge = (8.0 + 52.0 * smoothstep(25.0, -45.0, Y)) * sx
    liver = np.maximum(np.maximum(region, X - x_edge), (anat.z_dome_r - 190.0 * sz) - Z)
    liver_occ = coverage(liver, h)
    v += liver_occ * (HU["liver"] + 4.0 * organs_tex - v)
    ctx.add_mask("liver", liver_occ, S)

    def in_block(lo, hi):
        """A sub-box of the abdominal block: (global slices, local slices, z, y, x)."""
        sub = grid.region(lo, hi)
        if sub is None:
            return None
        gsl, z, y, x = sub
        gsl = tuple(slice(max(g.start, s.start), min(g.stop, s.stop)) for g, s in zip(gsl, S, strict=True))
        if any(g.stop <= g.start for g in gsl):
            return None
        loc = tuple(slice(g.start - s.start, g.stop - s.start) for g, s in zip(gsl, S, strict=True))
        return gsl, loc, grid.axis(0)[gsl[0]][:, None, None], grid.axis(1)[gsl[1]][None, :, None], \
            grid.axis(2)[gsl[2]][None, None, :]

    # hepatic veins converge on the inferior vena cava just below the right atrium
    ivc_top = anat.tubes["ivc"].pts[-1]
    for ang in (-0.9, -0.1, 0.7):
        tip = ivc_top + np.array([np.sin(ang) * -90.0 * sx - 20.0, -np.cos(ang) * 40.0 * sy, -55.0 * sz])
        blk = tube_sdf_block(grid, np.vstack([ivc_top, tip]), np.array([5.0, 2.0]))
        if blk is None:
            continue
        sl, s = blk
        sl2 = tuple(slice(max(g.start, q.start), min(g.stop, q.stop)) for g, q in zip(sl, S, strict=True))
        if any(q.stop <= q.start for q in sl2):
            continue
        s = s[tuple(slice(q.start - g.start, q.stop - g.start) for q, g in zip(sl2, sl, strict=True))]
        lv = liver[tuple(slice(q.start - g.start, q.stop - g.start) for q, g in zip(sl2, S, strict=True))]
        c.blend(sl2, coverage(np.maximum(s, lv + 3.0), h), HU["liver"] - 22.0)

    def organ(cen, rad, value, rot_z=0.0, grow_region=2.0):
        b = in_block(np.subtract(cen, max(rad)), np.add(cen, max(rad)))
        if b is None:
            return None
        gsl, loc, z, y, x = b
        ca, sa = np.cos(rot_z), np.sin(rot_z)
        u = (x - cen[0]) * ca + (y - cen[1]) * sa
        w = -(x - cen[0]) * sa + (y - cen[1]) * ca
        s = np.maximum(sdf_ellipsoid(u, w, z - cen[2], (0.0, 0.0, 0.0), rad), region[loc] + grow_region)
        val = value(z, y, x, loc) if callable(value) else value
        c.blend(gsl, coverage(s, h), val)
        return gsl, loc, z, y, x, s

    # spleen: posterolateral left
    organ((86.0 * sx, 46.0 * sy, zl - 58.0 * sz), (24.0 * sx, 50.0 * sy, 55.0 * sz),
          lambda z, y, x, loc: HU["spleen"] + 3.0 * organs_tex[loc], rot_z=0.35)
    # stomach: fundus under the left dome with an air-fluid level
    cen = (58.0 * sx, -6.0 * sy, zl - 52.0 * sz)
    rad = (44.0 * sx, 40.0 * sy, 52.0 * sz)
    st = organ(cen, rad, HU["muscle"] - 5.0, grow_region=1.0)
    if st is not None:
        gsl, loc, z, y, x, s = st
        lumen = s + 3.5
        if ctx.posture == "upright":
            air = np.maximum(lumen, cen[2] + 0.25 * rad[2] - z)
        else:
            air = np.maximum(lumen, y - (cen[1] - 0.35 * rad[1]))
        c.blend(gsl, coverage(lumen, h), HU["fluid"] + 8.0 + 6.0 * organs_tex[loc])
        c.blend(gsl, coverage(air, h), HU["air"] + 10.0)
    # kidneys (upper poles on the lowest slices)
    for side, zt in ((-1, anat.z_dome_r - 150.0 * sz), (1, zl - 140.0 * sz)):
        organ((side * 74.0 * sx, 64.0 * sy, zt - 50.0 * sz), (26.0 * sx, 28.0 * sy, 55.0 * sz), HU["kidney"],
              grow_region=0.0)
    # splenic flexure of the colon with gas and a little stool
    pts = np.array([[70.0 * sx, -55.0 * sy, zl - 150.0 * sz], [100.0 * sx, -20.0 * sy, zl - 100.0 * sz],
                    [95.0 * sx, 20.0 * sy, zl - 125.0 * sz], [80.0 * sx, 40.0 * sy, zl - 200.0 * sz]])
    blk = tube_sdf_block(grid, pts, np.full(4, 16.0))
    if blk is not None:
        sl, s = blk
        sl2 = tuple(slice(max(g.start, q.start), min(g.stop, q.stop)) for g, q in zip(sl, S, strict=True))
        if all(q.stop > q.start for q in sl2):
            s = s[tuple(slice(q.start - g.start, q.stop - g.start) for q, g in zip(sl2, sl, strict=True))]
            loc = tuple(slice(q.start - g.start, q.stop - g.start) for q, g in zip(sl2, S, strict=True))
            s = np.maximum(s, region[loc])
            c.blend(sl2, coverage(s, h), HU["muscle"])
            c.blend(sl2, coverage(s + 2.5, h), -900.0 + 500.0 * np.clip(organs_tex[loc] - 0.3, 0, 1))


# ----------------------------------------------------------------------------------------------
# mediastinum


def _paint_tube(ctx: RenderContext, tube, clip_sdf=None, blk=None) -> None:
    if blk is None:
        blk = tube_sdf_block(ctx.grid, tube.pts, tube.radii + tube.wall_mm)
    if blk is None:
        return
    sl, s = blk
    if clip_sdf is not None:
        s = np.maximum(s, clip_sdf[sl])
    ctx.canvas.blend(sl, coverage(s, ctx.h), tube.hu)
    if tube.lumen_hu is not None:
        inner = s + tube.wall_mm
        if tube.wall_mm > 4:  # esophagus: a small collapsed lumen
            inner = s + (tube.radii.mean() + tube.wall_mm - 2.5)
        ctx.canvas.blend(sl, coverage(inner, ctx.h), tube.lumen_hu)


def _paint_mediastinum(ctx: RenderContext) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    Z, Y, X = ctx.coords
    above = anat.above_diaphragm_sdf(X, Y, Z, offset=-3.0)
    # envelope of the tubular structures (used to carve the lungs)
    env = np.full(ctx.grid.shape, np.inf, dtype=F32)
    blocks = {}
    for name in MEDIASTINAL_TUBES:
        t = anat.tubes[name]
        blk = ctx.cached_block(("tube", name), lambda t=t: tube_sdf_block(ctx.grid, t.pts, t.radii + t.wall_mm, pad=4.0))
        blocks[name] = blk
        if blk is None:
            continue
        sl, s = blk
        np.minimum(env[sl], s, out=env[sl])
    ctx.env = env
    # heart and pericardium (clipped at the diaphragm it rests on)
    hrt = anat.heart
    blo, bhi = hrt.bounds()
    pad = hrt.pericardial_fluid_mm + 10.0
    reg = ctx.grid.region(blo - pad, bhi + pad)
    if reg is not None:
        sl, z, y, x = reg
        clip = above[sl]
        fl = hrt.pericardial_fluid_mm
        # fluid gathers posteriorly (dependent) in a supine patient
        shift = np.array([0.0, 0.35 * fl if ctx.posture == "supine" else 0.0, 0.0 if ctx.posture == "supine"
                          else -0.35 * fl])
        hs = copy.copy(hrt)
        hs.centre = hrt.centre + shift
        hs._bounds = None

        def hsdf(grow, which=hrt):
            return np.maximum(which.sdf(x, y, z, grow), clip)

        sac = hsdf(fl + 1.3, hs)
        c.blend(sl, coverage(sac, h), 30.0)
        if fl > 0.6:
            fluid = hsdf(fl, hs)
            c.blend(sl, coverage(fluid, h), HU["fluid"] + 6.0)
            ctx.add_mask("pericardial_fluid", coverage(fluid, h) - coverage(hsdf(0.0), h), sl)
        else:
            c.blend(sl, coverage(hsdf(0.3, hs), h), HU["fat"])
        epi = hsdf(0.0)
        c.blend(sl, coverage(epi, h), HU["fat"] + 10.0)
        heart_occ = coverage(hsdf(-hrt.fat_mm), h)
        c.blend(sl, heart_occ, HU["myocardium"])
        ctx.add_mask("heart", coverage(epi, h), sl)
    for name in MEDIASTINAL_TUBES:
        if blocks[name] is not None:
            _paint_tube(ctx, anat.tubes[name], blk=blocks[name])
    # small mediastinal lymph nodes in the fat
    sx, sy, sz = anat.sx, anat.sy, anat.sz
    for cx, cy, cz, r in ((0, 34, -26, 5.5), (-14, 6, 26, 4.0), (-4, -34, 16, 3.5), (-38, 14, -34, 4.0),
                          (46, 22, -36, 3.5), (-20, 30, 10, 3.0)):
        cen = (cx * sx, cy * sy, cz * sz)
        c.paint_sdf(np.subtract(cen, r), np.add(cen, r),
                    lambda z, y, x, cen=cen, r=r: sdf_ellipsoid(x, y, z, cen, (r, r * 0.8, r * 1.3)), HU["soft"],
                    within=np.asarray(env > 1.5, dtype=F32))
    # thyroid lobes beside the trachea at the thoracic inlet
    for side in (-1, 1):
        cen = (side * 19.0 * sx, 8.0 * sy, anat.z_notch + 48.0 * sz)
        rad = (10.0 * sx, 13.0 * sy, 22.0 * sz)
        c.paint_sdf(np.subtract(cen, rad), np.add(cen, rad),
                    lambda z, y, x, cen=cen, rad=rad: sdf_ellipsoid(x, y, z, cen, rad), 85.0)
    # calcifications (aortic wall, coronary): point masses, so that sub-voxel plaques stay faint
    if anat.calcs:
        pts = np.array([p for p, _ in anat.calcs])
        r = np.random.default_rng(anat.seeds["organs"]).uniform(1.0, 2.4, len(pts))
        frac = np.clip(splat_points(ctx.grid, pts, 4.0 / 3.0 * np.pi * r**3), 0, 1)
        c.vol += frac * (900.0 - c.vol)


# ----------------------------------------------------------------------------------------------
# lungs


def _compute_lungs(ctx: RenderContext) -> None:
    anat = ctx.anat
    Z, Y, X = ctx.coords
    # the side-independent part of each lung outline, computed once
    common = np.maximum(anat.cavity_sdf(X, Y, Z), anat.above_diaphragm_sdf(X, Y, Z))
    env = np.minimum(anat.mediastinum_sdf(X, Y, Z, with_heart=False), ctx.env)
    hrt = anat.heart
    grow = 3.0 + hrt.pericardial_fluid_mm
    blo, bhi = hrt.bounds()
    reg = ctx.grid.region(blo - grow - 6.0, bhi + grow + 6.0)
    if reg is not None:
        sl, z, y, x = reg
        np.minimum(env[sl], hrt.sdf(x, y, z, grow), out=env[sl])
    common = np.maximum(common, 2.0 - env)
    del env
    xm = 4.0 * anat.sx
    for name, side in SIDES.items():
        s = np.full(ctx.grid.shape, 1e3, dtype=F32)
        lo = (xm - 3 * ctx.h, -1e4, -1e4) if side > 0 else (-1e4, -1e4, -1e4)
        hi = (1e4, 1e4, 1e4) if side > 0 else (xm + 3 * ctx.h, 1e4, 1e4)
        reg = ctx.grid.region(lo, hi)
        if reg is not None:
            sl, z, y, x = reg
            part = np.maximum(common[sl], anat.lung_cap_sdf(side, x, y, z))
            s[sl] = np.maximum(part, -side * (x - xm))
        ctx.hemi_sdf[name] = s
        ctx.set_lung_sdf(name, s)
        ctx.lung_hu[name] = anat.lung_hu


def _paint_lungs(ctx: RenderContext) -> None:
    anat, c = ctx.anat, ctx.canvas
    Z, Y, X = ctx.coords
    tex = ctx.smooth_field(anat.seeds["texture"] + 2, 5.0).sample(ctx.grid)
    tex2 = ctx.smooth_field(anat.seeds["texture"] + 3, 16.0).sample(ctx.grid)
    if ctx.posture == "supine":
        dep = np.clip((Y + anat.cav_b0) / (2 * anat.cav_b0), 0, 1) ** 2 * 55.0
    else:
        dep = np.clip((anat.z_apex - Z) / (anat.z_apex - anat.z_dome_r + 40.0), 0, 1) ** 2 * 35.0
    for name in SIDES:
        hemi = coverage(ctx.hemi_sdf[name], ctx.h)
        # the pleural space: air wherever the lung has pulled away (pneumothorax)
        c.vol += hemi * (HU["air"] - c.vol)
        occ = ctx.lung_occ(name)
        val = ctx.lung_hu[name] + dep + 9.0 * tex + 7.0 * tex2
        c.vol += occ * (val - c.vol)
        ctx.add_mask(f"lung_{name}", occ)
    _paint_fissures(ctx)


def _paint_fissures(ctx: RenderContext) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    reg = ctx.grid.region((-1e4, -1e4, anat.z_dome_l - 2 * anat.dome_drop), (1e4, 1e4, 60.0 * anat.sz))
    if reg is None:
        return
    S, Z, Y, X = reg
    t = 0.35  # a fissure is a fraction of a mm thick: drawn as partial volume
    te = max(t, h)
    v = c.vol[S]
    for name, side in SIDES.items():
        occ = ctx.lung_occ(name)[S]
        dz = Z - anat.major_fissure_z(side, Y, X)
        gy = (anat.major_fissure_z(side, 50.0) - anat.major_fissure_z(side, -50.0)) / 100.0
        gx = (anat.major_fissure_z(side, 0.0, 100.0) - anat.major_fissure_z(side, 0.0, 0.0)) / 100.0
        d = np.abs(dz) / np.sqrt(1 + gx * gx + gy * gy)
        f = coverage(d - te / 2, h) * (t / te) * occ
        if side < 0:
            dm = np.abs(Z - anat.minor_fissure_z(Y))
            f = np.maximum(f, coverage(dm - te / 2, h) * (t / te) * occ * (dz > 0))
        v += f * (-80.0 - v)


def _segments_sdf(grid: Grid, p0, p1, r, buf: np.ndarray, grow: float = 0.0) -> None:
    """min-update ``buf`` (full grid) with the tube distance of each segment."""
    pad = 2.0 * grid.h
    for a, b, rr in zip(p0, p1, r, strict=True):
        ext = rr + grow + pad
        reg = grid.region(np.minimum(a, b) - ext, np.maximum(a, b) + ext)
        if reg is None:
            continue
        sl, z, y, x = reg
        d, _ = segment_distance(x, y, z, a, b)
        np.minimum(buf[sl], d - (rr + grow), out=buf[sl])


def paint_tree(ctx: RenderContext, tree: Tree, hu: float, within: np.ndarray, grow: float = 0.0,
               scale_mass: float = 1.0) -> None:
    """Draw a tree's tubes (radius + grow) toward ``hu``: thick ones as surfaces, thin ones as mass."""
    grid, h = ctx.grid, ctx.h
    r = tree.r + grow
    thick = r >= 0.9 * h
    if thick.any():
        buf = np.full(grid.shape, np.inf, dtype=F32)
        _segments_sdf(grid, tree.p0[thick], tree.p1[thick], tree.r[thick], buf, grow)
        occ = coverage(buf, h) * within
        ctx.canvas.vol += occ * (hu - ctx.canvas.vol)
    thin = ~thick & (r > 0.12 * h)
    if thin.any():
        frac = splat_segments(grid, tree.p0[thin], tree.p1[thin], r[thin]) * scale_mass
        frac = np.clip(frac, 0, 1) * within
        ctx.canvas.vol += frac * (hu - ctx.canvas.vol)


def _paint_lung_structures(ctx: RenderContext) -> None:
    for name in SIDES:
        occ = ctx.lung_occ(name)
        trees = ctx.trees(name)
        paint_tree(ctx, trees["arteries"], HU["blood"], occ)
        paint_tree(ctx, trees["veins"], HU["blood"] - 3.0, occ)
        br = trees["bronchi"]
        walls = br.subset(br.r >= 0.9)
        # airway wall ~ 15-20% of the lumen radius plus a fixed part, then the air lumen
        wall = Tree(walls.p0, walls.p1, walls.r * 1.18 + 0.35, walls.gen)
        paint_tree(ctx, wall, HU["soft"], occ)
        paint_tree(ctx, walls, HU["air"], occ)


# ----------------------------------------------------------------------------------------------
# bones


def _paint_bones(ctx: RenderContext) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    dens = anat.bone_density
    cort, canc = HU["cortical"] * (0.75 + 0.25 * dens), HU["cancellous"] * dens
    _paint_spine(ctx, cort, canc)
    for rib in anat.ribs:
        blk = ctx.cached_block(("rib", rib.index, rib.side), lambda rib=rib: tube_sdf_block(ctx.grid, rib.pts, rib.radii))
        if blk is not None:
            sl, s = blk
            c.blend(sl, coverage(s, h), cort)
            c.blend(sl, coverage(s + 1.4, h), canc)
        if rib.cart_pts is not None:
            blk = ctx.cached_block(("cart", rib.index, rib.side),
                                   lambda rib=rib: tube_sdf_block(ctx.grid, rib.cart_pts, rib.cart_radii))
            if blk is not None:
                sl, s = blk
                calc = 0.0 if anat.age < 45 else min(1.0, (anat.age - 45) / 35.0)
                c.blend(sl, coverage(s, h), HU["cartilage"] + 180.0 * calc)
    _paint_sternum(ctx, cort, canc)
    sx, sy = anat.sx, anat.sy
    zn = anat.z_notch
    b_n = float(anat.cav_ab(np.float64(zn))[1])
    for side in (-1, 1):
        ctrl = np.array([[side * 24 * sx, -b_n - 14, zn + 2], [side * 58 * sx, -b_n - 10, zn + 10],
                         [side * 100 * sx, -55 * sy, zn + 26], [side * 132 * sx, -26 * sy, zn + 40]])
        line = catmull_rom(ctrl, 4.0)
        blk = ctx.cached_block(("clavicle", side),
                               lambda line=line: tube_sdf_block(ctx.grid, line, np.linspace(7.0, 5.5, len(line))))
        if blk is not None:
            sl, s = blk
            c.blend(sl, coverage(s, h), cort)
            c.blend(sl, coverage(s + 1.6, h), canc)
    _paint_scapulae(ctx, cort, canc)


def _paint_spine(ctx: RenderContext, cort: float, canc: float) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    sx, sy = anat.sx, anat.sy
    ys0 = anat.y_vb0
    reg = ctx.grid.region((-80.0, ys0 - 40.0, -1e4), (80.0, ys0 + 110.0, 1e4))
    if reg is None:
        return
    sl, z, y, x = reg
    xs, ys = anat.spine_xy(z)
    rx, ry = anat.vb_rx, anat.vb_ry
    ell = np.sqrt(((x - xs) / rx) ** 2 + ((y - ys) / ry) ** 2)
    body2d = (ell - 1.0) * ry
    k = (z - anat.z_t5) / anat.pitch
    dzl = (k - np.round(k)) * anat.pitch
    half = anat.pitch / 2.0 - 2.6
    c.blend(sl, coverage(body2d + 0.5, h), HU["disc"])
    body = np.maximum(body2d, np.abs(dzl) - half)
    c.blend(sl, coverage(body, h), cort)
    c.blend(sl, coverage(body + 1.6, h), canc)
    # neural arch around the canal
    cy = ys + ry + 11.0 * sy
    canal = np.sqrt(((x - xs) / (9.0 * sx)) ** 2 + ((y - cy) / (8.0 * sy)) ** 2)
    arch = np.sqrt(((x - xs) / (15.5 * sx)) ** 2 + ((y - cy) / (13.0 * sy)) ** 2)
    ring = np.maximum((arch - 1.0) * 13.0 * sy, -(canal - 1.0) * 8.0 * sy)
    c.blend(sl, coverage(ring, h), cort)
    c.blend(sl, coverage(ring + 1.6, h), canc)
    c.blend(sl, coverage((canal - 1.0) * 8.0 * sy, h), HU["csf"])
    # spinous and transverse processes, one set per level, drawn as one batch of segments
    zlo, zhi = ctx.grid.extent_mm()[0]
    n0 = int(np.floor((zlo - anat.z_t5) / anat.pitch)) - 1
    n1 = int(np.ceil((zhi - anat.z_t5) / anat.pitch)) + 1
    a, b, ra, rb = [], [], [], []
    for n in range(n0, n1 + 1):
        zc = anat.z_t5 + n * anat.pitch
        xv, yv = (float(v) for v in anat.spine_xy(np.float64(zc)))
        yb = yv + ry
        a += [(xv, yb + 22.0 * sy, zc), (xv - 9 * sx, yb + 7 * sy, zc + 2), (xv + 9 * sx, yb + 7 * sy, zc + 2)]
        b += [(xv, yb + 48.0 * sy, zc - 22.0), (xv - 33 * sx, yb + 15 * sy, zc), (xv + 33 * sx, yb + 15 * sy, zc)]
        ra += [4.5, 4.6, 4.6]
        rb += [3.5, 4.0, 4.0]
    blk = ctx.cached_block("processes", lambda: segments_sdf_block(ctx.grid, np.array(a), np.array(b), np.array(ra),
                                                                    np.array(rb)))
    if blk is not None:
        bsl, s = blk
        c.blend(bsl, coverage(s, h), cort)
        c.blend(bsl, coverage(s + 1.5, h), canc)


def _paint_sternum(ctx: RenderContext, cort: float, canc: float) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    zn, sx, sz = anat.z_notch, anat.sx, anat.sz
    parts = (
        (zn - 47.0 * sz, zn, 26.0 * sx, 7.0),  # manubrium
        (zn - 150.0 * sz, zn - 50.0 * sz, 15.0 * sx, 6.5),  # body
        (zn - 180.0 * sz, zn - 152.0 * sz, 8.0 * sx, 3.5),  # xiphoid
    )
    for z0, z1, hw, ht in parts:
        b_top = float(anat.cav_ab(np.float64(z1))[1])
        reg = ctx.grid.region((-hw - 4, -b_top - 40.0, z0 - 4), (hw + 4, -anat.cav_b0 * 0.7, z1 + 4))
        if reg is None:
            continue
        sl, z, y, x = reg
        _, b = anat.cav_ab(z)
        yc = -b - ht - 1.0
        s = np.maximum(sdf_superellipse(x, y, 0.0, yc, hw, ht, 4.0), np.maximum(z0 - z, z - z1))
        c.blend(sl, coverage(s, h), cort)
        c.blend(sl, coverage(s + 1.4, h), canc)


def _paint_scapulae(ctx: RenderContext, cort: float, canc: float) -> None:
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    zn = anat.z_notch
    z0, z1 = zn - 125.0 * anat.sz, zn + 32.0 * anat.sz
    for side in (-1, 1):
        lo = (min(side * 40.0, side * 170.0), 0.0, z0)
        hi = (max(side * 40.0, side * 170.0), 200.0, z1)
        reg = ctx.grid.region(lo, hi)
        if reg is None:
            continue
        sl, z, y, x = reg
        a, b, mus = _body_axes(anat, z)
        off = anat.wall_mm + 0.45 * mus
        r = sdf_superellipse(x, y, 0.0, 0.0, a + off, b + off, 2.3)
        theta = np.arctan2(np.abs(x), y)
        # the blade narrows toward its inferior angle
        tz = np.clip((z - z0) / (z1 - z0), 0, 1)
        th_hi = 0.55 + 0.75 * np.sqrt(tz)
        lim = np.maximum(0.38 - theta, theta - th_hi) * 120.0
        s = np.maximum(np.maximum(np.abs(r) - 2.2, lim), np.maximum(z0 - z, z - z1))
        c.blend(sl, coverage(s, h), cort * 0.9)
        # thick lateral border
        border = np.maximum(np.abs(theta - th_hi) * 120.0 - 3.0, np.abs(r) - 4.0)
        border = np.maximum(border, np.maximum(z0 - z, z - z1))
        c.blend(sl, coverage(border, h), cort * 0.9)


def paint_table(ctx: RenderContext) -> None:
    """The CT couch under the patient: two thin carbon-fibre shells with foam between."""
    anat, c, h = ctx.anat, ctx.canvas, ctx.h
    reg = ctx.grid.region((-230.0, 0.0, -1e4), (230.0, 1e4, 1e4))
    if reg is None:
        return
    sl, z, y, x = reg
    # lowest point of the back (largest y) over the field of view
    y_top = back_y(anat) + 1.5
    curve = y_top - 0.0006 * x * x  # the couch curves up a little at its sides
    for off, val in ((0.0, 250.0), (24.0, 250.0)):
        s = np.maximum(np.abs(y - (curve + off)) - 1.2, np.abs(x) - 215.0)
        c.blend(sl, coverage(s, h), val)
    core = np.maximum(np.maximum(curve + 1.5 - y, y - (curve + 22.5)), np.abs(x) - 215.0)
    c.blend(sl, coverage(core, h), -930.0)
