"""Building, preparing (presentation copies + audit in the worker task), opening and closing."""

from __future__ import annotations

import pytest

from turing_test import services
from turing_test.errors import Conflict, InvalidInput
from turing_test.models import AssignmentEntry, AuditEvent, Item, Study

pytestmark = pytest.mark.django_db


def test_prepare_makes_blinded_copies_and_audit_then_open(small_study, admin, reader_a, inline_tasks):
    services.reader_assign(study=small_study, reader=reader_a, actor=admin)
    inline_tasks(services.study_prepare, study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.READY, small_study.preparation_error
    items = list(small_study.items.prefetch_related("parts"))
    for item in items:
        if item.modality:
            assert item.presentation_study is not None
            assert item.presentation_study.source == "presentation"
            assert not item.presentation_study.is_synthetic
            assert all(p.presentation_series_uid for p in item.parts.all() if p.is_image)
        for part in item.parts.all():
            if not part.is_image:
                assert part.presentation_report.startswith("FINDINGS:\n")
    audit = small_study.blinding_audit
    assert {t["title"] for t in audit["tasks"]} == {t.title for t in small_study.tasks.all()}
    for task_audit in audit["tasks"]:
        assert "auc" in task_audit["presentation"] and "auc" in task_audit["source"]
    # no order before opening; opening builds one per reader
    assert not AssignmentEntry.objects.exists()
    services.study_open(study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.OPEN
    assert AssignmentEntry.objects.filter(assignment__reader=reader_a).count() == len(items)
    services.study_close(study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.CLOSED
    actions = set(AuditEvent.objects.filter(study=small_study).values_list("action", flat=True))
    assert {"study.create", "task.create", "item.add", "study.prepare", "study.prepared", "study.open", "study.close", "assignment.order_build"} <= actions


def test_open_on_draft_prepares_then_opens(open_study):
    assert open_study.status == Study.Status.OPEN
    assert open_study.opened_at is not None


def test_prepare_refuses_a_task_without_both_classes(media, admin, tmp_path):
    from tests.turing_test.factories import import_real

    study = services.study_create(title="One-sided", created_by=admin)
    task = services.task_create(study=study, actor=admin, kind="image_realism", modality="ct")
    services.item_add(task=task, actor=admin, image_study=import_real(tmp_path, "ct", 1))
    with pytest.raises(InvalidInput, match="no synthetic"):
        services.study_prepare(study=study, actor=admin)


def test_only_drafts_change(open_study, admin):
    task = open_study.tasks.first()
    with pytest.raises(Conflict):
        services.task_update(task=task, actor=admin, question="New?")
    with pytest.raises(Conflict):
        services.item_delete(item=open_study.items.first(), actor=admin)
    with pytest.raises(Conflict):
        services.study_update(study=open_study, actor=admin, allow_back=False)


def test_unprepare_deletes_copies(small_study, admin, inline_tasks):
    from webapp.dicom.models import Study as DicomStudy

    inline_tasks(services.study_prepare, study=small_study, actor=admin)
    assert DicomStudy.objects.filter(source="presentation").exists()
    services.study_unprepare(study=small_study, actor=admin)
    assert not DicomStudy.objects.filter(source="presentation").exists()
    assert not Item.objects.filter(study=small_study, presentation_study__isnull=False).exists()
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.DRAFT


def test_presentation_build_is_idempotent(small_study, admin, inline_tasks):
    from turing_test.services import study_presentation_build
    from webapp.dicom.models import Study as DicomStudy

    inline_tasks(services.study_prepare, study=small_study, actor=admin)
    n = DicomStudy.objects.filter(source="presentation").count()
    # a second delivery of the task (acks_late redelivery) changes nothing
    assert study_presentation_build(study_pk=small_study.pk) == "skipped"
    Study.objects.filter(pk=small_study.pk).update(status=Study.Status.PREPARING)
    assert study_presentation_build(study_pk=small_study.pk) == "ok"
    assert DicomStudy.objects.filter(source="presentation").count() == n


def test_blinding_audit_on_the_twenty_item_study(vtt20, admin, inline_tasks):
    """Header cues of the originals (vendor, SyntheticData, matrix) are gone from the copies; the
    pixel cue these test images carry on purpose (real CT noise 25 HU vs synthetic 8 HU) is found."""
    inline_tasks(services.study_prepare, study=vtt20, actor=admin)
    vtt20.refresh_from_db()
    audit = vtt20.blinding_audit
    pooled = {p["group"]: p for p in audit["pooled"]}
    assert set(pooled) == {"image-ct", "image-cxr", "report-all"}
    ct = pooled["image-ct"]
    assert (ct["presentation"]["n_real"], ct["presentation"]["n_synthetic"]) == (4, 4)
    source_cues = [c["feature"] for c in ct["source"]["worst_cues"] if c["auc"] == 1.0]
    assert ct["source"]["auc"] >= 0.9 and source_cues
    presentation_headers = [c for c in ct["presentation"]["worst_cues"] if ".header." in c["feature"] and c["auc"] >= 0.75]
    assert not presentation_headers, presentation_headers
    assert not any(f.startswith("image.header.") and "=" in f for f in _varying_categoricals(vtt20, "ct"))
    assert ct["presentation"]["warning"] and audit["warning"]  # the noise cue is real and reported
    assert any(k in c["feature"] for c in ct["presentation"]["worst_cues"] for k in ("noise", "std", "gradient", "p0", "p9"))
    assert pooled["report-all"]["presentation"]["auc"] is None and audit["inconclusive"]


def _varying_categoricals(study, modality):
    """Header values (strings) that are not identical across all presentation copies of a modality."""
    values: dict[str, set] = {}
    for item in study.items.filter(modality=modality):
        for key, value in item.audit_features["presentation"].items():
            if isinstance(value, str):
                values.setdefault(key.split(".", 1)[1], set()).add(value)
    return [f"image.{k}={v}" for k, vs in values.items() if len(vs) > 1 for v in vs]


def test_failed_preparation_goes_back_to_draft_and_stale_copies_are_remade(small_study, admin, inline_tasks, monkeypatch, tmp_path):
    from tests.turing_test.factories import import_generated
    from turing_test.services import lifecycle
    from webapp.dicom.models import Study as DicomStudy

    real_present = lifecycle._item_present
    calls = {"n": 0}
    n_items = small_study.items.count()

    def flaky(item, grids):  # the last item fails: every image item but at most one has its copy
        calls["n"] += 1
        if calls["n"] == n_items:
            raise OSError("disk full")
        return real_present(item, grids)

    monkeypatch.setattr(lifecycle, "_item_present", flaky)
    inline_tasks(services.study_prepare, study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.DRAFT and "disk full" in small_study.preparation_error
    assert AuditEvent.objects.filter(study=small_study, action="study.prepare_failed").exists()
    partial = set(DicomStudy.objects.filter(source="presentation").values_list("pk", flat=True))
    assert partial
    # a new CT with another geometry changes the common grid: the old copies must not be reused
    task = small_study.tasks.get(modality="ct")
    services.item_add(task=task, actor=admin, image_study=import_generated(tmp_path / "more", "ct", 99, admin, report_seed=3))
    monkeypatch.setattr(lifecycle, "_item_present", real_present)
    inline_tasks(services.study_prepare, study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == Study.Status.READY, small_study.preparation_error
    copies = DicomStudy.objects.filter(source="presentation")
    assert copies.count() == small_study.items.exclude(modality="").count()
    from webapp.dicom.models import Instance

    ct_grids = {(i.rows, i.columns) for i in Instance.objects.filter(series__study__in=copies, series__modality="CT")}
    assert len(ct_grids) == 1
    services.study_unprepare(study=small_study, actor=admin)
    assert not DicomStudy.objects.filter(source="presentation").exists()
