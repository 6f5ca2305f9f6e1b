"""Write CT series and DX images as standard DICOM, and read series back as volumes.

Plain pydicom/numpy; no Django import (a test enforces it) so the engine's workers can call it.

Volume arrays follow ``generation/conventions.py``: indexed [z, y, x] with x toward the patient's
LEFT, y toward POSTERIOR and z toward SUPERIOR (DICOM LPS, ImageOrientationPatient [1,0,0,0,1,0]);
spacing is (dz, dy, dx) in mm. Slice k is written at ImagePositionPatient = origin + (0, 0, k*dz).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid

from generation.conventions import IMAGE_ORIENTATION_PATIENT
from webapp.dicom.codec_geometry import Geometry, NotAVolume, Volume, read_series
from webapp.dicom.codec_presentation import write_presentation_copy
from webapp.dicom.codec_types import SeriesWritten, save_dataset

__all__ = [
    "CT_IMAGE_STORAGE",
    "DX_PRESENTATION_STORAGE",
    "Geometry",
    "NotAVolume",
    "SeriesWritten",
    "Volume",
    "read_series",
    "write_ct_series",
    "write_dx_image",
    "write_presentation_copy",
]

CT_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2")
DX_PRESENTATION_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1.1")
CT_RESCALE_INTERCEPT = -1024.0  # stored = HU + 1024, the usual scanner encoding
SOFTWARE_VERSION = "RadSynth 0.1"

# Defaults for a study nobody described: a plausible anonymised patient, not "test".
DEFAULT_PATIENT = {"PatientName": "ANONYMOUS^PATIENT", "PatientID": "RS000001", "PatientSex": "O", "PatientBirthDate": ""}


def _now() -> tuple[str, str]:
    now = dt.datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


def _base_dataset(
    *,
    sop_class: UID,
    modality: str,
    patient: Mapping[str, Any] | None,
    study: Mapping[str, Any] | None,
    series_uid: str,
    series_number: int,
    series_description: str,
    synthetic: bool,
) -> Dataset:
    """Patient, General Study, General Series, General Equipment and SOP Common modules."""
    date, time = _now()
    study = dict(study or {})
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    for keyword, value in {**DEFAULT_PATIENT, **(patient or {})}.items():
        setattr(ds, keyword, value)
    ds.StudyInstanceUID = study.pop("StudyInstanceUID")
    ds.StudyDate = study.pop("StudyDate", date)
    ds.StudyTime = study.pop("StudyTime", time)
    ds.StudyID = study.pop("StudyID", "1")
    ds.AccessionNumber = study.pop("AccessionNumber", "")
    ds.ReferringPhysicianName = study.pop("ReferringPhysicianName", "")
    ds.StudyDescription = study.pop("StudyDescription", "")
    for keyword, value in study.items():
        setattr(ds, keyword, value)
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.SeriesDate, ds.SeriesTime = ds.StudyDate, ds.StudyTime
    ds.BodyPartExamined = "CHEST"
    ds.Manufacturer = "RadSynth" if synthetic else "GENERIC"
    ds.ManufacturerModelName = "Report2Image" if synthetic else "CT-1"
    ds.SoftwareVersions = SOFTWARE_VERSION
    ds.InstitutionName = ""
    ds.ContentDate, ds.ContentTime = date, time
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    if synthetic:
        ds.SyntheticData = "YES"  # (0008,001C): says so in the header, not only in the database
    return ds


def write_ct_series(
    volume_hu: np.ndarray,
    spacing_mm: Sequence[float],
    out_dir: str | PathLike[str],
    *,
    patient: Mapping[str, Any] | None = None,
    study: Mapping[str, Any] | None = None,
    series_description: str = "CT CHEST",
    series_number: int = 1,
    origin_mm: Sequence[float] | None = None,
    synthetic: bool,
    extra: Mapping[str, Any] | None = None,
) -> SeriesWritten:
    """Write ``volume_hu`` ([z, y, x], HU) as one CT Image Storage series, one file per slice.

    ``study`` may carry StudyInstanceUID (to add a series to an existing study) and other General
    Study attributes by keyword; ``extra`` sets any further attributes on every slice (last word).
    ``origin_mm`` is the LPS position of voxel [0, 0, 0]; by default the volume is centred on 0.
    """
    volume = np.asarray(volume_hu)
    if volume.ndim != 3 or min(volume.shape) < 1:
        raise ValueError(f"volume must be 3-D [z, y, x], got shape {volume.shape}")
    dz, dy, dx = (float(s) for s in spacing_mm)
    if min(dz, dy, dx) <= 0:
        raise ValueError(f"spacing must be positive, got {spacing_mm}")
    nz, ny, nx = volume.shape
    if origin_mm is None:
        origin = -0.5 * np.array([(nx - 1) * dx, (ny - 1) * dy, (nz - 1) * dz])
    else:
        origin = np.asarray(origin_mm, dtype=float)
    stored = np.clip(np.rint(volume - CT_RESCALE_INTERCEPT), -32768, 32767).astype("<i2")
    study = dict(study or {})
    study.setdefault("StudyInstanceUID", generate_uid())
    series_uid = generate_uid()
    frame_of_reference = generate_uid()
    out = Path(out_dir)
    written = SeriesWritten(study_uid=str(study["StudyInstanceUID"]), series_uid=series_uid)
    for k in range(nz):
        ds = _base_dataset(
            sop_class=CT_IMAGE_STORAGE, modality="CT", patient=patient, study=study,
            series_uid=series_uid, series_number=series_number,
            series_description=series_description, synthetic=synthetic,
        )
        ds.SOPInstanceUID = generate_uid()
        ds.PatientPosition = "HFS"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"] if synthetic else ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = k + 1
        ds.AcquisitionNumber = 1
        ds.PatientOrientation = ""  # type 2C: empty because Image Plane geometry is present
        position = origin + np.array([0.0, 0.0, k * dz])
        ds.ImagePositionPatient = [f"{v:.6g}" for v in position]
        ds.ImageOrientationPatient = list(IMAGE_ORIENTATION_PATIENT)
        ds.PixelSpacing = [f"{dy:.6g}", f"{dx:.6g}"]  # row spacing, column spacing
        ds.SliceThickness = f"{dz:.6g}"
        ds.SpacingBetweenSlices = f"{dz:.6g}"
        ds.SliceLocation = f"{position[2]:.6g}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = f"{CT_RESCALE_INTERCEPT:g}"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.KVP = "120"
        ds.ConvolutionKernel = "STANDARD"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.WindowCenterWidthExplanation = "SOFT TISSUE"
        ds.LossyImageCompression = "00"
        for keyword, value in (extra or {}).items():
            setattr(ds, keyword, value)
        ds.PixelData = stored[k].tobytes()
        path = out / f"CT{k + 1:04d}.dcm"
        save_dataset(ds, path)
        written.paths.append(path)
        written.sop_uids.append(str(ds.SOPInstanceUID))
    return written


# Chest code from SNOMED CT (DICOM CID 4031), required by the DX Anatomy Imaged module.
def _chest_code() -> DicomSequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "51185008", "SCT", "Chest"
    return DicomSequence([item])


# How a conventionally displayed chest radiograph is oriented: (row direction, column direction).
# PA: viewer faces the patient, patient's left on the image right. LL: patient faces image left.
_DX_ORIENTATION = {"PA": ["L", "F"], "AP": ["L", "F"], "LL": ["P", "F"], "RL": ["A", "F"]}


def write_dx_image(
    image: np.ndarray,
    pixel_spacing_mm: Sequence[float],
    out_path: str | PathLike[str],
    *,
    view_position: str = "PA",
    laterality: str = "U",
    patient: Mapping[str, Any] | None = None,
    study: Mapping[str, Any] | None = None,
    series_description: str | None = None,
    series_number: int = 1,
    synthetic: bool,
    bits_stored: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SeriesWritten:
    """Write one Digital X-Ray Image Storage – For Presentation image (MONOCHROME2).

    ``image`` is [row, column], row 0 at the top (superior) and displayed as is; floats are taken
    as 0..1 and stored as 12-bit, integers are stored unchanged (clipped to 0..2^bits_stored - 1,
    16 bits unless the caller says how many its values use).
    """
    view_position = view_position.upper()
    if view_position not in _DX_ORIENTATION:
        raise ValueError(f"view_position must be one of {sorted(_DX_ORIENTATION)}")
    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"image must be 2-D [row, column], got shape {pixels.shape}")
    if np.issubdtype(pixels.dtype, np.floating):
        stored, bits = np.rint(np.clip(pixels, 0.0, 1.0) * 4095).astype("<u2"), 12
    else:
        bits = int(bits_stored or 16)
        if not 1 <= bits <= 16:
            raise ValueError(f"bits_stored must be in 1..16, got {bits_stored}")
        stored = np.clip(pixels, 0, (1 << bits) - 1).astype("<u2")
    study = dict(study or {})
    study.setdefault("StudyInstanceUID", generate_uid())
    series_uid = generate_uid()
    description = series_description or f"CHEST {view_position}"
    ds = _base_dataset(
        sop_class=DX_PRESENTATION_STORAGE, modality="DX", patient=patient, study=study,
        series_uid=series_uid, series_number=series_number,
        series_description=description, synthetic=synthetic,
    )
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = ["DERIVED", "SECONDARY"] if synthetic else ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.InstanceNumber = 1
    ds.AcquisitionNumber = 1
    ds.PatientOrientation = _DX_ORIENTATION[view_position]
    ds.ViewPosition = view_position
    ds.ImageLaterality = laterality
    ds.AnatomicRegionSequence = _chest_code()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    spacing = [f"{float(s):.6g}" for s in pixel_spacing_mm]
    ds.ImagerPixelSpacing = spacing
    ds.PixelSpacing = spacing
    ds.DetectorType = "SCINTILLATOR"
    ds.KVP = "120" if view_position in {"PA", "AP"} else "125"
    low, high = np.percentile(stored, [1, 99]) if stored.size else (0, 1)
    ds.WindowCenter = f"{(low + high) / 2:.0f}"
    ds.WindowWidth = f"{max(high - low, 1):.0f}"
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    ds.PixelData = stored.tobytes()
    path = Path(out_path)
    save_dataset(ds, path)
    return SeriesWritten(
        study_uid=str(ds.StudyInstanceUID), series_uid=series_uid, paths=[path], sop_uids=[str(ds.SOPInstanceUID)]
    )
