"""python manage.py import_dicom PATH [--report FILE] [--owner USERNAME]: prints one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.dicom.services import ImportRejected, study_import


class Command(BaseCommand):
    help = "Import a DICOM study (folder, ZIP or file) with an optional report into the study index."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="folder, ZIP archive or DICOM file")
        parser.add_argument("--report", help="report file: plain text or JSON with findings/impression")
        parser.add_argument("--owner", help="username that owns the study (default: none, admins only)")

    def handle(self, *args, path: str, report: str | None, owner: str | None, **options) -> None:
        user = None
        if owner:
            try:
                user = get_user_model().objects.get(username=owner)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"no user named {owner!r}") from exc
        report_text = None
        if report:
            try:
                report_text = Path(report).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot read the report {report}: {exc}") from exc
        try:
            study = study_import(paths_or_zip=path, report=report_text, owner=user)
        except ImportRejected as exc:
            raise CommandError(str(exc)) from exc
        series = list(study.series.order_by("series_number", "id"))
        result = {
            "StudyInstanceUID": study.study_instance_uid,
            "SeriesInstanceUIDs": [s.series_instance_uid for s in series],
            "series": [
                {
                    "SeriesInstanceUID": s.series_instance_uid,
                    "Modality": s.modality,
                    "instances": s.number_of_instances,
                    "is_volume": s.is_volume,
                    "not_volume_reason": s.not_volume_reason,
                }
                for s in series
            ],
            "instances": sum(s.number_of_instances for s in series),
            "is_synthetic": study.is_synthetic,
            "owner": user.get_username() if user else None,
            "report": {"findings": study.report_findings, "impression": study.report_impression},
            "viewer_url": f"/viewer/{study.study_instance_uid}/",
        }
        self.stdout.write(json.dumps(result))
