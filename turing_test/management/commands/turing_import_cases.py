"""Import a folder of real cases (one sub-folder or ZIP per case, each with DICOM files and an
optional report.txt / report.json) into the study index; optionally add them to a task as real items.

    python manage.py turing_import_cases CASES_DIR [--owner USERNAME] [--task TASK_ID] [--practice]

Prints one JSON object: the imported studies (StudyInstanceUID, modality) and the items added.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from turing_test.errors import TuringError
from turing_test.models import Task
from turing_test.sources import image_modality

REPORT_NAMES = ("report.json", "report.txt", "REPORT.txt", "report.md")


class Command(BaseCommand):
    help = "Import a folder of real cases (DICOM + report per sub-folder) and optionally add them to a task."

    def add_arguments(self, parser):
        parser.add_argument("path", help="folder whose sub-folders (or ZIPs) are cases")
        parser.add_argument("--owner", default="", help="user name that owns the imported studies")
        parser.add_argument("--task", type=int, default=None, help="add each case as a real item to this task")
        parser.add_argument("--practice", action="store_true", help="mark the added items as practice items")

    def handle(self, *args, **options):
        from turing_test.services import item_add
        from webapp.dicom.services import ImportRejected, study_import

        root = Path(options["path"])
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder")
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"no user {options['owner']!r}")
        task = None
        if options["task"] is not None:
            task = Task.objects.select_related("study").filter(pk=options["task"]).first()
            if task is None:
                raise CommandError(f"no task {options['task']}")
            if owner is None:
                owner = task.study.created_by
        cases = sorted(p for p in root.iterdir() if p.is_dir() or p.suffix.lower() == ".zip")
        if not cases:
            raise CommandError(f"{root} has no case sub-folders or ZIPs")
        imported, items, errors = [], [], []
        for case in cases:
            report = None
            if case.is_dir():
                for name in REPORT_NAMES:
                    if (case / name).is_file():
                        report = (case / name).read_text(encoding="utf-8", errors="replace")
                        break
                dicom_paths = [p for p in sorted(case.rglob("*")) if p.is_file() and p.name not in REPORT_NAMES]
            else:
                dicom_paths = [case]
            try:
                study = study_import(paths_or_zip=dicom_paths, owner=owner, report=report)
            except (ImportRejected, ValueError) as exc:
                errors.append({"case": case.name, "error": str(exc)})
                continue
            entry = {"case": case.name, "study_instance_uid": study.study_instance_uid, "modality": image_modality(study)}
            imported.append(entry)
            if task is not None:
                try:
                    item = item_add(task=task, actor=owner, image_study=study, is_practice=options["practice"])
                except TuringError as exc:
                    errors.append({"case": case.name, "error": exc.message})
                else:
                    items.append({"case": case.name, "item": item.token, "truth": item.truth})
        self.stdout.write(json.dumps({"imported": imported, "items": items, "errors": errors}, indent=2))
        if errors and not imported:
            raise CommandError("nothing was imported")
