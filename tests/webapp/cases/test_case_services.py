"""Case services: save from a job, variants attached when written, publish rules, sharing, links."""

from __future__ import annotations

import pytest

from webapp.cases.errors import CaseError
from webapp.cases.models import Case, CaseVariantJob, QuizType, TagKind, Visibility
from webapp.cases.selectors import case_can_edit, case_can_read
from webapp.cases.services import (
    case_create,
    case_create_from_job,
    case_link_open,
    case_link_rotate,
    case_publish,
    case_share,
    case_update,
    case_variant_output_attach,
    case_variants_add,
    case_variants_sync,
)
from webapp.dicom.access import study_access_check
from webapp.dicom.selectors import studies_visible_to
from webapp.jobs.models import GenerationJob, GenerationOutput, JobStatus

pytestmark = pytest.mark.django_db


def test_save_job_as_case_copies_report_and_attaches_the_synthetic_study(educator, make_succeeded_job):
    job = make_succeeded_job(educator)
    case, created = case_create_from_job(job=job, by=educator)
    assert created and case.visibility == Visibility.DRAFT and case.source_job == job
    assert case.findings == job.findings and case.impression == job.impression and case.history == job.indication
    assert case.title == "Large right pleural effusion"
    link = case.case_studies.get()
    assert link.study == job.outputs.get().study and link.study.is_synthetic
    assert "seed 11" in link.caption
    assert {t.name for t in case.tags.all()} == {"CT", "Chest"}
    again, created_again = case_create_from_job(job=job, by=educator)
    assert again.pk == case.pk and not created_again


def test_unfinished_job_cannot_become_a_case(educator):
    job = GenerationJob.objects.create(owner=educator, findings="x", impression="y", seed=1, guidance_scale=5,
                                       num_inference_steps=2, status=JobStatus.RUNNING)
    with pytest.raises(CaseError, match="only a succeeded generation"):
        case_create_from_job(job=job, by=educator)


def test_variants_queue_jobs_and_their_studies_join_the_case_when_written(
    educator, make_succeeded_job, make_study, django_capture_on_commit_callbacks
):
    case, _ = case_create_from_job(job=make_succeeded_job(educator), by=educator)
    with django_capture_on_commit_callbacks(execute=False) as sent:  # no broker: the worker is tested elsewhere
        jobs = case_variants_add(case=case, by=educator, kind="new-seed", count=2)
    assert len(jobs) == 2 and len(sent) == 2  # one Celery message per job, after commit
    assert {j.findings for j in jobs} == {case.source_job.findings}
    assert CaseVariantJob.objects.filter(case=case).count() == 2
    # What the worker does when a variant finishes: store its output (signal → attach after commit).
    for index, job in enumerate(jobs):
        with django_capture_on_commit_callbacks(execute=True):
            GenerationOutput.objects.create(job=job, index=0, seed=100 + index, study=make_study(educator))
    assert case.case_studies.count() == 3
    # Idempotent: attaching again (a re-run task, a page view) adds nothing.
    output = jobs[0].outputs.get()
    assert case_variant_output_attach(output_id=output.pk) == 1
    assert case_variants_sync(case=case) == 0
    assert case.case_studies.count() == 3


def test_sync_attaches_outputs_the_signal_missed(educator, make_succeeded_job, make_study, django_capture_on_commit_callbacks):
    case, _ = case_create_from_job(job=make_succeeded_job(educator), by=educator)
    with django_capture_on_commit_callbacks(execute=False):
        jobs = case_variants_add(case=case, by=educator, kind="guidance-sweep")
    assert sorted(j.guidance_scale for j in jobs) == [1.0, 3.0, 5.0, 7.0]
    GenerationOutput.objects.bulk_create([GenerationOutput(job=jobs[0], index=0, seed=5, study=make_study(educator))])
    assert case_variants_sync(case=case) == 1
    assert case.case_studies.count() == 2


@pytest.mark.parametrize(("kind", "count", "message"), [
    ("new-seed", 0, "1 to 6"), ("new-seed", 99, "1 to 6"), ("colour", 1, "unknown variant kind"),
])
def test_bad_variant_requests_are_refused(educator, make_succeeded_job, kind, count, message):
    case, _ = case_create_from_job(job=make_succeeded_job(educator), by=educator)
    with pytest.raises(CaseError, match=message):
        case_variants_add(case=case, by=educator, kind=kind, count=count)
    blank = case_create(owner=educator, title="No generated study")
    with pytest.raises(CaseError, match="no generated study"):
        case_variants_add(case=blank, by=educator, kind="new-seed", count=1)


def test_publish_needs_a_complete_case(educator, make_study):
    case = case_create(owner=educator, title="Pneumothorax", diagnosis="")
    with pytest.raises(CaseError) as excinfo:
        case_publish(case=case)
    assert "write the diagnosis" in str(excinfo.value) and "attach at least one study" in str(excinfo.value)
    with pytest.raises(CaseError, match="at least two choices"):
        case_update(case=case, data={"quiz_type": QuizType.MULTIPLE_CHOICE, "quiz_choices": ["Only one"]})
    case_update(case=case, data={
        "diagnosis": "Right pneumothorax", "quiz_type": QuizType.MULTIPLE_CHOICE,
        "quiz_choices": ["Effusion", "Pneumothorax"], "quiz_correct_index": 1,
        "tags": {TagKind.PATHOLOGY: ["Pneumothorax"]},
    })
    case = case_create(owner=educator, title="With study", diagnosis="Effusion", studies=[make_study(educator)])
    case_publish(case=case)
    assert case.visibility == Visibility.PUBLISHED and case.published_at is not None
    with pytest.raises(CaseError, match="must stay complete"):
        case_update(case=case, data={"diagnosis": ""})


def test_images_with_burned_in_text_are_not_published(educator, make_study):
    study = make_study(educator, synthetic=False, extra={"BurnedInAnnotation": "YES"}, description="Annotated CT")
    case = case_create(owner=educator, title="Overlay", diagnosis="Effusion", studies=[study])
    with pytest.raises(CaseError, match="Annotated CT has burned-in text"):
        case_publish(case=case)


def test_readers_see_published_cases_and_their_studies_only(educator, learner, make_study):
    study = make_study(educator)
    case = case_create(owner=educator, title="Draft", diagnosis="Effusion", studies=[study])
    assert not case_can_read(user=learner, case=case)
    assert not study_access_check(learner, study)
    case_publish(case=case)
    assert case_can_read(user=learner, case=case) and not case_can_edit(user=learner, case=case)
    assert study_access_check(learner, study)  # the registered DICOM access rule
    assert list(studies_visible_to(learner)) == [study]  # and listings (QIDO) follow it


def test_sharing_lets_another_educator_edit(educator, other_educator, learner, make_study):
    study = make_study(educator)
    case = case_create(owner=educator, title="Shared", studies=[study])
    assert not case_can_edit(user=other_educator, case=case) and not case_can_read(user=other_educator, case=case)
    with pytest.raises(CaseError, match="not an educator"):
        case_share(case=case, username=learner.username)
    with pytest.raises(CaseError, match="no user called"):
        case_share(case=case, username="nobody")
    case_share(case=case, username=other_educator.username)
    assert case_can_edit(user=other_educator, case=case)
    assert study_access_check(other_educator, study)  # editors open the case's studies


def test_unlisted_case_opens_by_link_until_the_link_is_replaced(educator, learner, make_study):
    case = case_create(owner=educator, title="Unlisted", diagnosis="Effusion", studies=[make_study(educator)])
    case_publish(case=case, visibility=Visibility.UNLISTED)
    assert not case_can_read(user=learner, case=case)
    case_link_open(case=case, user=learner)
    assert case_can_read(user=learner, case=case)
    case_link_rotate(case=case)
    assert not case_can_read(user=learner, case=Case.objects.get(pk=case.pk))
