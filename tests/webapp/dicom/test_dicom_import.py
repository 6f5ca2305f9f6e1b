"""import_dicom and study_import: folders, ZIPs, reports, and all-or-nothing rejection."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.core.management import CommandError, call_command

from webapp.dicom.models import Instance, Series, Study
from webapp.dicom.services import ImportRejected, study_import


def run_import(*args) -> dict:
    out = io.StringIO()
    call_command("import_dicom", *[str(a) for a in args], stdout=out)
    return json.loads(out.getvalue())


def zip_folder(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"study/{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


@pytest.mark.django_db
def test_import_folder_prints_json_and_indexes_files(media_root, ct_files, owner, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"findings": "Three cubes.", "impression": "Phantom."}))
    result = run_import(ct_files[0].parent, "--report", report, "--owner", owner.username)
    study = Study.objects.get(study_instance_uid=result["StudyInstanceUID"])
    assert result["SeriesInstanceUIDs"] == [study.series.get().series_instance_uid]
    assert result["instances"] == len(ct_files) and result["series"][0]["is_volume"] is True
    assert (study.report_findings, study.report_impression) == ("Three cubes.", "Phantom.")
    assert study.owner == owner and study.is_synthetic and study.source == "imported"
    series = study.series.get()
    assert series.geometry["slices"] == len(ct_files) and series.geometry["spacing_mm"] == [2.0, 2.0, 2.0]
    first = series.instances.first()
    stored = media_root / first.file_path
    assert stored == media_root / "dicom" / study.study_instance_uid / series.series_instance_uid / f"{first.sop_instance_uid}.dcm"
    # The recorded offset points at the pixel bytes: the hot path reads them without parsing.
    raw = stored.read_bytes()[first.pixel_data_offset : first.pixel_data_offset + first.frame_length]
    assert raw == pydicom.dcmread(stored).PixelData
    positions = list(series.instances.values_list("position", flat=True))
    assert positions == sorted(positions)
    metadata = json.loads(series.metadata_json)
    assert len(metadata) == len(ct_files) and "BulkDataURI" in metadata[0]["7FE00010"]


@pytest.mark.django_db
def test_import_zip_with_text_report(media_root, ct_files, tmp_path):
    archive = zip_folder(ct_files[0].parent, tmp_path / "study.zip", {"__MACOSX/._junk": b"x"})
    report = tmp_path / "report.txt"
    report.write_text("FINDINGS: Clear lungs.\nIMPRESSION: Normal.")
    result = run_import(archive, "--report", report)
    study = Study.objects.get(study_instance_uid=result["StudyInstanceUID"])
    assert study.owner is None and study.report_impression == "Normal."
    assert study.series.get().number_of_instances == len(ct_files)


@pytest.mark.django_db
def test_cxr_pair_is_one_study_of_two_projection_series(cxr_study):
    series = list(cxr_study.series.order_by("series_number"))
    assert [s.view_position for s in series] == ["PA", "LL"]
    assert cxr_study.modalities == "DX" and not any(s.is_volume for s in series)


@pytest.mark.django_db
def test_non_dicom_file_rejects_everything(media_root, ct_files):
    (ct_files[0].parent / "notes.txt").write_text("not an image")
    with pytest.raises(CommandError, match="notes.txt is not a DICOM file"):
        run_import(ct_files[0].parent)
    assert not Study.objects.exists() and not Instance.objects.exists()
    assert not list((media_root).rglob("*.dcm"))


@pytest.mark.django_db
def test_zip_path_traversal_is_refused(media_root, ct_files, tmp_path):
    archive = zip_folder(ct_files[0].parent, tmp_path / "evil.zip", {"../../escaped.dcm": ct_files[0].read_bytes()})
    with pytest.raises(CommandError, match="outside the archive"):
        run_import(archive)
    assert not (tmp_path / "escaped.dcm").exists() and not Study.objects.exists()


@pytest.mark.django_db
def test_failure_midway_leaves_nothing_behind(media_root, ct_files, monkeypatch):
    import webapp.dicom.services as services

    calls = {"n": 0}
    original = services.instance_json

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "instance_json", failing)
    with pytest.raises(OSError):
        study_import(paths_or_zip=ct_files[0].parent, owner=None)
    assert not Study.objects.exists() and not Series.objects.exists()
    assert not list(media_root.rglob("*.dcm"))


@pytest.mark.django_db
def test_reimport_and_malformed_uid_are_rejected(media_root, ct_files, tmp_path):
    study_import(paths_or_zip=ct_files[0].parent, owner=None)
    with pytest.raises(ImportRejected, match="already in the index"):
        study_import(paths_or_zip=ct_files[0].parent, owner=None)
    bad = pydicom.dcmread(ct_files[0])
    bad.SeriesInstanceUID = "../../etc"
    bad.save_as(tmp_path / "bad.dcm")
    with pytest.raises(ImportRejected, match="malformed SeriesInstanceUID"):
        study_import(paths_or_zip=tmp_path / "bad.dcm", owner=None)


@pytest.mark.django_db
def test_mixed_orientation_series_is_indexed_with_reason(media_root, ct_files, owner, client):
    ds = pydicom.dcmread(ct_files[3])
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0.8, -0.6]
    ds.save_as(ct_files[3])
    study = study_import(paths_or_zip=ct_files[0].parent, owner=owner)
    series = study.series.get()
    assert not series.is_volume and "mixed orientations" in series.not_volume_reason
    client.force_login(owner)
    page = client.get(f"/viewer/{study.study_instance_uid}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "cannot be shown in three planes" in text and "mixed orientations" in text
    assert "rs-viewer" not in text  # no viewer: nothing to misrender


def test_unknown_owner_is_an_error(db, ct_files):
    with pytest.raises(CommandError, match="no user named"):
        run_import(ct_files[0].parent, "--owner", "nobody")


@pytest.mark.django_db
def test_generated_output_is_indexed_as_generated(media_root, owner, tmp_path):
    from dicom_fixtures import marker_volume

    from webapp.dicom.codec import write_ct_series
    from webapp.dicom.services import study_index_written_series

    written = write_ct_series(marker_volume(), (2, 2, 2), tmp_path / "gen", synthetic=True)
    study = study_index_written_series(series=[written], owner=owner, report={"findings": "f", "impression": "i"})
    assert study.source == "generated" and study.is_synthetic and study.study_instance_uid == written.study_uid
    again = write_ct_series(marker_volume(), (2, 2, 2), tmp_path / "gen2", synthetic=True)
    assert study_import(paths=again.paths, owner=owner, source="generated").series.get().is_volume
