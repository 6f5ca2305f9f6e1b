"""Study builder writes: studies, tasks and items (only while a study is a draft)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max

from turing_test.errors import Conflict, InvalidInput
from turing_test.models import Item, ItemPart, Study, Task
from turing_test.services.audit import audit_log
from turing_test.sources import (
    case_key,
    ct_series,
    generator_info,
    generator_name,
    image_modality,
    radiograph_series,
    radiograph_view,
)
from turing_test.task_kinds import (
    CT,
    CXR,
    PAIR_COHERENCE,
    REPORT_IMAGE_COHERENCE,
    REPORT_REALISM,
    kind_spec,
)
from webapp.dicom.models import Study as DicomStudy

MAX_ANCHOR_LENGTH = 300
STUDY_SETTINGS = ("title", "instructions", "allow_back", "forced_choice", "shuffle_tasks", "seed")


def _require_draft(study: Study) -> None:
    if study.status != Study.Status.DRAFT:
        raise Conflict(f"The study is {study.get_status_display().lower()}; only a draft can be changed.")


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("A title is required.")
    if len(title) > 200:
        raise InvalidInput("The title is longer than 200 characters.")
    return title


@transaction.atomic
def study_create(
    *,
    title: str,
    created_by,
    instructions: str = "",
    allow_back: bool = True,
    forced_choice: bool = False,
    shuffle_tasks: bool = True,
    seed: int | None = None,
) -> Study:
    fields: dict[str, Any] = {
        "title": _clean_title(title),
        "instructions": (instructions or "").strip(),
        "allow_back": bool(allow_back),
        "forced_choice": bool(forced_choice),
        "shuffle_tasks": bool(shuffle_tasks),
        "created_by": created_by,
    }
    if seed is not None:
        fields["seed"] = _clean_seed(seed)
    study = Study.objects.create(**fields)
    audit_log(study=study, actor=created_by, action="study.create", target=study, data=_settings(study))
    return study


def _clean_seed(seed: Any) -> int:
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise InvalidInput("The seed must be a whole number.") from None
    if not 0 <= value < 2**63:
        raise InvalidInput("The seed must be between 0 and 2^63 - 1.")
    return value


def _settings(study: Study) -> dict:
    return {name: getattr(study, name) for name in STUDY_SETTINGS}


@transaction.atomic
def study_update(*, study: Study, actor, **changes: Any) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    _require_draft(study)
    unknown = set(changes) - set(STUDY_SETTINGS)
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    before = _settings(study)
    for name, value in changes.items():
        if name == "title":
            value = _clean_title(value)
        elif name == "instructions":
            value = (value or "").strip()
        elif name == "seed":
            value = _clean_seed(value)
        else:
            value = bool(value)
        setattr(study, name, value)
    study.save()
    after = _settings(study)
    audit_log(
        study=study, actor=actor, action="study.update", target=study,
        data={k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]},
    )
    return study


def study_delete(*, study: Study, actor) -> None:
    """Delete a draft (and any presentation copies an earlier, failed preparation left)."""
    from turing_test.services.lifecycle import presentation_copies_delete

    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        _require_draft(study)
        if study.assignments.filter(ratings__isnull=False).exists():
            raise Conflict("Readers have rated this study; it cannot be deleted.")
        audit_log(study=None, actor=actor, action="study.delete", data={"study_id": study.pk, "title": study.title})
    presentation_copies_delete(study=study)
    with transaction.atomic():
        study.assignments.all().delete()
        study.delete()


def _clean_anchors(anchors: Any) -> list[str]:
    if not isinstance(anchors, list | tuple) or len(anchors) != 5:
        raise InvalidInput("Give exactly five anchor descriptions, for scores 1 to 5.")
    cleaned = []
    for score, text in enumerate(anchors, start=1):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"The anchor for score {score} is empty.")
        if len(text) > MAX_ANCHOR_LENGTH:
            raise InvalidInput(f"The anchor for score {score} is longer than {MAX_ANCHOR_LENGTH} characters.")
        cleaned.append(" ".join(text.split()))
    return cleaned


@transaction.atomic
def task_create(
    *,
    study: Study,
    actor,
    kind: str,
    modality: str = "",
    title: str = "",
    question: str = "",
    anchors: list[str] | None = None,
) -> Task:
    study = Study.objects.select_for_update().get(pk=study.pk)
    _require_draft(study)
    try:
        spec = kind_spec(kind)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    modality = (modality or "").strip().lower()
    if not spec.needs_image:
        modality = ""
    elif not modality and len(spec.modalities) == 1:
        modality = spec.modalities[0]
    if modality not in spec.modalities:
        allowed = " or ".join(m.upper() for m in spec.modalities if m)
        raise InvalidInput(f"{spec.label} needs the image modality {allowed}.")
    position = (study.tasks.aggregate(m=Max("position"))["m"] if study.tasks.exists() else -1) + 1
    task = Task.objects.create(
        study=study,
        kind=kind,
        modality=modality,
        title=(title or "").strip()[:200] or (spec.label if not modality else f"{spec.label} — {modality.upper()}"),
        question=(question or "").strip() or spec.question,
        anchors=_clean_anchors(list(anchors)) if anchors is not None else list(spec.anchors),
        position=position,
    )
    audit_log(
        study=study, actor=actor, action="task.create", target=task,
        data={"kind": kind, "modality": modality, "question": task.question, "anchors": task.anchors},
    )
    return task


@transaction.atomic
def task_update(*, task: Task, actor, title: str | None = None, question: str | None = None, anchors: list[str] | None = None) -> Task:
    task = Task.objects.select_for_update().select_related("study").get(pk=task.pk)
    _require_draft(task.study)
    before = {"title": task.title, "question": task.question, "anchors": task.anchors}
    if title is not None:
        task.title = _clean_title(title)
    if question is not None:
        if not question.strip():
            raise InvalidInput("The question is empty.")
        task.question = question.strip()
    if anchors is not None:
        task.anchors = _clean_anchors(anchors)
    task.save()
    after = {"title": task.title, "question": task.question, "anchors": task.anchors}
    audit_log(study=task.study, actor=actor, action="task.update", target=task, data={"before": before, "after": after})
    return task


@transaction.atomic
def task_delete(*, task: Task, actor) -> None:
    task = Task.objects.select_related("study").get(pk=task.pk)
    _require_draft(task.study)
    audit_log(study=task.study, actor=actor, action="task.delete", target=task, data={"title": task.title, "items": task.items.count()})
    task.delete()


# --- items ---------------------------------------------------------------------------------------


def _report_of(study: DicomStudy | None) -> tuple[str, str]:
    if study is None:
        return "", ""
    return study.report_findings or "", study.report_impression or ""


def _image_parts(study: DicomStudy, modality: str, series_uid: str, *, all_views: bool) -> list[dict]:
    """Part specs (role, series uid) for the images of ``study``."""
    if modality == CT:
        candidates = ct_series(study)
        if not candidates:
            raise InvalidInput(f"Study {study.study_instance_uid} has no CT volume series.")
        chosen = [s for s in candidates if s.series_instance_uid == series_uid] if series_uid else candidates[:1]
        if not chosen:
            raise InvalidInput(f"Series {series_uid} is not a CT volume of that study.")
        return [{"role": ItemPart.Role.IMAGE, "series_uid": chosen[0].series_instance_uid}]
    candidates = radiograph_series(study)
    if not candidates:
        raise InvalidInput(f"Study {study.study_instance_uid} has no radiographs.")
    if series_uid:
        chosen = [s for s in candidates if s.series_instance_uid == series_uid]
        if not chosen:
            raise InvalidInput(f"Series {series_uid} is not a radiograph of that study.")
        return [{"role": radiograph_view(chosen[0]), "series_uid": series_uid}]
    by_view: dict[str, str] = {}
    for series in candidates:
        by_view.setdefault(radiograph_view(series), series.series_instance_uid)
    if all_views:
        return [{"role": view, "series_uid": uid} for view, uid in sorted(by_view.items())]
    view = "frontal" if "frontal" in by_view else next(iter(by_view))
    return [{"role": view, "series_uid": by_view[view]}]


def _check_source(study: DicomStudy | None, what: str) -> None:
    if study is not None and study.source == DicomStudy.Source.PRESENTATION:
        raise InvalidInput(f"The {what} is a presentation copy; pick the original study.")


@transaction.atomic
def item_add(
    *,
    task: Task,
    actor,
    image_study: DicomStudy | None = None,
    image_series_uid: str = "",
    report_study: DicomStudy | None = None,
    report: Mapping[str, str] | None = None,
    report_synthetic: bool = False,
    reference_study: DicomStudy | None = None,
    reference_series_uid: str = "",
    generator: str = "",
    is_practice: bool = False,
    source_case: str = "",
    label: str = "",
) -> Item:
    """Add one stimulus to a task. What is needed depends on the task kind (see task_kinds):

    * image realism: ``image_study`` (real if imported, synthetic if generated);
    * report realism: ``report_study`` (its report, real) or ``report`` text (``report_synthetic``);
    * report coherence with real images: a real ``image_study`` (all its views) and the report
      under test: the study's own (real) or ``report`` text (``report_synthetic=True``);
    * image coherence with a real report / CT–report coherence: ``image_study`` under test, and
      the real report: ``report_study``'s, ``report`` text, or else the image study's own (a
      generated study carries the report it was generated from);
    * frontal/lateral pair: a real ``reference_study`` (+ series) and the other view from
      ``image_study`` (real or synthetic); with only a real ``image_study``, its own two views.
    """
    task = Task.objects.select_related("study").get(pk=task.pk)
    study = Study.objects.select_for_update().get(pk=task.study_id)
    _require_draft(study)
    spec = kind_spec(task.kind)
    for source, what in ((image_study, "image study"), (report_study, "report study"), (reference_study, "reference study")):
        _check_source(source, what)
    parts: list[dict] = []
    provenance: dict[str, Any] = {"task_kind": task.kind}
    generator = (generator or "").strip()[:128]

    if spec.needs_image and task.kind != PAIR_COHERENCE:
        if image_study is None:
            raise InvalidInput("Pick the image study for this item.")
        found = image_modality(image_study)
        if found != task.modality:
            raise InvalidInput(
                f"This task shows {task.modality.upper()} images; study {image_study.study_instance_uid} "
                f"holds {found.upper() or 'no usable images'}."
            )
        image_under_test = spec.under_test == "image"
        if not image_under_test and image_study.is_synthetic:
            raise InvalidInput("In this task the images are the real reference: pick an imported (real) study.")
        # Reference images (report coherence) show every view; an image under test is one view,
        # so real and synthetic items show the same number of images.
        all_views = task.kind == REPORT_IMAGE_COHERENCE and not image_series_uid
        for spec_part in _image_parts(image_study, task.modality, image_series_uid, all_views=all_views):
            parts.append(
                {
                    **spec_part,
                    "under_test": image_under_test,
                    "is_synthetic": image_study.is_synthetic,
                    "source_study": image_study,
                }
            )
        provenance["image_study_uid"] = image_study.study_instance_uid
        provenance["image_source"] = image_study.source
        if image_study.is_synthetic:
            provenance["generation"] = generator_info(image_study)
            generator = generator or generator_name(image_study)

    if task.kind == PAIR_COHERENCE:
        if image_study is None:
            raise InvalidInput("Pick the study that provides the view under test.")
        if image_modality(image_study) != CXR:
            raise InvalidInput("Pair coherence needs chest radiographs.")
        reference = reference_study or image_study
        if reference.is_synthetic:
            raise InvalidInput("The reference view must be real: pick an imported study.")
        if image_modality(reference) != CXR:
            raise InvalidInput("The reference study has no radiographs.")
        ref_part = _image_parts(reference, CXR, reference_series_uid, all_views=False)[0]
        other_view = "lateral" if ref_part["role"] == "frontal" else "frontal"
        if image_series_uid:
            test_part = _image_parts(image_study, CXR, image_series_uid, all_views=False)[0]
            if test_part["role"] != other_view:
                raise InvalidInput(f"The view under test must be the {other_view} view.")
        else:
            views = {p["role"]: p for p in _image_parts(image_study, CXR, "", all_views=True)}
            if other_view not in views:
                raise InvalidInput(f"Study {image_study.study_instance_uid} has no {other_view} view.")
            test_part = views[other_view]
        if test_part["series_uid"] == ref_part["series_uid"]:
            raise InvalidInput("The two views must be different images.")
        parts.append({**ref_part, "under_test": False, "is_synthetic": False, "source_study": reference})
        parts.append({**test_part, "under_test": True, "is_synthetic": image_study.is_synthetic, "source_study": image_study})
        provenance.update(
            reference_study_uid=reference.study_instance_uid,
            image_study_uid=image_study.study_instance_uid,
            image_source=image_study.source,
        )
        if image_study.is_synthetic:
            provenance["generation"] = generator_info(image_study)
            generator = generator or generator_name(image_study)

    findings = impression = ""
    if spec.needs_report:
        report_under_test = spec.under_test == "report"
        if report is not None:
            findings, impression = str(report.get("findings", "") or ""), str(report.get("impression", "") or "")
            report_is_synthetic = bool(report_synthetic)
            provenance["report_source"] = "entered text"
        elif report_study is not None:
            findings, impression = _report_of(report_study)
            report_is_synthetic = False
            provenance["report_source"] = f"study {report_study.study_instance_uid}"
        elif image_study is not None:
            findings, impression = _report_of(image_study)
            report_is_synthetic = False
            provenance["report_source"] = f"study {image_study.study_instance_uid}"
        else:
            raise InvalidInput("Pick a study with a report, or enter the report text.")
        if not (findings.strip() or impression.strip()):
            raise InvalidInput("The report is empty: the study has no findings or impression.")
        if len(findings) + len(impression) > 20000:
            raise InvalidInput("The report is longer than 20,000 characters.")
        if not report_under_test and report_is_synthetic:
            raise InvalidInput("In this task the report is the real reference; it cannot be synthetic.")
        if report_is_synthetic and not generator:
            raise InvalidInput("Name the generator of the synthetic report.")
        parts.append(
            {
                "role": ItemPart.Role.REPORT,
                "series_uid": "",
                "under_test": report_under_test,
                "is_synthetic": report_is_synthetic,
                "source_study": report_study if report is None else None,
                "findings": findings,
                "impression": impression,
            }
        )

    if task.kind == REPORT_REALISM and not parts:
        raise InvalidInput("Pick a study with a report, or enter the report text.")
    under_test = [p for p in parts if p["under_test"]]
    if not under_test:
        raise InvalidInput("The item has nothing under test.")
    is_synthetic = any(p["is_synthetic"] for p in under_test)
    if not is_synthetic:
        generator = ""

    if not source_case:
        case_findings, case_impression = findings, impression
        if not (case_findings or case_impression):
            case_findings, case_impression = _report_of(image_study)
        fallback = f"study:{(reference_study or image_study).study_instance_uid}" if (reference_study or image_study) else ""
        source_case = case_key(findings=case_findings, impression=case_impression, fallback=fallback) or "item"
    item = Item.objects.create(
        study=study,
        task=task,
        truth=Item.Truth.SYNTHETIC if is_synthetic else Item.Truth.REAL,
        is_practice=bool(is_practice),
        modality=task.modality,
        generator=generator,
        source_case=source_case[:128],
        label=(label or "").strip()[:200] or _default_label(task, parts, is_synthetic),
        provenance=provenance,
    )
    ItemPart.objects.bulk_create(
        [
            ItemPart(
                item=item,
                role=p["role"],
                position=i,
                under_test=p["under_test"],
                is_synthetic=p["is_synthetic"],
                source_study=p.get("source_study"),
                source_series_uid=p["series_uid"],
                report_findings=p.get("findings", ""),
                report_impression=p.get("impression", ""),
            )
            for i, p in enumerate(parts)
        ]
    )
    audit_log(
        study=study, actor=actor, action="item.add", target=item,
        data={"task": task.pk, "truth": item.truth, "practice": item.is_practice, "provenance": provenance},
    )
    return item


def _default_label(task: Task, parts: list[dict], synthetic: bool) -> str:
    kinds = "+".join(p["role"] for p in parts)
    return f"{'synthetic' if synthetic else 'real'} {kinds}"[:200]


@transaction.atomic
def item_delete(*, item: Item, actor) -> None:
    study = Study.objects.select_for_update().get(pk=item.study_id)
    _require_draft(study)
    audit_log(study=study, actor=actor, action="item.delete", target=item, data={"token": item.token, "truth": item.truth})
    item.delete()


@transaction.atomic
def item_set_practice(*, item: Item, actor, is_practice: bool) -> Item:
    study = Study.objects.select_for_update().get(pk=item.study_id)
    _require_draft(study)
    item.is_practice = bool(is_practice)
    item.save(update_fields=["is_practice"])
    audit_log(study=study, actor=actor, action="item.practice", target=item, data={"is_practice": item.is_practice})
    return item
