"""Case pages: save from the job page, edit, library search and filters, labels, permissions."""

from __future__ import annotations

import pytest

from webapp.cases.models import Case, Difficulty, TagKind, Visibility
from webapp.cases.selectors import case_library_search
from webapp.cases.services import case_create, case_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(educator, make_study):
    """A: published synthetic beginner effusion; B: published real advanced pneumothorax; C: draft."""
    a = case_create(
        owner=educator, title="Right pleural effusion", diagnosis="Pleural effusion", difficulty=Difficulty.BEGINNER,
        history="Breathless.", studies=[make_study(educator, synthetic=True)],
        tags={TagKind.ORGAN_SYSTEM: ["Chest"], TagKind.PATHOLOGY: ["Pleural effusion"], TagKind.MODALITY: ["CT"]},
    )
    b = case_create(
        owner=educator, title="Tension pneumothorax", diagnosis="Pneumothorax", difficulty=Difficulty.ADVANCED,
        discussion="Mediastinal shift away.", studies=[make_study(educator, synthetic=False)],
        tags={TagKind.PATHOLOGY: ["Pneumothorax"]},
    )
    c = case_create(owner=educator, title="Unfinished effusion draft", studies=[make_study(educator)])
    case_publish(case=a)
    case_publish(case=b)
    return a, b, c


def titles(qs) -> set[str]:
    return {case.title for case in qs}


def test_library_search_and_filters(library, learner, educator):
    a, b, c = library
    search = lambda **kw: titles(case_library_search(user=learner, **kw))  # noqa: E731
    assert search() == {a.title, b.title}  # drafts stay out
    assert search(q="effusion") == {a.title}
    assert search(q="mediastinal shift") == {b.title}  # every word, any field
    assert search(tag="pneumothorax") == {b.title}
    assert search(tag="chest") == {a.title}
    assert search(modality="CT") == {a.title, b.title}
    assert search(difficulty=Difficulty.ADVANCED) == {b.title}
    assert search(realness="real") == {b.title}
    assert search(realness="synthetic") == {a.title}
    assert search(q="effusion", realness="real") == set()
    assert titles(case_library_search(user=educator, mine=True, q="effusion")) == {a.title, c.title}


def test_library_page_filters_by_tag_and_labels_synthetic_cases(client, library, learner):
    a, b, _ = library
    client.force_login(learner)
    page = client.get("/cases/", {"tag": "pleural-effusion"}).content.decode()
    assert a.title in page and b.title not in page
    assert "data-synthetic-label" in page
    assert 'data-tag="pneumothorax"' in page  # tag chips to click
    bad = client.get("/cases/", {"difficulty": "godlike", "tag": "no spaces allowed"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_case_page_labels_synthetic_images_and_hides_drafts(client, library, learner):
    a, b, c = library
    client.force_login(learner)
    page = client.get(f"/cases/{a.public_id}/").content.decode()
    assert "Synthetic image" in page and "not a real patient" in page
    real = client.get(f"/cases/{b.public_id}/").content.decode()
    assert "not a real patient" not in real and "Real (imported) study" in real
    assert client.get(f"/cases/{c.public_id}/").status_code == 404
    assert client.get(f"/cases/{c.public_id}/edit/").status_code == 403  # readers never edit


def test_save_as_case_button_on_the_job_page_creates_a_draft(client, educator, make_succeeded_job):
    job = make_succeeded_job(educator)
    client.force_login(educator)
    page = client.get(f"/jobs/{job.public_id}/").content.decode()
    assert "Save as teaching case" in page and f"/cases/from-job/{job.public_id}/" in page
    response = client.post(f"/cases/from-job/{job.public_id}/")
    case = Case.objects.get(source_job=job)
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.public_id}/edit/"
    edit = client.get(response["Location"]).content.decode()
    assert "Synthetic image" in edit and "Add variants" in edit


def test_edit_form_saves_fields_tags_and_multiple_choice(client, educator, make_study):
    case = case_create(owner=educator, title="Draft", studies=[make_study(educator)])
    client.force_login(educator)
    form = {
        "title": "Large right pleural effusion", "quiz_title": "Breathless adult", "authors": "Dr Edu",
        "history": "Two weeks of dyspnoea.", "findings": "Fluid.", "impression": "Effusion.",
        "diagnosis": "Pleural effusion", "diagnostic_certainty": "almost-certain",
        "differential": "Haemothorax\nEmpyema", "discussion": "Layering fluid.", "teaching_points": "Look dependent\nCheck shift",
        "answer_after_attempt": "on", "organ_systems": "Chest", "pathologies": "Pleural effusion, Atelectasis",
        "modalities": "CT", "difficulty": "beginner", "quiz_type": "multiple-choice",
        "quiz_question": "Diagnosis?", "quiz_choices": "Pneumothorax\n*Pleural effusion\nNormal",
    }
    response = client.post(f"/cases/{case.public_id}/edit/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.quiz_choices == ["Pneumothorax", "Pleural effusion", "Normal"] and case.quiz_correct_index == 1
    assert case.differential_list == ["Haemothorax", "Empyema"] and case.answer_after_attempt
    assert {t.slug for t in case.tags.all()} == {"chest", "pleural-effusion", "atelectasis", "ct"}
    two_marked = client.post(f"/cases/{case.public_id}/edit/", {**form, "quiz_choices": "*A\n*B"})
    assert two_marked.status_code == 400 and "Mark only one choice" in two_marked.content.decode()
    no_correct = client.post(f"/cases/{case.public_id}/edit/", {**form, "quiz_choices": "A\nB"})
    assert no_correct.status_code == 400 and "mark exactly one" in no_correct.content.decode()


def test_publish_button_and_permissions_of_other_educators(client, educator, other_educator, make_study):
    case = case_create(owner=educator, title="Effusion", diagnosis="Effusion", studies=[make_study(educator)])
    client.force_login(other_educator)
    assert client.get(f"/cases/{case.public_id}/edit/").status_code == 404
    assert client.post(f"/cases/{case.public_id}/publish/", {"visibility": "published"}).status_code == 404
    client.force_login(educator)
    client.post(f"/cases/{case.public_id}/share/", {"username": other_educator.username})
    client.force_login(other_educator)
    response = client.post(f"/cases/{case.public_id}/publish/", {"visibility": "published"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.visibility == Visibility.PUBLISHED
    assert client.post(f"/cases/{case.public_id}/delete/").status_code == 302
    assert Case.objects.filter(pk=case.pk).exists()  # only the owner deletes


def test_unlisted_case_by_secret_link(client, educator, learner, make_study):
    case = case_create(owner=educator, title="Hidden", diagnosis="Effusion", studies=[make_study(educator)])
    case_publish(case=case, visibility=Visibility.UNLISTED)
    client.force_login(learner)
    assert client.get(f"/cases/{case.public_id}/").status_code == 404
    assert case.title not in client.get("/cases/").content.decode()
    assert client.get("/cases/link/not-the-token/").status_code == 404
    response = client.get(f"/cases/link/{case.link_token}/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.public_id}/"
    assert client.get(f"/cases/{case.public_id}/").status_code == 200


def test_anonymous_users_go_to_login(client, library):
    a, _, _ = library
    for url in ("/cases/", f"/cases/{a.public_id}/", f"/cases/{a.public_id}/quiz/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_new_case_from_any_readable_study(client, educator, learner, make_study):
    real = make_study(educator, synthetic=False, description="Imported chest CT")
    client.force_login(educator)
    page = client.get("/cases/new/").content.decode()
    assert "Imported chest CT" in page and "real" in page
    response = client.post("/cases/new/", {"title": "Real case", "studies": [real.pk]})
    case = Case.objects.get(title="Real case")
    assert response.status_code == 302 and list(case.case_studies.values_list("study_id", flat=True)) == [real.pk]
    assert client.post("/cases/new/", {"title": ""}).status_code == 400
    client.force_login(learner)
    assert client.get("/cases/new/").status_code == 403


def test_open_case_shows_the_answer_without_a_quiz(client, educator, learner, make_study):
    case = case_publish(case=case_create(
        owner=educator, title="Open", diagnosis="Visible dx", answer_after_attempt=False, studies=[make_study(educator)],
    ))
    client.force_login(learner)
    page = client.get(f"/cases/{case.public_id}/").content.decode()
    assert "data-answer" in page and "Visible dx" in page and "Open in full viewer" in page


def test_demo_seed_is_idempotent_and_publishes_once_the_study_exists(educator, make_output):
    from io import StringIO

    from webapp.cases import demo
    from webapp.jobs.demo import DEMO_FINDINGS, DEMO_IMPRESSION
    from webapp.jobs.models import GenerationJob

    educator.username = "educator"
    educator.save()
    demo.seed(stdout=StringIO())  # no demo job yet: nothing to build on
    assert not Case.objects.exists()
    job = GenerationJob.objects.create(owner=educator, findings=DEMO_FINDINGS, impression=DEMO_IMPRESSION, seed=7,
                                       guidance_scale=5.0, num_inference_steps=2)
    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    case = Case.objects.get()
    assert case.visibility == Visibility.DRAFT and not case.case_studies.exists()
    make_output(job, seed=7)
    demo.seed(stdout=StringIO())
    case.refresh_from_db()
    assert case.visibility == Visibility.PUBLISHED and case.case_studies.count() == 1
    assert Case.objects.count() == 1


def test_remove_study_and_unshare_actions(client, educator, other_educator, make_study):
    case = case_create(owner=educator, title="Two studies", studies=[make_study(educator), make_study(educator)])
    client.force_login(educator)
    first = case.case_studies.first()
    client.post(f"/cases/{case.public_id}/remove-study/", {"case_study": first.pk})
    assert case.case_studies.count() == 1
    response = client.post(f"/cases/{case.public_id}/remove-study/", {"case_study": "abc"}, follow=True)
    assert "which study should be removed?" in response.content.decode()
    client.post(f"/cases/{case.public_id}/share/", {"username": other_educator.username})
    assert case.editors.filter(pk=other_educator.pk).exists()
    client.post(f"/cases/{case.public_id}/unshare/", {"username": other_educator.username})
    assert not case.editors.exists()
    assert client.post(f"/cases/{case.public_id}/no-such-action/").status_code == 404
