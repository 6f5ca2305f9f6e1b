"""Study lifecycle: prepare (presentation copies + blinding audit, in a worker), open, close.

draft --prepare--> preparing --(worker)--> ready --open--> open --close--> closed
``study_open`` on a draft prepares first and opens as soon as the copies exist.
"""

from __future__ import annotations

import logging
import random
import secrets
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from turing_test import presentation as pres
from turing_test.blinding_audit import cues_audit, header_features, image_features, report_features
from turing_test.errors import Conflict, InvalidInput
from turing_test.models import Assignment, Item, ItemPart, Study
from turing_test.reports import report_normalise
from turing_test.services.audit import audit_log
from turing_test.services.readers import assignment_order_build
from turing_test.sources import series_paths
from turing_test.task_kinds import CT
from webapp.dicom.codec import write_presentation_copy
from webapp.dicom.codec_geometry import rescaled_pixels
from webapp.dicom.models import Series
from webapp.dicom.models import Study as DicomStudy

log = logging.getLogger(__name__)


def _validate_for_prepare(study: Study) -> None:
    tasks = list(study.tasks.all())
    if not tasks:
        raise InvalidInput("Add at least one task.")
    problems = []
    for task in tasks:
        truths = set(task.items.filter(is_practice=False).values_list("truth", flat=True))
        if truths != {Item.Truth.REAL, Item.Truth.SYNTHETIC}:
            missing = {Item.Truth.REAL, Item.Truth.SYNTHETIC} - truths
            problems.append(f"“{task.title}” has no {' and no '.join(sorted(missing))} item")
    if problems:
        raise InvalidInput("Every task needs real and synthetic items: " + "; ".join(problems) + ".")


@transaction.atomic
def study_prepare(*, study: Study, actor, open_after: bool = False) -> Study:
    """Start making presentation copies and running the blinding audit (Celery, queue cpu)."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status != Study.Status.DRAFT:
        raise Conflict(f"The study is {study.get_status_display().lower()}; only a draft can be prepared.")
    _validate_for_prepare(study)
    study.status = Study.Status.PREPARING
    study.open_when_ready = bool(open_after)
    study.preparation_done = 0
    study.preparation_total = study.items.count()
    study.preparation_error = ""
    study.save()
    audit_log(study=study, actor=actor, action="study.prepare", target=study, data={"open_after": study.open_when_ready})
    from turing_test.tasks import study_presentation_build_task

    study_pk = study.pk
    transaction.on_commit(lambda: study_presentation_build_task.delay(study_pk=study_pk))
    return study


@transaction.atomic
def study_open(*, study: Study, actor) -> Study:
    """Open for reading: now if prepared, else prepare first and open when the copies are made."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.DRAFT:
        return study_prepare(study=study, actor=actor, open_after=True)
    if study.status == Study.Status.PREPARING:
        study.open_when_ready = True
        study.save(update_fields=["open_when_ready"])
        audit_log(study=study, actor=actor, action="study.open_requested", target=study)
        return study
    if study.status != Study.Status.READY:
        raise Conflict(f"The study is {study.get_status_display().lower()}; it cannot be opened.")
    return _open_now(study, actor)


def _open_now(study: Study, actor) -> Study:
    study.status = Study.Status.OPEN
    study.open_when_ready = False
    study.opened_at = timezone.now()
    study.save()
    for assignment in Assignment.objects.filter(study=study):
        assignment_order_build(assignment=assignment)
    audit_log(study=study, actor=actor, action="study.open", target=study, data={"readers": study.assignments.count()})
    return study


@transaction.atomic
def study_close(*, study: Study, actor) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status != Study.Status.OPEN:
        raise Conflict("Only an open study can be closed.")
    study.status = Study.Status.CLOSED
    study.closed_at = timezone.now()
    study.save()
    audit_log(
        study=study, actor=actor, action="study.close", target=study,
        data={"submitted": study.assignments.filter(status=Assignment.Status.SUBMITTED).count()},
    )
    return study


def presentation_copies_delete(*, study: Study) -> int:
    """Delete every presentation copy made for ``study`` (rows and files)."""
    from webapp.dicom.services import study_delete as dicom_study_delete

    copies = list(DicomStudy.objects.filter(turing_presented_items__study=study).distinct())
    for copy in copies:
        dicom_study_delete(study=copy)
    return len(copies)


def study_unprepare(*, study: Study, actor) -> Study:
    """Back to draft (to edit items): the presentation copies are deleted."""
    from webapp.dicom.services import study_delete as dicom_study_delete

    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if study.status not in (Study.Status.READY, Study.Status.DRAFT):
            raise Conflict("Only a prepared study that is not open can go back to draft.")
        copies = list(DicomStudy.objects.filter(turing_presented_items__study=study).distinct())
        ItemPart.objects.filter(item__study=study).update(presentation_series_uid="", presentation_report="")
        Item.objects.filter(study=study).update(presentation_study=None, audit_features={})
        study.status = Study.Status.DRAFT
        study.open_when_ready = False
        study.prepared_at = None
        study.preparation_done = 0
        study.blinding_audit = {}
        study.save()
        audit_log(study=study, actor=actor, action="study.unprepare", target=study, data={"copies_deleted": len(copies)})
    for copy in copies:
        dicom_study_delete(study=copy)
    return study


# --- the worker's part ---------------------------------------------------------------------------


def _header_dict(ds: pydicom.Dataset) -> tuple[dict, int, int]:
    header = {}
    for element in ds:
        if element.keyword and element.keyword != "PixelData":
            value = element.value
            header[element.keyword] = list(value) if isinstance(value, pydicom.multival.MultiValue) else value
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        header["TransferSyntaxUID"] = str(meta.TransferSyntaxUID)
    n_private = sum(1 for element in ds if element.tag.is_private)
    return header, len(ds), n_private


def _grids(items: list[Item]) -> dict[str, object]:
    ct_sources, cxr_sources = [], []
    for item in items:
        for part in item.parts.all():
            if not part.is_image:
                continue
            series = Series.objects.defer("metadata_json").get(series_instance_uid=part.source_series_uid)
            if item.modality == CT:
                geometry = series.geometry or {}
                shape = (geometry.get("slices"), geometry.get("rows"), geometry.get("columns"))
                if None in shape or not geometry.get("spacing_mm"):
                    raise InvalidInput(f"Series {series.series_instance_uid} has no volume geometry.")
                ct_sources.append((shape, geometry["spacing_mm"]))
            else:
                path = series_paths(series)[0]
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                cxr_sources.append(((int(ds.Rows), int(ds.Columns)), pres.radiograph_spacing(ds)))
    grids: dict[str, object] = {}
    if ct_sources:
        grids["ct"] = pres.ct_common_grid(ct_sources)
    if cxr_sources:
        grids["cxr"] = pres.cxr_common_grid(cxr_sources)
    return grids


def _grid_key(grids: dict[str, object], modality: str) -> str:
    grid = grids.get("ct" if modality == CT else "cxr")
    return repr(grid) if grid is not None else ""


def _item_is_presented(item: Item, grids: dict[str, object]) -> bool:
    """Done in this preparation: every part has its copy, made on the study's current grid (a copy
    left by an earlier, failed preparation of a different item set is made again)."""
    parts = list(item.parts.all())
    images_done = all(p.presentation_series_uid for p in parts if p.is_image)
    reports_done = all(p.presentation_report for p in parts if not p.is_image)
    has_images = any(p.is_image for p in parts)
    if has_images and (item.presentation_study_id is None or item.audit_features.get("grid") != _grid_key(grids, item.modality)):
        return False
    return images_done and reports_done


def _item_present(item: Item, grids: dict[str, object]) -> None:
    """Make the blinded copy of one item and record its cue features (source and presentation)."""
    from webapp.dicom.services import study_delete as dicom_study_delete
    from webapp.dicom.services import study_index_written_series

    stale_copy = item.presentation_study
    parts = list(item.parts.order_by("position", "id"))
    image_parts = [p for p in parts if p.is_image]
    source_features: dict = {}
    presentation_features: dict = {}
    updates: dict[int, dict] = {}
    presentation_study = None
    with tempfile.TemporaryDirectory(prefix="radsynth-vtt-") as scratch:
        tmp = Path(scratch)
        datasets = []
        for index, part in enumerate(image_parts):
            series = Series.objects.defer("metadata_json").get(series_instance_uid=part.source_series_uid)
            paths = series_paths(series)
            src_header, n_el, n_priv = _header_dict(pydicom.dcmread(paths[0], stop_before_pixels=True))
            prefix = part.role
            if item.modality == CT:
                volume, spacing = pres.read_ct(paths)
                source_features.update(image_features(volume, spacing, prefix=prefix))
                regridded = pres.ct_to_grid(volume, spacing, grids["ct"])
                datasets.extend(pres.write_ct_intermediate(regridded, grids["ct"], tmp / f"in{index}"))
            else:
                image, spacing = pres.read_radiograph(paths[0])
                source_features.update(image_features(image, (spacing or 0.0, spacing or 0.0), prefix=prefix))
                regridded = pres.cxr_to_grid(image, grids["cxr"])
                datasets.append(pres.write_cxr_intermediate(regridded, grids["cxr"], tmp / f"in{index}.dcm", view=part.role))
            source_features.update({f"{prefix}.{k}": v for k, v in header_features(src_header, n_elements=n_el, n_private=n_priv).items()})
        written = []
        if datasets:
            written = write_presentation_copy(datasets, tmp / "out", pres.presentation_template(item.modality))
            for part, series_written in zip(image_parts, written, strict=True):
                prefix = part.role
                copies = [pydicom.dcmread(p) for p in series_written.paths]
                first = copies[0]
                header, n_el, n_priv = _header_dict(first)
                presentation_features.update(
                    {f"{prefix}.{k}": v for k, v in header_features(header, n_elements=n_el, n_private=n_priv).items()}
                )
                presentation_features[f"{prefix}.file_bytes"] = float(series_written.paths[0].stat().st_size)
                if item.modality == CT:
                    array = np.stack([rescaled_pixels(ds) for ds in copies])
                    spacing = [float(first.SliceThickness), *[float(v) for v in first.PixelSpacing]]
                else:
                    array = pres.radiograph_pixels(first)
                    spacing = [float(v) for v in first.PixelSpacing]
                presentation_features.update(image_features(array, spacing, prefix=prefix))
                updates[part.pk] = {"presentation_series_uid": series_written.series_uid}
        for part in parts:
            if part.is_image:
                continue
            text = report_normalise(findings=part.report_findings, impression=part.report_impression)
            source_features.update(report_features(f"{part.report_findings}\n{part.report_impression}"))
            presentation_features.update(report_features(text))
            updates[part.pk] = {"presentation_report": text}
        with transaction.atomic():
            if written:
                presentation_study = study_index_written_series(
                    series=written, owner=None, source=DicomStudy.Source.PRESENTATION
                )
            for part_pk, fields in updates.items():
                ItemPart.objects.filter(pk=part_pk).update(**fields)
            Item.objects.filter(pk=item.pk).update(
                presentation_study=presentation_study,
                audit_features={
                    "source": source_features,
                    "presentation": presentation_features,
                    "grid": _grid_key(grids, item.modality) if image_parts else "",
                },
            )
    if stale_copy is not None and stale_copy != presentation_study:
        dicom_study_delete(study=stale_copy)


POOLED_GROUPS = {
    ("image", "ct"): "CT images under test (all tasks)",
    ("image", "cxr"): "Chest X-rays under test (all tasks)",
    ("report", ""): "Reports under test (all tasks)",
}


def _under_test_features(item: Item, layer: str) -> dict[tuple[str, str], dict]:
    """Features of the part(s) whose truth is judged, renamed so items of different tasks compare."""
    features = item.audit_features.get(layer, {})
    out: dict[tuple[str, str], dict] = {}
    for part in item.parts.all():
        if not part.under_test:
            continue
        if part.is_image:
            prefix = f"{part.role}."
            out[("image", item.modality)] = {"image." + k[len(prefix):]: v for k, v in features.items() if k.startswith(prefix)}
        else:
            out[("report", "")] = {k: v for k, v in features.items() if k.startswith("report.")}
    return out


def _audit(study: Study) -> dict:
    """Per task (everything a reader sees of an item) and pooled over tasks (the part under test)."""
    permutations = int(getattr(settings, "TURING_AUDIT_PERMUTATIONS", 50))
    seed = study.seed % (2**31)
    result = {"tasks": [], "pooled": [], "warning": False, "inconclusive": False, "ran_at": timezone.now().isoformat()}
    items = list(study.items.prefetch_related("parts").order_by("token"))
    for task in study.tasks.all():
        task_items = [i for i in items if i.task_id == task.pk]
        labels = [0 if i.truth == Item.Truth.REAL else 1 for i in task_items]
        entry = {"task": task.pk, "title": task.title}
        for layer in ("presentation", "source"):
            rows = [i.audit_features.get(layer, {}) for i in task_items]
            entry[layer] = cues_audit(rows, labels, seed=seed, permutations=permutations).as_dict()
        result["tasks"].append(entry)
    for key, title in POOLED_GROUPS.items():
        group = {"presentation": ([], []), "source": ([], [])}
        for item in items:
            for layer in group:
                features = _under_test_features(item, layer).get(key)
                if features is not None:
                    group[layer][0].append(features)
                    group[layer][1].append(0 if item.truth == Item.Truth.REAL else 1)
        if not group["presentation"][0]:
            continue
        entry = {"group": f"{key[0]}-{key[1] or 'all'}", "title": title}
        for layer, (rows, labels) in group.items():
            entry[layer] = cues_audit(rows, labels, seed=seed, permutations=permutations).as_dict()
        result["pooled"].append(entry)
    for entry in result["tasks"] + result["pooled"]:
        result["warning"] = result["warning"] or entry["presentation"]["warning"]
        result["inconclusive"] = result["inconclusive"] or entry["presentation"]["auc"] is None
    return result


def study_presentation_build(*, study_pk: int) -> str:
    """The worker's job: copies for every item (skipping those already made), then the audit."""
    study = Study.objects.filter(pk=study_pk).first()
    if study is None or study.status != Study.Status.PREPARING:
        return "skipped"
    items = list(Item.objects.filter(study=study).prefetch_related("parts"))
    random.Random(secrets.randbits(64)).shuffle(items)  # creation order must not follow the builder's
    try:
        grids = _grids(items)
        done = 0
        for item in items:
            if not _item_is_presented(item, grids):
                _item_present(item, grids)
            done += 1
            Study.objects.filter(pk=study.pk).update(preparation_done=done)
        audit = _audit(study)
    except Exception as exc:  # noqa: BLE001 - any failure goes back to the admin as a message
        log.exception("presentation copies for study %s failed", study_pk)
        with transaction.atomic():
            study = Study.objects.select_for_update().get(pk=study_pk)
            study.status = Study.Status.DRAFT
            study.open_when_ready = False
            study.preparation_error = f"{type(exc).__name__}: {exc}"[:2000]
            study.save()
            audit_log(study=study, actor=None, action="study.prepare_failed", target=study, data={"error": study.preparation_error})
        return "failed"
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study_pk)
        if study.status != Study.Status.PREPARING:
            return "skipped"
        study.blinding_audit = audit
        study.status = Study.Status.READY
        study.prepared_at = timezone.now()
        study.preparation_done = len(items)
        study.save()
        audit_log(study=study, actor=None, action="study.prepared", target=study, data={"audit_warning": audit["warning"]})
        if study.open_when_ready:
            _open_now(study, None)
    return "ok"
