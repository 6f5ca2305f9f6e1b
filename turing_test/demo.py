"""Demo content for `manage.py seed_demo`: a draft Visual Turing Test once real and synthetic
studies exist in the index (idempotent; nothing is made up when they do not)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from turing_test.errors import TuringError
from turing_test.models import Study
from turing_test.sources import image_modality, real_studies, synthetic_studies

DEMO_TITLE = "Demo: image realism (CT and chest X-ray)"
PER_CLASS = 2


def _pick(queryset, modality: str, n: int) -> list:
    picked = []
    for study in queryset.prefetch_related("series")[:200]:
        if image_modality(study) == modality:
            picked.append(study)
        if len(picked) == n:
            break
    return picked


def seed(*, stdout) -> None:
    from turing_test import services

    users = get_user_model().objects
    admin = users.filter(username="studyadmin").first()
    if admin is None or Study.objects.filter(title=DEMO_TITLE).exists():
        return
    plans = []
    for modality in ("ct", "cxr"):
        real, synthetic = _pick(real_studies(), modality, PER_CLASS), _pick(synthetic_studies(), modality, PER_CLASS)
        if real and synthetic:
            plans.append((modality, real, synthetic))
    if not plans:
        stdout.write(
            "Demo Visual Turing Test not created yet: it needs imported (real) and generated studies "
            "of the same modality (import with `manage.py import_dicom`, generate as the educator, then seed again)."
        )
        return
    try:
        with transaction.atomic():
            study = _create(services, admin, users, plans)
    except TuringError as exc:
        stdout.write(f"Demo Visual Turing Test not created: {exc.message}")
        return
    stdout.write(f"Demo Visual Turing Test “{study.title}” created as a draft: the study admin opens it.")


def _create(services, admin, users, plans) -> Study:
    study = services.study_create(
        title=DEMO_TITLE,
        created_by=admin,
        instructions="Rate how realistic each image looks. Use the viewer's tools freely; keys 1-5 rate.",
    )
    for modality, real, synthetic in plans:
        task = services.task_create(study=study, actor=admin, kind="image_realism", modality=modality)
        for source in real + synthetic:
            services.item_add(task=task, actor=admin, image_study=source)
    for username in ("reader1", "reader2"):
        reader = users.filter(username=username).first()
        if reader is not None:
            services.reader_assign(study=study, reader=reader, actor=admin)
    return study
