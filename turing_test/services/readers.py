"""Readers: assignments to a study, single-use invitation links, the stored reading order."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from turing_test.errors import Conflict, InvalidInput, NotFound
from turing_test.models import Assignment, AssignmentEntry, Invitation, Item, Study
from turing_test.randomisation import OrderItem, build_order
from turing_test.services.audit import audit_log
from webapp.core.roles import READERS

INVITATION_DAYS = 14


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reader_key(assignment: Assignment) -> str:
    """What, with the study seed, fixes a reader's order: stable and unique within a study."""
    return f"user:{assignment.reader_id}"


def _next_pseudonym(study: Study) -> str:
    used = set(study.assignments.values_list("pseudonym", flat=True))
    n = 1
    while f"R{n:02d}" in used:
        n += 1
    return f"R{n:02d}"


def _ensure_reader_role(user) -> None:
    group, _ = Group.objects.get_or_create(name=READERS)
    user.groups.add(group)
    if hasattr(user, "_radsynth_roles"):
        del user._radsynth_roles


@transaction.atomic
def reader_assign(*, study: Study, reader, actor, invitation: Invitation | None = None) -> Assignment:
    """Assign ``reader`` to ``study`` (idempotent); gives them the reader role."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.CLOSED:
        raise Conflict("The study is closed; no readers can be added.")
    if not reader.is_active:
        raise InvalidInput(f"{reader.get_username()} is an inactive account.")
    existing = Assignment.objects.filter(study=study, reader=reader).first()
    if existing is not None:
        return existing
    assignment = Assignment.objects.create(
        study=study, reader=reader, pseudonym=_next_pseudonym(study), invitation=invitation
    )
    _ensure_reader_role(reader)
    audit_log(
        study=study, actor=actor, action="assignment.create", target=assignment,
        data={"reader": reader.get_username(), "pseudonym": assignment.pseudonym, "invitation": invitation.pk if invitation else None},
    )
    if study.status == Study.Status.OPEN:
        assignment_order_build(assignment=assignment)
    return assignment


@transaction.atomic
def reader_unassign(*, assignment: Assignment, actor) -> None:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.ratings.exists():
        raise Conflict("This reader has already rated items; the assignment is kept for the record.")
    audit_log(
        study=assignment.study, actor=actor, action="assignment.delete", target=assignment,
        data={"reader": assignment.reader.get_username(), "pseudonym": assignment.pseudonym},
    )
    assignment.delete()


@transaction.atomic
def assignment_order_build(*, assignment: Assignment) -> list[AssignmentEntry]:
    """Store the reader's order once (a pure function of items, seed and reader); never recomputed."""
    assignment = Assignment.objects.select_for_update().select_related("study").get(pk=assignment.pk)
    existing = list(assignment.entries.order_by("position"))
    if existing:
        return existing
    study = assignment.study
    items = list(Item.objects.filter(study=study).select_related("task"))
    if not items:
        raise Conflict("The study has no items.")
    by_token = {i.token: i for i in items}
    order = build_order(
        [OrderItem(key=i.token, truth=i.truth, task=i.task.key, source_case=i.source_case, practice=i.is_practice) for i in items],
        seed=study.seed,
        reader_key=reader_key(assignment),
        shuffle_tasks=study.shuffle_tasks,
    )
    entries = AssignmentEntry.objects.bulk_create(
        [
            AssignmentEntry(assignment=assignment, position=pos, item=by_token[token], is_practice=by_token[token].is_practice)
            for pos, token in enumerate(order)
        ]
    )
    assignment.order_built_at = timezone.now()
    assignment.save(update_fields=["order_built_at"])
    audit_log(
        study=study, actor=None, action="assignment.order_build", target=assignment,
        data={"items": len(order), "practice": sum(1 for i in items if i.is_practice), "reader_key": reader_key(assignment)},
    )
    return entries


# --- invitations ---------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, study: Study, actor, label: str = "", days: int = INVITATION_DAYS) -> tuple[Invitation, str]:
    """A single-use link. Returns the invitation and the raw token (shown once, stored hashed)."""
    if study.status == Study.Status.CLOSED:
        raise Conflict("The study is closed.")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidInput("Validity must be a number of days.") from None
    if not 1 <= days <= 365:
        raise InvalidInput("An invitation is valid for 1 to 365 days.")
    token = secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        study=study,
        token_hash=token_hash(token),
        label=(label or "").strip()[:200],
        created_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit_log(study=study, actor=actor, action="invitation.create", target=invitation, data={"label": invitation.label, "days": days})
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation for ``token`` or NotFound / Conflict with a reason."""
    invitation = Invitation.objects.select_related("study").filter(token_hash=token_hash(token or "")).first()
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation.revoked:
        raise Conflict("This invitation was withdrawn.")
    if invitation.used_at is not None:
        raise Conflict("This invitation link has already been used.")
    if invitation.expires_at <= timezone.now():
        raise Conflict("This invitation link has expired.")
    if invitation.study.status == Study.Status.CLOSED:
        raise Conflict("The study is closed.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Assignment:
    """Use the link: the signed-in ``user`` becomes a reader of the study (single use)."""
    invitation = invitation_for_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise Conflict("This invitation link has already been used.")
    existing = Assignment.objects.filter(study=invitation.study, reader=user).first()
    if existing is not None:
        return existing  # already a reader: keep the link for someone else
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    audit_log(study=invitation.study, actor=user, action="invitation.accept", target=invitation, data={"user": user.get_username()})
    return reader_assign(study=invitation.study, reader=user, actor=user, invitation=invitation)


@transaction.atomic
def invitation_account_create(*, token: str, username: str, password: str):
    """Create a reader account from an invitation link and accept it; returns (user, assignment)."""
    invitation_for_token(token)
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise InvalidInput("Choose a user name (at most 150 characters).")
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise InvalidInput("That user name is taken; sign in instead if it is yours.")
    candidate = user_model(username=username)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, password=password)
    except IntegrityError:
        raise InvalidInput("That user name is taken.") from None
    assignment = invitation_accept(token=token, user=user)
    return user, assignment


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise Conflict("The invitation has already been used.")
    invitation.revoked = True
    invitation.save(update_fields=["revoked"])
    audit_log(study=invitation.study, actor=actor, action="invitation.revoke", target=invitation)
    return invitation
