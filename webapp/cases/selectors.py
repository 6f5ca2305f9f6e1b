"""Reads for teaching cases: who may read or edit what, the library search, quiz history.

Rules (issue 9, decisions of the lead):
- editors: educators who own a case or with whom the owner shared it (superusers: every case);
- readers: any logged-in user reads PUBLISHED cases; UNLISTED ones only after opening the secret
  link (a CaseLinkGrant row); DRAFT ones only their editors;
- the answer (impression, diagnosis, differential, discussion, teaching points) reaches a learner
  only after they committed a quiz answer, unless the author switched `answer_after_attempt` off.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.urls import reverse

from webapp.cases.models import (
    Case,
    CaseLinkGrant,
    CaseStudy,
    CaseVariantJob,
    QuizAttempt,
    Tag,
    TagKind,
    Visibility,
)
from webapp.core.roles import EDUCATORS, has_role

LIBRARY_TEXT_FIELDS = (
    "title", "quiz_title", "history", "findings", "impression", "diagnosis", "differential",
    "discussion", "teaching_points", "authors",
)


# --- permissions --------------------------------------------------------------------------------


def _editable_q(user, prefix: str = "") -> Q:
    editors = Case.editors.through.objects.filter(user_id=user.pk).values("case_id")
    return Q(**{f"{prefix}owner_id": user.pk}) | Q(**{f"{prefix}pk__in": editors})


def cases_readable_q(user, prefix: str = "") -> Q:
    """Filter for cases ``user`` may read; ``prefix`` (e.g. "case__") for related queries."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    grants = CaseLinkGrant.objects.filter(user_id=user.pk).values("case_id")
    return (
        Q(**{f"{prefix}visibility": Visibility.PUBLISHED})
        | Q(**{f"{prefix}visibility": Visibility.UNLISTED, f"{prefix}pk__in": grants})
        | _editable_q(user, prefix)
    )


def case_can_edit(*, user, case: Case) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not has_role(user, EDUCATORS):
        return False
    return case.owner_id == user.pk or case.editors.filter(pk=user.pk).exists()


def case_can_read(*, user, case: Case) -> bool:
    if not user.is_authenticated:
        return False
    if case.visibility == Visibility.PUBLISHED or user.is_superuser:
        return True
    if case.owner_id == user.pk or case.editors.filter(pk=user.pk).exists():
        return True
    return case.visibility == Visibility.UNLISTED and case.link_grants.filter(user_id=user.pk).exists()


def cases_editable_by(*, user) -> QuerySet[Case]:
    if not user.is_authenticated:
        return Case.objects.none()
    if user.is_superuser:
        return Case.objects.all()
    if not has_role(user, EDUCATORS):
        return Case.objects.none()
    return Case.objects.filter(_editable_q(user))


def case_get_for_reader(*, user, public_id) -> Case | None:
    """The case when ``user`` may read it, else None (callers answer 404: no existence leak)."""
    return _with_relations(Case.objects.filter(cases_readable_q(user), public_id=public_id)).first()


def case_get_for_editor(*, user, public_id) -> Case | None:
    return _with_relations(cases_editable_by(user=user).filter(public_id=public_id)).first()


def case_answer_visible(*, user, case: Case) -> bool:
    """Server-side reveal rule: editors always; learners after a committed answer."""
    if case_can_edit(user=user, case=case) or not case.answer_after_attempt:
        return True
    return QuizAttempt.objects.filter(case=case, learner_id=user.pk).exists()


# --- DICOM access rule (registered in apps.py) ----------------------------------------------------


def study_readable_through_case(user, study) -> bool:
    """A learner may open a study attached to a case they may read (published, granted, editor)."""
    if not user.is_authenticated:
        return False
    return CaseStudy.objects.filter(cases_readable_q(user, "case__"), study_id=study.pk).exists()


def studies_readable_through_cases_q(user) -> Q:
    if not user.is_authenticated:
        return Q(pk__in=[])
    links = CaseStudy.objects.filter(cases_readable_q(user, "case__")).values("study_id")
    return Q(pk__in=links)


# --- library ------------------------------------------------------------------------------------


def _with_relations(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related("owner", "source_job").prefetch_related(
        "tags",
        Prefetch(
            "case_studies",
            queryset=CaseStudy.objects.select_related("study", "generation_output").order_by("position", "id"),
        ),
    )


def case_library_search(
    *, user, q: str = "", tag: str = "", modality: str = "", difficulty: str = "", realness: str = "",
    mine: bool = False,
) -> QuerySet[Case]:
    """Published cases (plus the user's own and shared ones), filtered; SQLite- and PostgreSQL-safe.

    ``q`` matches every word (AND) in any text field or tag name (icontains); ``tag`` is a tag
    slug; ``modality`` a DICOM modality code of an attached study or a modality tag; ``realness``
    "real" (has a real study) or "synthetic" (has a synthetic one). Unlisted cases are listed
    only to their editors.
    """
    if not user.is_authenticated:
        return Case.objects.none()
    listed = Q(visibility=Visibility.PUBLISHED) | _editable_q(user)
    qs = Case.objects.filter(listed)
    if mine:
        qs = qs.filter(_editable_q(user))
    for word in q.split()[:10]:
        text = Q()
        for field in LIBRARY_TEXT_FIELDS:
            text |= Q(**{f"{field}__icontains": word})
        tagged = Case.tags.through.objects.filter(tag__name__icontains=word).values("case_id")
        qs = qs.filter(text | Q(pk__in=tagged))
    if tag:
        qs = qs.filter(pk__in=Case.tags.through.objects.filter(tag__slug=tag).values("case_id"))
    if modality:
        by_study = CaseStudy.objects.filter(study__modalities__icontains=modality).values("case_id")
        by_tag = Case.tags.through.objects.filter(
            tag__kind=TagKind.MODALITY, tag__name__iexact=modality
        ).values("case_id")
        qs = qs.filter(Q(pk__in=by_study) | Q(pk__in=by_tag))
    if difficulty:
        qs = qs.filter(difficulty=difficulty)
    if realness in ("real", "synthetic"):
        links = CaseStudy.objects.filter(study__is_synthetic=realness == "synthetic").values("case_id")
        qs = qs.filter(pk__in=links)
    qs = qs.annotate(
        synthetic_count=Count("case_studies", filter=Q(case_studies__study__is_synthetic=True)),
        real_count=Count("case_studies", filter=Q(case_studies__study__is_synthetic=False)),
    )
    return _with_relations(qs.order_by(F("published_at").desc(nulls_last=True), "-updated_at", "-id"))


def library_facets(*, user) -> dict:
    """Tags (by kind) and modalities that occur in cases the user can find in the library."""
    listed = Case.objects.filter(Q(visibility=Visibility.PUBLISHED) | _editable_q(user)).values("pk")
    tags = Tag.objects.filter(cases__pk__in=listed).distinct().order_by("kind", "name")
    by_kind: dict[str, list[Tag]] = {}
    for tag in tags:
        by_kind.setdefault(tag.get_kind_display(), []).append(tag)
    modalities: set[str] = set()
    for value in CaseStudy.objects.filter(case__pk__in=listed).values_list("study__modalities", flat=True):
        modalities.update(m for m in (value or "").split("\\") if m)
    return {"tags_by_kind": by_kind, "modalities": sorted(modalities)}


# --- presentation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyPanel:
    case_study: CaseStudy
    synthetic: bool
    viewer_url: str
    thumbnails: list[tuple[str, str]]  # (plane, url)
    modalities: str


def case_study_panels(*, case: Case) -> list[StudyPanel]:
    panels = []
    for link in case.case_studies.all():
        study = link.study
        output = link.generation_output
        thumbs = []
        for plane in ("axial", "coronal", "sagittal"):
            if output is not None and (output.thumbnails or {}).get(plane):
                thumbs.append((plane, reverse("cases:thumbnail", args=[case.public_id, link.pk, plane])))
        panels.append(
            StudyPanel(
                case_study=link,
                synthetic=study.is_synthetic,
                viewer_url=f"/viewer/{study.study_instance_uid}/",
                thumbnails=thumbs,
                modalities=", ".join(study.modality_list),
            )
        )
    return panels


def case_has_synthetic(*, case: Case) -> bool:
    return any(link.study.is_synthetic for link in case.case_studies.all())


def case_tags_by_kind(*, case: Case) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {kind: [] for kind in TagKind.values}
    for tag in case.tags.all():
        out[tag.kind].append(tag.name)
    return out


def case_variant_status(*, case: Case) -> list[CaseVariantJob]:
    return list(case.variant_jobs.select_related("job").order_by("created_at", "id"))


def case_by_link_token(*, token: str) -> Case | None:
    if not token or len(token) > 64:
        return None
    return Case.objects.filter(link_token=token).first()


# --- quiz ---------------------------------------------------------------------------------------


def quiz_attempts_for(*, learner, case: Case | None = None) -> QuerySet[QuizAttempt]:
    qs = QuizAttempt.objects.filter(learner_id=learner.pk).select_related("case")
    if case is not None:
        qs = qs.filter(case=case)
    return qs.order_by("-created_at", "-id")


def quiz_attempt_get(*, learner, case: Case, attempt_id: int) -> QuizAttempt | None:
    return QuizAttempt.objects.filter(pk=attempt_id, case=case, learner_id=learner.pk).first()
