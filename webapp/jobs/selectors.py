"""Reads for generation jobs."""

from __future__ import annotations

from django.db.models import QuerySet

from webapp.core.roles import STUDY_ADMINS, has_role
from webapp.jobs.models import GenerationJob


def jobs_visible_to(*, user) -> QuerySet[GenerationJob]:
    """Educators see their own jobs; study admins see all (they pick synthetic study items)."""
    qs = GenerationJob.objects.select_related("owner").prefetch_related("outputs__study")
    if user.is_superuser or has_role(user, STUDY_ADMINS):
        return qs
    return qs.filter(owner=user)


def job_get_for_user(*, user, public_id) -> GenerationJob | None:
    return jobs_visible_to(user=user).filter(public_id=public_id).first()


def batch_jobs(*, job: GenerationJob) -> list[GenerationJob]:
    if not job.batch:
        return [job]
    return list(GenerationJob.objects.filter(batch=job.batch).prefetch_related("outputs").order_by("guidance_scale", "created_at"))
