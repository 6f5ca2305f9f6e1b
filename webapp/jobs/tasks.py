"""Thin Celery tasks for generation jobs; the work is in services.job_run."""

from __future__ import annotations

from django.conf import settings

from webapp.core.tasks import radsynth_task


@radsynth_task(
    queue="gpu",
    name="jobs.generation_job_run",
    soft_time_limit=settings.RADSYNTH_JOB_TIMEOUT_S,
    time_limit=settings.RADSYNTH_JOB_TIMEOUT_S + 60,
)
def generation_job_run(*, job_id: int) -> str:
    from webapp.jobs.services import job_run

    return job_run(job_id=job_id)


@radsynth_task(queue="cpu", name="jobs.recover_stuck")
def jobs_recover_stuck_task() -> dict:
    from webapp.jobs.services import jobs_recover_stuck

    return jobs_recover_stuck()
