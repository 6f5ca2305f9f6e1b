"""A normal adult thorax drawn from a seed, as geometry in millimetres.

Patient coordinates are DICOM LPS (x toward the patient's left, y toward posterior, z toward
superior) with the origin in the midline at the level of the carina. ``sample_anatomy`` draws
body habitus and organ variation; the functions here describe shapes as signed distances that
work both on grid blocks (broadcast arrays) and on point lists. ``render.py`` paints them.

Dimensions are those of an average adult (cavity ~25 x 18 cm at the bases, heart ~11-12 cm wide
for a cardiothoracic ratio of ~0.45, aorta 3 cm ascending / 2.5 cm descending, trachea 18 mm,
vertebral pitch ~24 mm) scaled per patient.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .grid import sdf_ellipsoid, sdf_superellipse, smoothstep
from .trees import Tree, catmull_rom, grow_tree, interp_radii

# Tissue values (HU) of a non-contrast chest CT.
HU = {
    "air": -1000.0,
    "lung": -860.0,
    "fat": -100.0,
    "muscle": 45.0,
    "soft": 35.0,
    "blood": 40.0,
    "myocardium": 42.0,
    "liver": 58.0,
    "spleen": 47.0,
    "kidney": 32.0,
    "fluid": 12.0,
    "cortical": 1100.0,
    "cancellous": 230.0,
    "cartilage": 110.0,
    "disc": 85.0,
    "csf": 15.0,
    "calcium": 700.0,
}


@dataclass
class Tube:
    """A tubular structure: polyline (N, 3) x/y/z mm, radii (N,), tissue value, optional lumen."""

    pts: np.ndarray
    radii: np.ndarray
    hu: float
    lumen_hu: float | None = None
    wall_mm: float = 0.0


@dataclass
class Heart:
    """Ventricles (a tapered ellipsoid pointing to the apex) plus right and left atria.

    ``sdf`` is the epicardial surface (myocardium + epicardial fat); ``grow`` offsets it
    (pericardial space, pericardial fluid) and a negative ``grow`` gives the myocardium.
    """

    centre: np.ndarray
    axes: np.ndarray  # semi-axes of the ventricular ellipsoid, mm
    rot: np.ndarray  # rows: long axis (toward the apex), second, third axis
    fat_mm: float
    pericardial_fluid_mm: float = 0.0
    scale: float = 1.0
    _bounds: tuple | None = None

    def _atria(self):
        s = self.scale ** 0.5  # atria enlarge less than the ventricles
        c = self.centre
        ra = (c + np.array([-33.0, 4.0, 16.0]) * s, np.array([27.0, 29.0, 34.0]) * s)
        la = (c + np.array([-6.0, 38.0, 30.0]) * s, np.array([34.0, 19.0, 22.0]) * s)
        return ra, la

    def sdf(self, x, y, z, grow: float = 0.0):
        c = [float(v) for v in self.centre]
        u, v, w = _rot(x, y, z, c, self.rot.tolist())
        au, av, aw = (float(t) for t in self.axes)
        # narrower toward the apex (u > 0), broader at the base
        k = 1.0 - 0.22 * np.clip(u / au, -1.0, 1.0)
        vent = sdf_ellipsoid(u, v / k, w / k, (0.0, 0.0, 0.0), (au + grow, av + grow, aw + grow)) * np.minimum(k, 1.0)
        (rc, rr), (lc, lr) = self._atria()
        ra = sdf_ellipsoid(x, y, z, rc, rr + grow)
        la = sdf_ellipsoid(x, y, z, lc, lr + grow)
        return np.minimum(vent, np.minimum(ra, la))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) corners (x, y, z mm) of the epicardial surface (from surface samples)."""
        if self._bounds is None:
            # points on the tapered ventricular ellipsoid, mapped back to patient space
            t = np.linspace(0, np.pi, 25)[:, None]
            p = np.linspace(0, 2 * np.pi, 48, endpoint=False)[None, :]
            u = np.cos(t) * np.ones_like(p)
            k = 1.0 - 0.22 * u
            body = np.stack([self.axes[0] * u, self.axes[1] * k * np.sin(t) * np.cos(p),
                             self.axes[2] * k * np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
            pts = [self.centre + body @ self.rot]
            for c, r in self._atria():
                pts.append(np.vstack([c - r, c + r]))
            allp = np.vstack(pts)
            self._bounds = (allp.min(0), allp.max(0))
        return self._bounds

    def half_extent(self, axis: int) -> float:
        lo, hi = self.bounds()
        return float(hi[axis] - lo[axis]) / 2.0


def _rot(x, y, z, c, rot):
    """Coordinates in a rotated body frame (rot: nested lists of python floats, rows = axes)."""
    dx, dy, dz = x - c[0], y - c[1], z - c[2]
    return (
        rot[0][0] * dx + rot[0][1] * dy + rot[0][2] * dz,
        rot[1][0] * dx + rot[1][1] * dy + rot[1][2] * dz,
        rot[2][0] * dx + rot[2][1] * dy + rot[2][2] * dz,
    )


@dataclass
class Rib:
    index: int
    side: int  # -1 right, +1 left
    pts: np.ndarray
    radii: np.ndarray
    cart_pts: np.ndarray | None
    cart_radii: np.ndarray | None


@dataclass
class Anatomy:
    """Everything that makes one synthetic patient, in mm (LPS, carina at the origin)."""

    sex: str
    age: int
    sx: float
    sy: float
    sz: float
    fat_mm: float
    muscle_mm: float
    wall_mm: float
    cav_a0: float
    cav_b0: float
    z_apex: float
    z_dome_r: float
    z_dome_l: float
    dome_drop: float
    y_vb0: float
    vb_rx: float
    vb_ry: float
    pitch: float
    z_t5: float
    scoliosis_mm: float
    z_notch: float
    heart: Heart
    tubes: dict[str, Tube]
    _ribs: list[Rib]
    _trees: dict[str, dict[str, Tree]]
    calcs: list[tuple[np.ndarray, float]]
    breast_mm: float
    lung_hu: float
    bone_density: float
    seeds: dict[str, int]
    organ: dict[str, np.ndarray] = field(default_factory=dict)
    # set by findings before rendering (cardiomegaly, pericardial effusion)
    heart_scale_mult: float = 1.0
    pericardial_mm: float = 0.0

    @property
    def ribs(self) -> list[Rib]:
        """The 24 ribs with their costal cartilages, built on first use (no randomness)."""
        if not self._ribs:
            _build_ribs(self)
        return self._ribs

    @property
    def trees(self) -> dict[str, dict[str, Tree]]:
        """Bronchial, arterial and venous trees per lung, grown on first use (their own seed)."""
        if not self._trees:
            _build_trees(self)
        return self._trees

    # --- summary for the parameters JSON and the report ---------------------------------------
    def summary(self) -> dict:
        return {
            "sex": self.sex,
            "age": self.age,
            "habitus": self.habitus,
            "subcutaneous_fat_mm": round(self.fat_mm, 1),
            "cardiothoracic_ratio": round(self.cardiothoracic_ratio(), 3),
            "ascending_aorta_mm": round(2 * float(self.tubes["aorta"].radii[2]), 1),
            "aortic_calcifications": sum(1 for _, k in self.calcs if k == 0),
            "coronary_calcifications": sum(1 for _, k in self.calcs if k == 1),
        }

    @property
    def habitus(self) -> str:
        return "thin" if self.fat_mm < 10 else ("obese" if self.fat_mm > 28 else "average")

    def cardiothoracic_ratio(self) -> float:
        """Maximal transverse heart width over maximal inner thoracic width (frontal view)."""
        # maximal inner thoracic width is at the lung bases, where the cavity is widest
        return 2 * self.heart.half_extent(0) / (2 * self.cav_a0)

    # --- cavity, diaphragm, lungs ------------------------------------------------------------
    def cav_ab(self, z):
        """Half-width and half-depth of the inner thoracic/abdominal wall at height z."""
        s = smoothstep(-100.0 * self.sz, 105.0 * self.sz, z)
        return self.cav_a0 * (1.0 - 0.38 * s), self.cav_b0 * (1.0 - 0.22 * s)

    def cavity_sdf(self, x, y, z, grow: float = 0.0):
        a, b = self.cav_ab(z)
        return sdf_superellipse(x, y, 0.0, 0.0, a + grow, b + grow, 2.3)

    def spine_xy(self, z):
        """Vertebral body centre (x, y) at height z: thoracic kyphosis and a mild scoliosis."""
        t = (z - self.z_t5) / (160.0 * self.sz)
        y = self.y_vb0 + 10.0 * self.sy * (1.0 - np.clip(t, -1.5, 1.5) ** 2)
        x = self.scoliosis_mm * np.sin(np.clip(t, -2, 2) * 1.3)
        return x, y

    def diaphragm_z(self, x, y):
        """Height of the lung base (top of the diaphragm) at (x, y)."""
        a, b = self.cav_a0, self.cav_b0
        q = np.clip(((np.abs(x) / a) ** 2.3 + (np.abs(y) / b) ** 2.3) ** (1 / 2.3), 0, 1.3)
        w = smoothstep(-15.0, 30.0, x)
        top = self.z_dome_r * (1 - w) + self.z_dome_l * w
        zd = top - self.dome_drop * (0.55 * q**2 + 0.45 * q**4) - 18.0 * self.sz * np.clip(y / b, 0, None) ** 2
        # the heart sits in a shallow depression of the central tendon
        zd = zd - 10.0 * self.sz * np.exp(-(((x - 15.0) / 40.0) ** 2)) * np.exp(-(((y + 10) / 50.0) ** 2))
        return zd

    def above_diaphragm_sdf(self, x, y, z, offset: float = 0.0):
        """Signed distance (approx., negative above) to the diaphragm surface lifted by offset."""
        zd = self.diaphragm_z(x, y) + offset
        gx = (self.diaphragm_z(x + 1.0, y) - self.diaphragm_z(x - 1.0, y)) * 0.5
        gy = (self.diaphragm_z(x, y + 1.0) - self.diaphragm_z(x, y - 1.0)) * 0.5
        return (zd - z) / np.sqrt(1.0 + gx * gx + gy * gy)

    def mediastinum_sdf(self, x, y, z, with_heart: bool = True):
        """The analytic part of the mediastinal envelope (heart, central band, spine column)."""
        _, b = self.cav_ab(z)
        t = np.clip((y + b) / (2 * b), 0, 1)
        w_low = (4.0 + 17.0 * t) * self.sx
        w_up = (9.0 + 25.0 * t) * self.sx
        z_arch = self.tubes["aorta"].pts[:, 2].max()
        s = smoothstep(z_arch - 40.0, z_arch + 5.0, z)
        band = np.abs(x - 4.0 * self.sx) - (w_low * (1 - s) + w_up * s)
        xs, ys = self.spine_xy(z)
        ell = np.sqrt(((x - xs) / (self.vb_rx + 4)) ** 2 + ((y - ys) / (self.vb_ry + 4)) ** 2)
        spine = np.where(y < ys, (ell - 1) * (self.vb_ry + 4), np.abs(x - xs) - (self.vb_rx + 4))
        env = np.minimum(band, spine)
        if not with_heart:
            return env
        return np.minimum(env, self.heart.sdf(x, y, z, grow=3.0 + self.heart.pericardial_fluid_mm))

    def tubes_sdf_points(self, pts: np.ndarray, reach: float = 30.0) -> np.ndarray:
        """Distance (mm, negative inside) from points (N, 3) to the mediastinal tubes.

        Exact within ``reach`` mm of a tube's bounding box; +inf further away (callers only ask
        "is this point clear of the tubes by a few mm").
        """
        out = np.full(len(pts), np.inf)
        for name in ("aorta", "pa_trunk", "rpa", "lpa", "svc", "trachea", "rmb", "lmb", "esophagus", "azygos",
                     "brachiocephalic", "l_subclavian", "l_carotid", "l_bcv", "r_bcv", "ivc"):
            t = self.tubes.get(name)
            if t is None:
                continue
            pad = float(t.radii.max()) + t.wall_mm + reach
            near = np.all((pts >= t.pts.min(0) - pad) & (pts <= t.pts.max(0) + pad), axis=1)
            if not near.any():
                continue
            q = pts[near]
            a, b = t.pts[:-1], t.pts[1:]
            d = b - a
            dd = np.maximum((d * d).sum(1), 1e-9)
            ap = q[:, None, :] - a[None]
            u = np.clip((ap * d[None]).sum(2) / dd[None], 0, 1)
            e = ap - u[..., None] * d[None]
            r = t.radii[:-1] + u * (t.radii[1:] - t.radii[:-1]) + t.wall_mm
            out[near] = np.minimum(out[near], (np.sqrt((e * e).sum(2)) - r).min(1))
        return out

    def lung_cap_sdf(self, side: int, x, y, z):
        """Ellipsoid that shapes each lung's apex (the lung is also cut by cavity and diaphragm)."""
        c = (side * 0.5 * self.cav_a0, 16.0 * self.sy, -150.0 * self.sz)
        r = (0.66 * self.cav_a0, 1.3 * self.cav_b0, self.z_apex - c[2])
        return sdf_ellipsoid(x, y, z, c, r)

    def lung_sdf(self, side: int, x, y, z, extra_env=None):
        """Signed distance of one lung (side -1 right, +1 left), optionally with tube envelope."""
        env = self.mediastinum_sdf(x, y, z)
        if extra_env is not None:
            env = np.minimum(env, extra_env)
        s = np.maximum(self.cavity_sdf(x, y, z), self.above_diaphragm_sdf(x, y, z))
        s = np.maximum(s, self.lung_cap_sdf(side, x, y, z))
        s = np.maximum(s, 2.0 - env)  # 2 mm of pleura and fat between lung and mediastinum
        return np.maximum(s, -side * (x - 4.0 * self.sx))

    # --- lobes --------------------------------------------------------------------------------
    def major_fissure_z(self, side: int, y, x=0.0):
        """Height of the oblique fissure at (x, y); the lower lobe lies below/behind it.

        The fissure plane also tilts laterally, so that on an axial slice it runs from the
        hilum (anteromedial) toward the posterolateral chest wall as on real CT.
        """
        b = self.cav_b0
        z_post = (18.0 if side < 0 else 28.0) * self.sz
        z_ant = (self.z_dome_r if side < 0 else self.z_dome_l) - 8.0 * self.sz
        t = (b - y + 0.55 * (np.abs(x) - 0.45 * self.cav_a0)) / (2 * b)
        return z_post + (z_ant - z_post) * np.clip(t, -0.3, 1.3)

    def minor_fissure_z(self, y):
        return -48.0 * self.sz - 6.0 * np.clip(-y / self.cav_b0, -1, 1)

    def lobe_sdf(self, lobe: str, x, y, z):
        """Signed distance to the fissure half-spaces that bound a lobe (intersect with its lung)."""
        side = LOBE_SIDE[lobe]
        a = self.cav_a0
        gy = float((self.major_fissure_z(side, 50.0) - self.major_fissure_z(side, -50.0)) / 100.0)
        gx = float((self.major_fissure_z(side, 0.0, 0.6 * a) - self.major_fissure_z(side, 0.0, 0.5 * a)) / (0.1 * a))
        below_major = (z - self.major_fissure_z(side, y, x)) / np.sqrt(1.0 + gx * gx + gy * gy)
        if lobe in ("RLL", "LLL"):
            return below_major
        if lobe == "LUL":
            return -below_major
        minor = z - self.minor_fissure_z(y)
        if lobe == "RUL":
            return np.maximum(-below_major, -minor)
        return np.maximum(-below_major, minor)  # RML

    def lobe_index(self, side: int, x, y, z):
        """Integer lobe map: 0 RUL, 1 RML, 2 RLL, 3 LUL, 4 LLL (side picks right or left)."""
        lower = z < self.major_fissure_z(side, y, x)
        if side < 0:
            upper = z >= self.minor_fissure_z(y)
            return np.where(lower, 2, np.where(upper, 0, 1))
        return np.where(lower, 4, 3)


LOBES = ("right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe", "left lower lobe")
LOBE_KEYS = ("RUL", "RML", "RLL", "LUL", "LLL")
LOBE_SIDE = {"RUL": -1, "RML": -1, "RLL": -1, "LUL": 1, "LLL": 1}


def sample_lung_points(anat: Anatomy, side: int, n: int, rng: np.random.Generator, lobe: str | None = None,
                       margin: float = 0.0) -> np.ndarray:
    """Uniform random points inside one lung (optionally one lobe, ``margin`` mm from its edge)."""
    a, b = anat.cav_a0, anat.cav_b0
    lo = np.array([0.0 if side > 0 else -a, -b, anat.z_dome_l - 3 * anat.dome_drop])
    hi = np.array([a if side > 0 else 0.0, b, anat.z_apex])
    out = []
    need = n
    for _ in range(60):
        p = rng.uniform(lo, hi, size=(max(64, need * 4), 3))
        ok = anat.lung_sdf(side, p[:, 0], p[:, 1], p[:, 2]) < -margin
        if anat.tubes and ok.any():
            # keep clear of the hilar airways and vessels too (not part of the analytic outline)
            ok[ok] = anat.tubes_sdf_points(p[ok]) > margin + 2.0
        if lobe is not None:
            li = anat.lobe_index(side, p[:, 0], p[:, 1], p[:, 2])
            ok &= li == LOBE_KEYS.index(lobe)
            if margin > 0:
                # keep the lesion away from the fissures too
                zf = anat.major_fissure_z(side, p[:, 1], p[:, 0])
                ok &= np.abs(p[:, 2] - zf) * 0.75 > margin * 0.6
        out.append(p[ok])
        need -= int(ok.sum())
        if need <= 0:
            break
    pts = np.concatenate(out)[:n] if out else np.zeros((0, 3))
    return pts


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def make_heart(anat_like: dict, scale: float = 1.0, fluid_mm: float = 0.0) -> Heart:
    sx, sy, sz = anat_like["sx"], anat_like["sy"], anat_like["sz"]
    # long axis from the base (right, posterior, superior) to the apex (left, anterior, inferior)
    u = _unit([0.72, -0.55, -0.42])
    v = _unit(np.cross(u, [0.0, 1.0, 0.0]))
    w = np.cross(u, v)
    rot = np.vstack([u, v, w])
    hs = anat_like["heart_scale"]
    axes = np.array([64.0 * sz, 46.0 * sx, 37.0 * sy]) * hs * scale
    # cardiomegaly mostly grows the left ventricle: shift left with the size
    centre = np.array([(30.0 + 25.0 * (scale - 1.0)) * sx, -20.0 * sy, 0.0])
    h = Heart(centre, axes, rot, anat_like["epi_fat"], fluid_mm, hs * scale)
    floor = anat_like["floor_z"]
    lo, _ = h.bounds()
    h.centre[2] = floor - lo[2] + 6.0  # rest on the central tendon of the diaphragm
    h._bounds = None
    return h


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one normal patient."""
    sex = "F" if rng.random() < 0.5 else "M"
    age = int(np.clip(rng.normal(60, 14), 22, 92))
    female = sex == "F"
    sx = float(np.clip(rng.normal(0.93 if female else 1.0, 0.045), 0.82, 1.12))
    sy = float(np.clip(rng.normal(0.94 if female else 1.0, 0.06), 0.8, 1.15))
    sz = float(np.clip(rng.normal(0.95 if female else 1.0, 0.045), 0.85, 1.1))
    fat = float(np.clip(rng.lognormal(np.log(19 if female else 14), 0.45), 4, 45))
    muscle = float(np.clip(rng.normal(11 if female else 15, 2.5) * (1.1 - 0.004 * (age - 40)), 6, 22))
    cav_a0, cav_b0 = 125.0 * sx, 88.0 * sy
    z_dome_r = float(-118.0 * sz + rng.normal(0, 7))
    z_dome_l = z_dome_r - float(rng.uniform(10, 24))
    anat_like = {
        "sx": sx, "sy": sy, "sz": sz,
        "heart_scale": float(np.clip(rng.normal(1.0, 0.05), 0.88, 1.1)),
        "epi_fat": float(np.clip(3 + 0.06 * (age - 30) + 0.15 * fat + rng.normal(0, 1.5), 2, 14)),
    }
    anat = Anatomy(
        sex=sex, age=age, sx=sx, sy=sy, sz=sz, fat_mm=fat, muscle_mm=muscle, wall_mm=11.0,
        cav_a0=cav_a0, cav_b0=cav_b0, z_apex=float(84.0 * sz + rng.normal(0, 5)),
        z_dome_r=z_dome_r, z_dome_l=z_dome_l, dome_drop=float(54.0 * sz),
        y_vb0=56.0 * sy, vb_rx=19.0 * sx, vb_ry=15.5 * sy, pitch=24.0 * sz, z_t5=-8.0 * sz,
        scoliosis_mm=float(rng.normal(0, 3)), z_notch=float(58.0 * sz),
        heart=Heart(np.zeros(3), np.ones(3), np.eye(3), 1.0),
        tubes={}, _ribs=[], _trees={}, calcs=[],
        breast_mm=float(np.clip(rng.normal(28, 10), 8, 55)) if female else 0.0,
        lung_hu=float(rng.normal(-862, 12) + 0.6 * (age - 60) * -1.0),
        bone_density=float(np.clip(1.15 - 0.008 * (age - 30) + rng.normal(0, 0.06), 0.55, 1.25)),
        seeds={k: int(rng.integers(0, 2**31 - 1)) for k in ("texture", "organs", "breast", "trees")},
    )
    anat_like["floor_z"] = float(anat.diaphragm_z(np.float64(20.0 * sx), np.float64(-12.0 * sy))) - 6.0
    anat.heart = make_heart(anat_like, 1.0)
    anat.organ["heart_like"] = np.array(
        [anat_like["heart_scale"], anat_like["epi_fat"], anat_like["floor_z"]], dtype=np.float64
    )
    _build_tubes(anat, rng)
    _build_calcs(anat, rng)
    return anat


def prepare_anatomy(anat: Anatomy, findings: list, build_trees: bool = True) -> Anatomy:
    """The patient as the findings change it (heart size, pericardial fluid, hyperinflation).

    Returns ``anat`` itself when nothing changes, else a modified copy. The trees are grown on
    the original patient first, so a finding never changes the vessels it does not touch.
    """
    if not findings:
        return anat
    if build_trees:
        _ = anat.trees
    out = copy.deepcopy(anat)
    for f in findings:
        f.adjust_anatomy(out)
    if out.heart_scale_mult != 1.0 or out.pericardial_mm > 0:
        rebuild_heart(out, out.heart_scale_mult, out.pericardial_mm)
    return out


def rebuild_heart(anat: Anatomy, scale: float, fluid_mm: float) -> None:
    """Replace the heart (cardiomegaly, pericardial effusion) keeping the patient the same."""
    hs, fat, floor = anat.organ["heart_like"]
    like = {"sx": anat.sx, "sy": anat.sy, "sz": anat.sz, "heart_scale": hs, "epi_fat": fat, "floor_z": floor}
    anat.heart = make_heart(like, scale, fluid_mm)


def _tube(ctrl, radii_ctrl, hu, lumen=None, wall=0.0, step=6.0) -> Tube:
    pts = catmull_rom(np.asarray(ctrl, dtype=np.float64), step)
    return Tube(pts, interp_radii(radii_ctrl, len(pts)), hu, lumen, wall)


def _build_tubes(anat: Anatomy, rng: np.random.Generator) -> None:
    sx, sy, sz = anat.sx, anat.sy, anat.sz

    def P(x, y, z):  # noqa: N802 - a point in the scaled patient frame
        return (x * sx, y * sy, z * sz)

    j = lambda s=2.0: rng.normal(0, s)  # noqa: E731 - small anatomical jitter
    dil = float(np.clip(1.0 + 0.006 * (anat.age - 45) + rng.normal(0, 0.06), 0.85, 1.4))
    hz = anat.heart.centre[2]
    top = 330.0
    arch_top = 34.0 + j(5)
    # the aorta leaves the heart base, rises anteriorly, arches over the left main bronchus to the
    # left of the trachea and descends along the left anterolateral spine into the abdomen
    anat.tubes["aorta"] = _tube(
        [P(6, -2, hz / sz + 42), P(4, -18, -30), P(2 + j(), -24, 0), P(2, -20, arch_top - 12),
         P(10, -4, arch_top), P(22, 22, arch_top - 6), P(25, 38, 8), P(23 + j(), 42, -60),
         P(14, 40, -150), P(4, 36, -240), P(2, 34, -420)],
        [13.5 * dil, 15.5 * dil, 15.5 * dil, 14.5 * dil, 13.5 * dil, 12.5 * dil, 12.0 * dil,
         11.5 * dil, 11.0 * dil, 10.5 * dil, 10.0 * dil],
        HU["blood"],
    )
    anat.tubes["pa_trunk"] = _tube([P(22, -46, -62), P(20, -36, -40), P(15, -22, -18)], [13, 13.5, 13], HU["blood"])
    anat.tubes["rpa"] = _tube([P(15, -22, -18), P(-6, -6, -20), P(-26, 6, -24), P(-36, 10, -30)], [11, 10, 9, 8],
                              HU["blood"])
    anat.tubes["lpa"] = _tube([P(15, -22, -18), P(32, -4, -12), P(42, 14, -24), P(48, 22, -40)], [11, 10, 9, 8],
                              HU["blood"])
    anat.tubes["svc"] = _tube([P(-24, -10, 75), P(-25, -14, 20), P(-24, -12, -30), P(-20, -8, hz / sz + 25)],
                              [9, 10, 10.5, 11], HU["blood"])
    anat.tubes["l_bcv"] = _tube([P(58, -16, 78), P(20, -30, 62), P(-20, -18, 55), P(-24, -12, 44)],
                                [6.5, 6.5, 7, 8], HU["blood"])
    anat.tubes["r_bcv"] = _tube([P(-48, -6, 100), P(-30, -12, 80), P(-24, -10, 62)], [6.5, 7, 8.5], HU["blood"])
    anat.tubes["brachiocephalic"] = _tube([P(2, -14, arch_top - 2), P(-12, -8, 70), P(-22, -2, 120)],
                                          [7, 6.5, 5.5], HU["blood"])
    anat.tubes["l_carotid"] = _tube([P(10, -8, arch_top), P(14, -4, 80), P(18, 0, 140)], [4.5, 4.2, 4], HU["blood"])
    anat.tubes["l_subclavian"] = _tube([P(20, 8, arch_top - 2), P(27, 8, 70), P(50, 4, 96), P(90, -4, 104)],
                                       [5.5, 5.2, 5, 5], HU["blood"])
    anat.tubes["azygos"] = _tube([P(-10, 48, -200), P(-12, 50, -40), P(-14, 44, 6), P(-20, 24, 16), P(-24, -6, 14)],
                                 [3.5, 4, 4.5, 4.5, 5], HU["blood"])
    ivc_top = anat.heart.centre[2] - 0.5 * anat.heart.half_extent(2)
    anat.tubes["ivc"] = _tube([P(-20, 12, -420), P(-20, 8, -230), P(-18, 2, ivc_top / sz)], [11, 12, 13], HU["blood"])
    # airway: trachea slightly right of midline, running posteriorly as it descends to the carina
    anat.tubes["trachea"] = _tube([P(0, 4, top), P(-1 + j(1), 12, 80), P(0, 22, 0)], [9.0, 9.0, 8.8],
                                  HU["soft"], HU["air"], 1.8)
    anat.tubes["rmb"] = _tube([P(0, 22, 0), P(-16, 25, -10), P(-30, 26, -22)], [7.2, 7.0, 6.6], HU["soft"],
                              HU["air"], 1.6)
    anat.tubes["lmb"] = _tube([P(0, 22, 0), P(22, 26, -22), P(40, 30, -42)], [6.6, 6.2, 5.8], HU["soft"],
                              HU["air"], 1.5)
    anat.tubes["esophagus"] = _tube(
        [P(2, 34, top), P(4, 38, 40), P(6, 40, -40), P(14, 34, -110), P(32, 18, (anat.z_dome_l / sz) - 20)],
        [8, 7.5, 7.5, 8, 9], HU["muscle"] - 5, HU["air"] if rng.random() < 0.5 else None, 5.5)


def _build_ribs(anat: Anatomy) -> None:
    sz = anat.sz
    st_y = lambda z: -anat.cav_ab(np.float64(z))[1]  # noqa: E731 - anterior inner wall
    z_body_top = anat.z_notch - 50 * sz
    for side in (-1, 1):
        for i in range(1, 13):
            z0 = anat.z_t5 - (i - 5) * anat.pitch + 0.3 * anat.pitch
            drop = (40.0 if i == 1 else 70.0 + 4.0 * i) * sz
            if i <= 7:
                theta_end = 2.35 if i > 1 else 2.2
            elif i <= 10:
                theta_end = 2.15 - 0.05 * (i - 8)
            else:
                theta_end = 1.85 - 0.25 * (i - 11)
            thetas = np.linspace(0.42, theta_end, 26)
            r = (5.2 if i == 1 else 4.4 - 0.05 * i) * anat.sx
            pts = []
            for k, th in enumerate(thetas):
                f = (th - thetas[0]) / (np.pi - thetas[0])
                # nearly level posteriorly, then sloping down toward the anterior end
                z = z0 - drop * (0.2 * f + 0.8 * f**2.2) + (5.0 * np.sin(np.pi * k / 25) if i > 1 else 0.0)
                a, b = anat.cav_ab(np.float64(z))
                a, b = a + r + 1.0, b + r + 1.0
                s, c = np.sin(th), np.cos(th)
                x = a * np.abs(s) ** (2 / 2.3)
                y = b * np.sign(c) * np.abs(c) ** (2 / 2.3)
                pts.append((side * x, y, z))
            xs, ys = anat.spine_xy(np.float64(z0))
            head = (xs + side * (anat.vb_rx + 3), ys - 2, z0 + 4)
            tub = (xs + side * (anat.vb_rx + 16), ys + 14, z0 + 2)
            ctrl = np.vstack([head, tub, np.array(pts)[::3], pts[-1]])
            line = catmull_rom(ctrl, 7.0)
            radii = np.linspace(r * 0.9, r * 0.8, len(line))
            cart = cr = None
            end = np.array(pts[-1])
            if i <= 10:
                if i == 1:
                    zt = anat.z_notch - 12 * sz
                elif i == 2:
                    zt = anat.z_notch - 48 * sz
                elif i <= 7:
                    zt = z_body_top - (i - 2) * 19 * sz
                else:
                    zt = end[2] + 10 * sz
                xt = 17.0 * anat.sx if i <= 7 else side * 0 + (30.0 + 12.0 * (i - 8)) * anat.sx
                mid = (end[0] * 0.55 + side * xt * 0.45, st_y(0.5 * (end[2] + zt)) - r - 2, 0.5 * (end[2] + zt) - 4)
                tgt = (side * xt, st_y(zt) - r - 1, zt)
                cart = catmull_rom(np.vstack([end, mid, tgt]), 7.0)
                cr = np.full(len(cart), r * 0.85)
            anat._ribs.append(Rib(i, side, line, radii, cart, cr))


def _build_trees(anat: Anatomy) -> None:
    trng = np.random.default_rng(anat.seeds["trees"])
    sx, sy, sz = anat.sx, anat.sy, anat.sz
    roots = {
        -1: {"bronchus": anat.tubes["rmb"].pts[-1], "artery": anat.tubes["rpa"].pts[-1],
             "vein": np.array([-30 * sx, 26 * sy, -62 * sz])},
        1: {"bronchus": anat.tubes["lmb"].pts[-1], "artery": anat.tubes["lpa"].pts[-1],
            "vein": np.array([44 * sx, 30 * sy, -62 * sz])},
    }
    for side in (-1, 1):
        name = "right" if side < 0 else "left"
        pts = sample_lung_points(anat, side, 2800 if side < 0 else 2400, trng, margin=3.0)
        br, art = grow_tree(roots[side]["bronchus"], pts, trng, r_leaf=0.45, leaf_size=2, companion_offset=0.75)
        # move the arterial tree so it starts at the end of its pulmonary artery
        shift = roots[side]["artery"] - art.p0[0]
        w = np.exp(-art.gen / 2.5)[:, None]
        art = type(art)(art.p0 + shift * np.exp(-np.maximum(art.gen - 1, 0) / 2.5)[:, None], art.p1 + shift * w,
                        art.r, art.gen)
        vpts = sample_lung_points(anat, side, 2400 if side < 0 else 2000, trng, margin=3.0)
        vein, _ = grow_tree(roots[side]["vein"], vpts, trng, r_leaf=0.47, leaf_size=2)
        anat._trees[name] = {"bronchi": br, "arteries": art, "veins": vein}


def _build_calcs(anat: Anatomy, rng: np.random.Generator) -> None:
    # aortic wall calcifications (arch and descending aorta), increasing with age
    n_ao = rng.poisson(max(0.0, (anat.age - 50) / 3.0))
    ao = anat.tubes["aorta"]
    for _ in range(int(n_ao)):
        k = int(rng.integers(len(ao.pts) // 3, len(ao.pts) - 3))
        d = ao.pts[k + 1] - ao.pts[k]
        d /= np.linalg.norm(d)
        u = np.cross(d, rng.normal(size=3))
        u /= np.linalg.norm(u)
        anat.calcs.append((ao.pts[k] + u * (ao.radii[k] - 0.5), 0))
    # coronary calcifications along the left anterior descending artery
    n_co = rng.poisson(max(0.0, (anat.age - 52) / 5.0))
    h = anat.heart
    for _ in range(int(n_co)):
        phi = rng.uniform(1.2, 2.5)
        body = np.array([h.axes[0] * np.cos(phi), 0.25 * h.axes[1] * rng.normal(), h.axes[2] * np.sin(phi)])
        body *= 1.0 + 1.5 / np.linalg.norm(body / h.axes * h.axes.mean())
        anat.calcs.append((h.centre + h.rot.T @ body, 1))
