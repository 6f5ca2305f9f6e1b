"""The pydicom codec: geometry round trip with orientation markers, mandatory attributes, blinding.

No database: these run without Django's test machinery.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_fixtures import MARKER_HU, MARKERS_LPS, marker_volume, write_cxr_pair, write_marker_ct

from webapp.dicom.codec import NotAVolume, read_series, write_ct_series, write_presentation_copy

CODEC_MODULES = ["codec.py", "codec_geometry.py", "codec_presentation.py", "codec_types.py"]
DICOM_DIR = Path(__file__).resolve().parents[3] / "webapp" / "dicom"


def test_codec_modules_import_no_django():
    allowed_roots = {"__future__", "collections", "dataclasses", "datetime", "os", "pathlib", "typing", "numpy", "pydicom", "generation"}
    for name in CODEC_MODULES:
        tree = ast.parse((DICOM_DIR / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert module.startswith(("webapp.dicom.codec",)) or module.split(".")[0] in allowed_roots, (name, module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in allowed_roots, (name, alias.name)


def test_codec_runs_with_django_unimportable(tmp_path):
    # Bypass webapp/__init__ (it loads Celery) and make any Django import fail: the codec must work.
    script = f"""
import sys, types, importlib.abc
class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("django is forbidden in the codec")
sys.meta_path.insert(0, NoDjango())
pkg = types.ModuleType("webapp"); pkg.__path__ = [{str(DICOM_DIR.parent)!r}]; sys.modules["webapp"] = pkg
sub = types.ModuleType("webapp.dicom"); sub.__path__ = [{str(DICOM_DIR)!r}]; sys.modules["webapp.dicom"] = sub
import numpy as np
from webapp.dicom.codec import write_ct_series, read_series
w = write_ct_series(np.zeros((3, 4, 5)), (1, 1, 1), {str(tmp_path)!r}, synthetic=True)
assert read_series(w.paths).array.shape == (3, 4, 5)
assert not [m for m in sys.modules if m.startswith("django")]
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=DICOM_DIR.parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_marker_volume_round_trips_to_patient_positions(tmp_path):
    paths = write_marker_ct(tmp_path)
    volume = read_series(reversed(paths))  # order on disk must not matter
    assert volume.array.shape == (48, 64, 64)
    np.testing.assert_allclose(volume.array, np.rint(marker_volume()), atol=0.5)
    for name, expected in MARKERS_LPS.items():
        cube = np.argwhere(volume.array >= MARKER_HU - 1)
        centres = np.array([volume.geometry.voxel_to_patient(*idx) for idx in cube])
        near = centres[np.linalg.norm(centres - expected, axis=1) < 8]
        assert len(near) > 0, name
        np.testing.assert_allclose(near.mean(axis=0), expected, atol=1.1, err_msg=name)
    # Conventions: x to patient left, y to posterior, z to superior (slice 0 is the lowest).
    ds0, ds_last = volume.datasets[0], volume.datasets[-1]
    assert float(ds_last.ImagePositionPatient[2]) > float(ds0.ImagePositionPatient[2])
    assert [float(v) for v in ds0.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]


def test_ct_headers_have_mandatory_modules(tmp_path):
    paths = write_marker_ct(tmp_path, patient={"PatientID": "P42"})
    ds = pydicom.dcmread(paths[1])
    for keyword in [
        "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
        "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
        "Modality", "SeriesInstanceUID", "SeriesNumber", "PatientPosition",
        "FrameOfReferenceUID", "PositionReferenceIndicator", "Manufacturer",
        "InstanceNumber", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
        "SpacingBetweenSlices", "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
        "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "RescaleIntercept", "RescaleSlope",
        "ImageType", "KVP", "SOPClassUID", "SOPInstanceUID",
    ]:
        assert keyword in ds, keyword
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.SyntheticData == "YES"
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert ds.PatientID == "P42"
    assert ds.pixel_array.dtype == np.int16
    assert float(ds.SliceThickness) == float(ds.SpacingBetweenSlices) == 2.0
    uids = {pydicom.dcmread(p).SOPInstanceUID for p in paths}
    assert len(uids) == len(paths)


def test_real_looking_series_has_no_synthetic_flag(tmp_path):
    written = write_ct_series(np.zeros((2, 3, 3)), (1, 1, 1), tmp_path, synthetic=False)
    ds = pydicom.dcmread(written.paths[0])
    assert "SyntheticData" not in ds
    assert list(ds.ImageType)[:2] == ["ORIGINAL", "PRIMARY"]


def _shifted(paths, index, **changes):
    ds = pydicom.dcmread(paths[index])
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(paths[index])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("tilt", "mixed orientations"),
        ("gap", "missing"),
        ("no_position", "no ImagePositionPatient"),
        ("duplicate", "same position"),
    ],
)
def test_not_a_volume_says_why(tmp_path, change, reason):
    paths = write_ct_series(np.zeros((6, 4, 4)), (2, 1, 1), tmp_path, synthetic=True).paths
    if change == "tilt":
        _shifted(paths, 2, ImageOrientationPatient=[1, 0, 0, 0, 0.8, -0.6])
    elif change == "gap":
        paths = paths[:3] + paths[4:]
    elif change == "no_position":
        ds = pydicom.dcmread(paths[1])
        del ds.ImagePositionPatient
        ds.save_as(paths[1])
    elif change == "duplicate":
        _shifted(paths, 3, ImagePositionPatient=pydicom.dcmread(paths[2]).ImagePositionPatient)
    with pytest.raises(NotAVolume, match=reason):
        read_series(paths)


def test_presentation_copy_headers_identical_except_geometry_and_pixels(tmp_path):
    real = write_ct_series(np.zeros((3, 8, 8)) + 40, (2.5, 0.7, 0.7), tmp_path / "real", synthetic=False,
                           patient={"PatientName": "DOE^JANE"}, extra={"InstitutionName": "General Hospital"})
    synthetic = write_ct_series(np.zeros((3, 8, 8)) - 20, (2.0, 0.8, 0.8), tmp_path / "syn", synthetic=True)
    copies = []
    for name, written in (("a", real), ("b", synthetic)):
        sources = [pydicom.dcmread(p) for p in written.paths]
        sources[0].add_new(0x00091010, "LO", "private secret")
        (out,) = write_presentation_copy(sources, tmp_path / name, {"StudyDescription": "Case"})
        copies.append([pydicom.dcmread(p) for p in out.paths])
        assert out.study_uid != written.study_uid and out.series_uid != written.series_uid
    geometry = {"ImagePositionPatient", "PixelSpacing", "SliceThickness", "SpacingBetweenSlices", "SliceLocation",
                "PixelData", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"}
    a, b = copies[0][0], copies[1][0]
    keys_a = {e.keyword for e in a if e.keyword not in geometry}
    keys_b = {e.keyword for e in b if e.keyword not in geometry}
    assert keys_a == keys_b
    for keyword in keys_a:
        assert a.data_element(keyword).value == b.data_element(keyword).value, keyword
    for ds in (a, b):
        assert "SyntheticData" not in ds and not any(e.tag.is_private for e in ds)
        assert ds.StudyDate == "" and ds.Manufacturer == "" and ds.StudyDescription == "Case"
    np.testing.assert_allclose(a.pixel_array * 1.0 - 1024, 40)
    np.testing.assert_allclose(b.pixel_array * 1.0 - 1024, -20)


def test_dx_images_for_presentation(tmp_path):
    frontal, lateral = write_cxr_pair(tmp_path)
    pa, ll = pydicom.dcmread(frontal), pydicom.dcmread(lateral)
    assert pa.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.1"
    assert (pa.ViewPosition, ll.ViewPosition) == ("PA", "LL")
    assert pa.PhotometricInterpretation == "MONOCHROME2"
    assert list(pa.PatientOrientation) == ["L", "F"] and list(ll.PatientOrientation) == ["P", "F"]
    assert pa.StudyInstanceUID == ll.StudyInstanceUID and pa.SeriesInstanceUID != ll.SeriesInstanceUID
    assert pa.PresentationIntentType == "FOR PRESENTATION"


def test_dx_integer_pixels_declare_the_bits_they_use(tmp_path):
    from webapp.dicom.codec import write_dx_image

    image = np.array([[0, 4095], [5000, 17]], dtype=np.uint16)  # 12-bit values, one out of range
    write_dx_image(image, (0.5, 0.5), tmp_path / "a.dcm", synthetic=True, bits_stored=12)
    ds = pydicom.dcmread(tmp_path / "a.dcm")
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    assert ds.pixel_array.tolist() == [[0, 4095], [4095, 17]]
    write_dx_image(image, (0.5, 0.5), tmp_path / "b.dcm", synthetic=True)
    assert pydicom.dcmread(tmp_path / "b.dcm").BitsStored == 16
    with pytest.raises(ValueError, match="bits_stored"):
        write_dx_image(image, (0.5, 0.5), tmp_path / "c.dcm", synthetic=True, bits_stored=20)
