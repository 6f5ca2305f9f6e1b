"""Writes to the study index: import (folder, ZIP, generated output), presentation copies, delete."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pydicom
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from webapp.dicom.codec import write_presentation_copy
from webapp.dicom.codec_types import SeriesWritten
from webapp.dicom.ingest import (
    MEDIA_STORAGE_DIRECTORY,
    FileFacts,
    ImportRejected,
    as_paths,
    collect_files,
    instance_json,
    read_file_facts,
    series_geometry,
    series_metadata_text,
)
from webapp.dicom.models import Instance, Series, Study

log = logging.getLogger(__name__)

__all__ = [
    "ImportRejected",
    "report_parse",
    "study_create_presentation_copy",
    "study_delete",
    "study_import",
    "study_index_written_series",
]


def dicom_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "dicom"


def report_parse(text: str) -> dict[str, str]:
    """Findings and impression from a report file: JSON with those keys, or sectioned plain text."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ImportRejected(f"the report looks like JSON but does not parse: {exc}") from exc
        if not isinstance(data, dict):
            raise ImportRejected("a JSON report must be an object with findings and impression")
        return {"findings": str(data.get("findings", "") or ""), "impression": str(data.get("impression", "") or "")}
    # "FINDINGS: ... IMPRESSION: ..." (any case, either order); without headings all text is findings.
    heads = {m.group(1).lower(): m for m in re.finditer(r"(?im)^\s*(findings|impression)\s*:", stripped)}
    if not heads:
        return {"findings": stripped, "impression": ""}
    starts = sorted((m.start(), m.end(), name) for name, m in heads.items())
    out = {"findings": "", "impression": ""}
    for index, (_, end, name) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else len(stripped)
        out[name] = stripped[end:stop].strip()
    return out


def _study_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date() if value else None
    except ValueError:
        return None


def _read_all(files: list[Path]) -> list[FileFacts]:
    facts = []
    for path in files:
        fact = read_file_facts(path)
        if str(fact.dataset.SOPClassUID) == MEDIA_STORAGE_DIRECTORY:
            continue
        facts.append(fact)
    if not facts:
        raise ImportRejected("no DICOM images among the files")
    studies = {str(f.dataset.StudyInstanceUID) for f in facts}
    if len(studies) > 1:
        raise ImportRejected(f"the files hold {len(studies)} studies; import one study at a time")
    seen: dict[str, Path] = {}
    for f in facts:
        if f.sop_uid in seen:
            raise ImportRejected(f"{f.path.name} and {seen[f.sop_uid].name} are the same instance ({f.sop_uid})")
        seen[f.sop_uid] = f.path
    return facts


def _create_study(facts: list[FileFacts], *, owner, source: str, report: Mapping[str, str]) -> Study:
    first = facts[0].dataset
    study_uid = str(first.StudyInstanceUID)
    if Study.objects.filter(study_instance_uid=study_uid).exists():
        raise ImportRejected(f"study {study_uid} is already in the index")
    existing = Instance.objects.filter(sop_instance_uid__in=[f.sop_uid for f in facts]).first()
    if existing is not None:
        raise ImportRejected(f"instance {existing.sop_instance_uid} is already in the index")
    synthetic = source == Study.Source.GENERATED or any(
        str(f.dataset.get("SyntheticData", "")).upper() == "YES" for f in facts
    )
    modalities = sorted({str(f.dataset.get("Modality", "OT")) for f in facts})
    return Study.objects.create(
        study_instance_uid=study_uid,
        owner=owner,
        description=str(first.get("StudyDescription", ""))[:256],
        modalities="\\".join(modalities),
        is_synthetic=synthetic and source != Study.Source.PRESENTATION,
        source=source,
        patient_name=str(first.get("PatientName", ""))[:256],
        patient_id=str(first.get("PatientID", ""))[:64],
        patient_birth_date=str(first.get("PatientBirthDate", ""))[:8],
        patient_sex=str(first.get("PatientSex", ""))[:16],
        study_date=_study_date(str(first.get("StudyDate", ""))),
        study_time=str(first.get("StudyTime", ""))[:16],
        accession_number=str(first.get("AccessionNumber", ""))[:16],
        study_id=str(first.get("StudyID", ""))[:16],
        referring_physician_name=str(first.get("ReferringPhysicianName", ""))[:256],
        report_findings=report.get("findings", ""),
        report_impression=report.get("impression", ""),
    )


def _store_series(study: Study, series_uid: str, facts: list[FileFacts], created: list[Path]) -> Series:
    headers = [f.dataset for f in facts]
    modality = str(headers[0].get("Modality", "OT"))
    is_volume, reason, geometry, positions = series_geometry(headers, modality)
    # Index order: along the normal where known, else instance number (stable for radiographs).
    order = sorted(
        range(len(facts)),
        key=lambda i: (positions[i] is None, positions[i] or 0.0, int(headers[i].get("InstanceNumber", 0) or 0)),
    )
    series = Series.objects.create(
        study=study,
        series_instance_uid=series_uid,
        modality=modality,
        series_number=int(headers[0].get("SeriesNumber", 0) or 0) or None,
        series_description=str(headers[0].get("SeriesDescription", ""))[:256],
        view_position=str(headers[0].get("ViewPosition", ""))[:16],
        number_of_instances=len(facts),
        geometry=geometry,
        is_volume=is_volume,
        not_volume_reason=reason,
    )
    folder = dicom_root() / study.study_instance_uid / series_uid
    folder.mkdir(parents=True, exist_ok=True)
    rows, metadata = [], []
    for i in order:
        fact, ds = facts[i], headers[i]
        target = folder / f"{fact.sop_uid}.dcm"
        shutil.copyfile(fact.path, target)  # byte copy: the stored pixel offset stays valid
        created.append(target)
        metadata.append(instance_json(fact, study.study_instance_uid, series_uid))
        rows.append(
            Instance(
                series=series,
                sop_instance_uid=fact.sop_uid,
                sop_class_uid=str(ds.SOPClassUID),
                instance_number=int(ds.get("InstanceNumber", 0) or 0) or None,
                file_path=str(target.relative_to(settings.MEDIA_ROOT)),
                transfer_syntax_uid=fact.transfer_syntax,
                position=positions[i],
                rows=int(ds.get("Rows", 0) or 0),
                columns=int(ds.get("Columns", 0) or 0),
                number_of_frames=int(ds.get("NumberOfFrames", 1) or 1),
                pixel_data_offset=fact.pixel_data_offset,
                frame_length=fact.frame_length,
            )
        )
    Instance.objects.bulk_create(rows)
    series.metadata_json = series_metadata_text(metadata)
    series.save(update_fields=["metadata_json"])
    return series


def study_import(
    *,
    paths_or_zip: str | PathLike[str] | Iterable[str | PathLike[str]] | None = None,
    owner: AbstractBaseUser | None,
    report: Mapping[str, str] | str | None = None,
    source: str = Study.Source.IMPORTED,
    paths: Iterable[str | PathLike[str]] | None = None,
) -> Study:
    """Index one study from a folder, a ZIP, a file or a list of those; all or nothing.

    Files are copied under MEDIA_ROOT/dicom/<StudyUID>/<SeriesUID>/<SOPUID>.dcm. On any error the
    database is rolled back, copied files are removed and :class:`ImportRejected` says why.
    ``report`` is a mapping with findings/impression, or report text (see :func:`report_parse`).
    ``paths`` is an alias of ``paths_or_zip`` for callers holding a list of files.
    """
    if (paths_or_zip is None) == (paths is None):
        raise TypeError("give exactly one of paths_or_zip and paths")
    paths_or_zip = paths if paths_or_zip is None else paths_or_zip
    if source not in Study.Source.values:
        raise ValueError(f"source must be one of {Study.Source.values}")
    report_fields = report_parse(report) if isinstance(report, str) else dict(report or {})
    created: list[Path] = []
    study_dir: Path | None = None
    with tempfile.TemporaryDirectory(prefix="radsynth-import-") as scratch:
        try:
            facts = _read_all(collect_files(as_paths(paths_or_zip), Path(scratch)))
            by_series: dict[str, list[FileFacts]] = defaultdict(list)
            for fact in facts:
                by_series[str(fact.dataset.SeriesInstanceUID)].append(fact)
            with transaction.atomic():
                study = _create_study(facts, owner=owner, source=source, report=report_fields)
                study_dir = dicom_root() / study.study_instance_uid
                for series_uid, series_facts in by_series.items():
                    _store_series(study, series_uid, series_facts, created)
        except Exception:
            for path in created:
                path.unlink(missing_ok=True)
            if study_dir is not None and study_dir.exists() and not any(study_dir.rglob("*.dcm")):
                shutil.rmtree(study_dir, ignore_errors=True)
            raise
    log.info("indexed study %s (%s, %d instances)", study.study_instance_uid, source, len(facts))
    return study


def study_index_written_series(
    *,
    series: Sequence[SeriesWritten],
    owner: AbstractBaseUser | None,
    report: Mapping[str, str] | str | None = None,
    source: str = Study.Source.GENERATED,
) -> Study:
    """Index what the codec wrote (e.g. a generation job's CT series or CXR pair) as one study."""
    paths = [path for written in series for path in written.paths]
    return study_import(paths_or_zip=paths, owner=owner, report=report, source=source)


def study_create_presentation_copy(
    *, study: Study, owner: AbstractBaseUser | None, template: Mapping[str, Any] | None = None
) -> Study:
    """A blinded copy of ``study`` (identical headers, fresh UIDs) indexed as source=presentation.

    The copy carries no report and no synthetic flag; callers keep the mapping to the original.
    """
    instances = Instance.objects.filter(series__study=study).order_by("series__series_number", "position", "id")
    datasets = [pydicom.dcmread(Path(settings.MEDIA_ROOT) / inst.file_path) for inst in instances]
    with tempfile.TemporaryDirectory(prefix="radsynth-copy-") as scratch:
        written = write_presentation_copy(datasets, scratch, template)
        return study_index_written_series(series=written, owner=owner, source=Study.Source.PRESENTATION)


def study_delete(*, study: Study) -> None:
    """Remove a study's rows and files."""
    folder = dicom_root() / study.study_instance_uid
    with transaction.atomic():
        study.delete()
    shutil.rmtree(folder, ignore_errors=True)
