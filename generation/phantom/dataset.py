"""Write a phantom data set to disk, and the command line around it.

Layout of ``OUT``::

    cases.csv                 one row per case: case_id, seed, findings, impression,
                              cxr_findings, cxr_impression, one 0/1 column per FINDING_NAMES
                              label, cxr_label_<name> (what the radiographs show),
                              parameters (JSON), ct_path, frontal_path, lateral_path
    labels.json               label order, dataset settings, conventions, and per case the CT
                              labels and the labels a radiograph would show (cxr_labels)
    ct/<case_id>.nii.gz       int16 HU; array stored as [x, y, z]; RAS+ affine
                              diag(-dx, -dy, dz) with the LPS origin negated in x and y
                              (nibabel axis codes L, P, S), so spacing and orientation round-trip
    cxr/<case_id>_frontal.png 8-bit PA radiograph, patient's right on the image left
    cxr/<case_id>_lateral.png 8-bit left lateral radiograph, anterior on the image left

Every case is reproducible: ``make_case(seed, shape=..., spacing_mm=...)`` with the seed from
``cases.csv`` (and the same ``--findings``) gives the same volume, labels and report.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from .case import (
    DEFAULT_SHAPE,
    DEFAULT_SPACING,
    VERSION,
    VIEWER_SHAPE,
    VIEWER_SPACING,
    PhantomCase,
    make_case,
)
from .errors import PhantomError
from .findings import FINDING_NAMES, finding_names_help, parse_findings
from .grid import validate_shape, validate_spacing

PRESETS = {"demo": (DEFAULT_SHAPE, DEFAULT_SPACING), "viewer": (VIEWER_SHAPE, VIEWER_SPACING)}


def case_seeds(seed: int, n: int) -> list[int]:
    """Per-case seeds derived from the data set seed (case i's seed does not depend on n)."""
    ss = np.random.SeedSequence(int(seed))
    return [int(c.generate_state(1, np.uint32)[0]) for c in ss.spawn(n)]


def save_nifti(case: PhantomCase, path: Path) -> None:
    import nibabel as nib

    data = np.ascontiguousarray(case.volume_hu.transpose(2, 1, 0))  # [z, y, x] -> [x, y, z]
    img = nib.Nifti1Image(data, case.nifti_affine())
    img.set_sform(case.nifti_affine(), code=1)
    img.set_qform(case.nifti_affine(), code=1)
    img.header.set_xyzt_units("mm")
    img.header["descrip"] = f"{VERSION} seed {case.seed}".encode()[:79]
    nib.save(img, str(path))


def save_png(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(img).save(path)


def write_dataset(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    shape=DEFAULT_SHAPE,
    spacing=DEFAULT_SPACING,
    *,
    findings: str | list | None = None,
    p_normal: float = 0.25,
    drr: bool = True,
    drr_spacing_mm: float | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Generate ``n`` cases into ``out_dir``; returns a summary dict (paths, counts, timings)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PhantomError(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PhantomError(f"seed must be a non-negative integer, got {seed!r}")
    shape = validate_shape(shape)
    spacing = validate_spacing(spacing)
    if not 0.0 <= float(p_normal) <= 1.0:
        raise PhantomError(f"p_normal must be between 0 and 1, got {p_normal!r}")
    drr_shape = drr_sp = None
    if drr_spacing_mm is not None:
        d = float(drr_spacing_mm)
        if not np.isfinite(d) or d <= 0:
            raise PhantomError(f"drr spacing must be a positive number of mm, got {drr_spacing_mm!r}")
        extent = [s * k for s, k in zip(spacing, shape, strict=True)]
        drr_shape = tuple(max(8, int(round(e / d))) for e in extent)
        drr_sp = (d, d, d)
    # validate the findings once, before any work (a typo should fail fast)
    parse_findings(findings)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PhantomError(f"output path {str(out)!r} exists and is not a directory")
    if (out / "cases.csv").exists() and not overwrite:
        raise PhantomError(f"{str(out)!r} already contains a data set (cases.csv); use overwrite to replace it")
    (out / "ct").mkdir(parents=True, exist_ok=True)
    if drr:
        (out / "cxr").mkdir(exist_ok=True)

    from tqdm import tqdm

    seeds = case_seeds(seed, n)
    rows, label_rows = [], []
    counts = dict.fromkeys(FINDING_NAMES, 0)
    t0 = time.perf_counter()
    for i, cs in enumerate(tqdm(seeds, desc="phantom", unit="case", disable=not progress, file=sys.stderr)):
        case = make_case(cs, findings, shape, spacing, drr=drr, drr_shape=drr_shape, drr_spacing_mm=drr_sp,
                         keep_masks=False, p_normal=p_normal)
        cid = f"phantom_{i:05d}"
        ct_path = f"ct/{cid}.nii.gz"
        save_nifti(case, out / ct_path)
        fr = la = ""
        if drr:
            fr, la = f"cxr/{cid}_frontal.png", f"cxr/{cid}_lateral.png"
            save_png(case.frontal.image(), out / fr)
            save_png(case.lateral.image(), out / la)
        labs = case.label_dict
        for k, v in labs.items():
            counts[k] += v
        rows.append({
            "case_id": cid,
            "seed": cs,
            "findings": case.report.findings,
            "impression": case.report.impression,
            "cxr_findings": case.cxr_report.findings,
            "cxr_impression": case.cxr_report.impression,
            **labs,
            **{f"cxr_label_{k}": int(v) for k, v in zip(FINDING_NAMES, case.cxr_labels, strict=True)},
            "parameters": json.dumps(case.parameters, sort_keys=True),
            "ct_path": ct_path,
            "frontal_path": fr,
            "lateral_path": la,
        })
        label_rows.append({
            "case_id": cid,
            "seed": cs,
            "labels": labs,
            "cxr_labels": {k: int(v) for k, v in zip(FINDING_NAMES, case.cxr_labels, strict=True)},
            "drr_pixel_mm": case.frontal.pixel_mm if case.frontal is not None else None,
        })
    fields = ["case_id", "seed", "findings", "impression", "cxr_findings", "cxr_impression", *FINDING_NAMES,
              *(f"cxr_label_{k}" for k in FINDING_NAMES), "parameters", "ct_path", "frontal_path", "lateral_path"]
    with open(out / "cases.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    meta = {
        "version": VERSION,
        "finding_names": list(FINDING_NAMES),
        "dataset_seed": int(seed),
        "n": int(n),
        "shape_zyx": list(shape),
        "spacing_zyx_mm": list(spacing),
        "findings_spec": findings if isinstance(findings, str) or findings is None else str(findings),
        "p_normal": float(p_normal),
        "conventions": {
            "volume_axes": "arrays [z, y, x]; x toward patient LEFT, y POSTERIOR, z SUPERIOR (DICOM LPS)",
            "nifti": "data stored [x, y, z]; affine RAS+ = diag(-dx, -dy, dz), translation (-x0, -y0, z0)",
            "frontal": "PA, patient's right on the image left, superior at the top",
            "lateral": "left lateral, anterior on the image left, superior at the top",
            "hu": "int16 Hounsfield units, clipped to [-1024, 3071]",
        },
        "label_counts": counts,
        "cases": label_rows,
    }
    with open(out / "labels.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
    return {"out": str(out), "n": int(n), "seconds": round(time.perf_counter() - t0, 2),
            "seconds_per_case": round((time.perf_counter() - t0) / n, 3), "label_counts": counts,
            "cases_csv": str(out / "cases.csv"), "labels_json": str(out / "labels.json")}


# ----------------------------------------------------------------------------------------------
# command line


def build_parser(prog: str = "python -m generation.phantom") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Write a procedural chest phantom data set: CT (NIfTI/DICOM), frontal and lateral "
                    "radiographs (PNG), reports and labels (CSV/JSON).",
    )
    p.add_argument("--n", type=int, required=True, help="number of cases")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="grid preset: demo = 64^3 at 5x6x6 mm, viewer = 128x256x256 at 2.5x1.5x1.5 mm")
    p.add_argument("--shape", type=int, nargs=3, metavar=("Z", "Y", "X"), default=None, help="grid shape")
    p.add_argument("--spacing", type=float, nargs=3, metavar=("DZ", "DY", "DX"), default=None, help="voxel spacing, mm")
    p.add_argument("--findings", default=None,
                   help="same findings for every case, e.g. 'pleural_effusion:side=right:size=large,nodule'; "
                        f"'normal' for none; default: a random realistic mix. Names: {finding_names_help()}")
    p.add_argument("--p-normal", type=float, default=0.25, help="share of normal studies in the random mix")
    p.add_argument("--drr-spacing", type=float, default=None,
                   help="render the radiographs from a separate isotropic grid of this spacing (mm)")
    p.add_argument("--no-drr", action="store_true", help="do not write radiographs")
    p.add_argument("--overwrite", action="store_true", help="replace an existing data set in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns a process exit code (0 ok, 2 bad parameters)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        shape, spacing = PRESETS[args.preset] if args.preset else (DEFAULT_SHAPE, DEFAULT_SPACING)
        if args.shape is not None:
            shape = tuple(args.shape)
        if args.spacing is not None:
            spacing = tuple(args.spacing)
        summary = write_dataset(
            args.out, args.n, args.seed, shape, spacing, findings=args.findings, p_normal=args.p_normal,
            drr=not args.no_drr, drr_spacing_mm=args.drr_spacing,
            progress=not args.no_progress, overwrite=args.overwrite,
        )
    except PhantomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
