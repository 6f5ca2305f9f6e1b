"""Study admin pages: list, builder, case upload, readers and invitations, lifecycle, preview,
dashboard and audit log. Thin: forms check shape, services decide, selectors read."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from turing_test import selectors, services
from turing_test.errors import InvalidInput, NotFound, TuringError
from turing_test.forms import (
    CaseUploadForm,
    InvitationForm,
    ItemForm,
    PlanForm,
    ReaderForm,
    ReportForm,
    StudyForm,
    TaskEditForm,
    TaskForm,
)
from turing_test.models import Assignment, Invitation, Item, Study, Task
from turing_test.responses import report_file_response
from turing_test.services.reporting import REPORT_FORMATS
from turing_test.sources import (
    generator_name,
    image_modality,
    real_studies,
    study_by_uid,
    synthetic_studies,
)
from turing_test.task_kinds import KINDS, kind_spec
from turing_test.views.reader import viewer_context_for
from webapp.core.permissions import role_required
from webapp.core.roles import STUDY_ADMINS

admin_required = role_required(STUDY_ADMINS)


def _study(pk: int) -> Study:
    try:
        return selectors.study_get(pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _run(request: HttpRequest, action, success: str = "") -> bool:
    """Call a service; its error becomes a message on the next page."""
    try:
        action()
    except TuringError as exc:
        messages.error(request, exc.message)
        return False
    if success:
        messages.success(request, success)
    return True


@admin_required
def study_list(request: HttpRequest) -> HttpResponse:
    return render(request, "turing_test/study_list.html", {"studies": selectors.study_list()})


@admin_required
@require_http_methods(["GET", "POST"])
def study_create(request: HttpRequest) -> HttpResponse:
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_create(created_by=request.user, **form.cleaned_data)
        except TuringError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("turing_test:study_detail", pk=study.pk)
    return render(request, "turing_test/study_form.html", {"form": form})


def _sample_size_plan(request: HttpRequest) -> tuple[PlanForm, dict | None]:
    """The builder's planner: defaults until the admin submits the form (GET); None on bad input."""
    form = PlanForm(request.GET if PlanForm.is_submitted(request.GET) else None)
    if form.is_bound and not form.is_valid():
        return form, None
    try:
        return form, services.sample_size_plan(**form.plan_arguments())
    except TuringError as exc:
        form.add_error(None, exc.message)
        return form, None


@admin_required
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    plan_form, plan = _sample_size_plan(request)
    items = list(selectors.study_items(study=study))
    by_task: dict[int, list[Item]] = {}
    for item in items:
        by_task.setdefault(item.task_id, []).append(item)
    balance = selectors.task_balance(study=study)
    for row in balance:
        row["items"] = by_task.get(row["task"].pk, [])
        row["spec"] = kind_spec(row["task"].kind)
    context = {
        "study": study,
        "balance": balance,
        "settings_form": StudyForm(instance=study),
        "task_form": TaskForm(),
        "reader_form": ReaderForm(),
        "invitation_form": InvitationForm(),
        "assignments": study.assignments.select_related("reader"),
        "invitations": study.invitations.select_related("used_by"),
        "new_invitation_url": request.session.pop(f"turing-invite-{study.pk}", None),
        "audit": study.blinding_audit,
        "kinds": KINDS.values(),
        "plan_form": plan_form,
        "plan": plan,
        "study_design": selectors.study_design(study=study, balance=balance),
    }
    return render(request, "turing_test/study_detail.html", context, status=200 if plan is not None else 400)


@admin_required
@require_POST
def study_settings(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    form = StudyForm(request.POST, instance=Study.objects.get(pk=study.pk))
    if form.is_valid():
        _run(request, lambda: services.study_update(study=study, actor=request.user, **form.cleaned_data), "Settings saved.")
    else:
        messages.error(request, "Settings not saved: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect("turing_test:study_detail", pk=pk)


@admin_required
@require_POST
def study_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    study = _study(pk)
    actions = {
        "prepare": (lambda: services.study_prepare(study=study, actor=request.user), "Making presentation copies and running the blinding audit…"),
        "open": (lambda: services.study_open(study=study, actor=request.user), "Open requested."),
        "unprepare": (lambda: services.study_unprepare(study=study, actor=request.user), "Back to draft; presentation copies deleted."),
        "close": (lambda: services.study_close(study=study, actor=request.user), "Study closed."),
        "delete": (lambda: services.study_delete(study=study, actor=request.user), "Study deleted."),
    }
    if action not in actions:
        raise Http404("Unknown action.")
    call, success = actions[action]
    ok = _run(request, call, success)
    if ok and action == "delete":
        return redirect("turing_test:study_list")
    return redirect("turing_test:study_detail", pk=pk)


@admin_required
def study_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Small JSON the builder polls while copies are being made."""
    study = _study(pk)
    body = {"status": study.status, "done": study.preparation_done, "total": study.preparation_total, "error": study.preparation_error}
    return HttpResponse(json.dumps(body), content_type="application/json")


# --- tasks and items -------------------------------------------------------------------------------


@admin_required
@require_POST
def task_add(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        _run(request, lambda: services.task_create(study=study, actor=request.user, **form.cleaned_data), "Task added.")
    else:
        messages.error(request, "Choose a task type.")
    return redirect("turing_test:study_detail", pk=pk)


def _task(study: Study, task_pk: int) -> Task:
    task = study.tasks.filter(pk=task_pk).first()
    if task is None:
        raise Http404("No such task.")
    return task


@admin_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    study = _study(pk)
    task = _task(study, task_pk)
    initial = {"title": task.title, "question": task.question, **{f"anchor_{i}": a for i, a in enumerate(task.anchors, start=1)}}
    form = TaskEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok = _run(
            request,
            lambda: services.task_update(
                task=task, actor=request.user, title=form.cleaned_data["title"], question=form.cleaned_data["question"], anchors=form.anchors()
            ),
            "Task saved.",
        )
        if ok:
            return redirect("turing_test:study_detail", pk=pk)
    return render(request, "turing_test/task_edit.html", {"study": study, "task": task, "form": form})


@admin_required
@require_POST
def task_delete(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    study = _study(pk)
    task = _task(study, task_pk)
    _run(request, lambda: services.task_delete(task=task, actor=request.user), "Task deleted.")
    return redirect("turing_test:study_detail", pk=pk)


def _study_choices(modality: str) -> list[tuple[str, str]]:
    choices = []
    for label, qs in (("real", real_studies()), ("synthetic", synthetic_studies())):
        for s in qs.prefetch_related("series")[:300]:
            found = image_modality(s)
            if modality and found and found != modality:
                continue
            report = "report" if (s.report_findings or s.report_impression) else "no report"
            name = generator_name(s) if s.is_synthetic else (s.description or s.patient_id or "study")
            choices.append((s.study_instance_uid, f"[{label}] {name} · {found.upper() or '—'} · {report} · {s.study_instance_uid[-12:]}"))
    return choices


@admin_required
@require_http_methods(["GET", "POST"])
def item_add(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    study = _study(pk)
    task = _task(study, task_pk)
    form = ItemForm(request.POST or None, study_choices=_study_choices(task.modality))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        report = {"findings": d["findings"], "impression": d["impression"]} if (d["findings"] or d["impression"]) else None
        ok = _run(
            request,
            lambda: services.item_add(
                task=task,
                actor=request.user,
                image_study=study_by_uid(d["image_study"]) if d["image_study"] else None,
                image_series_uid=d["image_series_uid"],
                reference_study=study_by_uid(d["reference_study"]) if d["reference_study"] else None,
                report_study=study_by_uid(d["report_study"]) if d["report_study"] else None,
                report=report,
                report_synthetic=d["report_synthetic"],
                generator=d["generator"],
                is_practice=d["is_practice"],
            ),
            "Item added.",
        )
        if ok:
            if "another" in request.POST:
                return redirect("turing_test:item_add", pk=pk, task_pk=task_pk)
            return redirect(f"{reverse('turing_test:study_detail', args=[pk])}#task-{task.pk}")
    return render(request, "turing_test/item_add.html", {"study": study, "task": task, "spec": kind_spec(task.kind), "form": form})


def _item(study: Study, item_pk: int) -> Item:
    item = study.items.filter(pk=item_pk).first()
    if item is None:
        raise Http404("No such item.")
    return item


@admin_required
@require_POST
def item_delete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    study = _study(pk)
    item = _item(study, item_pk)
    _run(request, lambda: services.item_delete(item=item, actor=request.user), "Item removed.")
    return redirect("turing_test:study_detail", pk=pk)


@admin_required
@require_POST
def item_practice(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    study = _study(pk)
    item = _item(study, item_pk)
    _run(request, lambda: services.item_set_practice(item=item, actor=request.user, is_practice=not item.is_practice))
    return redirect("turing_test:study_detail", pk=pk)


@admin_required
@require_http_methods(["GET", "POST"])
def case_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a real case (DICOM series / CXR + report) into the study index."""
    from webapp.dicom.services import ImportRejected, study_import

    study = _study(pk)
    form = CaseUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with tempfile.TemporaryDirectory(prefix="radsynth-upload-") as scratch:
            paths = []
            for index, upload in enumerate(form.cleaned_data["files"]):
                name = Path(upload.name).name or f"file{index}"
                target = Path(scratch) / f"{index:05d}-{name}"
                with open(target, "wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                paths.append(target)
            try:
                imported = study_import(paths_or_zip=paths, owner=request.user, report=form.cleaned_data["report"] or None)
            except (ImportRejected, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Imported study {imported.study_instance_uid} ({image_modality(imported).upper() or 'no images'}).")
                return redirect("turing_test:study_detail", pk=pk)
    return render(request, "turing_test/case_upload.html", {"study": study, "form": form})


# --- readers -----------------------------------------------------------------------------------------


@admin_required
@require_POST
def reader_add(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    form = ReaderForm(request.POST)
    if form.is_valid():
        _run(request, lambda: services.reader_assign(study=study, reader=form.user, actor=request.user), "Reader added.")
    else:
        messages.error(request, "; ".join(form.errors.get("username", ["Give a user name."])))
    return redirect(f"{reverse('turing_test:study_detail', args=[pk])}#readers")


@admin_required
@require_POST
def reader_remove(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    study = _study(pk)
    assignment = Assignment.objects.filter(study=study, pk=assignment_pk).first()
    if assignment is None:
        raise Http404("No such reader.")
    _run(request, lambda: services.reader_unassign(assignment=assignment, actor=request.user), "Reader removed.")
    return redirect(f"{reverse('turing_test:study_detail', args=[pk])}#readers")


@admin_required
@require_POST
def invitation_add(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Invitation not created: validity must be 1–365 days.")
        return redirect("turing_test:study_detail", pk=pk)
    try:
        _, token = services.invitation_create(study=study, actor=request.user, **form.cleaned_data)
    except TuringError as exc:
        messages.error(request, exc.message)
    else:
        # Shown once on the next page; only its hash is stored.
        request.session[f"turing-invite-{study.pk}"] = request.build_absolute_uri(reverse("turing_test:invitation", args=[token]))
    return redirect(f"{reverse('turing_test:study_detail', args=[pk])}#readers")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    study = _study(pk)
    invitation = Invitation.objects.filter(study=study, pk=invitation_pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    _run(request, lambda: services.invitation_revoke(invitation=invitation, actor=request.user), "Invitation withdrawn.")
    return redirect(f"{reverse('turing_test:study_detail', args=[pk])}#readers")


# --- preview, dashboard, audit ---------------------------------------------------------------------


@admin_required
def study_preview(request: HttpRequest, pk: int, number: int = 1) -> HttpResponse:
    """The reading page exactly as readers get it (presentation copies), without saving anything."""
    study = _study(pk)
    if study.status in (Study.Status.DRAFT, Study.Status.PREPARING):
        messages.info(request, "Prepare the study first: the preview shows the presentation copies readers will get.")
        return redirect("turing_test:study_detail", pk=pk)
    items = selectors.preview_items(study=study)
    if not 1 <= number <= len(items):
        raise Http404("No such item.")
    item = items[number - 1]
    stimulus = selectors.item_stimulus(item=item)
    payload = {
        **stimulus,
        "position": number - 1,
        "number": number,
        "total": len(items),
        "n_practice": sum(1 for i in items if i.is_practice),
        "practice": item.is_practice,
        "answered": 0,
        "rating": {"score": None, "forced_choice": "", "confidence": None, "revision": 0},
        "forced_choice_enabled": study.forced_choice,
        "allow_back": True,
        "prev": str(number - 1) if number > 1 else None,
        "next": str(number + 1) if number < len(items) else None,
        "is_last": number == len(items),
        "locked": False,
    }
    context = {
        "study": study,
        "item": payload,
        "preview": True,
        "save_url": "",
        "item_url_template": reverse("turing_test:study_preview_item", args=[pk, 999999]).replace("999999", "ITEM"),
        "finish_url": reverse("turing_test:study_detail", args=[pk]),
        **viewer_context_for(stimulus),
    }
    return render(request, "turing_test/read_item.html", context)


@admin_required
def study_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    progress = selectors.study_progress(study=study)
    context = {
        "study": study,
        "progress": progress,
        "tasks": study.tasks.all(),
        "report_formats": [(key, spec) for key, spec in REPORT_FORMATS.items() if key != "html"],
        "report_available": study.status in (Study.Status.OPEN, Study.Status.CLOSED) and selectors.study_has_ratings(study=study),
    }
    return render(request, "turing_test/study_dashboard.html", context)


@admin_required
def study_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The study report in one format (``?format=html|pdf|csv|json|xlsx|ratings&reader_names=1``)."""
    study = _study(pk)
    form = ReportForm(request.GET)
    try:
        if not form.is_valid():
            raise InvalidInput(" ".join(e for errors in form.errors.values() for e in errors))
        report = services.study_report_file(
            study=study, fmt=form.cleaned_data["format"] or "html", reader_names=form.cleaned_data["reader_names"]
        )
    except TuringError as exc:
        context = {"study": study, "message": exc.message, "status": exc.status_code}
        return render(request, "turing_test/report_unavailable.html", context, status=exc.status_code)
    return report_file_response(report)


@admin_required
def study_audit_log(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(pk)
    return render(request, "turing_test/audit_log.html", {"study": study, "events": selectors.audit_events(study=study, limit=500)})
