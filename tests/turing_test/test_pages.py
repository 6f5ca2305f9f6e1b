"""HTML pages: the study builder end to end through forms, reader pages, and role checks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from turing_test.models import Assignment, Item, Study

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_builder_through_the_forms(media, admin, reader_a, tmp_path, inline_tasks):
    from tests.turing_test.factories import import_generated, write_real_ct

    c = login(admin)
    assert c.get(reverse("turing_test:study_list")).status_code == 200
    r = c.post(reverse("turing_test:study_create"), {"title": "Form study", "instructions": "Be quick", "allow_back": "on", "seed": 42})
    study = Study.objects.get(title="Form study")
    assert r.status_code == 302 and study.seed == 42
    c.post(reverse("turing_test:task_add", args=[study.pk]), {"kind": "image_realism", "modality": "ct"})
    task = study.tasks.get()
    # upload a real CT as DICOM files with its report
    folder = write_real_ct(tmp_path / "upload", 77)
    files = [SimpleUploadedFile(p.name, p.read_bytes(), content_type="application/dicom") for p in sorted(folder.glob("*.dcm"))]
    r = c.post(reverse("turing_test:case_upload", args=[study.pk]), {"files": files, "report": "FINDINGS: clear.\nIMPRESSION: normal."})
    assert r.status_code == 302, r.content.decode()[:2000]
    from webapp.dicom.models import Study as DicomStudy

    uploaded = DicomStudy.objects.get(patient_id="MRN00077")
    assert uploaded.report_impression == "normal." and uploaded.owner == admin
    uploaded_uid = uploaded.study_instance_uid
    generated = [import_generated(tmp_path, "ct", s, admin) for s in (1, 2, 3)]
    page = c.get(reverse("turing_test:item_add", args=[study.pk, task.pk]))
    assert page.status_code == 200 and uploaded_uid.encode() in page.content
    for uid in [uploaded_uid] + [g.study_instance_uid for g in generated]:
        r = c.post(reverse("turing_test:item_add", args=[study.pk, task.pk]), {"image_study": uid})
        assert r.status_code == 302
    for s in (2, 3):
        from tests.turing_test.factories import import_real

        c.post(reverse("turing_test:item_add", args=[study.pk, task.pk]), {"image_study": import_real(tmp_path, "ct", s).study_instance_uid})
    assert study.items.count() == 6
    # edit the question and anchors
    anchors = {f"anchor_{i}": f"level {i}" for i in range(1, 6)}
    c.post(reverse("turing_test:task_edit", args=[study.pk, task.pk]), {"title": "CT realism", "question": "Real?", **anchors})
    task.refresh_from_db()
    assert task.question == "Real?" and task.anchors[4] == "level 5"
    # readers: an account and a single-use link (shown once)
    c.post(reverse("turing_test:reader_add", args=[study.pk]), {"username": reader_a.username})
    c.post(reverse("turing_test:invitation_add", args=[study.pk]), {"label": "Dr Z", "days": 7})
    detail = c.get(reverse("turing_test:study_detail", args=[study.pk]))
    assert b"/studies/invite/" in detail.content
    assert b"/studies/invite/" not in c.get(reverse("turing_test:study_detail", args=[study.pk])).content
    # prepare (copies + audit), preview, open, dashboard, close
    inline_tasks(c.post, reverse("turing_test:study_action", args=[study.pk, "prepare"]))
    study.refresh_from_db()
    assert study.status == "ready", study.preparation_error
    detail = c.get(reverse("turing_test:study_detail", args=[study.pk]))
    assert b'data-testid="blinding-audit"' in detail.content and b"AUC" in detail.content
    preview = c.get(reverse("turing_test:study_preview", args=[study.pk]))
    assert preview.status_code == 200 and b"Preview" in preview.content and b"rs-viewer" in preview.content
    assert c.get(reverse("turing_test:study_preview_item", args=[study.pk, 6])).status_code == 200
    assert c.get(reverse("turing_test:study_preview_item", args=[study.pk, 7])).status_code == 404
    c.post(reverse("turing_test:study_action", args=[study.pk, "open"]))
    study.refresh_from_db()
    assert study.status == "open"
    assert c.get(reverse("turing_test:study_dashboard", args=[study.pk])).status_code == 200
    assert c.get(reverse("turing_test:study_audit_log", args=[study.pk])).status_code == 200
    c.post(reverse("turing_test:study_action", args=[study.pk, "close"]))
    study.refresh_from_db()
    assert study.status == "closed"
    assert c.post(reverse("turing_test:study_action", args=[study.pk, "bogus"])).status_code == 404


def test_bad_upload_is_a_message_not_a_500(media, admin):
    study = Study.objects.create(title="x", created_by=admin)
    c = login(admin)
    r = c.post(reverse("turing_test:case_upload", args=[study.pk]), {"files": [SimpleUploadedFile("x.dcm", b"not dicom")]})
    assert r.status_code == 200 and b"not a DICOM file" in r.content


def test_admin_pages_need_the_role(open_study, reader_a):
    c = login(reader_a)
    for name, args in [("study_list", []), ("study_create", []), ("study_detail", [open_study.pk]), ("study_dashboard", [open_study.pk]),
                       ("study_preview", [open_study.pk]), ("study_audit_log", [open_study.pk]), ("case_upload", [open_study.pk])]:
        assert c.get(reverse(f"turing_test:{name}", args=args)).status_code == 403, name
    assert c.post(reverse("turing_test:study_action", args=[open_study.pk, "close"])).status_code == 403
    assert Client().get(reverse("turing_test:study_list")).status_code == 302  # to login


def test_reader_pages(open_study, reader_a, reader_b):
    a = Assignment.objects.get(study=open_study, reader=reader_a)
    c = login(reader_a)
    mine = c.get(reverse("turing_test:my_assignments"))
    assert mine.status_code == 200 and open_study.title.encode() in mine.content
    r = c.get(reverse("turing_test:read_resume", args=[a.token]))
    first = a.entries.order_by("position").first().item.token
    assert r.status_code == 302 and r.url.endswith(f"/{first}/")
    page = c.get(r.url)
    assert page.status_code == 200 and b'data-testid="score-5"' in page.content and b"Practice" in page.content
    # skipping ahead redirects back to the current item with a message
    second = a.entries.order_by("position")[1].item.token
    assert c.get(reverse("turing_test:read_item", args=[a.token, second])).status_code == 302
    assert c.get(reverse("turing_test:read_finish", args=[a.token])).status_code == 200
    assert c.get(reverse("turing_test:read_thanks", args=[a.token])).status_code == 302  # not submitted yet
    # another reader's assignment does not exist for B
    b = login(reader_b)
    for name, args in [("read_resume", [a.token]), ("read_item", [a.token, first]), ("read_finish", [a.token]), ("read_thanks", [a.token])]:
        assert b.get(reverse(f"turing_test:{name}", args=args)).status_code == 404, name
    assert b.post(reverse("turing_test:read_finish", args=[a.token])).status_code == 404


def test_invitation_page_creates_a_reader(open_study, admin):
    from turing_test import services

    _, token = services.invitation_create(study=open_study, actor=admin)
    c = Client()
    page = c.get(reverse("turing_test:invitation", args=[token]))
    assert page.status_code == 200 and open_study.title.encode() in page.content
    r = c.post(reverse("turing_test:invitation", args=[token]), {"username": "newreader", "password": "Longer-passw0rd-42"})
    assert r.status_code == 302 and "/studies/read/" in r.url
    assert c.get(r.url).status_code == 302  # resume -> first item
    again = Client().get(reverse("turing_test:invitation", args=[token]))
    assert again.status_code == 409 and b"already been used" in again.content
    assert Client().get(reverse("turing_test:invitation", args=["nope"])).status_code == 404
    assert Item.objects.filter(study=open_study).exists()
