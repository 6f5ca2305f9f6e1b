"""CXR jobs through the same job system as CT: a real worker process, the shipped cxr-demo weights.

Report -> frontal + lateral pair as DICOM DX (ViewPosition PA / LL, pixel spacing) and PNGs, with
the pair's coherence recorded; then that generated study as the prompt of a second job that
drafts a report from the images (issue 8, items 7 and the "Done when").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings

from webapp.core.roles import EDUCATORS
from webapp.jobs.models import JobStatus

from .test_job_worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _post(client, payload: dict) -> str:
    response = client.post("/api/jobs/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_report_to_frontal_lateral_pair_then_images_to_draft_report(
    client, role_user, celery_worker_process
):
    client.force_login(role_user("edu", EDUCATORS))
    text = "Large left pleural effusion."
    job_id = _post(client, {"modality": "cxr-both", "findings": text, "impression": text, "seed": 3,
                            "num_inference_steps": 12})  # fmt: skip
    job = wait_for(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.preset == "cxr-demo" and len(job.weights_sha256) == 64
    assert job.progress_step == job.progress_total > 0

    output = job.outputs.get()
    assert output.study.is_synthetic and set(output.coherence) == {"frontal|lateral"}
    assert -1.0 <= output.coherence["frontal|lateral"] <= 1.0
    folder = Path(settings.MEDIA_ROOT) / "generated" / job_id / "sample-0"
    by_view = {}
    for path in sorted((folder / "dicom").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        by_view[ds.ViewPosition] = ds
        assert ds.Modality == "DX" and ds.SyntheticData == "YES"
        assert ds.StudyInstanceUID == output.study.study_instance_uid
        assert [float(v) for v in ds.PixelSpacing] == [pytest.approx(6.015625)] * 2
        assert (ds.Rows, ds.Columns) == (64, 64) and ds.BitsStored == 12
        assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert set(by_view) == {"PA", "LL"}
    # The effusion is on the patient's left = image right of the PA view: denser lower zone there.
    frontal = by_view["PA"].pixel_array.astype(np.float64) / 4095.0
    band = frontal[int(0.55 * 64) : int(0.85 * 64)]
    assert (
        band[:, int(0.55 * 64) : int(0.85 * 64)].mean()
        > band[:, int(0.15 * 64) : int(0.45 * 64)].mean()
    )
    assert {Path(p).name for p in output.thumbnails.values()} == {"frontal.png", "lateral.png"}

    # The generated study prompts a draft report (image -> report).
    draft_id = _post(client, {"modality": "cxr-report", "input_study_uid": output.study.study_instance_uid,
                              "seed": 1})  # fmt: skip
    draft = wait_for(draft_id)
    assert draft.status == JobStatus.SUCCEEDED, draft.error_message
    report = draft.outputs.get().report
    assert set(report) >= {"findings", "impression"}
    assert "effusion" in f"{report['findings']} {report['impression']}".lower(), report
    page = client.get(f"/jobs/{draft_id}/")
    assert page.status_code == 200 and report["impression"] in page.content.decode()
