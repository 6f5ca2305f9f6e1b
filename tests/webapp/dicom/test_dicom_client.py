"""dicomweb-client (the Python reference client) searches and retrieves a series from /dicomweb/."""

from __future__ import annotations

import numpy as np
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)


def test_dicomweb_client_searches_and_retrieves_a_series(live_server, ct_study, owner):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=owner).key}"
    client = DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session)

    studies = client.search_for_studies(search_filters={"ModalitiesInStudy": "CT"})
    assert [s["0020000D"]["Value"][0] for s in studies] == [ct_study.study_instance_uid]
    series = client.search_for_series(ct_study.study_instance_uid)
    series_uid = series[0]["0020000E"]["Value"][0]
    assert series_uid == ct_study.series.get().series_instance_uid
    instances = client.search_for_instances(ct_study.study_instance_uid, series_uid)
    assert len(instances) == 48

    metadata = client.retrieve_series_metadata(ct_study.study_instance_uid, series_uid)
    assert len(metadata) == 48
    datasets = client.retrieve_series(ct_study.study_instance_uid, series_uid)
    assert len(datasets) == 48 and {ds.SeriesInstanceUID for ds in datasets} == {series_uid}
    first = min(datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))
    (frame,) = client.retrieve_instance_frames(
        ct_study.study_instance_uid, series_uid, first.SOPInstanceUID, frame_numbers=[1]
    )
    pixels = np.frombuffer(frame, dtype="<i2").reshape(int(first.Rows), int(first.Columns))
    np.testing.assert_array_equal(pixels, first.pixel_array)
