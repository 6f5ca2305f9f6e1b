"""Teaching case fixtures: accounts, tiny real/synthetic CT studies, succeeded generation jobs.

Studies are written by the project's DICOM codec (a few 16×16 slices) and indexed through
`study_import`, exactly as generated and imported studies are; no worker is involved.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.webapp.cases.helpers import phantom_volume
from webapp.core.roles import EDUCATORS, READERS


@pytest.fixture
def educator(role_user):
    return role_user("edu", EDUCATORS)


@pytest.fixture
def learner(role_user):
    return role_user("learner", READERS)


@pytest.fixture
def other_educator(role_user):
    return role_user("edu2", EDUCATORS)


@pytest.fixture
def make_study(tmp_path):
    """Factory: index a tiny CT study (synthetic ones carry SyntheticData = YES)."""
    from webapp.dicom.codec import write_ct_series
    from webapp.dicom.services import study_import

    def make(owner, *, synthetic: bool = True, extra: dict | None = None, description: str = "CT CHEST",
             shape=(4, 16, 16), seed: int = 0):
        folder = tmp_path / f"dicom-{uuid.uuid4().hex[:8]}"
        write_ct_series(
            phantom_volume(seed, shape), (5.0, 2.0, 2.0), folder, synthetic=synthetic, extra=extra,
            series_description=description, study={"StudyDescription": description},
        )
        return study_import(
            paths_or_zip=folder, owner=owner, source="generated" if synthetic else "imported",
            report={"findings": "Right effusion.", "impression": "Large right pleural effusion."},
        )

    return make


@pytest.fixture
def make_output(make_study):
    """Factory: what the worker stores for a finished job: a synthetic study (+ thumbnails)."""
    from webapp.jobs.models import GenerationOutput, JobStatus
    from webapp.jobs.thumbnails import write_thumbnails

    def make(job, *, seed: int, thumbnails: bool = False, shape=(4, 16, 16)):
        study = make_study(job.owner, synthetic=True, shape=shape, seed=seed)
        thumbs = {}
        if thumbnails:
            media = Path(settings.MEDIA_ROOT)
            written = write_thumbnails(
                phantom_volume(seed, shape), (5.0, 2.0, 2.0), media / "generated" / str(job.public_id) / "thumbs"
            )
            thumbs = {plane: str(path.relative_to(media)) for plane, path in written.items()}
        output = GenerationOutput.objects.create(job=job, index=0, seed=seed, study=study, thumbnails=thumbs)
        type(job).objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
        return output

    return make


@pytest.fixture
def make_succeeded_job(make_output):
    """Factory: a succeeded CT generation job with one stored output."""
    from webapp.jobs.models import GenerationJob, JobStatus

    def make(owner, *, seed: int = 11, thumbnails: bool = False, shape=(4, 16, 16), **fields):
        values = dict(
            owner=owner, findings="Large right pleural effusion with passive atelectasis. The left lung is clear.",
            impression="Large right pleural effusion. No pneumothorax.", indication="Breathless for two weeks.",
            seed=seed, guidance_scale=5.0, num_inference_steps=2, preset="demo", status=JobStatus.SUCCEEDED,
            progress_total=2, progress_step=2,
        )
        values.update(fields)
        job = GenerationJob.objects.create(**values)
        make_output(job, seed=seed, thumbnails=thumbnails, shape=shape)
        return job

    return make
