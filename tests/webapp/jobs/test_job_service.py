"""Job services in-process: idempotent runs, failures that say why, recovery, variants, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import OutOfMemory
from webapp.core.roles import EDUCATORS, READERS
from webapp.jobs.models import GenerationJob, JobStatus
from webapp.jobs.services import MAX_ATTEMPTS, job_run, jobs_recover_stuck

pytestmark = pytest.mark.django_db


@pytest.fixture
def educator(role_user):
    return role_user("edu", EDUCATORS)


def make_job(owner, **overrides) -> GenerationJob:
    fields = dict(owner=owner, findings="Small left pleural effusion.", impression="Left effusion.", seed=3,
                  guidance_scale=3.0, num_inference_steps=2, preset="demo", progress_total=2)
    fields.update(overrides)
    return GenerationJob.objects.create(**fields)


def test_running_the_task_twice_does_the_work_once(educator, weights_settings, django_capture_on_commit_callbacks):
    job = make_job(educator)
    assert job_run(job_id=job.pk) == JobStatus.SUCCEEDED
    first_study = job.outputs.get().study_id
    assert job_run(job_id=job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert job.outputs.get().study_id == first_study


def test_missing_weights_fail_the_job_with_the_path(educator, settings, tmp_path):
    settings.RADSYNTH_WEIGHTS_DIR = str(tmp_path)
    job = make_job(educator)
    assert job_run(job_id=job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert str(tmp_path / "demo") in job.error_message
    assert "RADSYNTH_WEIGHTS_DIR" in job.error_message
    assert job.finished_at is not None


def test_out_of_memory_fails_with_a_smaller_preset_hint(educator, weights_settings, monkeypatch):
    # Named fake: a real out-of-memory cannot be provoked on this CPU machine.
    def oom(*args, **kwargs):
        raise OutOfMemory("report2ct", "cuda:0", "CUDA out of memory")

    monkeypatch.setattr("generation.generate", oom)
    job = make_job(educator)
    assert job_run(job_id=job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "Out of memory" in job.error_message and "demo" in job.error_message


def test_worker_that_died_twice_fails_the_job(educator):
    job = make_job(educator, status=JobStatus.RUNNING, attempts=MAX_ATTEMPTS)
    assert job_run(job_id=job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "stopped 2 times" in job.error_message


def test_stuck_running_job_is_requeued_once_then_failed(educator, settings, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(seconds=settings.RADSYNTH_JOB_TIMEOUT_S + 5)
    first = make_job(educator, status=JobStatus.RUNNING, attempts=1, heartbeat_at=old)
    second = make_job(educator, status=JobStatus.RUNNING, attempts=MAX_ATTEMPTS, heartbeat_at=old)
    fresh = make_job(educator, status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = jobs_recover_stuck()
    assert counts == {"requeued": 1, "failed": 1}
    assert len(callbacks) == 1  # one message re-sent, after commit
    statuses = {j.pk: j.status for j in GenerationJob.objects.all()}
    assert statuses == {first.pk: JobStatus.QUEUED, second.pk: JobStatus.FAILED, fresh.pk: JobStatus.RUNNING}


def test_cancel_before_start(client, educator, django_capture_on_commit_callbacks):
    client.force_login(educator)
    with django_capture_on_commit_callbacks(execute=False):
        job_id = client.post("/api/jobs/", {"impression": "Normal."}, content_type="application/json").json()["id"]
    body = client.post(f"/api/jobs/{job_id}/cancel/").json()
    assert body["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job_id}/cancel/")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    job = GenerationJob.objects.get(public_id=job_id)
    assert job_run(job_id=job.pk) == "skipped"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"findings": "", "impression": "  "}, "both empty"),
        ({"impression": "x", "guidance_scale": 40}, "less than or equal to 15"),
        ({"impression": "x", "num_inference_steps": 0}, "greater than or equal to 1"),
        ({"impression": "x", "preset": "nope"}, "Available presets: cxr-demo, demo, report2ct"),
        ({"impression": "x", "preset": "cxr-demo"}, "generates cxr, not ct"),
        ({"impression": "x", "modality": "mri"}, "not a valid choice"),
        ({"impression": "x", "spacing_mm": [1, 2]}, "at least 3 elements"),
        ({"impression": "x", "seed": -4}, "greater than or equal to 0"),
    ],
)
def test_bad_job_requests_are_400_with_a_message(client, educator, payload, message):
    client.force_login(educator)
    response = client.post("/api/jobs/", payload, content_type="application/json")
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    assert GenerationJob.objects.count() == 0


def test_report_form_shows_errors_without_losing_text(client, educator):
    client.force_login(educator)
    response = client.post("/jobs/new/", {"findings": "Keep me", "impression": "", "modality": "ct", "preset": "demo",
                                          "guidance_scale": "99", "num_inference_steps": "30", "num_samples": "1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Keep me" in page and "less than or equal to 15" in page


def test_guidance_sweep_and_new_seed(client, educator, django_capture_on_commit_callbacks):
    client.force_login(educator)
    with django_capture_on_commit_callbacks(execute=False):
        job = make_job(educator, status=JobStatus.SUCCEEDED)
        sweep = client.post(f"/api/jobs/{job.public_id}/variants/", {"kind": "guidance-sweep"}, content_type="application/json")
        fresh = client.post(f"/api/jobs/{job.public_id}/variants/", {"kind": "new-seed"}, content_type="application/json")
    assert sweep.status_code == 201
    assert [j["guidance_scale"] for j in sweep.json()] == [1.0, 3.0, 5.0, 7.0]
    assert {j["seed"] for j in sweep.json()} == {3} and len({j["batch"] for j in sweep.json()}) == 1
    assert fresh.status_code == 201 and fresh.json()[0]["findings"] == job.findings


def test_readers_cannot_use_the_jobs_api_and_users_see_only_their_jobs(client, educator, role_user):
    other = role_user("other", EDUCATORS)
    job = make_job(other)
    client.force_login(educator)
    assert client.get(f"/api/jobs/{job.public_id}/").status_code == 404
    assert client.get("/api/jobs/").json() == []
    client.force_login(role_user("rdr", READERS))
    assert client.get("/api/jobs/").status_code == 403
