"""The /api/turing/ endpoints: every reader endpoint refuses other readers (404), bad input is a
4xx with a message, admin endpoints need the study admin role."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from turing_test.models import Assignment, Rating

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(name, *args):
    return reverse(f"api:turing_api:{name}", args=args)


@pytest.fixture
def ctx(open_study, reader_a, reader_b):
    a = Assignment.objects.get(study=open_study, reader=reader_a)
    b = Assignment.objects.get(study=open_study, reader=reader_b)
    first_a = a.entries.order_by("position").first().item.token
    first_b = b.entries.order_by("position").first().item.token
    return {"a": a, "b": b, "first_a": first_a, "first_b": first_b, "A": client_for(reader_a), "B": client_for(reader_b)}


def test_reader_flow_over_the_api(ctx):
    A, a = ctx["A"], ctx["a"]
    state = A.get(url("assignment_state", a.token)).json()
    assert state["total"] == a.entries.count() and state["current"] == ctx["first_a"]
    item = A.get(url("assignment_item", a.token, ctx["first_a"])).json()
    assert item["practice"] is True and len(item["task"]["anchors"]) == 5
    r = A.put(url("rating_save", a.token, ctx["first_a"]), {"request_id": "r1", "score": 4, "client_ms_delta": 900}, format="json")
    assert r.status_code == 200 and r.json()["score"] == 4 and r.json()["replayed"] is False
    again = A.put(url("rating_save", a.token, ctx["first_a"]), {"request_id": "r1", "score": 4, "client_ms_delta": 900}, format="json")
    assert again.json()["replayed"] is True
    assert Rating.objects.get(assignment=a).client_ms == 900
    assert A.get(url("assignment_list")).json()[0]["assignment"] == a.token
    r = A.post(url("assignment_submit", a.token))
    assert r.status_code == 409 and "not answered" in r.json()["detail"]


@pytest.mark.parametrize(
    "method,name,needs_item",
    [
        ("get", "assignment_state", False),
        ("get", "assignment_item", True),
        ("put", "rating_save", True),
        ("post", "assignment_submit", False),
    ],
)
def test_reader_b_cannot_read_or_write_reader_a(ctx, method, name, needs_item):
    B, a = ctx["B"], ctx["a"]
    # A has answered something B could try to read
    ctx["A"].get(url("assignment_item", a.token, ctx["first_a"]))
    ctx["A"].put(url("rating_save", a.token, ctx["first_a"]), {"request_id": "x", "score": 2}, format="json")
    args = (a.token, ctx["first_a"]) if needs_item else (a.token,)
    body = {"request_id": "evil", "score": 5}
    response = getattr(B, method)(url(name, *args), body, format="json")
    assert response.status_code == 404, response.content
    assert "detail" in response.json()
    assert Rating.objects.get(assignment=a).score == 2
    assert not Rating.objects.filter(assignment=ctx["b"]).exists()
    # and B's own token with A's item is "not part of your assignment" when the item is not B's
    assert B.get(url("assignment_state", a.token)).status_code == 404


def test_item_outside_the_assignment_is_refused(ctx, admin, media, tmp_path, inline_tasks):
    from tests.turing_test.conftest import build_small_study
    from turing_test import services

    other = build_small_study(tmp_path / "other", admin, practice=False)
    services.reader_assign(study=other, reader=ctx["b"].reader, actor=admin)
    inline_tasks(services.study_open, study=other, actor=admin)
    foreign = other.items.first().token
    A, a = ctx["A"], ctx["a"]
    assert A.get(url("assignment_item", a.token, foreign)).status_code == 404
    assert A.put(url("rating_save", a.token, foreign), {"request_id": "f", "score": 3}, format="json").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"score": 3},
        {"request_id": "a", "score": 0},
        {"request_id": "a", "score": 9},
        {"request_id": "a", "score": "high"},
        {"request_id": "a", "forced_choice": "maybe"},
        {"request_id": "a", "client_ms_delta": -1},
        {"request_id": "x" * 65, "score": 3},
        ["not", "an", "object"],
    ],
)
def test_bad_rating_input_is_a_400_with_a_message(ctx, body):
    A, a = ctx["A"], ctx["a"]
    A.get(url("assignment_item", a.token, ctx["first_a"]))
    r = A.put(url("rating_save", a.token, ctx["first_a"]), body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()


def test_garbage_json_is_a_400(ctx):
    A, a = ctx["A"], ctx["a"]
    r = A.generic("PUT", url("rating_save", a.token, ctx["first_a"]), "{not json", content_type="application/json")
    assert r.status_code == 400


def test_anonymous_gets_401_or_403(ctx):
    r = APIClient().get(url("assignment_state", ctx["a"].token))
    assert r.status_code in (401, 403)


def test_admin_endpoints_need_the_role(ctx, open_study, admin):
    A = ctx["A"]
    for name, method in [("study_list", "get"), ("study_detail", "get"), ("study_progress", "get"), ("study_export_csv", "get"),
                         ("study_export_json", "get"), ("study_close", "post"), ("study_open", "post"), ("task_create", "post"),
                         ("reader_assign", "post"), ("invitation_create", "post"), ("study_prepare", "post")]:
        args = () if name == "study_list" else (open_study.pk,)
        r = getattr(A, method)(url(name, *args), {}, format="json")
        assert r.status_code == 403, (name, r.status_code)
    Admin = client_for(admin)
    assert Admin.get(url("study_detail", open_study.pk)).status_code == 200
    assert Admin.get(url("study_detail", 999999)).status_code == 404
    assert Admin.post(url("study_prepare", open_study.pk)).status_code == 409
    assert Admin.post(url("task_create", open_study.pk), {"kind": "image_realism", "modality": "ct"}, format="json").status_code == 409
    assert Admin.get(url("study_export_csv", open_study.pk) + "?layout=weird").status_code == 400
    assert Admin.get(url("study_export_csv", open_study.pk) + "?task=abc").status_code == 400
    r = Admin.get(url("study_progress", open_study.pk)).json()
    assert r["n_readers"] == 2


def test_admin_builds_over_the_api(admin, media, tmp_path, inline_tasks):
    from tests.turing_test.factories import import_generated, import_real

    Admin = client_for(admin)
    r = Admin.post(url("study_list"), {"title": "API study", "forced_choice": True}, format="json")
    assert r.status_code == 201
    pk = r.json()["id"]
    for bad in ({"kind": "nope"}, {"kind": "image_realism", "modality": "mri"}, {"kind": "pair_coherence", "modality": "ct"}, {}):
        r = Admin.post(url("task_create", pk), bad, format="json")
        assert r.status_code == 400 and r.json(), bad
    r = Admin.post(url("task_create", pk), {"kind": "ct_report_coherence"}, format="json")
    assert r.status_code == 201, r.content
    task_pk = r.json()["id"]
    real = import_real(tmp_path, "ct", 3)
    gen = import_generated(tmp_path, "ct", 3, admin)
    for study in (real, gen):
        r = Admin.post(url("item_add", task_pk), {"image_study_uid": study.study_instance_uid}, format="json")
        assert r.status_code == 201, r.content
    assert {i["truth"] for i in [r.json()]} == {"synthetic"}
    r = Admin.post(url("item_add", task_pk), {"image_study_uid": "1.2.3.4"}, format="json")
    assert r.status_code == 400 and "No image study" in r.json()["detail"]
    r = Admin.post(url("reader_assign", pk), {"username": "nobody"}, format="json")
    assert r.status_code == 400
    r = Admin.post(url("invitation_create", pk), {"label": "Dr Y"}, format="json")
    assert r.status_code == 201 and "/studies/invite/" in r.json()["url"]
