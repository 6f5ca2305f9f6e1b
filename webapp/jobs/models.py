"""Generation jobs: one report → one or more synthetic studies, run by a Celery worker."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Modality(models.TextChoices):
    CT = "ct", "CT (3D)"
    CXR_FRONTAL = "cxr-frontal", "Chest X-ray, frontal (PA)"
    CXR_LATERAL = "cxr-lateral", "Chest X-ray, lateral"
    CXR_BOTH = "cxr-both", "Chest X-ray, frontal + lateral"
    CXR_REPORT = "cxr-report", "Draft report from chest X-ray images"


class GenerationJob(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs")
    # The request, exactly as submitted.
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.CT)
    findings = models.TextField(blank=True)
    impression = models.TextField(blank=True)
    indication = models.TextField(blank=True)
    preset = models.CharField(max_length=64, default="demo")
    seed = models.BigIntegerField()
    guidance_scale = models.FloatField()
    num_inference_steps = models.PositiveIntegerField()
    num_samples = models.PositiveSmallIntegerField(default=1)
    spacing_mm = models.JSONField(null=True, blank=True, help_text="(dz, dy, dx) override in mm")
    # Chest X-ray prompts besides the report (MedCoDi-M any-to-any): the radiographs of an
    # indexed study, and whether to draft a report as well.
    input_study = models.ForeignKey(
        "dicom.Study", on_delete=models.PROTECT, null=True, blank=True, related_name="prompted_jobs"
    )
    with_report = models.BooleanField(default=False)
    # Jobs made together by one click ("guidance sweep", "new seed") share a batch id.
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    batch_label = models.CharField(max_length=64, blank=True)
    # Execution.
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=32, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)
    model_version = models.CharField(max_length=128, blank=True)
    weights_sha256 = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=32, blank=True)
    peak_memory_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="last time a task was sent")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.public_id} ({self.modality}, {self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def progress_fraction(self) -> float:
        if self.status == JobStatus.SUCCEEDED:
            return 1.0
        return self.progress_step / self.progress_total if self.progress_total else 0.0


class GenerationOutput(models.Model):
    """One generated sample: its DICOM study in the index plus NIfTI / PNG files."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="outputs")
    index = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField()
    study = models.ForeignKey("dicom.Study", on_delete=models.SET_NULL, null=True, related_name="generation_outputs")
    nifti_path = models.CharField(max_length=500, blank=True, help_text="relative to MEDIA_ROOT")
    thumbnails = models.JSONField(default=dict, blank=True, help_text="plane or view → PNG path under MEDIA_ROOT")
    report = models.JSONField(default=dict, blank=True, help_text="drafted report: findings, impression")
    coherence = models.JSONField(default=dict, blank=True, help_text="'a|b' → cosine similarity in the shared space")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_output_per_sample")]

    def __str__(self) -> str:
        return f"output {self.index} of {self.job_id} (seed {self.seed})"
