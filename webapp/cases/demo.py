"""Demo content: a teaching case around the educator's demo CT generation (idempotent).

`seed_demo` runs before the worker has generated anything, so the first run makes a draft case
waiting for the demo job (its study attaches when the worker stores it); a later run publishes
the case once it has its study.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from webapp.cases.errors import CaseError
from webapp.cases.models import (
    Case,
    CaseVariantJob,
    DiagnosticCertainty,
    Difficulty,
    QuizType,
    TagKind,
)
from webapp.cases.services import case_create, case_publish, case_variants_sync

DEMO_TITLE = "Large right pleural effusion (demo)"


def seed(*, stdout) -> None:
    from webapp.jobs.demo import DEMO_IMPRESSION

    educator = get_user_model().objects.filter(username="educator").first()
    if educator is None:
        return
    case = Case.objects.filter(owner=educator, title=DEMO_TITLE).first()
    if case is None:
        job = educator.generation_jobs.filter(impression=DEMO_IMPRESSION).order_by("created_at").first()
        if job is None:
            return
        case = case_create(
            owner=educator, title=DEMO_TITLE, quiz_title="Breathless adult, chest CT",
            history="Progressive shortness of breath over two weeks. Decreased breath sounds on the right.",
            findings=job.findings, impression=job.impression,
            diagnosis="Large right pleural effusion", diagnostic_certainty=DiagnosticCertainty.ALMOST_CERTAIN,
            differential="Haemothorax\nEmpyema\nChylothorax",
            discussion="Fluid layers dependently in the right pleural space with passive atelectasis of the "
            "adjacent lung. CT cannot tell transudate from exudate by density alone; thoracentesis does.",
            teaching_points="Pleural fluid layers dependently on supine CT\nLook for passive atelectasis and mediastinal shift",
            difficulty=Difficulty.BEGINNER, quiz_type=QuizType.MULTIPLE_CHOICE,
            quiz_choices=["Pneumothorax", "Large right pleural effusion", "Right lower lobe pneumonia", "Normal chest"],
            quiz_correct_index=1,
            tags={TagKind.ORGAN_SYSTEM: ["Chest"], TagKind.PATHOLOGY: ["Pleural effusion"], TagKind.MODALITY: ["CT"]},
        )
        case.source_job = job
        case.save(update_fields=["source_job"])
        CaseVariantJob.objects.get_or_create(case=case, job=job, defaults={"kind": "demo"})
        stdout.write("Demo teaching case created (draft until the demo generation has finished).")
    case_variants_sync(case=case)
    if case.published_at is None and case.case_studies.exists():
        try:
            case_publish(case=case)
        except CaseError as exc:
            stdout.write(f"Demo teaching case not published: {exc}")
            return
        stdout.write("Demo teaching case published to the library.")
