"""Teaching cases: a MIRC-style teaching file around one or more real or synthetic studies.

A case holds the clinical story (history, report), the answer (diagnosis with Radiopaedia's
diagnostic certainty, differential, discussion, key teaching points), tags, difficulty, a quiz
and a visibility (draft → published, or unlisted behind a secret link). Writes live in
services.py, reads and permission checks in selectors.py.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models


def new_link_token() -> str:
    return secrets.token_urlsafe(24)


class Visibility(models.TextChoices):
    DRAFT = "draft", "Draft (authors only)"
    PUBLISHED = "published", "Published (library)"
    UNLISTED = "unlisted", "Unlisted (secret link)"


class DiagnosticCertainty(models.TextChoices):
    """Radiopaedia's case standard: how sure the diagnosis is."""

    CERTAIN = "certain", "Diagnosis certain"
    ALMOST_CERTAIN = "almost-certain", "Diagnosis almost certain"
    PROBABLE = "probable", "Diagnosis probable"
    POSSIBLE = "possible", "Diagnosis possible"
    NOT_APPLICABLE = "not-applicable", "Diagnosis not applicable"


class Difficulty(models.TextChoices):
    BEGINNER = "beginner", "Beginner (student)"
    INTERMEDIATE = "intermediate", "Intermediate (resident)"
    ADVANCED = "advanced", "Advanced (fellow / specialist)"


class QuizType(models.TextChoices):
    FREE_TEXT = "free-text", "Free text"
    MULTIPLE_CHOICE = "multiple-choice", "Multiple choice (one correct answer)"


class TagKind(models.TextChoices):
    ORGAN_SYSTEM = "organ-system", "Organ system"
    PATHOLOGY = "pathology", "Pathology"
    MODALITY = "modality", "Modality"


class Tag(models.Model):
    kind = models.CharField(max_length=16, choices=TagKind.choices)
    name = models.CharField(max_length=64)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teaching_cases")
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_teaching_cases",
        help_text="Educators the owner shared this case with; they may edit it.",
    )
    authors = models.CharField(max_length=300, blank=True, help_text="Names as they should be credited.")
    # Story shown before the answer.
    title = models.CharField(max_length=200)
    quiz_title = models.CharField(
        max_length=200, blank=True,
        help_text="Shown in quiz mode instead of the title (which often names the diagnosis).",
    )
    history = models.TextField(blank=True, help_text="History / indication.")
    findings = models.TextField(blank=True)
    impression = models.TextField(blank=True)
    findings_before_answer = models.BooleanField(
        default=False, help_text="Show the report findings to learners before they answer.",
    )
    # The answer.
    diagnosis = models.CharField(max_length=300, blank=True)
    diagnostic_certainty = models.CharField(
        max_length=16, choices=DiagnosticCertainty.choices, default=DiagnosticCertainty.PROBABLE,
    )
    differential = models.TextField(blank=True, help_text="One diagnosis per line.")
    discussion = models.TextField(blank=True)
    teaching_points = models.TextField(blank=True, help_text="One key learning point per line.")
    answer_after_attempt = models.BooleanField(
        default=True,
        help_text="Learners see impression, diagnosis, differential, discussion and teaching points "
        "only after they committed a quiz answer.",
    )
    # Classification.
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases")
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, default=Difficulty.INTERMEDIATE)
    # Quiz.
    quiz_type = models.CharField(max_length=16, choices=QuizType.choices, default=QuizType.FREE_TEXT)
    quiz_question = models.CharField(max_length=300, default="What is the most likely diagnosis?")
    quiz_choices = models.JSONField(default=list, blank=True, help_text="Answer options (multiple choice).")
    quiz_correct_index = models.PositiveSmallIntegerField(null=True, blank=True)
    # Life cycle.
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.DRAFT, db_index=True)
    link_token = models.CharField(max_length=64, unique=True, default=new_link_token)
    source_job = models.ForeignKey(
        "jobs.GenerationJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="teaching_cases",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def differential_list(self) -> list[str]:
        return [line.strip() for line in self.differential.splitlines() if line.strip()]

    @property
    def teaching_point_list(self) -> list[str]:
        return [line.strip() for line in self.teaching_points.splitlines() if line.strip()]


class CaseStudy(models.Model):
    """A study shown in a case, in order; generated ones remember their generation output."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_studies")
    study = models.ForeignKey("dicom.Study", on_delete=models.CASCADE, related_name="case_links")
    position = models.PositiveSmallIntegerField(default=0)
    caption = models.CharField(max_length=200, blank=True)
    generation_output = models.ForeignKey(
        "jobs.GenerationOutput", null=True, blank=True, on_delete=models.SET_NULL, related_name="case_links",
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "study"], name="case_study_once")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.study_id}"


class CaseVariantJob(models.Model):
    """A generation job started from a case; its output studies join the case when written."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="variant_jobs")
    job = models.ForeignKey("jobs.GenerationJob", on_delete=models.CASCADE, related_name="case_variant_links")
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "job"], name="case_variant_job_once")]

    def __str__(self) -> str:
        return f"{self.case_id}←job {self.job_id} ({self.kind})"


class CaseLinkGrant(models.Model):
    """A user who opened an unlisted case through its secret link (valid until the link rotates)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="link_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_link_grant_once")]

    def __str__(self) -> str:
        return f"{self.user_id} may read unlisted case {self.case_id}"


class QuizAttempt(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="quiz_attempts")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    answer = models.TextField()
    choice_index = models.PositiveSmallIntegerField(null=True, blank=True)
    correct = models.BooleanField(null=True, help_text="Null for free-text answers (self-assessed).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["learner", "case"])]

    def __str__(self) -> str:
        return f"{self.learner_id} on {self.case_id}: {self.correct}"
