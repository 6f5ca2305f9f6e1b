"""A generation job runs through a real worker process and yields a DICOM study."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings

from webapp.core.roles import EDUCATORS
from webapp.jobs.models import GenerationJob, JobStatus

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(job_id: str, statuses=("succeeded", "failed", "cancelled"), timeout: float = 180.0) -> GenerationJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = GenerationJob.objects.get(public_id=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout} s (stage {job.stage!r})")


def test_job_through_worker_gives_dicom_series_with_right_geometry(client, role_user, celery_worker_process):
    client.force_login(role_user("edu", EDUCATORS))
    response = client.post(
        "/api/jobs/",
        {"findings": "Large right pleural effusion.", "impression": "No pneumothorax.", "seed": 11,
         "num_inference_steps": 3, "guidance_scale": 4.0},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    job = wait_for(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.worker_host and job.attempts == 1
    assert job.progress_step == job.progress_total == 3
    assert set(job.timings) >= {"text_encoding", "sampling", "decoding", "writing"}
    assert len(job.weights_sha256) == 64

    output = job.outputs.get()
    assert output.seed == 11 and output.study.is_synthetic
    files = sorted((Path(settings.MEDIA_ROOT) / "generated" / job_id / "sample-0" / "dicom").glob("*.dcm"))
    datasets = sorted((pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2]))
    shape_zyx = (len(datasets), datasets[0].Rows, datasets[0].Columns)
    assert shape_zyx == (48, 64, 64)
    dz = float(datasets[1].ImagePositionPatient[2]) - float(datasets[0].ImagePositionPatient[2])
    for ds in datasets:
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert [float(v) for v in ds.PixelSpacing] == [5.5, 5.5]
        assert float(ds.SliceThickness) == pytest.approx(6.5)
        assert ds.SyntheticData == "YES" and "DERIVED" in ds.ImageType
        assert ds.StudyInstanceUID == output.study.study_instance_uid
    assert dz == pytest.approx(6.5)
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets])
    assert hu.min() >= -1000 and hu.max() <= 1000

    body = client.get(f"/api/jobs/{job_id}/").json()
    assert body["status"] == "succeeded"
    thumb_url = body["outputs"][0]["thumbnails"]["axial"]
    picture = client.get(thumb_url)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert f"/viewer/{output.study.study_instance_uid}/" in page


def test_running_job_is_cancelled_between_steps(client, role_user, celery_worker_process):
    client.force_login(role_user("edu2", EDUCATORS))
    job_id = client.post(
        "/api/jobs/", {"impression": "Normal chest.", "num_inference_steps": 200, "seed": 1},
        content_type="application/json",
    ).json()["id"]
    wait_for(job_id, statuses=("running",), timeout=120)
    deadline = time.monotonic() + 120
    while GenerationJob.objects.get(public_id=job_id).progress_step < 1:
        assert time.monotonic() < deadline, "the job made no step in 120 s"
        time.sleep(0.1)
    assert client.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    job = wait_for(job_id)
    assert job.status == JobStatus.CANCELLED
    assert 0 < job.progress_step < 200
    assert "Cancelled" in job.error_message
