"""Turn an engine result into files and index entries: DICOM study, NIfTI, PNG thumbnails.

Used by the Celery task (into MEDIA_ROOT, indexed for the viewer) and by `manage.py generate`
(into a directory of the caller's choosing).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image

from webapp.dicom.codec import write_ct_series, write_dx_image
from webapp.jobs.models import GenerationJob, GenerationOutput
from webapp.jobs.thumbnails import write_thumbnails


def nifti_affine(spacing_zyx: tuple[float, float, float], origin_lps: tuple[float, float, float]) -> np.ndarray:
    """RAS+ affine for an array stored [x, y, z] (see generation.conventions)."""
    dz, dy, dx = spacing_zyx
    ox, oy, oz = origin_lps
    affine = np.diag([-dx, -dy, dz, 1.0])
    affine[:3, 3] = (-ox, -oy, oz)
    return affine


def write_sample_files(sample, out_dir: Path, *, description: str, provenance: dict) -> dict:
    """DICOM series + NIfTI + thumbnails for one sample; returns paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dicom_dir = out_dir / "dicom"
    series = write_ct_series(
        sample.volume_hu,
        sample.spacing_mm,
        dicom_dir,
        origin_mm=sample.origin_lps_mm,
        series_description=description[:64],
        synthetic=True,
        # The non-blinded copy says how it was made; blinded copies drop this.
        extra={"ImageComments": json.dumps(provenance, sort_keys=True)[:10240]},
    )
    nifti_path = out_dir / "volume.nii.gz"
    nib.save(
        nib.Nifti1Image(np.ascontiguousarray(sample.volume_hu.transpose(2, 1, 0)), nifti_affine(sample.spacing_mm, sample.origin_lps_mm)),
        nifti_path,
    )
    thumbs = write_thumbnails(sample.volume_hu, sample.spacing_mm, out_dir / "thumbnails")
    return {"series": series, "dicom_dir": dicom_dir, "nifti": nifti_path, "thumbnails": thumbs}


def write_cxr_sample_files(sample, out_dir: Path, *, description: str, provenance: dict) -> dict:
    """One DX image per generated view (same study) + PNGs; a report-only sample writes no DICOM."""
    from pydicom.uid import generate_uid

    out_dir.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    written, thumbs = [], {}
    for number, (view, image) in enumerate(sorted(sample.images.items()), start=1):
        position = sample.view_positions.get(view, "PA" if view == "frontal" else "LL")
        series = write_dx_image(
            image, sample.pixel_spacing_mm, out_dir / "dicom" / f"{view}.dcm",
            view_position=position, study={"StudyInstanceUID": study_uid}, series_number=number,
            series_description=f"{description} {view}"[:64], synthetic=True, bits_stored=sample.bits_stored,
            extra={"ImageComments": json.dumps({**provenance, "view": view}, sort_keys=True)[:10240]},
        )  # fmt: skip
        written.append(series)
        thumbs[view] = out_dir / "thumbnails" / f"{view}.png"
        thumbs[view].parent.mkdir(parents=True, exist_ok=True)
        scale = 255.0 / ((1 << sample.bits_stored) - 1)
        Image.fromarray(np.clip(image.astype(np.float32) * scale, 0, 255).astype(np.uint8)).save(thumbs[view])
    return {"series": written, "dicom_dir": out_dir / "dicom" if written else None, "thumbnails": thumbs}


def outputs_write(*, job: GenerationJob, result) -> dict:
    """Write every sample of a job under MEDIA_ROOT/generated/<job>/ and index it as a study."""
    from webapp.dicom.services import study_import

    started = time.perf_counter()
    media_root = Path(settings.MEDIA_ROOT)
    base = media_root / "generated" / str(job.public_id)
    provenance = {
        "job": str(job.public_id), "preset": result.preset, "model_version": result.model_version,
        "guidance_scale": result.guidance_scale, "steps": result.num_inference_steps,
    }
    for index, sample in enumerate(result.samples):
        is_ct = result.modality == "ct"
        writer = write_sample_files if is_ct else write_cxr_sample_files
        files = writer(
            sample, base / f"sample-{index}", description=f"RadSynth {result.preset} seed {sample.seed}",
            provenance={**provenance, "seed": sample.seed},
        )
        drafted = getattr(sample, "report", None) or {}
        report = {"findings": job.findings, "impression": job.impression}
        if not (job.findings or job.impression) and drafted:
            report = drafted  # an image-prompted study carries the report drafted for it
        with transaction.atomic():
            study = None
            if files["dicom_dir"] is not None:
                study = study_import(
                    paths_or_zip=[files["dicom_dir"]], owner=job.owner, source="generated", report=report
                )
            GenerationOutput.objects.update_or_create(
                job=job, index=index,
                defaults={
                    "seed": sample.seed, "study": study,
                    "nifti_path": str(files["nifti"].relative_to(media_root)) if is_ct else "",
                    "thumbnails": {k: str(v.relative_to(media_root)) for k, v in files["thumbnails"].items()},
                    "report": drafted,
                    "coherence": dict(getattr(sample, "coherence", {}) or {}),
                },
            )
    return {"seconds": round(time.perf_counter() - started, 3)}
