"""Pages: the study list and the viewer (/viewer/<StudyInstanceUID>/). Reads go through selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from webapp.dicom.models import Series, Study
from webapp.dicom.selectors import (
    studies_visible_to,
    study_get_for_user,
    study_report_visible,
    viewer_plan,
)


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    studies = studies_visible_to(request.user).order_by("-created")
    query = request.GET.get("q", "").strip()
    if query:
        studies = studies.filter(description__icontains=query) | studies.filter(patient_id__icontains=query)
    page = Paginator(studies, 25).get_page(request.GET.get("page"))
    return render(request, "dicom/study_list.html", {"page": page, "query": query})


def viewer_context(request: HttpRequest, study: Study, series_uid: str | None = None) -> dict:
    """Context for templates/dicom/_viewer_embed.html (also used by other apps' pages)."""
    plan = viewer_plan(study=study, series_uid=series_uid)
    return {
        "study": study,
        # A learner reaching a study through a teaching-case rule must not read the report (it
        # gives the quiz answer away): only the owner and study admins see it here.
        "show_report": study_report_visible(user=request.user, study=study),
        "plan": plan,
        "viewer_mode": plan.mode,
        "viewer_study_uid": study.study_instance_uid,
        "viewer_series_uids": ",".join(s.series_instance_uid for s in plan.series),
        "viewer_series_labels": "|".join(plan.labels),
        "viewer_dicomweb_root": reverse("dicomweb:root"),
    }


@login_required
def viewer(request: HttpRequest, study_uid: str) -> HttpResponse:
    try:
        study = study_get_for_user(user=request.user, study_uid=study_uid)
        context = viewer_context(request, study, request.GET.get("series") or None)
    except (Study.DoesNotExist, Series.DoesNotExist) as exc:
        raise Http404("No such study or series.") from exc
    template = {"ct": "dicom/ct_viewer.html", "cxr": "dicom/cxr_viewer.html"}.get(context["viewer_mode"], "dicom/not_viewable.html")
    return render(request, template, context)
