"""Case ZIP export/import: round trip, SyntheticData marking, and bad archives that leave nothing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.conf import settings

from tests.webapp.cases.helpers import dicom_files
from webapp.cases.errors import CaseImportError
from webapp.cases.models import Case, DiagnosticCertainty, QuizType, TagKind
from webapp.cases.services import (
    case_create,
    case_export_zip,
    case_import_zip,
    case_publish,
    case_unpublish,
)
from webapp.dicom.models import Study
from webapp.dicom.services import study_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_case(educator, make_study):
    case = case_create(
        owner=educator, title="Right pleural effusion", quiz_title="Breathless adult", authors="Dr Edu, Dr Two",
        history="Dyspnoea.", findings="Fluid.", impression="Effusion.", findings_before_answer=True,
        diagnosis="Pleural effusion", diagnostic_certainty=DiagnosticCertainty.CERTAIN,
        differential="Empyema\nHaemothorax", discussion="Layering fluid.", teaching_points="One\nTwo",
        answer_after_attempt=False, difficulty="advanced", quiz_type=QuizType.MULTIPLE_CHOICE,
        quiz_question="Which?", quiz_choices=["Pneumothorax", "Pleural effusion"], quiz_correct_index=1,
        tags={TagKind.ORGAN_SYSTEM: ["Chest"], TagKind.PATHOLOGY: ["Pleural effusion"], TagKind.MODALITY: ["CT"]},
        studies=[make_study(educator, synthetic=True), make_study(educator, synthetic=False)],
    )
    return case_publish(case=case)


def export_bytes(case) -> bytes:
    buffer = io.BytesIO()
    case_export_zip(case=case, destination=buffer)
    return buffer.getvalue()


def case_fields(case) -> dict:
    from webapp.cases.transfer import case_record

    return case_record(case=case)


def test_round_trip_through_export_and_import(full_case, educator):
    original = case_fields(full_case)
    studies = [(link.study.study_instance_uid, link.study.is_synthetic, link.caption) for link in full_case.case_studies.all()]
    payload = export_bytes(full_case)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        record = json.loads(archive.read("case.json"))
        assert record["schema_version"] == 1 and record["case"] == original
        assert [s["synthetic"] for s in record["studies"]] == [True, False]
        for entry in record["studies"]:
            for name in entry["files"]:
                header = pydicom.dcmread(io.BytesIO(archive.read(name)), stop_before_pixels=True)
                assert (header.get("SyntheticData") == "YES") is entry["synthetic"]
    # A fresh server: remove the case and its studies, then import the ZIP.
    for link in list(full_case.case_studies.all()):
        study_delete(study=link.study)
    full_case.delete()
    imported = case_import_zip(source=io.BytesIO(payload), owner=educator)
    assert imported.visibility == "draft" and imported.owner == educator
    assert case_fields(imported) == original
    assert [(cs.study.study_instance_uid, cs.study.is_synthetic, cs.caption) for cs in imported.case_studies.all()] == studies
    for link in imported.case_studies.all():
        instances = list(link.study.series.get().instances.all())
        assert len(instances) == 4
        for instance in instances:
            assert pydicom.dcmread(Path(settings.MEDIA_ROOT) / instance.file_path).SOPInstanceUID == instance.sop_instance_uid


def test_reimport_on_the_same_server_reuses_readable_studies(full_case, educator, other_educator):
    payload = export_bytes(full_case)
    copy = case_import_zip(source=io.BytesIO(payload), owner=educator)
    assert copy.pk != full_case.pk
    assert {cs.study_id for cs in copy.case_studies.all()} == {cs.study_id for cs in full_case.case_studies.all()}
    # Someone who may not read those studies cannot claim them by UID.
    case_unpublish(case=full_case)
    case_unpublish(case=copy)
    with pytest.raises(CaseImportError, match="already on this server and you may not use it"):
        case_import_zip(source=io.BytesIO(payload), owner=other_educator)


def rewrite(payload: bytes, *, record=None, drop=(), add=None, rename=None) -> bytes:
    """A copy of an export with case.json replaced, members dropped, added or renamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info)
            if info.filename == "case.json" and record is not None:
                data = json.dumps(record).encode()
            dst.writestr((rename or {}).get(info.filename, info.filename), data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def bad_archives(payload: bytes) -> dict[str, tuple[bytes, str]]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        record = json.loads(archive.read("case.json"))
    first = record["studies"][0]["files"][0]
    wrong = json.loads(json.dumps(record))
    wrong["schema_version"] = 7
    wrong["case"]["difficulty"] = "godlike"
    wrong["case"]["tags"] = ["Chest"]
    del wrong["studies"][1]["synthetic"]
    listed_traversal = json.loads(json.dumps(record))
    listed_traversal["studies"][0]["files"][0] = "studies/1/../../evil.dcm"
    duplicate_choices = json.loads(json.dumps(record))  # passes the schema, fails after the studies are in
    duplicate_choices["case"]["quiz"]["choices"] = ["Effusion", "effusion"]
    unmarked = json.loads(json.dumps(record))
    unmarked["studies"][1]["synthetic"] = True
    return {
        "not a zip": (b"PK-not-really", "not a readable ZIP"),
        "no case.json": (rewrite(payload, drop={"case.json"}), "no case.json"),
        "invalid json": (rewrite(payload, drop={"case.json"}, add={"case.json": b"{oops"}), "not valid JSON"),
        "wrong schema": (rewrite(payload, record=wrong), "schema_version: 7 is not supported"),
        "missing file": (rewrite(payload, drop={first}), f"does not hold: {first}"),
        "unlisted file": (rewrite(payload, add={"studies/1/extra.dcm": b"x"}), "does not list: studies/1/extra.dcm"),
        "non-DICOM": (rewrite(payload, drop={first}, add={first: b"just text, not DICOM"}), f"{first} is not a DICOM file"),
        "traversal entry": (rewrite(payload, add={"../evil.dcm": b"x"}), "points outside the archive"),
        "absolute entry": (rewrite(payload, add={"/etc/evil.dcm": b"x"}), "absolute paths are not allowed"),
        "traversal listed": (rewrite(payload, record=listed_traversal), "points outside the archive"),
        "unmarked synthetic": (rewrite(payload, record=unmarked), "lacks SyntheticData = YES"),
        "late failure": (rewrite(payload, record=duplicate_choices), "two quiz choices are the same"),
    }


def test_bad_archives_are_refused_and_leave_nothing_behind(full_case, educator):
    payload = export_bytes(full_case)
    archives = bad_archives(payload)
    for link in list(full_case.case_studies.all()):  # so each import would create its studies anew
        study_delete(study=link.study)
    full_case.delete()
    before_files, before_studies = dicom_files(), Study.objects.count()
    for label, (data, message) in archives.items():
        with pytest.raises(CaseImportError) as excinfo:
            case_import_zip(source=io.BytesIO(data), owner=educator)
        assert message in str(excinfo.value), f"{label}: {excinfo.value}"
        assert Case.objects.count() == 0, label
        assert Study.objects.count() == before_studies, label
        assert dicom_files() == before_files, label


def test_wrong_schema_message_names_every_field(full_case, educator):
    with zipfile.ZipFile(io.BytesIO(export_bytes(full_case))) as archive:
        record = json.loads(archive.read("case.json"))
    record["case"]["difficulty"] = "godlike"
    record["case"]["surprise"] = 1
    del record["case"]["title"]
    with pytest.raises(CaseImportError) as excinfo:
        case_import_zip(source=io.BytesIO(rewrite(export_bytes(full_case), record=record)), owner=educator)
    message = str(excinfo.value)
    assert "case.difficulty: must be one of beginner" in message
    assert "case.surprise: unknown field" in message and "case.title: required" in message


def test_export_and_import_over_http(client, full_case, educator, learner):
    client.force_login(learner)
    assert client.get(f"/cases/{full_case.public_id}/export.zip").status_code == 403  # readers do not export
    client.force_login(educator)
    response = client.get(f"/cases/{full_case.public_id}/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    payload = b"".join(response.streaming_content)
    api = client.get(f"/api/cases/{full_case.public_id}/export/")
    assert api.status_code == 200 and zipfile.is_zipfile(io.BytesIO(b"".join(api.streaming_content)))
    page = client.post("/cases/import/", {"file": _upload(payload)})
    assert page.status_code == 302 and Case.objects.count() == 2
    bad = client.post("/cases/import/", {"file": _upload(b"not a zip")})
    assert bad.status_code == 400 and "Nothing was imported" in bad.content.decode()
    bad_api = client.post("/api/cases/import/", {"file": _upload(rewrite(payload, add={"../x": b"1"}))})
    assert bad_api.status_code == 400 and "points outside the archive" in bad_api.json()["detail"]
    assert client.post("/api/cases/import/", {}).status_code == 400
    assert Case.objects.count() == 2


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("case.zip", data, content_type="application/zip")
