"""Writes for teaching cases: create (blank or from a generation job), edit, attach studies,
variants, publish, share, secret links, quiz attempts; ZIP export/import live in transfer.py
and are re-exported here.

Every function is keyword-only and raises :class:`CaseError` (a user-facing message → 4xx) for
bad input. Permission checks happen in the views/APIs through selectors; services trust them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from webapp.cases.errors import CaseError, CaseImportError
from webapp.cases.models import (
    Case,
    CaseLinkGrant,
    CaseStudy,
    CaseVariantJob,
    DiagnosticCertainty,
    Difficulty,
    QuizAttempt,
    QuizType,
    Tag,
    TagKind,
    Visibility,
    new_link_token,
)
from webapp.cases.schema import MAX_CHOICES

log = logging.getLogger(__name__)


TEXT_LIMITS = {
    "title": 200, "quiz_title": 200, "authors": 300, "diagnosis": 300, "quiz_question": 300,
    "history": 20000, "findings": 20000, "impression": 20000, "differential": 20000,
    "discussion": 50000, "teaching_points": 20000,
}
BOOL_FIELDS = ("findings_before_answer", "answer_after_attempt")
ENUM_FIELDS = {
    "diagnostic_certainty": DiagnosticCertainty.values, "difficulty": Difficulty.values, "quiz_type": QuizType.values,
}
EDITABLE_FIELDS = (*TEXT_LIMITS, *BOOL_FIELDS, *ENUM_FIELDS, "quiz_choices", "quiz_correct_index", "tags")
MODALITY_TAG = {"ct": "CT", "cxr-frontal": "Chest radiograph", "cxr-lateral": "Chest radiograph",
                "cxr-both": "Chest radiograph"}
MAX_VARIANT_SEEDS = 6


# --- tags ---------------------------------------------------------------------------------------


def tags_resolve(*, kind: str, names: Iterable[str]) -> list[Tag]:
    """Existing tags by slug, new ones created with ``kind``; blank names skipped."""
    if kind not in TagKind.values:
        raise CaseError(f"unknown tag kind {kind!r}; use one of {', '.join(TagKind.values)}")
    tags = []
    for raw in names:
        name = " ".join(str(raw).split())
        if not name:
            continue
        if len(name) > 64:
            raise CaseError(f"tag {name[:20]!r}… is longer than 64 characters")
        slug = slugify(name)[:80]
        if not slug:
            raise CaseError(f"tag {name!r} needs at least one letter or digit")
        tag, _ = Tag.objects.get_or_create(slug=slug, defaults={"name": name, "kind": kind})
        if tag not in tags:
            tags.append(tag)
    return tags


def _tags_set(case: Case, tags: Mapping[str, Iterable[str]]) -> None:
    if not isinstance(tags, Mapping) or not all(isinstance(v, list | tuple) for v in tags.values()):
        raise CaseError("tags must map a kind (organ-system, pathology, modality) to a list of names")
    unknown = set(tags) - set(TagKind.values)
    if unknown:
        raise CaseError(f"unknown tag kind(s) {', '.join(sorted(unknown))}; use {', '.join(TagKind.values)}")
    chosen: list[Tag] = []
    for kind in TagKind.values:
        for tag in tags_resolve(kind=kind, names=tags.get(kind, ())):
            if tag not in chosen:
                chosen.append(tag)
    case.tags.set(chosen)


# --- create / edit ------------------------------------------------------------------------------


def _clean_fields(data: Mapping, *, case: Case) -> dict:
    """Validated field values (CaseError on the first problem); unknown keys are refused."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise CaseError(f"unknown field(s): {', '.join(sorted(unknown))}")
    clean: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            value = data[field]
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise CaseError(f"{field} must be text")
            value = value.strip()
            if len(value) > limit:
                raise CaseError(f"{field} is longer than {limit} characters")
            clean[field] = value
    if "title" in clean and not clean["title"]:
        raise CaseError("the case needs a title")
    for field in BOOL_FIELDS:
        if field in data:
            if not isinstance(data[field], bool):
                raise CaseError(f"{field} must be true or false")
            clean[field] = data[field]
    for field, allowed in ENUM_FIELDS.items():
        if field in data:
            if data[field] not in allowed:
                raise CaseError(f"{field} must be one of {', '.join(allowed)}")
            clean[field] = data[field]
    if "quiz_choices" in data:
        choices = data["quiz_choices"] or []
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise CaseError("quiz_choices must be a list of answer texts")
        choices = [" ".join(c.split()) for c in choices if c.strip()]
        if len(choices) > MAX_CHOICES:
            raise CaseError(f"a quiz takes at most {MAX_CHOICES} choices")
        if any(len(c) > 300 for c in choices):
            raise CaseError("a quiz choice is longer than 300 characters")
        if len({c.casefold() for c in choices}) != len(choices):
            raise CaseError("two quiz choices are the same")
        clean["quiz_choices"] = choices
    if "quiz_correct_index" in data:
        index = data["quiz_correct_index"]
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise CaseError("quiz_correct_index must be a whole number or empty")
        clean["quiz_correct_index"] = index
    quiz_type = clean.get("quiz_type", case.quiz_type)
    choices = clean.get("quiz_choices", case.quiz_choices or [])
    correct = clean.get("quiz_correct_index", case.quiz_correct_index)
    if quiz_type == QuizType.MULTIPLE_CHOICE:
        if len(choices) < 2:
            raise CaseError("a multiple-choice quiz needs at least two choices")
        if correct is None or not 0 <= correct < len(choices):
            raise CaseError("mark exactly one of the choices as the correct answer")
    elif correct is not None and choices and not 0 <= correct < len(choices):
        raise CaseError("the correct answer must be one of the choices")
    return clean


@transaction.atomic
def case_create(*, owner, title: str, studies: Iterable = (), **fields) -> Case:
    """A draft case owned by ``owner``; ``fields`` as in :func:`case_update`."""
    case = Case(owner=owner, title="-")
    values = _clean_fields({"title": title, **fields}, case=case)
    tags = fields.get("tags")
    for field, value in values.items():
        setattr(case, field, value)
    if not case.authors:
        case.authors = owner.get_full_name() or owner.get_username()
    case.save()
    if tags is not None:
        _tags_set(case, tags)
    for study in studies:
        case_study_attach(case=case, study=study)
    return case


@transaction.atomic
def case_update(*, case: Case, data: Mapping) -> Case:
    """Change any editable field; ``tags`` is a mapping kind → names and replaces all tags."""
    values = _clean_fields(data, case=case)
    tags = data.get("tags")
    for field, value in values.items():
        setattr(case, field, value)
    if case.visibility != Visibility.DRAFT:
        problems = case_publish_problems(case=case, check_studies=False)
        if problems:
            raise CaseError("a published case must stay complete: " + "; ".join(problems))
    case.save()
    if tags is not None:
        _tags_set(case, tags)
    return case


def case_study_attach(*, case: Case, study, generation_output=None, caption: str = "") -> CaseStudy:
    """Add a study at the end of the case; attaching it again changes nothing (idempotent)."""
    existing = CaseStudy.objects.filter(case=case, study=study).first()
    if existing is not None:
        return existing
    position = (case.case_studies.aggregate(m=Max("position"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            return CaseStudy.objects.create(
                case=case, study=study, generation_output=generation_output, caption=caption[:200], position=position,
            )
    except IntegrityError:  # attached concurrently (worker and page at once)
        return CaseStudy.objects.get(case=case, study=study)


@transaction.atomic
def case_study_remove(*, case: Case, case_study_id: int) -> None:
    link = CaseStudy.objects.filter(case=case, pk=case_study_id).first()
    if link is None:
        raise CaseError("that study is not part of this case")
    if case.visibility != Visibility.DRAFT and case.case_studies.count() == 1:
        raise CaseError("a published case keeps at least one study; unpublish it first")
    link.delete()


def _output_caption(output) -> str:
    job = output.job
    label = f" · {job.batch_label}" if job.batch_label else ""
    return f"{job.get_modality_display()} · seed {output.seed} · guidance {job.guidance_scale:g}{label}"


@transaction.atomic
def case_create_from_job(*, job, by) -> tuple[Case, bool]:
    """A draft case from a succeeded generation job: report copied, every output study attached.

    Returns (case, created); saving the same job twice returns the case made the first time.
    """
    from webapp.jobs.models import JobStatus

    if job.status != JobStatus.SUCCEEDED:
        raise CaseError(f"only a succeeded generation can become a case; this one is {job.get_status_display().lower()}")
    outputs = [o for o in job.outputs.select_related("study").order_by("index") if o.study_id]
    if not outputs:
        raise CaseError("this generation has no stored study to show")
    existing = Case.objects.filter(owner=by, source_job=job).first()
    if existing is not None:
        return existing, False
    first_line = (job.impression or job.findings).strip().split("\n")[0]
    title = first_line.split(". ")[0].rstrip(".")[:200] or "Synthetic case"
    case = case_create(
        owner=by, title=title, history=job.indication, findings=job.findings, impression=job.impression,
        diagnosis=title[:300], quiz_title=f"{MODALITY_TAG.get(job.modality, 'Imaging')} case",
        tags={TagKind.MODALITY: [MODALITY_TAG.get(job.modality, job.modality)], TagKind.ORGAN_SYSTEM: ["Chest"]},
    )
    case.source_job = job
    case.save(update_fields=["source_job"])
    for output in outputs:
        case_study_attach(case=case, study=output.study, generation_output=output, caption=_output_caption(output))
    return case, True


# --- variants -----------------------------------------------------------------------------------


def _variant_base_job(case: Case):
    if case.source_job_id:
        return case.source_job
    link = case.case_studies.filter(generation_output__isnull=False).select_related("generation_output__job").first()
    return link.generation_output.job if link else None


@transaction.atomic
def case_variants_add(*, case: Case, by, kind: str, count: int = 2) -> list:
    """Queue generation jobs with the case's report and attach their studies when written.

    ``kind`` "new-seed" makes ``count`` jobs with fresh seeds; "guidance-sweep" one job per
    guidance scale (1, 3, 5, 7) with the original seed. Outputs join the case as soon as the
    worker stores them (see :func:`case_variant_output_attach`), and again, idempotently, when an
    editor opens the case (:func:`case_variants_sync`).
    """
    from webapp.jobs.services import JobError, job_variants_create

    base = _variant_base_job(case)
    if base is None:
        raise CaseError("this case has no generated study, so there is no report and settings to vary")
    if kind == "new-seed":
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_VARIANT_SEEDS:
            raise CaseError(f"ask for 1 to {MAX_VARIANT_SEEDS} new seeds")
        rounds = count
    elif kind == "guidance-sweep":
        rounds = 1
    else:
        raise CaseError(f"unknown variant kind {kind!r}; use 'new-seed' or 'guidance-sweep'")
    jobs = []
    try:
        for _ in range(rounds):
            jobs.extend(job_variants_create(job=base, owner=by, kind=kind))
    except JobError as exc:
        raise CaseError(str(exc)) from None
    CaseVariantJob.objects.bulk_create([CaseVariantJob(case=case, job=job, kind=kind) for job in jobs])
    return jobs


def case_variant_output_attach(*, output_id: int) -> int:
    """Attach one generation output's study to every case waiting for its job; returns how many."""
    from webapp.jobs.models import GenerationOutput

    output = GenerationOutput.objects.select_related("job", "study").filter(pk=output_id).first()
    if output is None or output.study_id is None:
        return 0
    attached = 0
    for link in CaseVariantJob.objects.filter(job_id=output.job_id).select_related("case"):
        case_study_attach(case=link.case, study=output.study, generation_output=output, caption=_output_caption(output))
        attached += 1
    return attached


def case_variants_sync(*, case: Case) -> int:
    """Attach stored outputs of this case's variant jobs that are not attached yet (idempotent)."""
    from webapp.jobs.models import GenerationOutput

    attached_ids = set(case.case_studies.values_list("study_id", flat=True))
    missing = GenerationOutput.objects.filter(
        job__case_variant_links__case=case, study__isnull=False
    ).exclude(study_id__in=attached_ids).select_related("job", "study")
    count = 0
    for output in missing:
        case_study_attach(case=case, study=output.study, generation_output=output, caption=_output_caption(output))
        count += 1
    return count


def on_generation_output_saved(sender, instance, **kwargs) -> None:
    """post_save of GenerationOutput: attach after the worker's transaction commits.

    `robust=True`: a problem here is logged and never fails the generation job itself.
    """
    if instance.study_id is None:
        return
    if not CaseVariantJob.objects.filter(job_id=instance.job_id).exists():
        return
    output_id = instance.pk
    transaction.on_commit(lambda: case_variant_output_attach(output_id=output_id), robust=True)


# --- publish / share / link ---------------------------------------------------------------------


def _burned_in_text(case: Case) -> list[str]:
    """Series that declare BurnedInAnnotation = YES (Radiopaedia: images without text overlays)."""
    from webapp.dicom.models import Series

    flagged = []
    for series in Series.objects.filter(study__case_links__case=case).only("metadata_json", "series_description"):
        try:
            items = json.loads(series.metadata_json or "[]")
        except ValueError:
            continue
        for item in items:
            values = (item.get("00280301") or {}).get("Value") or []
            if values and str(values[0]).upper() == "YES":
                flagged.append(series.series_description or "a series")
                break
    return flagged


def case_publish_problems(*, case: Case, check_studies: bool = True) -> list[str]:
    problems = []
    if not case.title.strip():
        problems.append("add a title")
    if not case.diagnosis.strip():
        problems.append("write the diagnosis")
    if case.quiz_type == QuizType.MULTIPLE_CHOICE:
        choices = case.quiz_choices or []
        if len(choices) < 2 or case.quiz_correct_index is None or not 0 <= case.quiz_correct_index < len(choices):
            problems.append("give the multiple-choice quiz at least two choices and mark the correct one")
    if check_studies:
        if not case.case_studies.exists():
            problems.append("attach at least one study")
        for description in _burned_in_text(case):
            problems.append(f"{description} has burned-in text (BurnedInAnnotation = YES); use images without overlays")
    return problems


@transaction.atomic
def case_publish(*, case: Case, visibility: str = Visibility.PUBLISHED) -> Case:
    """Draft → published (library) or unlisted (secret link); refuses an incomplete case."""
    if visibility not in (Visibility.PUBLISHED, Visibility.UNLISTED):
        raise CaseError("publish as 'published' or 'unlisted'")
    problems = case_publish_problems(case=case)
    if problems:
        raise CaseError("not ready to publish: " + "; ".join(problems) + ".")
    case.visibility = visibility
    if case.published_at is None:
        case.published_at = timezone.now()
    case.save(update_fields=["visibility", "published_at", "updated_at"])
    return case


def case_unpublish(*, case: Case) -> Case:
    case.visibility = Visibility.DRAFT
    case.save(update_fields=["visibility", "updated_at"])
    return case


@transaction.atomic
def case_link_rotate(*, case: Case) -> Case:
    """A new secret link; whoever opened the old one loses access."""
    case.link_token = new_link_token()
    case.save(update_fields=["link_token", "updated_at"])
    case.link_grants.all().delete()
    return case


def case_link_open(*, case: Case, user) -> None:
    """Record that ``user`` followed the secret link of an unlisted case."""
    if case.visibility == Visibility.UNLISTED:
        CaseLinkGrant.objects.get_or_create(case=case, user=user)


@transaction.atomic
def case_share(*, case: Case, username: str, remove: bool = False):
    """Let another educator edit the case (or stop sharing)."""
    from django.contrib.auth import get_user_model

    from webapp.core.roles import EDUCATORS, has_role

    user = get_user_model().objects.filter(username=(username or "").strip()).first()
    if user is None:
        raise CaseError(f"no user called {username!r}")
    if remove:
        case.editors.remove(user)
        return user
    if user.pk == case.owner_id:
        raise CaseError("the owner already edits this case")
    if not has_role(user, EDUCATORS):
        raise CaseError(f"{user.get_username()} is not an educator; only educators edit cases")
    case.editors.add(user)
    return user


@transaction.atomic
def case_delete(*, case: Case) -> None:
    """Remove the case (its studies stay in the index)."""
    case.delete()


# --- quiz ---------------------------------------------------------------------------------------


def quiz_attempt_submit(*, case: Case, learner, answer: str = "", choice_index: int | None = None) -> QuizAttempt:
    """Store a committed answer; multiple choice is scored, free text is self-assessed (None)."""
    if case.quiz_type == QuizType.MULTIPLE_CHOICE:
        choices = case.quiz_choices or []
        if len(choices) < 2 or case.quiz_correct_index is None:
            raise CaseError("this quiz has no answer choices yet")
        if choice_index is None or isinstance(choice_index, bool) or not isinstance(choice_index, int):
            raise CaseError("pick one of the answers")
        if not 0 <= choice_index < len(choices):
            raise CaseError(f"choice {choice_index} does not exist; pick one of the {len(choices)} answers")
        return QuizAttempt.objects.create(
            case=case, learner=learner, answer=choices[choice_index], choice_index=choice_index,
            correct=choice_index == case.quiz_correct_index,
        )
    text = (answer or "").strip() if isinstance(answer, str) else ""
    if not text:
        raise CaseError("write your answer before the diagnosis is revealed")
    if len(text) > 2000:
        raise CaseError("keep the answer under 2000 characters")
    return QuizAttempt.objects.create(case=case, learner=learner, answer=text, correct=None)


from webapp.cases.transfer import case_export_zip, case_import_zip  # noqa: E402

__all__ = [
    "CaseError", "CaseImportError", "case_create", "case_create_from_job", "case_delete", "case_export_zip",
    "case_import_zip", "case_link_open", "case_link_rotate", "case_publish", "case_publish_problems", "case_share",
    "case_study_attach", "case_study_remove", "case_unpublish", "case_update", "case_variant_output_attach",
    "case_variants_add", "case_variants_sync", "quiz_attempt_submit", "tags_resolve",
]
