"""Celery tasks of the Visual Turing Test app (thin: they call services)."""

from __future__ import annotations

from webapp.core.tasks import radsynth_task


@radsynth_task(queue="cpu", name="turing_test.study_presentation_build")
def study_presentation_build_task(*, study_pk: int) -> str:
    """Presentation copies + blinding audit for a study being prepared (idempotent: skips done items)."""
    from turing_test.services.lifecycle import study_presentation_build

    return study_presentation_build(study_pk=study_pk)
