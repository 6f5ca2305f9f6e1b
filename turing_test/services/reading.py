"""A reader's session: open an item, save a rating (autosave, idempotent), submit and lock.

Every write runs in one transaction holding the assignment row lock, so a submit and a late
autosave cannot interleave, and a retried request (same ``request_id``) changes nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from turing_test.errors import Conflict, InvalidInput, NotAllowed, NotFound
from turing_test.models import Assignment, AssignmentEntry, Rating, Study
from turing_test.navigation import navigation_allows_open, rating_is_complete
from turing_test.services.audit import audit_log

UNSET: Any = object()
SERVER_TIME_CAP = dt.timedelta(minutes=15)  # an idle browser tab does not count as reading time
CLIENT_DELTA_CAP_MS = 15 * 60 * 1000
MAX_REQUEST_ID = 64


def _locked_assignment(assignment: Assignment, reader) -> Assignment:
    locked = Assignment.objects.select_for_update().select_related("study").get(pk=assignment.pk)
    if locked.reader_id != reader.pk:
        raise NotFound("No such assignment.")
    return locked


def _require_readable(assignment: Assignment) -> None:
    study = assignment.study
    if study.status == Study.Status.CLOSED:
        raise Conflict("The study is closed.")
    if study.status != Study.Status.OPEN:
        raise Conflict("The study is not open yet.")
    if assignment.is_locked:
        raise Conflict("You have submitted this study; your answers are locked.")


def _entry(assignment: Assignment, item_token: str) -> AssignmentEntry:
    entry = assignment.entries.select_related("item").filter(item__token=item_token).first()
    if entry is None:
        raise NotFound("This item is not part of your assignment.")
    return entry


def _answered_positions(assignment: Assignment) -> set[int]:
    complete = Rating.objects.filter(assignment=assignment, score__isnull=False)
    if assignment.study.forced_choice:
        complete = complete.exclude(forced_choice="").filter(confidence__isnull=False)
    item_ids = set(complete.values_list("item_id", flat=True))
    return {e.position for e in assignment.entries.only("position", "item_id") if e.item_id in item_ids}


@transaction.atomic
def assignment_item_open(*, assignment: Assignment, reader, item_token: str) -> AssignmentEntry:
    """Show an item: checks navigation, remembers the position (resume) and starts the server clock."""
    assignment = _locked_assignment(assignment, reader)
    _require_readable(assignment)
    entry = _entry(assignment, item_token)
    answered = _answered_positions(assignment)
    if not navigation_allows_open(assignment, entry.position, answered):
        if entry.position > assignment.furthest:
            raise Conflict("Answer the current item before moving on.")
        raise Conflict("This study does not allow going back to earlier items.")
    now = timezone.now()
    changed_position = assignment.position != entry.position
    assignment.position = entry.position
    assignment.furthest = max(assignment.furthest, entry.position)
    if assignment.status == Assignment.Status.ASSIGNED:
        assignment.status = Assignment.Status.ACTIVE
        assignment.started_at = now
    assignment.save(update_fields=["position", "furthest", "status", "started_at"])
    entry.first_shown_at = entry.first_shown_at or now
    entry.time_mark_at = now
    entry.save(update_fields=["first_shown_at", "time_mark_at"])
    if changed_position:
        audit_log(
            study=assignment.study, actor=reader, action="assignment.position", target=assignment,
            data={"position": entry.position},
        )
    return entry


def _clean_score(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"{name} must be a whole number from 1 to 5.")
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number from 1 to 5.") from None
    if not 1 <= number <= 5:
        raise InvalidInput(f"{name} must be from 1 to 5.")
    return number


@transaction.atomic
def rating_save(
    *,
    assignment: Assignment,
    reader,
    item_token: str,
    request_id: str,
    score: Any = UNSET,
    forced_choice: Any = UNSET,
    confidence: Any = UNSET,
    client_ms_delta: int = 0,
) -> tuple[Rating, bool]:
    """Create or update the reader's answer to one item (fields left UNSET are kept).

    Returns ``(rating, replayed)``; ``replayed`` is True when ``request_id`` was already applied
    (a retry after a lost response), in which case nothing changes.
    """
    request_id = (request_id or "").strip()
    if not request_id or len(request_id) > MAX_REQUEST_ID:
        raise InvalidInput(f"request_id is required (at most {MAX_REQUEST_ID} characters).")
    assignment = _locked_assignment(assignment, reader)
    _require_readable(assignment)
    entry = _entry(assignment, item_token)
    item = entry.item
    rating = Rating.objects.select_for_update().filter(assignment=assignment, item=item, task_id=item.task_id).first()
    if rating is not None and rating.last_request_id == request_id:
        return rating, True
    answering = any(v is not UNSET for v in (score, forced_choice, confidence))
    if entry.position > assignment.furthest:
        raise Conflict("Open this item before answering it.")
    if answering and not assignment.study.allow_back and entry.position != assignment.furthest:
        raise NotAllowed("This study does not allow changing earlier answers.")

    new_score = _clean_score(score, "score") if score is not UNSET else UNSET
    new_confidence = _clean_score(confidence, "confidence") if confidence is not UNSET else UNSET
    if forced_choice is not UNSET:
        if not assignment.study.forced_choice and forced_choice not in (None, ""):
            raise InvalidInput("This study does not ask real-or-synthetic.")
        if forced_choice in (None, ""):
            forced_choice = ""
        elif forced_choice not in Rating.Choice.values:
            raise InvalidInput("forced_choice must be 'real' or 'synthetic'.")
    if confidence is not UNSET and new_confidence is not None and not assignment.study.forced_choice:
        raise InvalidInput("This study does not ask for confidence.")
    try:
        delta = int(client_ms_delta or 0)
    except (TypeError, ValueError):
        raise InvalidInput("client_ms_delta must be a number of milliseconds.") from None
    if delta < 0:
        raise InvalidInput("client_ms_delta cannot be negative.")
    delta = min(delta, CLIENT_DELTA_CAP_MS)

    now = timezone.now()
    created = rating is None
    if created:
        rating = Rating(assignment=assignment, item=item, task_id=item.task_id)
    before = {"score": rating.score, "forced_choice": rating.forced_choice, "confidence": rating.confidence}
    if new_score is not UNSET:
        rating.score = new_score
    if forced_choice is not UNSET:
        rating.forced_choice = forced_choice
    if new_confidence is not UNSET:
        rating.confidence = new_confidence
    rating.client_ms += delta
    if entry.time_mark_at is not None:
        rating.server_ms += int(min(max(now - entry.time_mark_at, dt.timedelta(0)), SERVER_TIME_CAP).total_seconds() * 1000)
    entry.time_mark_at = now
    entry.save(update_fields=["time_mark_at"])
    rating.revision += 1
    rating.last_request_id = request_id
    if rating_is_complete(rating, forced_choice=assignment.study.forced_choice) and rating.answered_at is None:
        rating.answered_at = now
    rating.save()
    after = {"score": rating.score, "forced_choice": rating.forced_choice, "confidence": rating.confidence}
    if before != after or created:
        audit_log(
            study=assignment.study, actor=reader, action="rating.save", target=rating,
            data={
                "item": item.token, "before": before, "after": after,
                "revision": rating.revision, "request_id": request_id,
            },
        )
    return rating, False


@transaction.atomic
def assignment_submit(*, assignment: Assignment, reader) -> Assignment:
    """Lock the assignment once every item is answered; idempotent for a submitted one."""
    assignment = _locked_assignment(assignment, reader)
    if assignment.is_locked:
        return assignment
    _require_readable(assignment)
    answered = _answered_positions(assignment)
    total = assignment.entries.count()
    missing = [p for p in range(total) if p not in answered]
    if not total:
        raise Conflict("Your reading order is not ready yet.")
    if missing:
        raise Conflict(f"{len(missing)} item(s) are not answered yet (first: item {missing[0] + 1}).")
    assignment.status = Assignment.Status.SUBMITTED
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["status", "submitted_at"])
    audit_log(study=assignment.study, actor=reader, action="assignment.submit", target=assignment, data={"items": total})
    return assignment
