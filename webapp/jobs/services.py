"""Writes for generation jobs: create, enqueue, run, cancel, recover.

`job_run` is the whole body of the Celery task, so it can be tested (and run twice) without a
broker; the task in tasks.py only re-fetches and calls it.
"""

from __future__ import annotations

import logging
import secrets
import socket
import uuid
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation import Cancelled, GenerationError, GenerationRequest, InvalidRequest
from webapp.dicom.access import study_access_check
from webapp.dicom.models import Instance
from webapp.jobs.models import TERMINAL_STATUSES, GenerationJob, JobStatus

log = logging.getLogger(__name__)

#: A job whose worker died mid-run is re-queued this many times, then failed.
MAX_ATTEMPTS = 2
#: How often a running job writes a heartbeat at least (seconds); the recovery check uses it.
HEARTBEAT_S = 10


class JobError(Exception):
    """A user-facing problem with a job request or action (becomes a 4xx)."""


def job_input_images(*, study) -> tuple[dict, dict]:
    """The radiographs of an indexed study as engine inputs: view → image in [0, 1], spacing."""
    from generation.cxr.preprocess import read_dicom_cxr

    images, spacings = {}, {}
    for instance in Instance.objects.filter(series__study=study).select_related("series"):
        radiograph = read_dicom_cxr(Path(settings.MEDIA_ROOT) / instance.file_path)
        if radiograph.view in images or radiograph.view is None:
            continue
        images[radiograph.view] = radiograph.pixels
        if radiograph.pixel_spacing_mm:
            spacings[radiograph.view] = radiograph.pixel_spacing_mm
    return images, spacings


def job_request_build(*, job: GenerationJob) -> GenerationRequest:
    images, spacings = job_input_images(study=job.input_study) if job.input_study_id else (None, None)
    return GenerationRequest(
        findings=job.findings,
        impression=job.impression,
        modality=job.modality,
        indication=job.indication,
        seed=job.seed,
        guidance_scale=job.guidance_scale,
        num_inference_steps=job.num_inference_steps,
        preset=job.preset,
        spacing_mm=tuple(job.spacing_mm) if job.spacing_mm else None,
        num_samples=job.num_samples,
        input_images=images or None,
        input_pixel_spacing_mm=spacings or None,
        with_report=job.with_report,
    )


def job_validate(*, request: GenerationRequest) -> None:
    """Raise JobError with the engine's message for any bad field or unknown preset."""
    from generation.registry import load_preset

    try:
        request.check_inputs()
        preset = load_preset(request.preset)
    except GenerationError as exc:
        raise JobError(str(exc)) from None
    family = modality_family(request.modality)
    if preset.modality != family:
        raise JobError(f"preset {preset.name!r} generates {preset.modality}, not {request.modality}; pick a {family} preset")


def modality_family(modality: str) -> str:
    return "ct" if modality == "ct" else "cxr"


def default_preset(modality: str) -> str:
    return "demo" if modality_family(modality) == "ct" else "cxr-demo"


def job_create(
    *,
    owner,
    findings: str,
    impression: str,
    indication: str = "",
    modality: str = "ct",
    preset: str = "demo",
    seed: int | None = None,
    guidance_scale: float = 5.0,
    num_inference_steps: int = 30,
    num_samples: int = 1,
    spacing_mm: tuple[float, float, float] | None = None,
    input_study=None,
    with_report: bool = False,
    batch: uuid.UUID | None = None,
    batch_label: str = "",
) -> GenerationJob:
    """Validate, store and enqueue (after commit) one generation job."""
    if seed is None:
        seed = secrets.randbelow(2**31)
    if modality_family(modality) == "cxr" and preset == "demo":
        preset = default_preset(modality)  # "demo" names the demo model of the chosen modality
    if input_study is not None:
        if modality == "ct":
            raise JobError("input images prompt chest X-ray generation only; choose a CXR modality")
        if not study_access_check(owner, input_study):
            raise JobError("you may not use that study as input")
    try:
        images, spacings = job_input_images(study=input_study) if input_study is not None else (None, None)
    except GenerationError as exc:
        raise JobError(f"the input study cannot be read: {exc}") from None
    if input_study is not None and not images:
        raise JobError("the input study holds no frontal (PA/AP) or lateral radiograph")
    request = GenerationRequest(
        findings=findings, impression=impression, indication=indication, modality=modality,
        seed=seed, guidance_scale=guidance_scale, num_inference_steps=num_inference_steps,
        preset=preset, spacing_mm=spacing_mm, num_samples=num_samples,
        input_images=images or None, input_pixel_spacing_mm=spacings or None, with_report=with_report,
    )
    job_validate(request=request)
    with transaction.atomic():
        job = GenerationJob.objects.create(
            owner=owner, findings=findings, impression=impression, indication=indication,
            modality=modality, preset=preset, seed=seed, guidance_scale=guidance_scale,
            num_inference_steps=num_inference_steps, num_samples=num_samples,
            spacing_mm=list(spacing_mm) if spacing_mm else None, batch=batch, batch_label=batch_label,
            input_study=input_study, with_report=with_report,
            progress_total=num_inference_steps * num_samples,
        )
        job_enqueue(job=job)
    return job


def job_enqueue(*, job: GenerationJob) -> None:
    from webapp.jobs.tasks import generation_job_run

    def send() -> None:
        result = generation_job_run.apply_async(kwargs={"job_id": job.pk})
        GenerationJob.objects.filter(pk=job.pk).update(celery_task_id=result.id, queued_at=timezone.now())

    transaction.on_commit(send)


def job_variants_create(*, job: GenerationJob, owner, kind: str) -> list[GenerationJob]:
    """One click: the same report with a new seed, or a guidance sweep (s = 1, 3, 5, 7)."""
    common = dict(
        owner=owner, findings=job.findings, impression=job.impression, indication=job.indication,
        modality=job.modality, preset=job.preset, num_inference_steps=job.num_inference_steps,
        num_samples=1, spacing_mm=tuple(job.spacing_mm) if job.spacing_mm else None, batch=uuid.uuid4(),
        input_study=job.input_study, with_report=job.with_report,
    )
    if kind == "new-seed":
        return [job_create(**common, seed=None, guidance_scale=job.guidance_scale, batch_label="new seed")]
    if kind == "guidance-sweep":
        return [
            job_create(**common, seed=job.seed, guidance_scale=scale, batch_label=f"guidance sweep s={scale:g}")
            for scale in (1.0, 3.0, 5.0, 7.0)
        ]
    raise JobError(f"unknown variant kind {kind!r}; use 'new-seed' or 'guidance-sweep'")


def job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Queued jobs stop at once; running ones stop between two diffusion steps."""
    if job.is_terminal:
        raise JobError(f"job is already {job.status}; only queued or running jobs can be cancelled")
    updated = GenerationJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now(),
        error_message="Cancelled before it started.",
    )
    if not updated:
        GenerationJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _fail(job: GenerationJob, message: str, status: str = JobStatus.FAILED) -> None:
    GenerationJob.objects.filter(pk=job.pk).update(
        status=status, error_message=message[:4000], finished_at=timezone.now(), stage=""
    )


class _ProgressWriter:
    """on_step / should_cancel callbacks: write progress and heartbeat, read the cancel flag."""

    def __init__(self, job: GenerationJob):
        self.job_pk = job.pk

    def on_step(self, done: int, total: int) -> None:
        # The engine counts steps over all samples of the request.
        GenerationJob.objects.filter(pk=self.job_pk).update(
            progress_step=done, progress_total=total, stage="sampling", heartbeat_at=timezone.now()
        )

    def should_cancel(self) -> bool:
        return GenerationJob.objects.filter(pk=self.job_pk, cancel_requested=True).exists()


def job_run(*, job_id: int) -> str:
    """Run a job to a terminal state; a second call on a finished job does nothing."""
    from webapp.jobs.outputs import outputs_write

    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_terminal:
            return "skipped"
        if job.cancel_requested:
            _fail(job, "Cancelled before it started.", JobStatus.CANCELLED)
            return JobStatus.CANCELLED
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job, f"The worker running this job stopped {job.attempts} times (killed or out of memory); giving up.")
            return JobStatus.FAILED
        GenerationJob.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(),
            heartbeat_at=timezone.now(), worker_host=socket.gethostname(), stage="loading", progress_step=0,
            error_message="",
        )
    job.refresh_from_db()
    progress = _ProgressWriter(job)
    try:
        from generation import generate

        result = generate(
            job_request_build(job=job), on_step=progress.on_step, should_cancel=progress.should_cancel,
            weights_dir=settings.RADSYNTH_WEIGHTS_DIR or None,
        )
        GenerationJob.objects.filter(pk=job.pk).update(stage="writing", heartbeat_at=timezone.now())
        written = outputs_write(job=job, result=result)
    except Cancelled:
        _fail(job, "Cancelled by the user.", JobStatus.CANCELLED)
        return JobStatus.CANCELLED
    except (GenerationError, InvalidRequest) as exc:
        _fail(job, str(exc))
        return JobStatus.FAILED
    except SoftTimeLimitExceeded:
        _fail(job, f"Stopped after the {settings.RADSYNTH_JOB_TIMEOUT_S} s job time limit; try fewer steps or samples.")
        return JobStatus.FAILED
    except MemoryError:
        _fail(job, f"Out of memory while running preset {job.preset!r}; try the 'demo' preset or fewer samples.")
        return JobStatus.FAILED
    except Exception as exc:  # the job must end in a state that says why, whatever happened
        log.exception("generation job %s failed", job.pk)
        _fail(job, f"Internal error ({type(exc).__name__}: {exc}); the log has details.")
        return JobStatus.FAILED
    timings = dict(result.timings)
    timings["writing"] = written["seconds"]
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), stage="", progress_step=job.progress_total,
        timings=timings, warnings=list(result.warnings), model_version=result.model_version,
        weights_sha256=result.weights_sha256, device=result.device, peak_memory_bytes=result.peak_memory_bytes,
    )
    return JobStatus.SUCCEEDED


def jobs_recover_stuck(*, now=None) -> dict[str, int]:
    """Find jobs no live task is working on and re-queue (once) or fail them.

    A running job whose heartbeat is older than the job timeout lost its worker (SIGKILL loses
    the task even with acks_late). A queued job older than the timeout lost its message.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.RADSYNTH_JOB_TIMEOUT_S)
    counts = {"requeued": 0, "failed": 0}
    stuck = GenerationJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before) | \
        GenerationJob.objects.filter(status=JobStatus.QUEUED, queued_at__lt=stale_before)
    for job in stuck:
        with transaction.atomic():
            job = GenerationJob.objects.select_for_update().get(pk=job.pk)
            if job.status not in (JobStatus.RUNNING, JobStatus.QUEUED):
                continue
            if job.attempts >= MAX_ATTEMPTS:
                _fail(job, f"No worker finished this job after {job.attempts} attempts; it was failed by the stuck-job check.")
                counts["failed"] += 1
                continue
            GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, queued_at=now, stage="")
            job_enqueue(job=job)
            counts["requeued"] += 1
    return counts


__all__ = [
    "TERMINAL_STATUSES", "JobError", "job_cancel", "job_create", "job_enqueue", "job_run",
    "job_variants_create", "jobs_recover_stuck",
]
