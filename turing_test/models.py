"""Visual Turing Test data: studies, tasks, items, reader assignments, ratings and the audit log.

Truth (real / synthetic) and provenance live on Item and ItemPart and never leave the admin side:
readers address items by opaque tokens and receive only presentation copies (see services).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from turing_test.task_kinds import KIND_CHOICES


def new_token() -> str:
    """An opaque, URL-safe identifier (96 random bits) that says nothing about what it names."""
    return secrets.token_urlsafe(12)


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1) + 1


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PREPARING = "preparing", "Preparing presentation copies"
        READY = "ready", "Ready to open"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    seed = models.BigIntegerField(default=new_seed, help_text="randomisation seed; with the reader it fixes each order")
    allow_back = models.BooleanField(default=True, help_text="readers may go back and change earlier answers")
    forced_choice = models.BooleanField(default=False, help_text="also ask 'real or synthetic?' with confidence 1–5")
    shuffle_tasks = models.BooleanField(default=True, help_text="task blocks in a random order per reader")
    open_when_ready = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="turing_studies_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    prepared_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    preparation_done = models.PositiveIntegerField(default=0)
    preparation_total = models.PositiveIntegerField(default=0)
    preparation_error = models.TextField(blank=True)
    blinding_audit = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Task(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    modality = models.CharField(max_length=8, blank=True, help_text="ct, cxr, or empty for report-only tasks")
    title = models.CharField(max_length=200)
    question = models.TextField()
    anchors = models.JSONField(help_text="five descriptions, for scores 1 to 5")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def key(self) -> str:
        """Stable task key used in exports and the randomisation."""
        return f"T{self.position + 1}-{self.kind}" + (f"-{self.modality}" if self.modality else "")

    @property
    def anchor_pairs(self) -> list[tuple[int, str]]:
        return list(enumerate(self.anchors, start=1))


class Item(models.Model):
    class Truth(models.TextChoices):
        REAL = "real", "Real"
        SYNTHETIC = "synthetic", "Synthetic"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="items")
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    truth = models.CharField(max_length=16, choices=Truth.choices)
    is_practice = models.BooleanField(default=False)
    modality = models.CharField(max_length=8, blank=True, help_text="ct, cxr or empty (report)")
    generator = models.CharField(max_length=128, blank=True, help_text="preset/model of a synthetic item")
    source_case = models.CharField(max_length=128, help_text="items of one case are never shown back to back")
    label = models.CharField(max_length=200, blank=True, help_text="admin-facing description")
    provenance = models.JSONField(default=dict, blank=True)
    presentation_study = models.ForeignKey(
        "dicom.Study", null=True, blank=True, on_delete=models.SET_NULL, related_name="turing_presented_items"
    )
    audit_features = models.JSONField(default=dict, blank=True, help_text="cue features: source and presentation")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task__position", "created_at", "id"]

    def __str__(self) -> str:
        return self.label or self.token

    @property
    def truth_code(self) -> int:
        """Export coding: 1 = real, 0 = synthetic (higher realism ratings mean "more real")."""
        return 1 if self.truth == self.Truth.REAL else 0


class ItemPart(models.Model):
    """One component of a stimulus: an image series (CT, frontal, lateral) or a report."""

    class Role(models.TextChoices):
        IMAGE = "image", "Image"
        FRONTAL = "frontal", "Frontal view"
        LATERAL = "lateral", "Lateral view"
        REPORT = "report", "Report"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="parts")
    role = models.CharField(max_length=16, choices=Role.choices)
    position = models.PositiveSmallIntegerField(default=0)
    under_test = models.BooleanField(default=False)
    is_synthetic = models.BooleanField(default=False)
    source_study = models.ForeignKey(
        "dicom.Study", null=True, blank=True, on_delete=models.PROTECT, related_name="turing_item_parts"
    )
    source_series_uid = models.CharField(max_length=64, blank=True)
    report_findings = models.TextField(blank=True)
    report_impression = models.TextField(blank=True)
    presentation_series_uid = models.CharField(max_length=64, blank=True)
    presentation_report = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.role} of item {self.item_id}"

    @property
    def is_image(self) -> bool:
        return self.role != self.Role.REPORT


class Invitation(models.Model):
    """A single-use link; only the SHA-256 of its token is stored."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=200, blank=True, help_text="who it is for (name or e-mail)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk} to study {self.study_id}"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        ACTIVE = "active", "Reading"
        SUBMITTED = "submitted", "Submitted (locked)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="turing_assignments")
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    pseudonym = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ASSIGNED)
    position = models.PositiveIntegerField(default=0, help_text="index of the item last shown")
    furthest = models.PositiveIntegerField(default=0, help_text="highest index reached")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    order_built_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["study", "reader"], name="turing_one_assignment_per_reader"),
            models.UniqueConstraint(fields=["study", "pseudonym"], name="turing_unique_pseudonym"),
        ]

    def __str__(self) -> str:
        return f"{self.pseudonym} in {self.study_id}"

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.SUBMITTED


class AssignmentEntry(models.Model):
    """One slot of a reader's stored order."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="entries")
    is_practice = models.BooleanField(default=False)
    first_shown_at = models.DateTimeField(null=True, blank=True)
    time_mark_at = models.DateTimeField(null=True, blank=True, help_text="server clock: last show or save")

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "position"], name="turing_entry_position"),
            models.UniqueConstraint(fields=["assignment", "item"], name="turing_entry_item"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} of assignment {self.assignment_id}"


class Rating(models.Model):
    """One answer per (reader's assignment, item, question); a row may hold time only (score null)."""

    class Choice(models.TextChoices):
        REAL = "real", "Real"
        SYNTHETIC = "synthetic", "Synthetic"

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="ratings")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="ratings")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="ratings", help_text="the question")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    forced_choice = models.CharField(max_length=16, choices=Choice.choices, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    client_ms = models.BigIntegerField(default=0, help_text="active time on the item measured by the browser")
    server_ms = models.BigIntegerField(default=0, help_text="time between show and saves, by the server clock")
    revision = models.PositiveIntegerField(default=0)
    last_request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["assignment", "item"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "item", "task"], name="turing_one_rating_per_question"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="turing_score_1_5"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                name="turing_confidence_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"rating of item {self.item_id} by assignment {self.assignment_id}"


class AuditEvent(models.Model):
    """Append-only log of every change (who, what, before/after)."""

    study = models.ForeignKey(Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action}"
