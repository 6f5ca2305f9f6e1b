"""Presentation copies are made by the Celery task in a real worker process (queue cpu)."""

from __future__ import annotations

import time

import pytest

from tests.turing_test.factories import import_generated, import_real
from turing_test import services
from turing_test.models import Study

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_study_open_runs_the_copy_task_in_a_worker(role_user, tmp_path, celery_worker_process):
    from webapp.dicom.models import Study as DicomStudy
    from webapp.dicom.services import study_delete

    admin = role_user("ada-worker", "study_admins")
    reader = role_user("rita-worker", "readers")
    study = services.study_create(title="Worker study", created_by=admin)
    task = services.task_create(study=study, actor=admin, kind="image_realism", modality="ct")
    sources = [import_real(tmp_path, "ct", 61), import_generated(tmp_path, "ct", 62, admin)]
    for source in sources:
        services.item_add(task=task, actor=admin, image_study=source)
    services.reader_assign(study=study, reader=reader, actor=admin)
    try:
        services.study_open(study=study, actor=admin)  # commits, then enqueues on commit
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            study.refresh_from_db()
            if study.status in (Study.Status.OPEN, Study.Status.DRAFT):
                break
            time.sleep(0.3)
        assert study.status == Study.Status.OPEN, (study.status, study.preparation_error, celery_worker_process["log"].read_text()[-3000:])
        assert study.items.filter(presentation_study__source="presentation").count() == 2
        assert study.assignments.get().entries.count() == 2
    finally:  # the worker wrote under the shared MEDIA_ROOT: remove what this test made
        study.assignments.all().delete()
        Study.objects.filter(pk=study.pk).delete()
        for copy in DicomStudy.objects.all():
            study_delete(study=copy)
