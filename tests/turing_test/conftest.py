"""Fixtures for the Visual Turing Test tests (none autouse: tests/turing_test/stats is unaffected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.turing_test.factories import import_generated, import_real


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    Path(settings.MEDIA_ROOT).mkdir()
    settings.TURING_AUDIT_PERMUTATIONS = 5
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def admin(db, role_user):
    return role_user("ada", "study_admins")


@pytest.fixture
def reader_a(db, role_user):
    return role_user("rita", "readers")


@pytest.fixture
def reader_b(db, role_user):
    return role_user("rob", "readers")


@pytest.fixture
def inline_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Run Celery tasks enqueued on commit right away, in this process (no broker)."""
    from turing_test import tasks

    monkeypatch.setattr(tasks.study_presentation_build_task, "delay", lambda **kw: tasks.study_presentation_build_task.run(**kw))

    class Runner:
        def __call__(self, fn, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)

    return Runner()


def build_small_study(tmp: Path, admin, *, forced_choice=False, allow_back=True, practice=True, seed=1234):
    """Three tasks (CT realism, CXR realism, report realism): 2 + 2 + 4 items and one practice item."""
    from turing_test import services

    study = services.study_create(
        title="Small VTT", created_by=admin, instructions="Rate each item.", forced_choice=forced_choice, allow_back=allow_back, seed=seed
    )
    t_ct = services.task_create(study=study, actor=admin, kind="image_realism", modality="ct")
    t_cxr = services.task_create(study=study, actor=admin, kind="image_realism", modality="cxr")
    t_rep = services.task_create(study=study, actor=admin, kind="report_realism")
    for s in range(1):
        services.item_add(task=t_ct, actor=admin, image_study=import_real(tmp, "ct", s))
        services.item_add(task=t_ct, actor=admin, image_study=import_generated(tmp, "ct", s, admin, report_seed=s + 6))
        services.item_add(task=t_cxr, actor=admin, image_study=import_real(tmp, "cxr", 10 + s))
        services.item_add(task=t_cxr, actor=admin, image_study=import_generated(tmp, "cxr", 10 + s, admin, report_seed=s + 8))
    real_report_study = import_real(tmp, "cxr", 20)
    services.item_add(task=t_rep, actor=admin, report_study=real_report_study)
    services.item_add(task=t_rep, actor=admin, report={"findings": "Clear lungs. No effusion.", "impression": "normal chest"})
    services.item_add(
        task=t_rep, actor=admin, report={"findings": "lungs are clear .", "impression": "no acute process ."},
        report_synthetic=True, generator="medcodi-m",
    )
    services.item_add(
        task=t_rep, actor=admin, report={"findings": "cardiomegaly , small effusion .", "impression": "chf ."},
        report_synthetic=True, generator="medcodi-m", is_practice=practice,
    )
    if practice:
        services.item_add(
            task=t_rep, actor=admin, report={"findings": "mild cardiomegaly .", "impression": "stable ."},
            report_synthetic=True, generator="medcodi-m",
        )
    return study


@pytest.fixture
def small_study(media, admin, tmp_path):
    return build_small_study(tmp_path / "cases", admin)


@pytest.fixture
def open_study(small_study, admin, reader_a, reader_b, inline_tasks):
    """The small study, prepared, opened, with two readers."""
    from turing_test import services

    services.reader_assign(study=small_study, reader=reader_a, actor=admin)
    services.reader_assign(study=small_study, reader=reader_b, actor=admin)
    inline_tasks(services.study_open, study=small_study, actor=admin)
    small_study.refresh_from_db()
    assert small_study.status == "open", small_study.preparation_error
    return small_study


def build_vtt20(tmp: Path, admin, *, forced_choice=False, seed=2026):
    """The acceptance study: 20 rated items (+1 practice) over all six task kinds, CT and CXR,
    real items imported, synthetic items from generation jobs (two presets for CT realism)."""
    from turing_test import services

    study = services.study_create(
        title="VTT-20: chest CT and X-ray", created_by=admin, instructions="Rate each item on its own.",
        forced_choice=forced_choice, seed=seed,
    )
    k = {}
    k["ct_real"] = services.task_create(study=study, actor=admin, kind="image_realism", modality="ct")
    k["cxr_real"] = services.task_create(study=study, actor=admin, kind="image_realism", modality="cxr")
    k["ct_rep"] = services.task_create(study=study, actor=admin, kind="ct_report_coherence")
    k["pair"] = services.task_create(study=study, actor=admin, kind="pair_coherence")
    k["rep_img"] = services.task_create(study=study, actor=admin, kind="report_image_coherence", modality="cxr")
    k["rep"] = services.task_create(study=study, actor=admin, kind="report_realism")
    add = services.item_add
    # CT realism: 2 real, 2 synthetic from two presets (the export's two "modalities")
    for s in (1, 2):
        add(task=k["ct_real"], actor=admin, image_study=import_real(tmp, "ct", s))
    add(task=k["ct_real"], actor=admin, image_study=import_generated(tmp, "ct", 1, admin, preset="demo-phantom", report_seed=1))
    add(task=k["ct_real"], actor=admin, image_study=import_generated(tmp, "ct", 2, admin, preset="report2ct-small", report_seed=7))
    # CXR realism
    for s in (3, 4):
        add(task=k["cxr_real"], actor=admin, image_study=import_real(tmp, "cxr", s))
        add(task=k["cxr_real"], actor=admin, image_study=import_generated(tmp, "cxr", s, admin, report_seed=s + 4))
    # CT-report coherence: the real CT with its report; a CT generated from the same report
    for s in (5, 6):
        add(task=k["ct_rep"], actor=admin, image_study=import_real(tmp, "ct", s))
        add(task=k["ct_rep"], actor=admin, image_study=import_generated(tmp, "ct", s + 20, admin, report_seed=s + 2))
    # pair coherence: real pairs, and a real frontal with a synthetic lateral
    for s in (7, 8):
        add(task=k["pair"], actor=admin, image_study=import_real(tmp, "cxr", s))
        reference = import_real(tmp, "cxr", s + 20)
        lateral = import_generated(tmp, "cxr", s + 40, admin, views=("LL",), report_seed=s + 20)
        add(task=k["pair"], actor=admin, image_study=lateral, reference_study=reference)
    # report coherence with real images: own report vs a synthetic report
    real_pair = import_real(tmp, "cxr", 9)
    add(task=k["rep_img"], actor=admin, image_study=real_pair)
    add(
        task=k["rep_img"], actor=admin, image_study=import_real(tmp, "cxr", 10),
        report={"findings": "lungs are clear . no effusion .", "impression": "no acute cardiopulmonary process ."},
        report_synthetic=True, generator="medcodi-m",
    )
    # report realism
    add(task=k["rep"], actor=admin, report_study=import_real(tmp, "cxr", 11))
    add(task=k["rep"], actor=admin, report={"findings": "heart size normal . small right effusion .", "impression": "small effusion ."},
        report_synthetic=True, generator="medcodi-m")
    add(task=k["rep"], actor=admin, report={"findings": "mild cardiomegaly .", "impression": "no acute process ."},
        report_synthetic=True, generator="medcodi-m", is_practice=True)
    return study


@pytest.fixture
def vtt20(media, admin, tmp_path):
    return build_vtt20(tmp_path / "vtt20", admin)


def read_as(reader, assignment, score_of, choice_of=None):
    """``reader`` answers every item of ``assignment`` over the API (score ``score_of(token)``,
    forced choice ``choice_of(token)`` or "real", confidence 4, 2 s each) and submits."""
    from django.urls import reverse
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(reader)
    state = client.get(reverse("api:turing_api:assignment_state", args=[assignment.token])).json()
    for slot in state["slots"]:
        token = slot["token"]
        item = client.get(reverse("api:turing_api:assignment_item", args=[assignment.token, token]))
        assert item.status_code == 200, item.content
        body = {"request_id": f"{reader.pk}-{token}", "score": score_of(token), "forced_choice": choice_of(token) if choice_of else "real",
                "confidence": 4, "client_ms_delta": 2000}
        r = client.put(reverse("api:turing_api:rating_save", args=[assignment.token, token]), body, format="json")
        assert r.status_code == 200, r.content
    r = client.post(reverse("api:turing_api:assignment_submit", args=[assignment.token]))
    assert r.status_code == 200, r.content
