"""Teaching case pages: library, case, editor, quiz and reveal, export/import, secret links."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.http import require_POST

from webapp.cases import selectors
from webapp.cases.errors import CaseError
from webapp.cases.forms import (
    CaseForm,
    ImportForm,
    LibraryFilterForm,
    NewCaseForm,
    PublishForm,
    QuizForm,
    ShareForm,
    VariantsForm,
)
from webapp.cases.models import TagKind, Visibility
from webapp.cases.services import (
    case_create,
    case_create_from_job,
    case_delete,
    case_export_zip,
    case_import_zip,
    case_link_open,
    case_link_rotate,
    case_publish,
    case_publish_problems,
    case_share,
    case_study_remove,
    case_unpublish,
    case_update,
    case_variants_add,
    case_variants_sync,
    quiz_attempt_submit,
)
from webapp.core.permissions import role_required
from webapp.core.roles import EDUCATORS, has_role

VIEWER_EMBED = "dicom/_viewer_embed.html"
log = logging.getLogger(__name__)


def _viewer_embed() -> str | None:
    """The DICOM app's embeddable viewer when it is installed; pages link to /viewer/ otherwise."""
    try:
        get_template(VIEWER_EMBED)
    except TemplateDoesNotExist:
        return None
    return VIEWER_EMBED


def _viewer_for(request: HttpRequest, study) -> dict | None:
    """Context for the embedded viewer of one study, or None (then the page links to /viewer/)."""
    if _viewer_embed() is None:
        return None
    try:
        from webapp.dicom.views import viewer_context

        context = viewer_context(request, study)
    except Exception:  # a viewer problem must not take the case page down
        log.exception("no embedded viewer for study %s", study.study_instance_uid)
        return None
    if context.get("viewer_mode") not in ("ct", "cxr"):
        return None
    return {key: value for key, value in context.items() if key.startswith("viewer_")}


def _readable(request: HttpRequest, case_id):
    case = selectors.case_get_for_reader(user=request.user, public_id=case_id)
    if case is None:
        raise Http404("No such case, or it is not published.")
    return case


def _editable(request: HttpRequest, case_id):
    case = selectors.case_get_for_editor(user=request.user, public_id=case_id)
    if case is None:
        raise Http404("No such case among the cases you may edit.")
    return case


def _study_context(request: HttpRequest, case) -> dict:
    """Study panels, the one shown in the embedded viewer (?study=<link id>), the synthetic flag."""
    panels = selectors.case_study_panels(case=case)
    selected = panels[0] if panels else None
    raw = request.GET.get("study", "")
    if raw.isdigit():
        selected = next((p for p in panels if p.case_study.pk == int(raw)), selected)
    return {
        "panels": panels,
        "selected": selected,
        "viewer": _viewer_for(request, selected.case_study.study) if selected else None,
        "has_synthetic": selectors.case_has_synthetic(case=case),
    }


@login_required
def library(request: HttpRequest) -> HttpResponse:
    form = LibraryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    cases = selectors.case_library_search(user=request.user, **{k: v for k, v in filters.items() if v})[:200]
    context = {
        "form": form,
        "cases": cases,
        "facets": selectors.library_facets(user=request.user),
        "active_tag": filters.get("tag", ""),
        "is_editor": has_role(request.user, EDUCATORS),
    }
    return render(request, "cases/library.html", context, status=200 if not form.errors else 400)


@role_required(EDUCATORS)
def case_new(request: HttpRequest) -> HttpResponse:
    from webapp.dicom.selectors import studies_visible_to

    visible = studies_visible_to(request.user).exclude(source="presentation")
    recent = list(visible.order_by("-created").values_list("pk", flat=True)[:200])
    studies = visible.filter(pk__in=recent).order_by("-created")
    form = NewCaseForm(request.POST if request.method == "POST" else None, studies=studies)
    if request.method == "POST" and form.is_valid():
        try:
            case = case_create(owner=request.user, title=form.cleaned_data["title"], studies=form.cleaned_data["studies"])
        except CaseError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Case created as a draft; write the history, diagnosis and teaching points.")
            return redirect("cases:edit", case_id=case.public_id)
    return render(request, "cases/new.html", {"form": form, "has_studies": studies.exists()},
                  status=400 if form.errors else 200)


@require_POST
@role_required(EDUCATORS)
def case_from_job(request: HttpRequest, job_id) -> HttpResponse:
    from webapp.jobs.selectors import job_get_for_user

    job = job_get_for_user(user=request.user, public_id=job_id)
    if job is None:
        raise Http404("No such generation job.")
    try:
        case, created = case_create_from_job(job=job, by=request.user)
    except CaseError as exc:
        messages.error(request, str(exc))
        return redirect("jobs:detail", job_id=job.public_id)
    messages.success(request, "Saved as a draft teaching case." if created else "This generation is already a case.")
    return redirect("cases:edit", case_id=case.public_id)


@login_required
def case_detail(request: HttpRequest, case_id) -> HttpResponse:
    case = _readable(request, case_id)
    can_edit = selectors.case_can_edit(user=request.user, case=case)
    if can_edit and case_variants_sync(case=case):
        case = _readable(request, case_id)
    context = {
        "case": case,
        "can_edit": can_edit,
        "answer_visible": selectors.case_answer_visible(user=request.user, case=case),
        "attempts": selectors.quiz_attempts_for(learner=request.user, case=case)[:10],
        "tags_by_kind": selectors.case_tags_by_kind(case=case),
        **_study_context(request, case),
    }
    return render(request, "cases/detail.html", context)


def _edit_context(request, case, form) -> dict:
    return {
        "case": case,
        "form": form,
        "variants_form": VariantsForm(),
        "share_form": ShareForm(),
        "variant_jobs": selectors.case_variant_status(case=case),
        "publish_problems": case_publish_problems(case=case),
        "secret_link": request.build_absolute_uri(reverse("cases:link", args=[case.link_token])),
        "is_owner": case.owner_id == request.user.pk,
        **_study_context(request, case),
    }


@role_required(EDUCATORS)
def case_edit(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable(request, case_id)
    if request.method == "POST":
        form = CaseForm(request.POST)
        if form.is_valid():
            try:
                case_update(case=case, data=form.service_data())
            except CaseError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Case saved.")
                return redirect("cases:edit", case_id=case.public_id)
        return render(request, "cases/edit.html", _edit_context(request, _editable(request, case_id), form), status=400)
    if case_variants_sync(case=case):
        case = _editable(request, case_id)
    return render(request, "cases/edit.html", _edit_context(request, case, CaseForm(initial=CaseForm.initial_for(case))))


def _do_publish(request, case):
    form = PublishForm(request.POST)
    if not form.is_valid():
        raise CaseError("choose draft, published or unlisted")
    visibility = form.cleaned_data["visibility"]
    if visibility == Visibility.DRAFT:
        case_unpublish(case=case)
        return "Back to draft: only authors see it."
    case_publish(case=case, visibility=visibility)
    if visibility == Visibility.UNLISTED:
        return "Published as unlisted: share the secret link."
    return "Published to the library."


def _do_variants(request, case):
    form = VariantsForm(request.POST)
    if not form.is_valid():
        raise CaseError("choose new seeds (1 to 6) or a guidance sweep")
    jobs = case_variants_add(
        case=case, by=request.user, kind=form.cleaned_data["kind"], count=form.cleaned_data["count"] or 1,
    )
    return f"{len(jobs)} variant generation(s) queued; their images join this case when they finish."


def _do_share(request, case, remove=False):
    form = ShareForm(request.POST)
    if not form.is_valid():
        raise CaseError("give the username of an educator")
    user = case_share(case=case, username=form.cleaned_data["username"], remove=remove)
    return f"{'Stopped sharing with' if remove else 'Shared with'} {user.get_username()}."


def _do_remove_study(request, case):
    raw = request.POST.get("case_study", "")
    if not raw.isdigit():
        raise CaseError("which study should be removed?")
    case_study_remove(case=case, case_study_id=int(raw))
    return "Study removed from the case."


def _do_rotate(request, case):
    case_link_rotate(case=case)
    return "New secret link made; the old one no longer works."


ACTIONS = {
    "publish": _do_publish,
    "variants": _do_variants,
    "share": _do_share,
    "unshare": lambda request, case: _do_share(request, case, remove=True),
    "remove-study": _do_remove_study,
    "rotate-link": _do_rotate,
}


@require_POST
@role_required(EDUCATORS)
def case_action(request: HttpRequest, case_id, action: str) -> HttpResponse:
    case = _editable(request, case_id)
    is_owner = case.owner_id == request.user.pk or request.user.is_superuser
    if action in ("delete", "share", "unshare") and not is_owner:
        messages.error(request, "Only the owner shares or deletes a case.")
        return redirect("cases:edit", case_id=case.public_id)
    if action == "delete":
        case_delete(case=case)
        messages.success(request, "Case deleted (its studies stay in the index).")
        return redirect("cases:library")
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    try:
        messages.success(request, handler(request, case))
    except CaseError as exc:
        messages.error(request, str(exc))
    return redirect("cases:edit", case_id=case.public_id)


@login_required
def case_quiz(request: HttpRequest, case_id) -> HttpResponse:
    """Images and history only; the answer is not in this page, whatever the learner tries."""
    case = _readable(request, case_id)
    form = QuizForm(request.POST if request.method == "POST" else None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            attempt = quiz_attempt_submit(
                case=case, learner=request.user, answer=form.cleaned_data.get("answer") or "",
                choice_index=form.cleaned_data.get("choice"),
            )
        except CaseError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("cases:reveal", case_id=case.public_id, attempt_id=attempt.pk)
    tags = selectors.case_tags_by_kind(case=case)
    # Organ system and modality only: pathology tags would give the answer away.
    hint_tags = tags[TagKind.ORGAN_SYSTEM] + tags[TagKind.MODALITY]
    context = {"case": case, "form": form, "hint_tags": hint_tags, "answer_visible": False,
               **_study_context(request, case)}
    return render(request, "cases/quiz.html", context, status=400 if form.errors else 200)


@login_required
def quiz_reveal(request: HttpRequest, case_id, attempt_id: int) -> HttpResponse:
    case = _readable(request, case_id)
    attempt = selectors.quiz_attempt_get(learner=request.user, case=case, attempt_id=attempt_id)
    if attempt is None:
        raise Http404("No such answer of yours; take the quiz first.")
    choices = case.quiz_choices or []
    index = case.quiz_correct_index
    context = {
        "case": case, "attempt": attempt, "answer_visible": True,
        "correct_choice": choices[index] if index is not None and 0 <= index < len(choices) else "",
        "can_edit": selectors.case_can_edit(user=request.user, case=case), **_study_context(request, case),
    }
    return render(request, "cases/reveal.html", context)


@login_required
def quiz_history(request: HttpRequest) -> HttpResponse:
    attempts = list(selectors.quiz_attempts_for(learner=request.user)[:500])
    scored = [a for a in attempts if a.correct is not None]
    context = {
        "attempts": attempts,
        "scored": len(scored),
        "correct": sum(1 for a in scored if a.correct),
    }
    return render(request, "cases/history.html", context)


@role_required(EDUCATORS)
def case_export(request: HttpRequest, case_id) -> HttpResponse:
    case = _editable(request, case_id)
    spool = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)
    case_export_zip(case=case, destination=spool)
    spool.seek(0)
    filename = f"radsynth-case-{str(case.public_id)[:8]}.zip"
    return FileResponse(spool, as_attachment=True, filename=filename, content_type="application/zip")


@role_required(EDUCATORS)
def case_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if request.method == "POST" and form.is_valid():
        try:
            case = case_import_zip(source=form.cleaned_data["file"], owner=request.user)
        except CaseError as exc:
            form.add_error("file", f"Nothing was imported: {exc}")
        else:
            messages.success(request, "Case imported as a draft.")
            return redirect("cases:edit", case_id=case.public_id)
    return render(request, "cases/import.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def case_link(request: HttpRequest, token: str) -> HttpResponse:
    """The secret link of an unlisted case: opening it lets this user read the case."""
    case = selectors.case_by_link_token(token=token)
    if case is None or (case.visibility == Visibility.DRAFT and not selectors.case_can_edit(user=request.user, case=case)):
        raise Http404("This link does not lead to a case (it may have been replaced).")
    case_link_open(case=case, user=request.user)
    return redirect("cases:detail", case_id=case.public_id)


@login_required
def case_thumbnail(request: HttpRequest, case_id, link_id: int, plane: str) -> HttpResponse:
    case = _readable(request, case_id)
    link = next((cs for cs in case.case_studies.all() if cs.pk == link_id), None)
    output = link.generation_output if link else None
    relative = (output.thumbnails or {}).get(plane) if output else None
    path = Path(settings.MEDIA_ROOT) / relative if relative else None
    if path is None or not path.is_file():
        raise Http404("No such thumbnail.")
    return FileResponse(open(path, "rb"), content_type="image/png")
