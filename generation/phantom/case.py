"""One phantom case: CT volume, radiographs, labels, parameters and reports from a seed.

``make_case(seed)`` is deterministic: the seed is split (``numpy.random.SeedSequence.spawn``)
into independent streams for the patient, the choice of findings, their placement, the report
wording and the CT noise. Giving ``findings`` explicitly therefore keeps the same patient:
``make_case(7, findings=[])`` and ``make_case(7, findings=["pleural_effusion:side=right"])`` are
the same person without and with a right effusion.

Orientation: ``volume_hu`` is indexed [z, y, x] as in ``generation.conventions`` (x toward the
patient's left, y toward posterior, z toward superior; DICOM LPS, ImageOrientationPatient
[1, 0, 0, 0, 1, 0]); ``origin`` is the LPS position (mm) of voxel [0, 0, 0] given as (z, y, x).
``nifti_affine`` gives the RAS affine for the array stored as [x, y, z].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .anatomy import prepare_anatomy, sample_anatomy
from .drr import Radiograph, project
from .errors import PhantomError
from .findings import (
    FINDING_NAMES,
    Finding,
    label_vector,
    parse_findings,
    resolve_findings,
    sample_findings,
)
from .grid import Grid, validate_shape, validate_spacing
from .noise import add_ct_noise, effective_sigma
from .render import paint_table, render
from .report_writer import Report, cxr_visible_labels, write_cxr_report, write_report

VERSION = "radsynth-phantom-1"
#: small grid for the demo CT model (~64^3 at ~5-6 mm)
DEFAULT_SHAPE = (64, 64, 64)
DEFAULT_SPACING = (5.0, 6.0, 6.0)
#: a grid that looks like a chest CT in a viewer
VIEWER_SHAPE = (128, 256, 256)
VIEWER_SPACING = (2.5, 1.5, 1.5)
#: radiographs of bigger CT grids are rendered from a grid of at most this many voxels
DRR_MAX_VOXELS = 2_500_000


@dataclass
class PhantomCase:
    seed: int
    volume_hu: np.ndarray  # int16 [z, y, x]
    spacing: tuple[float, float, float]  # (dz, dy, dx) mm
    origin: tuple[float, float, float]  # LPS (z, y, x) mm of voxel [0, 0, 0]
    findings: list[Finding]
    labels: np.ndarray  # int8 over FINDING_NAMES
    parameters: dict
    report: Report
    cxr_report: Report
    frontal: Radiograph | None = None
    lateral: Radiograph | None = None
    masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in zip(FINDING_NAMES, self.labels, strict=True)}

    @property
    def cxr_labels(self) -> np.ndarray:
        vis = cxr_visible_labels(self.findings)
        return np.array([int(k in vis) for k in FINDING_NAMES], dtype=np.int8)

    def nifti_affine(self) -> np.ndarray:
        return nifti_affine(self.spacing, self.origin)


def nifti_affine(spacing, origin) -> np.ndarray:
    """RAS+ affine of a [z, y, x] LPS volume once stored as [x, y, z] (``vol.transpose(2, 1, 0)``).

    Voxel (i, j, k) = (x, y, z) index lies at LPS (x0 + i dx, y0 + j dy, z0 + k dz), i.e. at RAS
    (-(x0 + i dx), -(y0 + j dy), z0 + k dz); nibabel reports axis codes ('L', 'P', 'S').
    """
    dz, dy, dx = spacing
    z0, y0, x0 = origin
    return np.array(
        [[-dx, 0.0, 0.0, -x0], [0.0, -dy, 0.0, -y0], [0.0, 0.0, dz, z0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float64
    )


def _validate_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise PhantomError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise PhantomError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def _fov_centre(anat) -> tuple[float, float, float]:
    """Centre (z, y, x) of a field of view from above the apices to below the lung bases."""
    low = min(anat.z_dome_r, anat.z_dome_l) - anat.dome_drop - 18.0 * anat.sz
    zc = 0.5 * ((anat.z_apex + 28.0) + (low - 4.0))
    yc = 0.5 * ((anat.cav_b0 + anat.wall_mm + 1.7 * anat.muscle_mm + 26.0 * anat.sy + 0.6 * anat.fat_mm)
                - (anat.cav_b0 + anat.wall_mm + 1.3 * anat.muscle_mm + anat.fat_mm))
    return zc, yc, 0.0


def case_spec(seed: int, findings: list | str | None = None, p_normal: float = 0.25):
    """The patient, the resolved findings and the random streams of a case (no rendering).

    Returns (anatomy, findings, streams) with streams a dict of numpy Generators named
    "report", "noise" and "misc".
    """
    seed = _validate_seed(seed)
    if not 0.0 <= float(p_normal) <= 1.0:
        raise PhantomError(f"p_normal must be between 0 and 1, got {p_normal!r}")
    ss = np.random.SeedSequence(seed)
    r_anat, r_find, r_place, r_report, r_noise, r_misc = (np.random.default_rng(s) for s in ss.spawn(6))
    anat = sample_anatomy(r_anat)
    flist = sample_findings(r_find, p_normal) if findings is None else parse_findings(findings)
    flist = resolve_findings(flist or [], anat, r_place)
    return anat, flist, {"report": r_report, "noise": r_noise, "misc": r_misc}


def _report_inputs(anat, flist: list[Finding]) -> tuple[dict, dict]:
    """Anatomy summary and the measurements a report quotes, without rendering anything."""
    adj = prepare_anatomy(anat, flist, build_trees=False)
    summary = adj.summary()
    meas = {"cardiothoracic_ratio": round(adj.cardiothoracic_ratio(), 3)}
    for f in flist:
        if f.name == "pneumothorax":
            meas[f"pneumothorax_rim_mm_{f.side}"] = round(f.rim_mm(anat), 1)
    return summary, meas


def make_report(seed: int, findings: list | str | None = None, p_normal: float = 0.25):
    """Reports and labels of case ``seed`` without rendering images (fast: text-only data).

    Returns (report, cxr_report, labels, findings); identical to what ``make_case`` gives.
    """
    anat, flist, streams = case_spec(seed, findings, p_normal)
    summary, meas = _report_inputs(anat, flist)
    report = write_report(flist, summary, streams["report"], meas)
    cxr_report = write_cxr_report(flist, streams["report"])
    return report, cxr_report, label_vector(flist), flist


def make_case(
    seed: int,
    findings: list | str | None = None,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    spacing_mm: tuple[float, float, float] = DEFAULT_SPACING,
    *,
    drr: bool = True,
    drr_pixel_mm: float | None = None,
    drr_shape: tuple[int, int, int] | None = None,
    drr_spacing_mm: tuple[float, float, float] | None = None,
    noise: bool = True,
    keep_masks: bool = True,
    p_normal: float = 0.25,
) -> PhantomCase:
    """Generate one case.

    findings: None = draw a realistic mix (``p_normal`` normal studies); [] = normal; a list of
    ``Finding`` objects, dicts, names or ``"name:key=value"`` strings; or one such string with
    comma-separated findings. Free parameters are drawn from the seed.
    drr_shape/drr_spacing_mm: render the radiographs from a separate (e.g. finer) grid of the
    same patient; by default they come from the CT grid (or, for CT grids of more than
    ``DRR_MAX_VOXELS``, from a proportionally coarser grid over the same field of view).
    """
    shape = validate_shape(shape)
    spacing = validate_spacing(spacing_mm)
    anat, flist, streams = case_spec(seed, findings, p_normal)
    r_noise, r_misc = streams["noise"], streams["misc"]

    zc, yc, xc = _fov_centre(anat)
    jitter = r_misc.normal(0.0, [4.0, 5.0, 6.0])
    centre = (zc + jitter[0], yc + jitter[1], xc + jitter[2])
    grid = Grid.centred(shape, spacing, centre)
    cache: dict = {}
    ctx = render(anat, flist, grid, "supine", cache)
    clean = ctx.canvas.vol
    meas = _measurements(ctx, flist, clean)

    frontal = lateral = None
    if drr:
        # radiographs are taken standing: render the same patient upright (pleural fluid and air,
        # the gastric air-fluid level and the back's shape follow gravity), on its own grid if asked
        gshape = validate_shape(drr_shape) if drr_shape is not None else shape
        gspacing = validate_spacing(drr_spacing_mm) if drr_spacing_mm is not None else spacing
        if drr_shape is None and drr_spacing_mm is None and np.prod(shape) > DRR_MAX_VOXELS:
            # a big CT grid: the radiographs come from a coarser grid over the same field of view
            f = (np.prod(shape) / DRR_MAX_VOXELS) ** (1.0 / 3.0)
            gshape = tuple(max(8, int(round(n / f))) for n in shape)
            gspacing = tuple(s * n / g for s, n, g in zip(spacing, shape, gshape, strict=True))
        dvol = render(anat, flist, Grid.centred(gshape, gspacing, centre), "upright", cache).canvas.vol
        frontal, lateral = project(dvol, gspacing, drr_pixel_mm)

    kernel = str(r_noise.choice(("standard", "soft", "sharp"), p=[0.6, 0.3, 0.1]))
    sigma_ref = float(r_noise.uniform(10.0, 22.0))
    paint_table(ctx)
    vol = ctx.canvas.vol
    if noise:
        vol = add_ct_noise(vol, spacing, r_noise, sigma_ref, kernel, ctx.masks.get("body"))
    vol_i16 = np.clip(np.round(vol), -1024, 3071).astype(np.int16)

    summary, rmeas = _report_inputs(anat, flist)
    meas.update(rmeas)
    report = write_report(flist, summary, streams["report"], rmeas)
    cxr_report = write_cxr_report(flist, streams["report"])
    labels = label_vector(flist)
    params = {
        "version": VERSION,
        "seed": int(seed),
        "shape": list(shape),
        "spacing_mm": list(spacing),
        "origin_lps_zyx_mm": [round(v, 3) for v in grid.origin],
        "anatomy": summary,
        "findings": [f.params() for f in flist],
        "labels": {k: int(v) for k, v in zip(FINDING_NAMES, labels, strict=True)},
        "ct": {"kernel": kernel, "noise_sigma_hu": round(effective_sigma(sigma_ref, spacing), 2) if noise else 0.0,
               "noise_sigma_ref_hu": round(sigma_ref, 2)},
        "measurements": meas,
    }
    if frontal is not None:
        params["drr"] = {"pixel_mm": frontal.pixel_mm, "frontal_shape": list(frontal.attenuation.shape),
                         "lateral_shape": list(lateral.attenuation.shape), "posture": "upright"}
    masks = {k: v > 0.5 for k, v in ctx.masks.items()} if keep_masks else {}
    return PhantomCase(int(seed), vol_i16, spacing, grid.origin, flist, labels, params, report, cxr_report,
                       frontal, lateral, masks)


def _measurements(ctx, flist: list[Finding], clean: np.ndarray) -> dict:
    vox_ml = ctx.grid.voxel_volume / 1000.0
    out: dict = {}
    for k, v in ctx.masks.items():
        if k in ("body", "cavity", "liver"):
            continue
        out[f"{k}_ml"] = round(float(v.sum()) * vox_ml, 1)
    lungs = (ctx.masks.get("lung_right", 0) + ctx.masks.get("lung_left", 0)) > 0.5
    if np.any(lungs):
        out["laa950_percent"] = round(100.0 * float(np.mean(clean[lungs] < -950.0)), 2)
    return out
