"""Findings: validated parameters, random sampling, and how each one changes the volume.

Every finding is a dataclass. Fields left as ``None`` are drawn at random by ``resolve`` (from
the case's own random stream), so ``PleuralEffusion(side="right")`` means "a right effusion of
any size". Concrete values are checked at construction: impossible values raise
``PhantomError`` with a message that names the finding, the field, the allowed values and what
was given.

Rendering hooks, called by ``render.render`` in this order:
``adjust_anatomy`` (heart size, hyperinflation) -> ``adjust_lungs`` (what occupies the pleural
space: fluid, air, collapse) -> ``paint_parenchyma`` (emphysema) -> vessels and airways ->
``paint_lesions`` (nodules, consolidation, ground glass, atelectasis) -> ``paint_pleura``
(pleural fluid, the visceral pleural line).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .anatomy import HU, LOBE_KEYS, LOBE_SIDE, LOBES, Anatomy, sample_lung_points
from .errors import PhantomError
from .grid import F32, coverage, tube_sdf_block
from .trees import Tree

#: The fixed, ordered label vocabulary of every case (label vectors follow this order).
FINDING_NAMES: tuple[str, ...] = (
    "pleural_effusion",
    "pneumothorax",
    "lung_nodule",
    "lung_mass",
    "consolidation",
    "ground_glass_opacity",
    "atelectasis",
    "emphysema",
    "cardiomegaly",
    "pericardial_effusion",
)

SIZES = ("small", "moderate", "large")
SEVERITIES = ("mild", "moderate", "severe")
SIDES3 = ("right", "left", "bilateral")
SIDES2 = ("right", "left")
LOBE_NAMES = dict(zip(LOBE_KEYS, LOBES, strict=True))
MASS_MM = 30.0  # a lung lesion of 3 cm or more is a mass


def _choice(name: str, field: str, value, allowed) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        v = value.strip()
        low = v.lower().replace("-", "_").replace(" ", "_")
        for a in allowed:
            if low == str(a).lower():
                return a
    raise PhantomError(
        f"{name}: {field} must be one of {', '.join(map(str, allowed))} (got {value!r})"
    )


def _lobe(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        v = value.strip()
        if v.upper() in LOBE_KEYS:
            return v.upper()
        for k, words in LOBE_NAMES.items():
            if v.lower().replace("_", " ") == words:
                return k
    raise PhantomError(
        f"{name}: lobe must be one of {', '.join(LOBE_KEYS)} (or the words, e.g. 'right upper lobe'), got {value!r}"
    )


def _number(name: str, field: str, value, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise PhantomError(f"{name}: {field} must be a number, got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise PhantomError(f"{name}: {field} must be a positive number of mm, got {value!r}")
    if v < lo or v > hi:
        raise PhantomError(f"{name}: {field} must be between {lo:g} and {hi:g} mm, got {v:g}")
    return v


def _bool(name: str, field: str, value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise PhantomError(f"{name}: {field} must be true or false, got {value!r}")


class Finding:
    """Base class. Subclasses are dataclasses with a ``name`` class attribute."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    # --- parameters -------------------------------------------------------------------------
    def labels(self) -> set[str]:
        return {self.label}

    def params(self) -> dict:
        d = {"finding": self.name}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            if isinstance(v, tuple):
                v = [round(float(x), 1) for x in v]
            if isinstance(v, float):
                v = round(v, 1)
            d[f.name] = v
        return d

    def resolve(self, anat: Anatomy, rng: np.random.Generator) -> Finding:
        """A copy with every free parameter drawn (and internal geometry fixed)."""
        return self

    def sides(self) -> tuple[str, ...]:
        side = getattr(self, "side", None)
        if side == "bilateral":
            return SIDES2
        if side in SIDES2:
            return (side,)
        lobe = getattr(self, "lobe", None)
        if lobe:
            return ("right",) if LOBE_SIDE[lobe] < 0 else ("left",)
        return ()

    # --- rendering hooks (default: nothing) -------------------------------------------------
    def adjust_anatomy(self, anat: Anatomy) -> None:
        return None

    def adjust_lungs(self, ctx) -> None:
        return None

    def paint_parenchyma(self, ctx) -> None:
        return None

    def paint_lesions(self, ctx) -> None:
        return None

    def paint_pleura(self, ctx) -> None:
        return None


# ----------------------------------------------------------------------------------------------
# pleural effusion


@dataclass
class PleuralEffusion(Finding):
    """Free-flowing pleural fluid: dependent (posterior in a supine CT, basal when upright)."""

    name: ClassVar[str] = "pleural_effusion"
    label: ClassVar[str] = "pleural_effusion"
    side: str | None = None
    size: str | None = None
    depth_mm: float | None = None  # maximal thickness of the fluid layer (supine)

    def __post_init__(self):
        self.side = _choice(self.name, "side", self.side, SIDES3)
        self.size = _choice(self.name, "size", self.size, SIZES)
        self.depth_mm = _number(self.name, "depth_mm", self.depth_mm, 5.0, 150.0)

    def resolve(self, anat, rng):
        side = self.side or rng.choice(SIDES3, p=[0.4, 0.25, 0.35])
        size = self.size or rng.choice(SIZES, p=[0.45, 0.4, 0.15])
        base = {"small": 18.0, "moderate": 42.0, "large": 78.0}[size]
        depth = self.depth_mm or float(base * rng.uniform(0.85, 1.2))
        return PleuralEffusion(str(side), str(size), round(depth, 1))

    def _fluid_sdf(self, ctx, side: str):
        anat = ctx.anat
        Z, Y, X = ctx.coords
        d = self.depth_mm * (0.85 if (self.side == "bilateral" and side == "left") else 1.0)
        dome = anat.z_dome_r if side == "right" else anat.z_dome_l
        height = {"small": 55.0, "moderate": 120.0, "large": 210.0}[self.size] * anat.sz
        if ctx.posture == "supine":
            # the fluid surface is level (constant y) on each slice; the layer thins upward
            prof = np.clip((dome + height - Z) / height, 0, 1) ** 0.7
            level = anat.cav_b0 - d * prof
            return np.maximum(ctx.hemi_sdf[side], level - Y)
        # upright: fluid fills the costophrenic recesses from below, with a lateral meniscus
        low = dome - anat.dome_drop
        top = low + {"small": 32.0, "moderate": 95.0, "large": 175.0}[self.size] * anat.sz
        top = top + (d - {"small": 18.0, "moderate": 42.0, "large": 78.0}[self.size]) * 0.8
        men = 18.0 * (np.abs(X) / anat.cav_a0) ** 3
        return np.maximum(ctx.hemi_sdf[side], Z - (top + men))

    def adjust_lungs(self, ctx):
        for side in self.sides():
            f = self._fluid_sdf(ctx, side)
            ctx.set_lung_sdf(side, np.maximum(ctx.lung_sdf[side], -f).astype(F32))
            ctx.add_mask(f"effusion_{side}", coverage(f, ctx.h))
            ctx.extra[f"effusion_sdf_{side}"] = f

    def paint_lesions(self, ctx):
        # the lung next to the fluid is compressed (passive atelectasis): a little denser
        if self.size == "small":
            return
        for side in self.sides():
            f = ctx.extra.get(f"effusion_sdf_{side}")
            if f is None:
                continue
            near = np.exp(-np.clip(f, 0, None) / 6.0) * ctx.lung_occ(side)
            ctx.canvas.vol += near * 0.45 * (-300.0 - ctx.canvas.vol) * (ctx.canvas.vol < -300.0)

    def paint_pleura(self, ctx):
        c = ctx.canvas
        tex = ctx.smooth_field(int(self.depth_mm * 1000) % 2**31, 8.0)
        for side in self.sides():
            occ = ctx.masks[f"effusion_{side}"]
            c.vol += occ * (HU["fluid"] + 3.0 * tex.sample(ctx.grid) - c.vol)


# ----------------------------------------------------------------------------------------------
# pneumothorax


@dataclass
class Pneumothorax(Finding):
    """Air in the pleural space: non-dependent (anterior supine, apical/lateral upright)."""

    name: ClassVar[str] = "pneumothorax"
    label: ClassVar[str] = "pneumothorax"
    side: str | None = None
    size: str | None = None

    def __post_init__(self):
        self.side = _choice(self.name, "side", self.side, SIDES2)
        self.size = _choice(self.name, "size", self.size, SIZES)

    def resolve(self, anat, rng):
        return Pneumothorax(self.side or str(rng.choice(SIDES2)),
                            self.size or str(rng.choice(SIZES, p=[0.5, 0.35, 0.15])))

    def collapse(self, anat: Anatomy, side: str, posture: str):
        """Anchor point and per-axis shrink factors (x, y, z) of the collapsing lung."""
        s = -1 if side == "right" else 1
        i = SIZES.index(self.size)
        if posture == "supine":
            anchor = np.array([s * 0.3 * anat.cav_a0, anat.cav_b0, -40.0 * anat.sz])
            f = [(0.97, 0.88, 0.98), (0.9, 0.72, 0.94), (0.72, 0.5, 0.8)][i]
        else:
            anchor = np.array([s * 0.2 * anat.cav_a0, 0.1 * anat.cav_b0,
                               (anat.z_dome_r if s < 0 else anat.z_dome_l) - 20.0])
            f = [(0.93, 0.97, 0.88), (0.82, 0.92, 0.74), (0.62, 0.78, 0.56)][i]
        return anchor, np.array(f)

    def rim_mm(self, anat: Anatomy) -> float:
        """Approximate maximal width of the air rim in the supine CT (for the report)."""
        _, f = self.collapse(anat, self.side, "supine")
        return float((1 - f[1]) * 2 * anat.cav_b0)

    def adjust_lungs(self, ctx):
        anat = ctx.anat
        Z, Y, X = ctx.coords
        side = self.side
        s = -1 if side == "right" else 1
        anchor, f = self.collapse(anat, side, ctx.posture)
        xs, ys, zs = (anchor[k] + (c - anchor[k]) / f[k] for k, c in enumerate((X, Y, Z)))
        moved = anat.lung_sdf(s, xs, ys, zs) * float(f.min())
        lung = np.maximum(ctx.lung_sdf[side], moved).astype(F32)
        ctx.set_lung_sdf(side, lung)
        ctx.tree_map[side] = lambda p, a=anchor, f=f: a + (p - a) * f
        # the collapsed lung keeps its tissue in a smaller volume: denser
        ctx.lung_hu[side] = float(min(-520.0, -1000.0 + (ctx.lung_hu[side] + 1000.0) / float(np.prod(f))))
        air = np.clip(coverage(ctx.hemi_sdf[side], ctx.h) - ctx.lung_occ(side), 0, 1)
        ctx.add_mask(f"pneumothorax_{side}", air)

    def paint_pleura(self, ctx):
        # the visceral pleural line: a sub-millimetre sheet on the retracted lung surface
        t, h = 0.4, ctx.h
        te = max(t, h)
        line = coverage(np.abs(ctx.lung_sdf[self.side]) - te / 2, h) * (t / te)
        line *= ctx.masks[f"pneumothorax_{self.side}"] > 0.02
        ctx.canvas.vol += line * (HU["soft"] - ctx.canvas.vol)


# ----------------------------------------------------------------------------------------------
# nodule / mass


@dataclass
class Nodule(Finding):
    """A solitary lung nodule (< 30 mm) or mass (>= 30 mm)."""

    name: ClassVar[str] = "nodule"
    lobe: str | None = None
    diameter_mm: float | None = None
    density: str | None = None  # solid | ground_glass | part_solid
    margin: str | None = None  # smooth | lobulated | spiculated
    centre_mm: tuple | None = None  # (x, y, z) LPS, set by resolve
    shape_seed: int | None = None
    kind: str = "nodule"  # "nodule" or "mass", checked against the diameter

    DENSITIES: ClassVar[tuple] = ("solid", "ground_glass", "part_solid")
    MARGINS: ClassVar[tuple] = ("smooth", "lobulated", "spiculated")

    def __post_init__(self):
        nm = self.kind
        if nm not in ("nodule", "mass"):
            raise PhantomError(f"lung lesion kind must be nodule or mass, got {nm!r}")
        self.lobe = _lobe(nm, self.lobe)
        lo, hi = (3.0, 29.9) if nm == "nodule" else (MASS_MM, 100.0)
        if self.diameter_mm is not None:
            d = _number(nm, "diameter_mm", self.diameter_mm, 0.0, 1e9)
            if d < lo or d > hi:
                hint = " (a lesion of 30 mm or more is a 'mass')" if nm == "nodule" and d >= MASS_MM else (
                    " (a lesion under 30 mm is a 'nodule')" if nm == "mass" and d < MASS_MM else "")
                raise PhantomError(f"{nm}: diameter_mm must be between {lo:g} and {hi:g} mm, got {d:g}{hint}")
            self.diameter_mm = d
        self.density = _choice(nm, "density", self.density, self.DENSITIES)
        self.margin = _choice(nm, "margin", self.margin, self.MARGINS)
        if self.centre_mm is not None:
            self.centre_mm = tuple(float(v) for v in self.centre_mm)

    @property
    def label(self) -> str:  # type: ignore[override]
        return "lung_mass" if self.kind == "mass" else "lung_nodule"

    def params(self) -> dict:
        d = super().params()
        d["finding"] = self.kind
        return d

    def resolve(self, anat, rng):
        mass = self.kind == "mass"
        lobe = self.lobe or str(rng.choice(LOBE_KEYS, p=[0.3, 0.08, 0.22, 0.24, 0.16]))
        if self.diameter_mm is not None:
            d = self.diameter_mm
        elif mass:
            d = float(rng.uniform(32, 70))
        else:
            d = float(np.clip(rng.lognormal(np.log(11), 0.45), 4, 29))
        density = self.density or str(rng.choice(self.DENSITIES, p=[0.9, 0.0, 0.1] if mass else [0.6, 0.22, 0.18]))
        if self.margin:
            margin = self.margin
        elif density == "ground_glass":
            margin = "smooth"
        else:
            margin = str(rng.choice(self.MARGINS, p=[0.15, 0.35, 0.5] if mass else [0.5, 0.2, 0.3]))
        centre = self.centre_mm
        if centre is None:
            side = LOBE_SIDE[lobe]
            r = d / 2
            pts = sample_lung_points(anat, side, 1, rng, lobe=lobe, margin=(0.5 * r if mass else r + 4.0))
            if len(pts) == 0:
                pts = sample_lung_points(anat, side, 1, rng, lobe=lobe, margin=2.0)
            if len(pts) == 0:
                raise PhantomError(f"{self.kind}: could not place a {d:.0f} mm lesion in the {LOBE_NAMES[lobe]}")
            centre = tuple(round(float(v), 1) for v in pts[0])
        seed = self.shape_seed if self.shape_seed is not None else int(rng.integers(0, 2**31 - 1))
        return Nodule(lobe, round(d, 1), density, margin, centre, seed, self.kind)

    def _shape(self):
        rng = np.random.default_rng(self.shape_seed)
        n_b = 7
        dirs = rng.normal(size=(n_b, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        amp = {"smooth": 0.05, "lobulated": 0.24, "spiculated": 0.2}[self.margin]
        a = rng.uniform(-amp, amp * 1.3, n_b)
        # zero-mean perturbation so the volume-equivalent diameter is the one asked for
        probe = rng.normal(size=(600, 3))
        probe /= np.linalg.norm(probe, axis=1, keepdims=True)
        mean = float(np.mean(np.exp((probe @ dirs.T - 1) / 0.25) @ a))
        return dirs, a, mean, rng

    def body_sdf(self, x, y, z, r: float, dirs, a, mean):
        c = self.centre_mm
        dx, dy, dz = x - c[0], y - c[1], z - c[2]
        rho = np.sqrt(dx * dx + dy * dy + dz * dz) + 1e-6
        pert = np.zeros_like(rho)
        for k in range(len(a)):
            cosang = (dx * dirs[k, 0] + dy * dirs[k, 1] + dz * dirs[k, 2]) / rho
            pert = pert + a[k] * np.exp((cosang - 1.0) / 0.25)
        return rho - r * (1.0 + pert - mean)

    def paint_lesions(self, ctx):
        c, h = ctx.canvas, ctx.h
        side = "right" if LOBE_SIDE[self.lobe] < 0 else "left"
        r = self.diameter_mm / 2.0
        dirs, a, mean, rng = self._shape()
        ext = r * 1.6 + 3 * h
        lo = np.array(self.centre_mm) - ext
        hi = np.array(self.centre_mm) + ext
        reg = ctx.grid.region(lo, hi)
        if reg is None:
            return
        sl, z, y, x = reg
        within = coverage(ctx.hemi_sdf[side][sl] - 1.0, h)
        body = self.body_sdf(x, y, z, r, dirs, a, mean)
        occ = coverage(body, h) * within
        v = c.vol[sl]
        tex = ctx.smooth_field(self.shape_seed, 4.0).sample(ctx.grid, sl)
        if self.density == "solid":
            v += occ * (HU["soft"] + 6.0 * tex - v)
        else:
            # ground glass: raise the lung to ~-550 HU but keep vessels visible through it
            gg = -560.0 + 35.0 * tex
            v += occ * np.maximum(gg - v, 0.0)
            if self.density == "part_solid":
                core = coverage(self.body_sdf(x, y, z, r * rng.uniform(0.35, 0.55), dirs, a, mean), h) * within
                v += core * (HU["soft"] - v)
        ctx.add_mask("nodule" if self.kind == "nodule" else "mass", occ, sl)
        if self.margin == "spiculated" and self.density != "ground_glass":
            # spicules: fine tapering strands radiating 0.5-1.8 radii beyond the margin
            n = int(rng.integers(14, 26))
            u = rng.normal(size=(n, 3))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            cen = np.array(self.centre_mm)
            length = r * rng.uniform(0.5, 1.8, (n, 1)) + 3.0
            mid = cen + u * (r * 0.9 + 0.5 * length) + rng.normal(0, 0.1 * r, (n, 3))
            tip = cen + u * (r * 0.9 + length) + rng.normal(0, 0.15 * r, (n, 3))
            base = cen + u * r * 0.8
            rad = rng.uniform(0.7, 1.3, n)
            from .render import paint_tree

            spic = Tree(np.vstack([base, mid]), np.vstack([mid, tip]), np.concatenate([rad, rad * 0.6]),
                        np.zeros(2 * n, int))
            paint_tree(ctx, spic, HU["soft"], ctx.lung_occ(side))


# ----------------------------------------------------------------------------------------------
# consolidation


@dataclass
class Consolidation(Finding):
    """Airspace consolidation in a lobe (segmental patch or the whole lobe)."""

    name: ClassVar[str] = "consolidation"
    label: ClassVar[str] = "consolidation"
    lobe: str | None = None
    extent: str | None = None  # segmental | lobar
    air_bronchograms: bool | None = None
    centre_mm: tuple | None = None
    shape_seed: int | None = None

    EXTENTS: ClassVar[tuple] = ("segmental", "lobar")

    def __post_init__(self):
        self.lobe = _lobe(self.name, self.lobe)
        self.extent = _choice(self.name, "extent", self.extent, self.EXTENTS)
        self.air_bronchograms = _bool(self.name, "air_bronchograms", self.air_bronchograms)
        if self.centre_mm is not None:
            self.centre_mm = tuple(float(v) for v in self.centre_mm)

    def resolve(self, anat, rng):
        lobe = self.lobe or str(rng.choice(LOBE_KEYS, p=[0.15, 0.15, 0.3, 0.15, 0.25]))
        extent = self.extent or str(rng.choice(self.EXTENTS, p=[0.6, 0.4]))
        ab = self.air_bronchograms if self.air_bronchograms is not None else bool(rng.random() < 0.7)
        centre = self.centre_mm
        if centre is None:
            pts = sample_lung_points(anat, LOBE_SIDE[lobe], 1, rng, lobe=lobe, margin=6.0)
            if len(pts) == 0:
                pts = sample_lung_points(anat, LOBE_SIDE[lobe], 1, rng, lobe=lobe)
            centre = tuple(round(float(v), 1) for v in pts[0])
        seed = self.shape_seed if self.shape_seed is not None else int(rng.integers(0, 2**31 - 1))
        return Consolidation(lobe, extent, ab, centre, seed)

    def region_occ(self, ctx):
        side = "right" if LOBE_SIDE[self.lobe] < 0 else "left"
        Z, Y, X = ctx.coords
        lobe = ctx.anat.lobe_sdf(self.lobe, X, Y, Z)
        s = np.maximum(ctx.lung_sdf[side], lobe)
        if self.extent == "segmental":
            c = self.centre_mm
            field = ctx.smooth_field(self.shape_seed, 14.0).sample(ctx.grid)
            d = np.sqrt((X - c[0]) ** 2 + (Y - c[1]) ** 2 + (Z - c[2]) ** 2)
            blob = d - (38.0 + 14.0 * field) * ctx.anat.sx
            s = np.maximum(s, blob)
        return coverage(s, ctx.h), side

    def paint_lesions(self, ctx):
        occ, side = self.region_occ(ctx)
        c = ctx.canvas
        tex = ctx.smooth_field(self.shape_seed + 1, 6.0).sample(ctx.grid)
        c.vol += occ * (28.0 + 8.0 * tex - c.vol)
        ctx.add_mask("consolidation", occ)
        if self.air_bronchograms:
            from .render import paint_tree

            br = ctx.trees(side)["bronchi"]
            lumen = br.subset((br.r >= 0.55) & (br.gen >= 1))
            paint_tree(ctx, lumen, HU["air"] + 60.0, occ)


# ----------------------------------------------------------------------------------------------
# ground glass (viral pneumonia pattern)


@dataclass
class GroundGlass(Finding):
    """Bilateral multifocal, peripheral and basal-predominant ground-glass opacities."""

    name: ClassVar[str] = "ground_glass_opacity"
    label: ClassVar[str] = "ground_glass_opacity"
    severity: str | None = None
    crazy_paving: bool | None = None
    shape_seed: int | None = None

    def __post_init__(self):
        self.severity = _choice(self.name, "severity", self.severity, SEVERITIES)
        self.crazy_paving = _bool(self.name, "crazy_paving", self.crazy_paving)

    def sides(self):
        return SIDES2

    def resolve(self, anat, rng):
        sev = self.severity or str(rng.choice(SEVERITIES, p=[0.35, 0.45, 0.2]))
        cp = self.crazy_paving if self.crazy_paving is not None else bool(rng.random() < 0.2)
        seed = self.shape_seed if self.shape_seed is not None else int(rng.integers(0, 2**31 - 1))
        return GroundGlass(sev, cp, seed)

    def paint_lesions(self, ctx):
        anat, c = ctx.anat, ctx.canvas
        Z, Y, X = ctx.coords
        frac = {"mild": 0.12, "moderate": 0.28, "severe": 0.5}[self.severity]
        field = ctx.smooth_field(self.shape_seed, 16.0).sample(ctx.grid)
        # peripheral (subpleural), basal and posterior predominance of viral pneumonia
        occ_l = ctx.lungs_occ()
        hemi = np.minimum(ctx.hemi_sdf["right"], ctx.hemi_sdf["left"])
        periph = np.clip(1.0 + hemi / 30.0, 0, 1)
        basal = np.clip((40.0 * anat.sz - Z) / (200.0 * anat.sz), 0, 1)
        post = np.clip((Y + anat.cav_b0) / (2 * anat.cav_b0), 0, 1)
        w = field + 1.1 * periph + 0.7 * basal + 0.4 * post
        inside = occ_l > 0.5
        if not inside.any():
            return
        sample = w[inside][:: max(1, int(inside.sum() // 40000))]
        thr = float(np.quantile(sample, 1.0 - frac))
        occ = np.clip((w - thr) / 0.35, 0, 1) * occ_l
        gg = -600.0 + 60.0 * ctx.smooth_field(self.shape_seed + 1, 6.0).sample(ctx.grid)
        c.vol += occ * np.maximum(gg - c.vol, 0.0)
        if self.crazy_paving:
            # thickened interlobular septa: a fine polygonal network over the densest areas
            cell = ctx.smooth_field(self.shape_seed + 2, 4.0).sample(ctx.grid)
            septa = np.clip(1.0 - np.abs(cell) / 0.18, 0, 1) * np.clip((occ - 0.5) * 2, 0, 1)
            c.vol += septa * 0.35 * (HU["soft"] - c.vol)
        ctx.add_mask("ground_glass", occ)


# ----------------------------------------------------------------------------------------------
# atelectasis


@dataclass
class Atelectasis(Finding):
    """Linear (plate-like, subsegmental) atelectasis or collapse of a lobe."""

    name: ClassVar[str] = "atelectasis"
    label: ClassVar[str] = "atelectasis"
    lobe: str | None = None
    kind: str | None = None  # linear | lobar
    centre_mm: tuple | None = None
    shape_seed: int | None = None

    KINDS: ClassVar[tuple] = ("linear", "lobar")

    def __post_init__(self):
        self.lobe = _lobe(self.name, self.lobe)
        self.kind = _choice(self.name, "kind", self.kind, self.KINDS)
        if self.centre_mm is not None:
            self.centre_mm = tuple(float(v) for v in self.centre_mm)

    def resolve(self, anat, rng):
        kind = self.kind or str(rng.choice(self.KINDS, p=[0.65, 0.35]))
        if self.lobe:
            lobe = self.lobe
        elif kind == "linear":
            lobe = str(rng.choice(LOBE_KEYS, p=[0.03, 0.25, 0.34, 0.08, 0.3]))
        else:
            lobe = str(rng.choice(LOBE_KEYS, p=[0.2, 0.2, 0.25, 0.1, 0.25]))
        centre = self.centre_mm
        if centre is None and kind == "linear":
            pts = sample_lung_points(anat, LOBE_SIDE[lobe], 40, rng, lobe=lobe, margin=8.0)
            if len(pts) == 0:
                pts = sample_lung_points(anat, LOBE_SIDE[lobe], 40, rng, lobe=lobe)
            # plate-like atelectasis lies low in the lobe
            centre = tuple(round(float(v), 1) for v in pts[np.argsort(pts[:, 2])[: max(1, len(pts) // 4)]][0])
        seed = self.shape_seed if self.shape_seed is not None else int(rng.integers(0, 2**31 - 1))
        return Atelectasis(lobe, kind, centre, seed)

    def anchor(self, anat: Anatomy) -> np.ndarray:
        """The hilum the collapsing lobe folds toward."""
        side = LOBE_SIDE[self.lobe]
        root = anat.tubes["rmb" if side < 0 else "lmb"].pts[-1].copy()
        if self.lobe in ("RLL", "LLL"):
            root += np.array([side * 5.0, 25.0, -35.0]) * [anat.sx, anat.sy, anat.sz]
        elif self.lobe == "RML":
            root += np.array([-5.0, -35.0, -35.0]) * [anat.sx, anat.sy, anat.sz]
        else:
            root += np.array([side * 5.0, -5.0, 30.0]) * [anat.sx, anat.sy, anat.sz]
        return root

    def paint_lesions(self, ctx):
        anat, c, h = ctx.anat, ctx.canvas, ctx.h
        side = "right" if LOBE_SIDE[self.lobe] < 0 else "left"
        s = LOBE_SIDE[self.lobe]
        Z, Y, X = ctx.coords
        if self.kind == "lobar":
            a = self.anchor(anat)
            f = np.array([0.55, 0.5, 0.55])
            xs, ys, zs = (a[k] + (q - a[k]) / f[k] for k, q in enumerate((X, Y, Z)))
            moved = np.maximum(anat.lung_sdf(s, xs, ys, zs), anat.lobe_sdf(self.lobe, xs, ys, zs)) * float(f.min())
            occ = coverage(np.maximum(moved, ctx.hemi_sdf[side]), h)
            c.vol += occ * (HU["soft"] + 5.0 - c.vol)
            ctx.add_mask("atelectasis", occ)
            return
        rng = np.random.default_rng(self.shape_seed)
        cen = np.array(self.centre_mm)
        mask = np.zeros(ctx.grid.shape, F32)
        for k in range(int(rng.integers(1, 4))):
            cc = cen + rng.normal(0, 6.0, 3) * [1, 1, 0.5] + [0, 0, 9.0 * k]
            length = rng.uniform(25, 50)
            ang = rng.uniform(0, np.pi)
            d = np.array([np.cos(ang), np.sin(ang), rng.uniform(-0.25, 0.25)])
            d /= np.linalg.norm(d)
            pts = np.vstack([cc - d * length / 2, cc + d * length / 2])
            # a thin band (plate seen edge-on): thickness ~3 mm, ~2 cm tall
            blk = tube_sdf_block(ctx.grid, pts, np.array([1.8, 1.8]))
            if blk is None:
                continue
            sl, sdf = blk
            occ = coverage(sdf, h) * ctx.lung_occ(side)[sl]
            np.maximum(mask[sl], occ, out=mask[sl])
        c.vol += mask * (HU["soft"] - 10.0 - c.vol)
        ctx.add_mask("atelectasis", mask)


# ----------------------------------------------------------------------------------------------
# heart


@dataclass
class Cardiomegaly(Finding):
    name: ClassVar[str] = "cardiomegaly"
    label: ClassVar[str] = "cardiomegaly"
    severity: str | None = None

    def __post_init__(self):
        self.severity = _choice(self.name, "severity", self.severity, SEVERITIES)

    def resolve(self, anat, rng):
        return Cardiomegaly(self.severity or str(rng.choice(SEVERITIES, p=[0.45, 0.4, 0.15])))

    def adjust_anatomy(self, anat):
        anat.heart_scale_mult = {"mild": 1.2, "moderate": 1.32, "severe": 1.45}[self.severity]


@dataclass
class PericardialEffusion(Finding):
    name: ClassVar[str] = "pericardial_effusion"
    label: ClassVar[str] = "pericardial_effusion"
    size: str | None = None
    thickness_mm: float | None = None

    def __post_init__(self):
        self.size = _choice(self.name, "size", self.size, SIZES)
        self.thickness_mm = _number(self.name, "thickness_mm", self.thickness_mm, 2.0, 60.0)

    def resolve(self, anat, rng):
        size = self.size or str(rng.choice(SIZES, p=[0.5, 0.35, 0.15]))
        base = {"small": 7.0, "moderate": 14.0, "large": 24.0}[size]
        return PericardialEffusion(size, round(self.thickness_mm or float(base * rng.uniform(0.85, 1.2)), 1))

    def adjust_anatomy(self, anat):
        anat.pericardial_mm = self.thickness_mm


# ----------------------------------------------------------------------------------------------
# emphysema


@dataclass
class Emphysema(Finding):
    name: ClassVar[str] = "emphysema"
    label: ClassVar[str] = "emphysema"
    kind: str | None = None  # centrilobular | paraseptal | panlobular
    severity: str | None = None
    shape_seed: int | None = None

    KINDS: ClassVar[tuple] = ("centrilobular", "paraseptal", "panlobular")

    def __post_init__(self):
        self.kind = _choice(self.name, "kind", self.kind, self.KINDS)
        self.severity = _choice(self.name, "severity", self.severity, SEVERITIES)

    def sides(self):
        return SIDES2

    def resolve(self, anat, rng):
        kind = self.kind or str(rng.choice(self.KINDS, p=[0.65, 0.25, 0.1]))
        sev = self.severity or str(rng.choice(SEVERITIES, p=[0.4, 0.4, 0.2]))
        seed = self.shape_seed if self.shape_seed is not None else int(rng.integers(0, 2**31 - 1))
        return Emphysema(kind, sev, seed)

    def adjust_anatomy(self, anat):
        # hyperinflation: lower, flatter diaphragm
        i = SEVERITIES.index(self.severity)
        anat.z_dome_r -= (0.0, 8.0, 16.0)[i] * anat.sz
        anat.z_dome_l -= (0.0, 8.0, 16.0)[i] * anat.sz
        anat.dome_drop *= (1.0, 0.9, 0.8)[i]

    def paint_parenchyma(self, ctx):
        anat, c, h = ctx.anat, ctx.canvas, ctx.h
        rng = np.random.default_rng(self.shape_seed)
        i = SEVERITIES.index(self.severity)
        occ_l = ctx.lungs_occ()
        Z, Y, X = ctx.coords
        mask = np.zeros(ctx.grid.shape, F32)
        if self.kind == "panlobular":
            # diffuse, lower-lobe predominant loss of lung density
            w = np.clip((60.0 * anat.sz - Z) / (220.0 * anat.sz), 0.15, 1.0)
            drop = (70.0, 95.0, 120.0)[i] * w * occ_l
            c.vol -= drop
            np.maximum(c.vol, -1000.0, out=c.vol)
            ctx.add_mask("emphysema", np.clip(drop / 100.0, 0, 1))
            return
        n = (250, 700, 1600)[i] if self.kind == "centrilobular" else (40, 90, 170)[i]
        pts = []
        for side in (-1, 1):
            p = sample_lung_points(anat, side, 6 * n, rng, margin=1.0)
            if self.kind == "centrilobular":
                # upper-zone predominance, away from the pleura
                wgt = np.clip((p[:, 2] - (anat.z_dome_r - 20.0)) / (anat.z_apex - anat.z_dome_r), 0.05, 1) ** 1.5
            else:
                # paraseptal: subpleural
                wgt = np.exp(anat.lung_sdf(side, p[:, 0], p[:, 1], p[:, 2]) / 6.0)
                wgt *= np.clip((p[:, 2] - (anat.z_dome_r - 40.0)) / (anat.z_apex - anat.z_dome_r), 0.1, 1)
            wgt = wgt / wgt.sum()
            pts.append(p[rng.choice(len(p), size=min(n // 2, len(p)), replace=False, p=wgt)])
        pts = np.vstack(pts)
        if self.kind == "centrilobular":
            radii = rng.uniform(1.5, 5.0, len(pts)) * (1.0 + 0.3 * i)
        else:
            radii = rng.uniform(4.0, 13.0, len(pts))
        for p, r in zip(pts, radii, strict=True):
            reg = ctx.grid.region(p - r - 2 * h, p + r + 2 * h)
            if reg is None:
                continue
            sl, z, y, x = reg
            d = np.sqrt((x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2)
            if r >= 0.6 * h:
                occ = coverage(d - r, h)
            else:  # sub-voxel hole: keep its partial-volume mass right
                re = 0.6 * h
                occ = coverage(d - re, h) * (r / re) ** 3
            np.maximum(mask[sl], occ, out=mask[sl])
        mask *= occ_l
        c.vol += mask * (-985.0 - c.vol)
        if self.kind == "paraseptal":
            # bullae have a hairline wall
            ctx.add_mask("emphysema", mask)
            return
        ctx.add_mask("emphysema", mask)


# ----------------------------------------------------------------------------------------------
# registry, parsing, sampling

FINDING_TYPES: dict[str, type] = {
    "pleural_effusion": PleuralEffusion,
    "pneumothorax": Pneumothorax,
    "nodule": Nodule,
    "mass": Nodule,
    "consolidation": Consolidation,
    "ground_glass_opacity": GroundGlass,
    "atelectasis": Atelectasis,
    "cardiomegaly": Cardiomegaly,
    "pericardial_effusion": PericardialEffusion,
    "emphysema": Emphysema,
}
ALIASES = {
    "effusion": "pleural_effusion",
    "lung_nodule": "nodule",
    "lung_mass": "mass",
    "ggo": "ground_glass_opacity",
    "ground_glass": "ground_glass_opacity",
    "viral_pneumonia": "ground_glass_opacity",
    "pneumonia": "consolidation",
}


def finding_names_help() -> str:
    return ", ".join(sorted(FINDING_TYPES))


def make_finding(name: str, **params) -> Finding:
    """Build a finding by name (aliases accepted) with validated parameters."""
    if not isinstance(name, str) or not name.strip():
        raise PhantomError(f"finding name must be a non-empty string, got {name!r}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    cls = FINDING_TYPES.get(key)
    if cls is None:
        raise PhantomError(f"unknown finding {name!r}; known findings: {finding_names_help()}")
    fields = {f.name for f in dataclasses.fields(cls)}
    if cls is Nodule:
        fields.discard("kind")
        params = {**params, "kind": key}
        fields.add("kind")
    unknown = sorted(set(params) - fields)
    if unknown:
        allowed = sorted(f for f in fields if f not in ("shape_seed", "centre_mm", "kind"))
        raise PhantomError(f"{key}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return cls(**params)


def parse_findings(spec: str | list | None) -> list[Finding] | None:
    """Findings from a CLI string ``"name[:key=value...],name..."``, a list of names/dicts/objects.

    ``None`` means "sample at random"; an empty string or ``"normal"``/``"none"`` means none.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        s = spec.strip()
        if s.lower() in ("", "normal", "none"):
            return []
        items: list = []
        for part in s.split(","):
            part = part.strip()
            if not part:
                raise PhantomError(f"empty finding in {spec!r}")
            name, *kvs = part.split(":")
            params = {}
            for kv in kvs:
                if "=" not in kv:
                    raise PhantomError(f"finding parameter {kv!r} in {part!r} must look like key=value")
                k, v = kv.split("=", 1)
                params[k.strip()] = v.strip()
            items.append((name, params))
        return [make_finding(n, **p) for n, p in items]
    out = []
    for item in spec:
        if isinstance(item, Finding):
            out.append(item)
        elif isinstance(item, str):
            out.extend(parse_findings(item) or [])
        elif isinstance(item, dict):
            d = dict(item)
            name = d.pop("finding", None) or d.pop("name", None)
            out.append(make_finding(name, **d))
        else:
            raise PhantomError(f"cannot read a finding from {item!r}")
    return out


def check_compatible(findings: list[Finding]) -> None:
    """Reject combinations the phantom cannot draw consistently."""
    count: dict[str, int] = {}
    for f in findings:
        count[f.name] = count.get(f.name, 0) + 1
    for single in ("cardiomegaly", "pericardial_effusion", "emphysema", "ground_glass_opacity"):
        if count.get(single, 0) > 1:
            raise PhantomError(f"{single} can be given only once")
    if count.get("nodule", 0) > 6:
        raise PhantomError("at most 6 nodules/masses per case")
    sides: dict[str, list[str]] = {}
    for f in findings:
        if f.name in ("pleural_effusion", "pneumothorax"):
            for s in (SIDES2 if f.side == "bilateral" else ((f.side,) if f.side else ())):
                sides.setdefault(s, []).append(f.name)
    for s, names in sides.items():
        if len(names) > 1:
            if len(set(names)) == 1:
                raise PhantomError(f"two {names[0]} findings on the {s} side")
            raise PhantomError(
                f"pleural effusion and pneumothorax on the same ({s}) side (hydropneumothorax) is not supported"
            )
    lobes: dict[str, str] = {}
    for f in findings:
        if f.name == "consolidation" or (f.name == "atelectasis" and f.kind == "lobar"):
            if f.lobe and f.lobe in lobes:
                raise PhantomError(f"{f.name} and {lobes[f.lobe]} in the same lobe ({LOBE_NAMES[f.lobe]})")
            if f.lobe:
                lobes[f.lobe] = f.name


def resolve_findings(findings: list[Finding], anat: Anatomy, rng: np.random.Generator) -> list[Finding]:
    """Draw every free parameter; retry side/lobe draws that would clash."""
    check_compatible(findings)
    for _ in range(30):
        out = [f.resolve(anat, rng) for f in findings]
        try:
            check_compatible(out)
            return out
        except PhantomError:
            continue
    raise PhantomError("could not find a compatible arrangement of these findings; give sides/lobes explicitly")


def label_vector(findings: list[Finding]) -> np.ndarray:
    """0/1 vector over FINDING_NAMES."""
    v = np.zeros(len(FINDING_NAMES), dtype=np.int8)
    for f in findings:
        for lab in f.labels():
            v[FINDING_NAMES.index(lab)] = 1
    return v


SCENARIOS = (
    # (weight, builder) – clinically plausible combinations, so the text encoder sees real mixes
    (0.13, lambda r: [Cardiomegaly(), PleuralEffusion(side="bilateral", size=str(r.choice(("small", "moderate"))))]
     + ([PericardialEffusion(size="small")] if r.random() < 0.3 else [])),
    (0.14, lambda r: [Consolidation()] + ([PleuralEffusion(size="small")] if r.random() < 0.3 else [])),
    (0.11, lambda r: [GroundGlass()]),
    (0.16, lambda r: [Nodule() for _ in range(1 + int(r.random() < 0.25))]
     + ([Emphysema()] if r.random() < 0.3 else [])),
    (0.08, lambda r: [Nodule(kind="mass")] + ([PleuralEffusion(size="small")] if r.random() < 0.25 else [])
     + ([Atelectasis(kind="linear")] if r.random() < 0.3 else [])),
    (0.10, lambda r: [Emphysema()] + ([Nodule()] if r.random() < 0.3 else [])),
    (0.08, lambda r: [Pneumothorax()] + ([Emphysema(kind="paraseptal")] if r.random() < 0.3 else [])),
    (0.10, lambda r: [PleuralEffusion(side=str(r.choice(SIDES2)))]
     + ([Atelectasis(kind="linear")] if r.random() < 0.4 else [])),
    (0.06, lambda r: [Atelectasis()]),
    (0.04, lambda r: [PericardialEffusion()] + ([Cardiomegaly(severity="mild")] if r.random() < 0.3 else [])),
)
EXTRAS = (Nodule, Atelectasis, Emphysema, Cardiomegaly)


def sample_findings(rng: np.random.Generator, p_normal: float = 0.25) -> list[Finding]:
    """A realistic random mix: ~25% normal studies, the rest drawn from clinical scenarios."""
    if rng.random() < p_normal:
        return []
    w = np.array([s[0] for s in SCENARIOS])
    k = int(rng.choice(len(SCENARIOS), p=w / w.sum()))
    out = list(SCENARIOS[k][1](rng))
    if rng.random() < 0.15:
        extra = EXTRAS[int(rng.integers(len(EXTRAS)))]()
        if extra.name not in {f.name for f in out} or extra.name == "nodule":
            out.append(extra)
    return out
