"""Reader pages: assignments, the rating page, finish/submit, thank-you, invitation links.

Reader pages show only presentation copies and normalised reports, addressed by opaque tokens.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from turing_test import selectors, services
from turing_test.errors import Conflict, NotFound, TuringError
from turing_test.forms import InvitationAccountForm
from turing_test.models import Study
from turing_test.services.readers import invitation_for_token


def _assignment_or_404(request: HttpRequest, token: str):
    try:
        return selectors.reader_assignment_get(user=request.user, token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def viewer_context_for(stimulus: dict) -> dict:
    """Context for templates/dicom/_viewer_embed.html from a blinded stimulus."""
    images = stimulus["images"]
    if not images:
        return {}
    return {
        "viewer_mode": "ct" if stimulus["modality"] == "ct" else "cxr",
        "viewer_study_uid": images[0]["study_uid"],
        "viewer_series_uids": ",".join(i["series_uid"] for i in images),
        "viewer_series_labels": "|".join(i["label"] for i in images),
        "viewer_dicomweb_root": reverse("dicomweb:root"),
        "viewer_embedded": True,
    }


@login_required
def my_assignments(request: HttpRequest) -> HttpResponse:
    return render(request, "turing_test/my_assignments.html", {"assignments": selectors.reader_assignments(user=request.user)})


@login_required
def read_resume(request: HttpRequest, token: str) -> HttpResponse:
    """Resume exactly where the reader left off (on any device: the position is on the server)."""
    assignment = _assignment_or_404(request, token)
    if assignment.is_locked:
        return redirect("turing_test:read_thanks", token=token)
    if assignment.study.status != Study.Status.OPEN:
        return render(request, "turing_test/not_open.html", {"assignment": assignment}, status=409)
    state = selectors.reader_state(assignment=assignment)
    if not state["slots"]:
        return render(request, "turing_test/not_open.html", {"assignment": assignment}, status=409)
    return redirect("turing_test:read_item", token=token, item_token=state["current"])


@login_required
def read_item(request: HttpRequest, token: str, item_token: str) -> HttpResponse:
    assignment = _assignment_or_404(request, token)
    if assignment.is_locked:
        return redirect("turing_test:read_thanks", token=token)
    try:
        entry = services.assignment_item_open(assignment=assignment, reader=request.user, item_token=item_token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Conflict as exc:
        if assignment.study.status != Study.Status.OPEN:
            return render(request, "turing_test/not_open.html", {"assignment": assignment}, status=409)
        messages.warning(request, exc.message)
        return redirect("turing_test:read_resume", token=token)
    assignment.refresh_from_db()
    payload = selectors.reader_item(assignment=assignment, entry=entry)
    context = {
        "assignment": assignment,
        "study": assignment.study,
        "item": payload,
        "preview": False,
        "save_url": reverse("api:turing_api:rating_save", args=[token, item_token]),
        "item_url_template": reverse("turing_test:read_item", args=[token, "ITEM"]),
        "finish_url": reverse("turing_test:read_finish", args=[token]),
        **viewer_context_for(payload),
    }
    return render(request, "turing_test/read_item.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def read_finish(request: HttpRequest, token: str) -> HttpResponse:
    assignment = _assignment_or_404(request, token)
    if assignment.is_locked:
        return redirect("turing_test:read_thanks", token=token)
    if request.method == "POST":
        try:
            services.assignment_submit(assignment=assignment, reader=request.user)
        except TuringError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("turing_test:read_thanks", token=token)
    state = selectors.reader_state(assignment=assignment)
    return render(request, "turing_test/read_finish.html", {"assignment": assignment, "state": state})


@login_required
def read_thanks(request: HttpRequest, token: str) -> HttpResponse:
    assignment = _assignment_or_404(request, token)
    if not assignment.is_locked:
        return redirect("turing_test:read_finish", token=token)
    return render(request, "turing_test/read_thanks.html", {"assignment": assignment})


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Single-use link: sign in and accept, or create a reader account here."""
    try:
        inv = invitation_for_token(token)
    except TuringError as exc:
        return render(request, "turing_test/invitation.html", {"error": exc.message}, status=exc.status_code)
    form = InvitationAccountForm()
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                assignment = services.invitation_accept(token=token, user=request.user)
            else:
                form = InvitationAccountForm(request.POST)
                if not form.is_valid():
                    raise TuringError("Fill in a user name and a password.")
                user, assignment = services.invitation_account_create(
                    token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except TuringError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"You are a reader of “{assignment.study.title}”.")
            if assignment.study.status == Study.Status.OPEN:
                return redirect("turing_test:read_resume", token=assignment.token)
            return redirect("turing_test:my_assignments")
    return render(
        request,
        "turing_test/invitation.html",
        {"invitation": inv, "form": form, "login_url": f"{reverse('login')}?next={request.path}"},
    )
