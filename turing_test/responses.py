"""HTTP responses shared by the admin pages and the API."""

from __future__ import annotations

from django.http import HttpResponse

from turing_test.services.reporting import CSP_HTML, ReportFile


def report_file_response(report: ReportFile) -> HttpResponse:
    """A study report file: HTML inline (viewable in the browser, under a CSP that allows only its
    own inline CSS and data: images), every other format as an attachment."""
    response = HttpResponse(report.content, content_type=report.content_type)
    disposition = "inline" if report.inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{report.filename}"'
    response["Cache-Control"] = "private, no-store"
    if report.inline:
        response["Content-Security-Policy"] = CSP_HTML
    response["X-RadSynth-Report"] = "preliminary" if report.preliminary else "final"
    return response
