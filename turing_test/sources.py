"""Where study items come from: the DICOM study index (imported and generated) and generation jobs.

The only module of this app that reads the dicom and jobs apps' tables, so their changes stay here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from turing_test.reports import report_normalise
from turing_test.task_kinds import CT, CXR
from webapp.dicom.models import Series
from webapp.dicom.models import Study as DicomStudy

RADIOGRAPH_MODALITIES = ("DX", "CR", "DR", "RG", "OT", "SC")
FRONTAL_VIEWS = {"PA", "AP", "FRONTAL", ""}
LATERAL_VIEWS = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"}


def real_studies() -> QuerySet[DicomStudy]:
    return DicomStudy.objects.filter(source=DicomStudy.Source.IMPORTED, is_synthetic=False).order_by("-created")


def synthetic_studies() -> QuerySet[DicomStudy]:
    return DicomStudy.objects.filter(is_synthetic=True).exclude(source=DicomStudy.Source.PRESENTATION).order_by("-created")


def study_by_uid(uid: str) -> DicomStudy | None:
    return DicomStudy.objects.filter(study_instance_uid=uid).exclude(source=DicomStudy.Source.PRESENTATION).first()


def ct_series(study: DicomStudy) -> list[Series]:
    return [s for s in study.series.defer("metadata_json").order_by("series_number", "id") if s.modality == "CT" and s.is_volume]


def radiograph_series(study: DicomStudy) -> list[Series]:
    return [
        s for s in study.series.defer("metadata_json").order_by("series_number", "id") if s.modality in RADIOGRAPH_MODALITIES
    ]


def radiograph_view(series: Series) -> str:
    """'frontal' or 'lateral' from ViewPosition, else from the series description."""
    view = (series.view_position or "").upper()
    if view in LATERAL_VIEWS:
        return "lateral"
    if view and view not in FRONTAL_VIEWS:
        return "frontal"
    description = (series.series_description or "").upper()
    if "LAT" in description:
        return "lateral"
    return "frontal"


def image_modality(study: DicomStudy) -> str:
    """'ct' when the study has a CT volume, 'cxr' when it has radiographs, else ''."""
    if ct_series(study):
        return CT
    if radiograph_series(study):
        return CXR
    return ""


def series_paths(series: Series) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [root / inst.file_path for inst in series.instances.order_by("position", "instance_number", "id")]


def generator_info(study: DicomStudy) -> dict:
    """Preset, model version and job of a generated study (empty for imported ones)."""
    info: dict = {}
    try:
        output = study.generation_outputs.select_related("job").first()
    except AttributeError:  # jobs app without the relation
        output = None
    if output is not None:
        job = output.job
        info = {
            "job": str(job.public_id),
            "sample_index": output.index,
            "sample_seed": output.seed,
            "preset": job.preset,
            "model_version": job.model_version,
            "job_modality": job.modality,
            "guidance_scale": job.guidance_scale,
            "steps": job.num_inference_steps,
        }
    return info


def generator_name(study: DicomStudy) -> str:
    info = generator_info(study)
    return info.get("preset") or info.get("model_version") or (study.description or "synthetic")[:128]


def case_key(*, findings: str = "", impression: str = "", fallback: str = "") -> str:
    """Items built from the same report (a real case and what was generated from it) share a case."""
    text = report_normalise(findings=findings, impression=impression)
    if findings.strip() or impression.strip():
        return "report:" + hashlib.sha256(text.encode()).hexdigest()[:20]
    return fallback
