"""Reading: stored order, navigation, autosave (idempotent), time, submit + lock, audit trail."""

from __future__ import annotations

import pytest

from turing_test import services
from turing_test.errors import Conflict, InvalidInput, NotAllowed, NotFound
from turing_test.models import Assignment, AuditEvent, Rating, Study

pytestmark = pytest.mark.django_db


def _assignment(study, reader) -> Assignment:
    return Assignment.objects.get(study=study, reader=reader)


def _tokens(assignment):
    return list(assignment.entries.order_by("position").values_list("item__token", flat=True))


def _answer_all(assignment, reader, *, forced=False):
    for n, token in enumerate(_tokens(assignment)):
        services.assignment_item_open(assignment=assignment, reader=reader, item_token=token)
        fields = {"score": (n % 5) + 1}
        if forced:
            fields.update(forced_choice="real" if n % 2 else "synthetic", confidence=3)
        services.rating_save(assignment=assignment, reader=reader, item_token=token, request_id=f"r{n}", client_ms_delta=1500, **fields)


def test_order_is_stored_practice_first_and_not_recomputed(open_study, reader_a, reader_b):
    a, b = _assignment(open_study, reader_a), _assignment(open_study, reader_b)
    order_a = _tokens(a)
    assert order_a != _tokens(b)
    entries = list(a.entries.order_by("position").select_related("item"))
    n_practice = sum(e.is_practice for e in entries)
    assert n_practice == 1 and entries[0].is_practice
    # building again (e.g. a retried open) keeps the stored order even if the seed changed
    Study.objects.filter(pk=open_study.pk).update(seed=999)
    services.assignment_order_build(assignment=a)
    assert _tokens(a) == order_a


def test_navigation_forward_needs_an_answer(open_study, reader_a):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    with pytest.raises(Conflict, match="Answer the current item"):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[1])
    with pytest.raises(Conflict):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[3])
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="x1", score=4)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[1])
    # back is allowed in this study, and resume points at the last item shown
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    a.refresh_from_db()
    assert (a.position, a.furthest) == (0, 1)


def test_forward_only_study_locks_earlier_answers(media, admin, reader_a, tmp_path, inline_tasks):
    from tests.turing_test.conftest import build_small_study

    study = build_small_study(tmp_path / "c", admin, allow_back=False, practice=False)
    services.reader_assign(study=study, reader=reader_a, actor=admin)
    inline_tasks(services.study_open, study=study, actor=admin)
    a = _assignment(study, reader_a)
    t = _tokens(a)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="1", score=2)
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="2", score=3)  # current: may change
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[1])
    with pytest.raises(Conflict, match="does not allow going back"):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    with pytest.raises(NotAllowed):
        services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="3", score=5)
    assert Rating.objects.get(assignment=a, item__token=t[0]).score == 3


def test_rating_save_is_idempotent_and_partial(open_study, reader_a):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)[0]
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t)
    r1, replayed = services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="same", score=2, client_ms_delta=1000)
    assert not replayed
    r2, replayed = services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="same", score=2, client_ms_delta=1000)
    assert replayed and r2.pk == r1.pk
    r3, _ = services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="time-only", client_ms_delta=500)
    assert Rating.objects.filter(assignment=a).count() == 1
    assert (r3.score, r3.client_ms, r3.revision) == (2, 1500, 2)
    assert AuditEvent.objects.filter(action="rating.save", target_id=str(r1.pk)).count() == 1  # time-only: no answer change


def test_bad_values_are_rejected(open_study, reader_a):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)[0]
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t)
    for bad in ({"score": 0}, {"score": 6}, {"score": "x"}, {"score": True}):
        with pytest.raises(InvalidInput):
            services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="b", **bad)
    with pytest.raises(InvalidInput, match="does not ask"):
        services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="b", forced_choice="real")
    with pytest.raises(InvalidInput):
        services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="", score=3)
    with pytest.raises(InvalidInput):
        services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="c", score=3, client_ms_delta=-5)


def test_reader_cannot_touch_another_assignment_or_item(open_study, reader_a, reader_b, admin, tmp_path):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)[0]
    with pytest.raises(NotFound):
        services.assignment_item_open(assignment=a, reader=reader_b, item_token=t)
    with pytest.raises(NotFound):
        services.rating_save(assignment=a, reader=reader_b, item_token=t, request_id="z", score=1)
    with pytest.raises(NotFound):
        services.assignment_submit(assignment=a, reader=reader_b)
    with pytest.raises(NotFound, match="not part of your assignment"):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token="not-an-item")


def test_submit_needs_every_answer_then_locks(open_study, reader_a):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="0", score=1)
    with pytest.raises(Conflict, match="not answered"):
        services.assignment_submit(assignment=a, reader=reader_a)
    _answer_all(a, reader_a)
    services.assignment_submit(assignment=a, reader=reader_a)
    a.refresh_from_db()
    assert a.is_locked and a.submitted_at
    before = list(Rating.objects.filter(assignment=a).values_list("score", flat=True))
    with pytest.raises(Conflict, match="locked"):
        services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="late", score=5)
    with pytest.raises(Conflict, match="locked"):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    assert list(Rating.objects.filter(assignment=a).values_list("score", flat=True)) == before
    assert services.assignment_submit(assignment=a, reader=reader_a).is_locked  # idempotent


def test_closed_study_takes_no_answers(open_study, reader_a, admin):
    a = _assignment(open_study, reader_a)
    t = _tokens(a)[0]
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t)
    services.study_close(study=open_study, actor=admin)
    with pytest.raises(Conflict, match="closed"):
        services.rating_save(assignment=a, reader=reader_a, item_token=t, request_id="q", score=3)


def test_forced_choice_completes_an_answer(media, admin, reader_a, tmp_path, inline_tasks):
    from tests.turing_test.conftest import build_small_study

    study = build_small_study(tmp_path / "c", admin, forced_choice=True, practice=False)
    services.reader_assign(study=study, reader=reader_a, actor=admin)
    inline_tasks(services.study_open, study=study, actor=admin)
    a = _assignment(study, reader_a)
    t = _tokens(a)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[0])
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="1", score=4)
    with pytest.raises(Conflict):  # score alone is not a complete answer here
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[1])
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="2", forced_choice="synthetic")
    services.rating_save(assignment=a, reader=reader_a, item_token=t[0], request_id="3", confidence=4)
    services.assignment_item_open(assignment=a, reader=reader_a, item_token=t[1])
    _answer_all(a, reader_a, forced=True)
    assert services.assignment_submit(assignment=a, reader=reader_a).is_locked


def test_reader_added_after_opening_gets_an_order(open_study, admin, role_user):
    late = role_user("late", "readers")
    assignment = services.reader_assign(study=open_study, reader=late, actor=admin)
    assert assignment.entries.count() == open_study.items.count()


def test_invitation_is_single_use(open_study, admin, role_user):
    invitation, token = services.invitation_create(study=open_study, actor=admin, label="Dr X")
    user, assignment = services.invitation_account_create(token=token, username="drx", password="a-long-Passw0rd!")
    assert assignment.reader == user and assignment.entries.exists()
    other = role_user("other")
    with pytest.raises(Conflict, match="already been used"):
        services.invitation_accept(token=token, user=other)
    with pytest.raises(NotFound):
        services.invitation_accept(token="forged", user=other)
    _, token2 = services.invitation_create(study=open_study, actor=admin)
    services.invitation_revoke(invitation=open_study.invitations.exclude(pk=invitation.pk).get(), actor=admin)
    with pytest.raises(Conflict, match="withdrawn"):
        services.invitation_accept(token=token2, user=other)
