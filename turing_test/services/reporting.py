"""The study report of a Visual Turing Test (issue 7): the study's ratings through
:func:`turing_test.stats.build_study_report`, rendered as one downloadable file.

Read-only: nothing is written. A closed study gives the final report; an open one a report
labelled *preliminary* (readers may still be answering). Readers appear under their study
pseudonyms (R01, ... — the same as on the dashboard and in the long CSV export) unless the admin
asks for account names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from turing_test import selectors
from turing_test.errors import Conflict, InvalidInput
from turing_test.models import Assignment, Study

if TYPE_CHECKING:
    from turing_test.stats.report import StudyReport

REPORT_SCALE = "1-5"
CSP_HTML = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class ReportFormat:
    label: str
    description: str
    content_type: str
    suffix: str  # file name after "study-<id>-report"
    inline: bool = False  # shown in the browser rather than downloaded


REPORT_FORMATS: dict[str, ReportFormat] = {
    "html": ReportFormat("HTML", "Tables and figures, viewed in the browser", "text/html; charset=utf-8", ".html", inline=True),
    "pdf": ReportFormat("PDF", "Tables and figures as a PDF", "application/pdf", ".pdf"),
    "csv": ReportFormat("CSV", "Summary tables: one row per statistic", "text/csv; charset=utf-8", "-summary.csv"),
    "json": ReportFormat("JSON", "Every statistic, with notes on undefined ones", "application/json", ".json"),
    "xlsx": ReportFormat("Excel", "Workbook: Table 7, results, per reader, notes",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "ratings": ReportFormat("Ratings CSV", "The long table analysed (item, reader, rating, truth, task, …)",
                            "text/csv; charset=utf-8", "-ratings.csv"),
}


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    filename: str
    inline: bool
    preliminary: bool


def study_report_is_preliminary(*, study: Study) -> bool:
    return study.status != Study.Status.CLOSED


def study_report_title(*, study: Study) -> str:
    if not study_report_is_preliminary(study=study):
        return study.title
    assignments = study.assignments.all()
    submitted = sum(1 for a in assignments if a.status == Assignment.Status.SUBMITTED)
    return f"{study.title} — PRELIMINARY (study still open; {submitted} of {len(assignments)} readers submitted)"


def study_report_build(*, study: Study, reader_names: bool = False) -> StudyReport:
    """Analyse every task of the study (tasks in study order). Conflict (409) when the study has
    not been opened or has no answered rating yet, or when the ratings cannot be analysed."""
    from turing_test.stats import RatingTableError, build_study_report

    if study.status not in (Study.Status.OPEN, Study.Status.CLOSED):
        raise Conflict("The study has not been opened yet: there are no ratings to report.")
    table = selectors.study_rating_table(study=study, reader_names=reader_names)
    if table.empty:
        raise Conflict("No ratings yet: the report needs at least one answered rating (practice items are not analysed).")
    try:
        report = build_study_report(
            table,
            scale=REPORT_SCALE,
            title=study_report_title(study=study),
            # the table already carries the study's pseudonyms (R01, ... as on the dashboard);
            # renumbering them here would disagree with the dashboard when a reader has no rating
            pseudonymise=False,
            n_bootstrap=int(getattr(settings, "TURING_REPORT_BOOTSTRAP", 2000)),
            seed=study.seed,
            task_order=[selectors.task_report_label(t) for t in study.tasks.all()],
        )
    except RatingTableError as exc:
        raise Conflict(f"The ratings cannot be analysed: {exc}") from None
    # pseudonymise=False above only means "not renumbered here": say what the readers are
    report.results["readers_pseudonymised"] = not reader_names
    report.results["study"] = {"id": study.pk, "status": study.status, "preliminary": study_report_is_preliminary(study=study)}
    return report


def study_report_file(*, study: Study, fmt: str, reader_names: bool = False) -> ReportFile:
    """The report in one of :data:`REPORT_FORMATS` (InvalidInput for any other ``fmt``)."""
    spec = REPORT_FORMATS.get(fmt)
    if spec is None:
        allowed = list(REPORT_FORMATS)
        raise InvalidInput(f"Unknown report format {fmt!r}; allowed: {', '.join(allowed)}.", allowed=allowed)
    report = study_report_build(study=study, reader_names=reader_names)
    render = {
        "html": lambda: report.to_html().encode(),
        "pdf": report.to_pdf,
        "csv": report.to_csv,
        "json": report.to_json,
        "xlsx": report.to_xlsx,
        "ratings": report.ratings_csv,
    }[fmt]
    preliminary = study_report_is_preliminary(study=study)
    stem = f"study-{study.pk}-report" + ("-preliminary" if preliminary else "") + ("-named" if reader_names else "")
    return ReportFile(
        content=render(), content_type=spec.content_type, filename=stem + spec.suffix, inline=spec.inline, preliminary=preliminary
    )
