from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.core.permissions import role_required
from webapp.core.roles import EDUCATORS, STUDY_ADMINS
from webapp.jobs.examples import EXAMPLE_REPORTS
from webapp.jobs.forms import ReportForm
from webapp.jobs.selectors import batch_jobs, job_get_for_user, jobs_visible_to
from webapp.jobs.services import JobError, job_cancel, job_create, job_variants_create


@role_required(EDUCATORS)
def job_new(request: HttpRequest) -> HttpResponse:
    initial = {key: request.GET[key] for key in ("findings", "impression", "modality") if key in request.GET}
    form = ReportForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            job = job_create(owner=request.user, **form.cleaned_data)
        except JobError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Generation queued.")
            return redirect("jobs:detail", job_id=job.public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "jobs/new.html", {"form": form, "examples_json": json.dumps(EXAMPLE_REPORTS), "examples": EXAMPLE_REPORTS}, status=status)


@role_required(EDUCATORS, STUDY_ADMINS)
def job_list(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/list.html", {"jobs": jobs_visible_to(user=request.user)[:100]})


@role_required(EDUCATORS, STUDY_ADMINS)
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = job_get_for_user(user=request.user, public_id=job_id)
    if job is None:
        raise Http404("No such job.")
    return render(request, "jobs/detail.html", {"job": job, "batch": batch_jobs(job=job)})


@require_POST
@role_required(EDUCATORS)
def job_action(request: HttpRequest, job_id, action: str) -> HttpResponse:
    job = job_get_for_user(user=request.user, public_id=job_id)
    if job is None:
        raise Http404("No such job.")
    try:
        if action == "cancel":
            job_cancel(job=job)
            messages.info(request, "Cancellation requested.")
            return redirect("jobs:detail", job_id=job.public_id)
        created = job_variants_create(job=job, owner=request.user, kind=action)
    except JobError as exc:
        messages.error(request, str(exc))
        return redirect("jobs:detail", job_id=job.public_id)
    messages.success(request, f"{len(created)} job(s) queued.")
    return redirect("jobs:detail", job_id=created[0].public_id)


@role_required(EDUCATORS, STUDY_ADMINS)
def job_thumbnail(request: HttpRequest, job_id, index: int, plane: str) -> HttpResponse:
    """Thumbnails are served through a permission check, never as public media."""
    job = job_get_for_user(user=request.user, public_id=job_id)
    output = job.outputs.filter(index=index).first() if job else None
    relative = (output.thumbnails or {}).get(plane) if output else None
    if not relative:
        raise Http404("No such thumbnail.")
    return FileResponse(open(Path(settings.MEDIA_ROOT) / relative, "rb"), content_type="image/png")
