"""/api/cases/: author from a job, edit, publish, variants, search; every bad input is a 4xx."""

from __future__ import annotations

import pytest

from webapp.cases.models import Case, CaseVariantJob

pytestmark = pytest.mark.django_db


def test_educator_flow_over_the_api(client, educator, learner, make_succeeded_job, django_capture_on_commit_callbacks):
    job = make_succeeded_job(educator)
    client.force_login(educator)
    created = client.post("/api/cases/from-job/", {"job": str(job.public_id)}, content_type="application/json")
    assert created.status_code == 201
    case_id = created.json()["id"]
    assert created.json()["studies"][0]["label"] == "Synthetic image"
    patched = client.patch(f"/api/cases/{case_id}/", {
        "diagnosis": "Pleural effusion", "differential": ["Empyema"], "teaching_points": ["Look dependent"],
        "tags": {"pathology": ["Pleural effusion"], "organ_system": ["Chest"], "modality": ["CT"]},
    }, content_type="application/json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["tags"] == {"organ-system": ["Chest"], "pathology": ["Pleural effusion"], "modality": ["CT"]}
    with django_capture_on_commit_callbacks(execute=False):
        variants = client.post(f"/api/cases/{case_id}/variants/", {"kind": "new-seed", "count": 2},
                               content_type="application/json")
    assert variants.status_code == 202 and len(variants.json()["jobs"]) == 2
    assert CaseVariantJob.objects.filter(case__public_id=case_id).count() == 2
    published = client.post(f"/api/cases/{case_id}/publish/", {"visibility": "published"}, content_type="application/json")
    assert published.status_code == 200 and published.json()["visibility"] == "published"
    client.force_login(learner)
    found = client.get("/api/cases/", {"tag": "pleural-effusion", "realness": "synthetic"}).json()
    assert [c["id"] for c in found] == [case_id] and found[0]["has_synthetic_images"] is True
    assert client.patch(f"/api/cases/{case_id}/", {"title": "x"}, content_type="application/json").status_code == 403


@pytest.mark.parametrize(("method", "url", "data", "status", "message"), [
    ("post", "/api/cases/", {}, 400, "title"),
    ("post", "/api/cases/", {"title": "T", "studies": ["1.2.3"]}, 400, "no study 1.2.3"),
    ("post", "/api/cases/", {"title": "T", "quiz_type": "multiple-choice", "quiz_choices": ["A"]}, 400, "at least two"),
    ("post", "/api/cases/", {"title": "T", "difficulty": "godlike"}, 400, "valid choice"),
    ("post", "/api/cases/from-job/", {"job": "not-a-uuid"}, 400, "UUID"),
    ("post", "/api/cases/from-job/", {"job": "00000000-0000-0000-0000-000000000000"}, 404, "No such generation job"),
    ("get", "/api/cases/?difficulty=godlike", None, 400, "valid choice"),
    ("get", "/api/cases/00000000-0000-0000-0000-000000000000/", None, 404, "No such case"),
])
def test_bad_api_input_is_a_4xx_with_a_message(client, educator, method, url, data, status, message):
    client.force_login(educator)
    if method == "post":
        response = client.post(url, data, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == status
    assert message in str(response.json())


def test_publish_errors_and_foreign_cases(client, educator, other_educator):
    client.force_login(educator)
    case_id = client.post("/api/cases/", {"title": "Empty"}, content_type="application/json").json()["id"]
    response = client.post(f"/api/cases/{case_id}/publish/", {}, content_type="application/json")
    assert response.status_code == 400 and "attach at least one study" in response.json()["detail"]
    variants = client.post(f"/api/cases/{case_id}/variants/", {"kind": "new-seed"}, content_type="application/json")
    assert variants.status_code == 400 and "no generated study" in variants.json()["detail"]
    client.force_login(other_educator)
    assert client.get(f"/api/cases/{case_id}/").status_code == 404  # drafts do not leak
    assert client.delete(f"/api/cases/{case_id}/").status_code == 404
    client.force_login(educator)
    assert client.delete(f"/api/cases/{case_id}/").status_code == 204
    assert not Case.objects.exists()
