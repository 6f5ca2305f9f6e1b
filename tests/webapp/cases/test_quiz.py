"""Quiz mode: images and history first, the answer only after a committed attempt (server side)."""

from __future__ import annotations

import pytest

from webapp.cases.models import QuizAttempt, QuizType
from webapp.cases.services import case_create, case_publish

pytestmark = pytest.mark.django_db

SECRET_BITS = ("Large right pleural effusion", "Pleural effusion (dx)", "Layering fluid discussion", "Point one")


@pytest.fixture
def quiz_case(educator, make_study):
    case = case_create(
        owner=educator, title="Large right pleural effusion", quiz_title="Breathless adult",
        history="Two weeks of dyspnoea.", findings="Dependent fluid.", impression="Large effusion.",
        diagnosis="Pleural effusion (dx)", discussion="Layering fluid discussion", teaching_points="Point one\nPoint two",
        quiz_type=QuizType.MULTIPLE_CHOICE, quiz_question="What is the diagnosis?",
        quiz_choices=["Pneumothorax", "Pleural effusion", "Normal"], quiz_correct_index=1,
        studies=[make_study(educator)],
    )
    return case_publish(case=case)


def test_quiz_page_holds_images_and_history_but_no_answer(client, learner, quiz_case):
    client.force_login(learner)
    quiz = client.get(f"/cases/{quiz_case.public_id}/quiz/").content.decode()
    assert "Two weeks of dyspnoea." in quiz and "Breathless adult" in quiz and "Synthetic image" in quiz
    assert "Dependent fluid." not in quiz  # findings hidden unless the author allows them
    for secret in SECRET_BITS:
        assert secret not in quiz
    detail = client.get(f"/cases/{quiz_case.public_id}/").content.decode()
    assert "data-answer-hidden" in detail
    for secret in SECRET_BITS[1:]:
        assert secret not in detail
    api = client.get(f"/api/cases/{quiz_case.public_id}/").json()
    assert api["answer_visible"] is False
    assert not {"diagnosis", "discussion", "teaching_points", "impression", "findings"} & set(api)


def test_multiple_choice_attempt_is_scored_then_revealed(client, learner, quiz_case):
    client.force_login(learner)
    response = client.post(f"/cases/{quiz_case.public_id}/quiz/", {"choice": "0"})
    attempt = QuizAttempt.objects.get(learner=learner)
    assert attempt.correct is False and attempt.answer == "Pneumothorax"
    assert response["Location"] == f"/cases/{quiz_case.public_id}/quiz/{attempt.pk}/"
    reveal = client.get(response["Location"]).content.decode()
    assert 'data-verdict="wrong"' in reveal and "“Pleural effusion”" in reveal
    for secret in SECRET_BITS:
        assert secret in reveal
    client.post(f"/cases/{quiz_case.public_id}/quiz/", {"choice": "1"})
    assert QuizAttempt.objects.filter(learner=learner).order_by("-id").first().correct is True
    detail = client.get(f"/cases/{quiz_case.public_id}/").content.decode()
    assert "data-answer" in detail and "Layering fluid discussion" in detail  # answered: case page shows it
    history = client.get("/cases/quiz-history/").content.decode()
    assert "1 of 2 multiple-choice answers correct" in history


def test_bad_quiz_input_is_a_400_with_a_message(client, learner, quiz_case):
    client.force_login(learner)
    for data in ({}, {"choice": "7"}, {"choice": "x"}):
        response = client.post(f"/cases/{quiz_case.public_id}/quiz/", data)
        assert response.status_code == 400
    assert "pick one of the answers" in client.post(f"/cases/{quiz_case.public_id}/quiz/", {}).content.decode()
    assert not QuizAttempt.objects.exists()
    api = client.post(f"/api/cases/{quiz_case.public_id}/quiz/attempts/", {"choice_index": 9}, content_type="application/json")
    assert api.status_code == 400 and "does not exist" in api.json()["detail"]


def test_free_text_attempt_is_self_assessed(client, learner, educator, make_study):
    case = case_publish(case=case_create(owner=educator, title="Free", diagnosis="Effusion", studies=[make_study(educator)]))
    client.force_login(learner)
    empty = client.post(f"/cases/{case.public_id}/quiz/", {"answer": "   "})
    assert empty.status_code == 400 and "write your answer" in empty.content.decode()
    client.post(f"/cases/{case.public_id}/quiz/", {"answer": "fluid on the right"})
    attempt = QuizAttempt.objects.get(learner=learner)
    assert attempt.correct is None
    reveal = client.get(f"/cases/{case.public_id}/quiz/{attempt.pk}/").content.decode()
    assert 'data-verdict="self"' in reveal and "Effusion" in reveal


def test_reveal_needs_your_own_attempt(client, learner, role_user, quiz_case):
    other = role_user("other-learner")
    client.force_login(other)
    client.post(f"/cases/{quiz_case.public_id}/quiz/", {"choice": "1"})
    attempt = QuizAttempt.objects.get(learner=other)
    client.force_login(learner)
    assert client.get(f"/cases/{quiz_case.public_id}/quiz/{attempt.pk}/").status_code == 404
    assert client.get(f"/cases/{quiz_case.public_id}/quiz/999999/").status_code == 404


def test_quiz_api_submit_reveals_and_lists_history(client, learner, quiz_case):
    client.force_login(learner)
    response = client.post(
        f"/api/cases/{quiz_case.public_id}/quiz/attempts/", {"choice_index": 1}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["correct"] is True and body["reveal"]["diagnosis"] == "Pleural effusion (dx)"
    assert body["reveal"]["teaching_points"] == ["Point one", "Point two"]
    history = client.get("/api/cases/quiz/attempts/").json()
    assert [h["correct"] for h in history] == [True] and "reveal" not in history[0]
