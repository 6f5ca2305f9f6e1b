from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.core.health import health_report
from webapp.core.selectors import dashboard_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"dashboard": dashboard_for(user=request.user)})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith(("/api/", "/dicomweb/")):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "core/error.html", {"status": 404, "message": "This page does not exist."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(("/api/", "/dicomweb/")):
        return JsonResponse({"detail": "Internal error; it has been logged."}, status=500)
    return render(request, "core/error.html", {"status": 500, "message": "Something went wrong; it has been logged."}, status=500)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 400, "message": "The request was malformed."}, status=400)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You may not open this page."
    if request.path.startswith(("/api/", "/dicomweb/")):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "core/forbidden.html", {"message": message}, status=403)
