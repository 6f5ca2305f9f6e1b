"""Demo content: one CT generation from the issue's reference report, queued once."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from webapp.jobs.models import GenerationJob
from webapp.jobs.services import JobError, job_create

DEMO_FINDINGS = "Large right pleural effusion. The left lung is clear."
DEMO_IMPRESSION = "Large right pleural effusion. No pneumothorax."


def seed(*, stdout) -> None:
    educator = get_user_model().objects.filter(username="educator").first()
    if educator is None or GenerationJob.objects.filter(owner=educator, impression=DEMO_IMPRESSION).exists():
        return
    try:
        job_create(owner=educator, findings=DEMO_FINDINGS, impression=DEMO_IMPRESSION, seed=7, guidance_scale=5.0)
    except JobError as exc:  # e.g. the demo weights are missing: say so, keep seeding the rest
        stdout.write(f"Demo generation not queued: {exc}")
        return
    stdout.write("Demo CT generation queued for the educator account (the worker runs it).")
