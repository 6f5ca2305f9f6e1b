"""QIDO-RS, WADO-RS and WADO-URI under /dicomweb/: answers, errors and per-study permissions."""

from __future__ import annotations

import email
import json

import numpy as np
import pydicom
import pytest
from rest_framework.authtoken.models import Token

from webapp.dicom.access import register_study_access_rule, unregister_study_access_rule
from webapp.dicom.services import study_create_presentation_copy

pytestmark = pytest.mark.django_db

ROOT = "/dicomweb/"


def value(item: dict, tag: str):
    return item.get(tag, {}).get("Value", [None])[0]


def parts(response) -> list[tuple[str, bytes]]:
    """Split a multipart/related body with the standard library's MIME parser."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    message = email.message_from_bytes(f"Content-Type: {response['Content-Type']}\r\n\r\n".encode() + body)
    assert message.is_multipart()
    return [(p["Content-Type"], p.get_payload(decode=True)) for p in message.get_payload()]


@pytest.fixture
def api(client, owner):
    client.force_login(owner)
    return client


def test_qido_studies_with_filters(api, ct_study, cxr_study):
    everything = api.get(f"{ROOT}studies").json()
    assert {value(s, "0020000D") for s in everything} == {ct_study.study_instance_uid, cxr_study.study_instance_uid}
    ct = api.get(f"{ROOT}studies", {"ModalitiesInStudy": "CT"}).json()
    assert [value(s, "0020000D") for s in ct] == [ct_study.study_instance_uid]
    assert value(ct[0], "00201208") == 48 and value(ct[0], "00201206") == 1
    by_uid = api.get(f"{ROOT}studies", {"0020000D": cxr_study.study_instance_uid}).json()
    assert len(by_uid) == 1 and value(by_uid[0], "00080061") == "DX"
    assert api.get(f"{ROOT}studies", {"PatientID": "RS0*"}).json()
    assert api.get(f"{ROOT}studies", {"PatientID": "nobody*"}).json() == []
    today = ct_study.study_date.strftime("%Y%m%d")
    assert len(api.get(f"{ROOT}studies", {"StudyDate": f"{today}-"}).json()) == 2
    assert api.get(f"{ROOT}studies", {"StudyDate": "19000101-19001231"}).json() == []
    assert len(api.get(f"{ROOT}studies", {"limit": "1", "offset": "1"}).json()) == 1
    assert api.get(f"{ROOT}studies")["Content-Type"] == "application/dicom+json"


def test_qido_series_and_instances(api, ct_study, cxr_study):
    st = cxr_study.study_instance_uid
    series = api.get(f"{ROOT}studies/{st}/series").json()
    assert sorted(value(s, "00185101") for s in series) == ["LL", "PA"]
    pa = api.get(f"{ROOT}studies/{st}/series", {"Modality": "DX", "SeriesNumber": "1"}).json()
    assert len(pa) == 1
    se = ct_study.series.get().series_instance_uid
    instances = api.get(f"{ROOT}studies/{ct_study.study_instance_uid}/series/{se}/instances", {"limit": "5"}).json()
    assert len(instances) == 5 and value(instances[0], "00280010") == 64
    assert value(instances[0], "00083002") == "1.2.840.10008.1.2.1"
    assert len(api.get(f"{ROOT}series", {"Modality": "CT"}).json()) == 1
    assert len(api.get(f"{ROOT}instances", {"SeriesInstanceUID": se}).json()) == 48
    warned = api.get(f"{ROOT}studies", {"InstitutionName": "X"})
    assert warned.status_code == 200 and "InstitutionName" in warned["Warning"]


@pytest.mark.parametrize(
    "query",
    [{"limit": "ten"}, {"offset": "-1"}, {"StudyDate": "2024-13-45"}, {"StudyDate": "-"}, {"NotAnAttribute": "1"},
     {"includefield": "Bogus"}, {"StudyInstanceUID": "1.2.abc"}, {"fuzzymatching": "maybe"}],
)
def test_qido_malformed_parameters_are_400(api, query):
    response = api.get(f"{ROOT}studies", query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/dicom+json"
    assert "00000902" in response.json() and response.json()["detail"]


def test_unknown_uids_are_404_with_dicom_json(api, ct_study):
    st = ct_study.study_instance_uid
    se = ct_study.series.get().series_instance_uid
    for url in ["studies/1.2.3/series", f"studies/{st}/series/1.2.3/metadata", f"studies/{st}/series/{se}/instances/1.2.3/frames/1",
                f"studies/1.2.3/series/{se}/metadata"]:
        response = api.get(ROOT + url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/dicom+json"
        assert value(response.json(), "00000900") == 404
    assert api.get(f"{ROOT}studies/not-a-uid/series").status_code == 400
    sop = ct_study.series.get().instances.first().sop_instance_uid
    assert api.get(f"{ROOT}studies/{st}/series/{se}/instances/{sop}/frames/0").status_code == 400
    assert api.get(f"{ROOT}studies/{st}/series/{se}/instances/{sop}/frames/2").status_code == 404


def test_series_metadata_and_frames(api, ct_study):
    st = ct_study.study_instance_uid
    series = ct_study.series.get()
    response = api.get(f"{ROOT}studies/{st}/series/{series.series_instance_uid}/metadata")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom+json"
    metadata = response.json()
    assert len(metadata) == 48
    bulk = metadata[0]["7FE00010"]["BulkDataURI"]
    assert bulk.startswith("http://testserver/dicomweb/studies/") and bulk.endswith("/frames/1")
    assert "PixelData" not in json.dumps(metadata) and value(metadata[0], "00280030") is not None
    inst = series.instances.all()[10]
    frames = api.get(
        f"{ROOT}studies/{st}/series/{series.series_instance_uid}/instances/{inst.sop_instance_uid}/frames/1",
        HTTP_ACCEPT='multipart/related; type="application/octet-stream"; transfer-syntax=*',
    )
    assert frames.status_code == 200
    assert frames["Content-Type"].startswith('multipart/related; type="application/octet-stream"; boundary=')
    ((content_type, payload),) = parts(frames)
    assert content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    stored = pydicom.dcmread(media_path(inst))
    assert payload == stored.PixelData
    one = api.get(f"{ROOT}studies/{st}/series/{series.series_instance_uid}/instances/{inst.sop_instance_uid}/metadata").json()
    assert len(one) == 1 and value(one[0], "00080018") == inst.sop_instance_uid


def media_path(instance):
    from django.conf import settings

    return f"{settings.MEDIA_ROOT}/{instance.file_path}"


def test_retrieve_instance_and_wado_uri(api, cxr_study):
    series = cxr_study.series.order_by("series_number").first()
    inst = series.instances.get()
    st, se, sop = cxr_study.study_instance_uid, series.series_instance_uid, inst.sop_instance_uid
    ((content_type, payload),) = parts(api.get(f"{ROOT}studies/{st}/series/{se}/instances/{sop}"))
    assert content_type.startswith("application/dicom")
    assert pydicom.dcmread(pydicom.filebase.DicomBytesIO(payload)).SOPInstanceUID == sop
    query = {"requestType": "WADO", "studyUID": st, "seriesUID": se, "objectUID": sop}
    dicom = api.get(f"{ROOT}wado", {**query, "contentType": "application/dicom"})
    assert dicom.status_code == 200 and dicom["Content-Type"] == "application/dicom"
    assert b"DICM" in b"".join(dicom.streaming_content)[:200]
    jpeg = api.get(f"{ROOT}wado", query)
    assert jpeg["Content-Type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    assert api.get(f"{ROOT}wado", {"requestType": "WADO", "studyUID": st}).status_code == 400
    assert api.get(f"{ROOT}wado", {**query, "objectUID": "1.2.3"}).status_code == 404


def test_permissions_per_study(client, ct_study, other_user, study_admin, reader):
    st = ct_study.study_instance_uid
    se = ct_study.series.get().series_instance_uid
    url = f"{ROOT}studies/{st}/series/{se}/metadata"
    anonymous = client.get(url)
    assert anonymous.status_code == 401 and value(anonymous.json(), "00000900") == 401
    client.force_login(other_user)
    assert client.get(url).status_code == 403
    assert client.get(f"{ROOT}studies").json() == []
    assert client.get(f"/viewer/{st}/").status_code == 403
    client.force_login(reader)
    assert client.get(url).status_code == 403
    client.force_login(study_admin)
    assert client.get(url).status_code == 200


def test_token_authentication(client, ct_study, owner):
    token = Token.objects.create(user=owner)
    response = client.get(f"{ROOT}studies", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and len(response.json()) == 1
    assert client.get(f"{ROOT}studies", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_readers_reach_presentation_copies_through_a_registered_rule(client, ct_study, reader, study_admin):
    copy = study_create_presentation_copy(study=ct_study, owner=study_admin, template={"StudyDescription": "Case 7"})
    assigned = {copy.pk}
    register_study_access_rule("test.assigned", allows=lambda user, study: user == reader and study.pk in assigned)
    try:
        client.force_login(reader)
        se = copy.series.get().series_instance_uid
        meta = client.get(f"{ROOT}studies/{copy.study_instance_uid}/series/{se}/metadata")
        assert meta.status_code == 200
        headers = meta.json()[0]
        assert "00080012" not in headers and "0008001C" not in headers  # no dates, no SyntheticData
        assert value(headers, "00081030") == "Case 7"
        # The same rule can never open the original, whatever it answers.
        assigned.add(ct_study.pk)
        original = ct_study.series.get().series_instance_uid
        assert client.get(f"{ROOT}studies/{ct_study.study_instance_uid}/series/{original}/metadata").status_code == 403
    finally:
        unregister_study_access_rule("test.assigned")
    assert not copy.is_synthetic and copy.source == "presentation" and copy.report_findings == ""


def test_frames_for_rle_compressed_instances(api, owner, media_root, tmp_path):
    from webapp.dicom.codec import write_ct_series
    from webapp.dicom.services import study_import

    volume = np.arange(3 * 16 * 16, dtype=np.float32).reshape(3, 16, 16) - 500
    written = write_ct_series(volume, (1, 1, 1), tmp_path / "rle", synthetic=True)
    for path in written.paths:
        ds = pydicom.dcmread(path)
        ds.compress(pydicom.uid.RLELossless)
        ds.save_as(path)
    study = study_import(paths_or_zip=tmp_path / "rle", owner=owner)
    inst = study.series.get().instances.first()
    url = f"{ROOT}studies/{study.study_instance_uid}/series/{inst.series.series_instance_uid}/instances/{inst.sop_instance_uid}/frames/1"
    ((content_type, payload),) = parts(api.get(url, HTTP_ACCEPT="multipart/related; type=application/octet-stream; transfer-syntax=*"))
    assert content_type.endswith("transfer-syntax=1.2.840.10008.1.2.5") and payload[:4] != b"\x00\x00\x00\x00"
    ((content_type, raw),) = parts(api.get(url, HTTP_ACCEPT='multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'))
    assert content_type.endswith("1.2.840.10008.1.2.1")
    np.testing.assert_array_equal(np.frombuffer(raw, "<i2").reshape(16, 16) - 1024, volume[0])
