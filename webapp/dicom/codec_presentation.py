"""Blinded presentation copies: real and synthetic studies rewritten with identical headers.

A reader in a Visual Turing Test must not tell real from synthetic by the header. So a copy keeps
only what the picture needs (geometry and pixels, normalised to one encoding) and takes every other
attribute from one shared template; UIDs are fresh and nothing dates or names the source.
No Django import (a test enforces it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from webapp.dicom.codec_geometry import rescaled_pixels
from webapp.dicom.codec_types import SeriesWritten, save_dataset

# Attributes that describe where pixels are and what they look like; copied from the source.
GEOMETRY_KEYWORDS = (
    "Rows",
    "Columns",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "SliceLocation",
    "PatientOrientation",
    "ViewPosition",
    "ImageLaterality",
    "InstanceNumber",
)

# What every copy says unless the template overrides it: neutral, identical for real and synthetic.
BASE_TEMPLATE: dict[str, Any] = {
    "SpecificCharacterSet": "ISO_IR 192",
    "PatientName": "BLINDED^CASE",
    "PatientID": "BLINDED",
    "PatientBirthDate": "",
    "PatientSex": "",
    "StudyDate": "",
    "StudyTime": "",
    "StudyID": "1",
    "AccessionNumber": "",
    "ReferringPhysicianName": "",
    "StudyDescription": "",
    "SeriesDescription": "",
    "Manufacturer": "",
    "BodyPartExamined": "CHEST",
    "ContentDate": "",
    "ContentTime": "",
    "AcquisitionNumber": 1,
    "PositionReferenceIndicator": "",
    "LossyImageCompression": "00",
}


def _copy_pixels_ct(src: Dataset, ds: Dataset) -> None:
    # One encoding for every CT (int16, stored = HU + 1024), whatever the scanner used.
    hu = rescaled_pixels(src)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.PatientPosition = "HFS"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = np.clip(np.rint(hu + 1024), -32768, 32767).astype("<i2").tobytes()


def _copy_pixels_projection(src: Dataset, ds: Dataset) -> None:
    # Radiographs keep their stored values (decoded, so compression cannot give the source away).
    pixels = src.pixel_array
    if src.get("PhotometricInterpretation") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    stored = np.clip(pixels, 0, 65535).astype("<u2")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = max(12, int(src.get("BitsStored", 16)))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits, bits - 1, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PresentationLUTShape = "IDENTITY"
    low, high = np.percentile(stored, [1, 99]) if stored.size else (0, 1)
    ds.WindowCenter, ds.WindowWidth = f"{(low + high) / 2:.0f}", f"{max(high - low, 1):.0f}"
    ds.PixelData = stored.tobytes()


def write_presentation_copy(
    src_datasets: Sequence[Dataset],
    out_dir: str | PathLike[str],
    template: Mapping[str, Any] | None = None,
    *,
    study_uid: str | None = None,
) -> list[SeriesWritten]:
    """Rewrite ``src_datasets`` (one or more series of one study) as a blinded copy in ``out_dir``.

    Every header is ``BASE_TEMPLATE`` + ``template`` + the source's geometry and pixels; study,
    series, instance and frame-of-reference UIDs are new (one study for the whole copy); dates,
    manufacturer, SyntheticData, private tags and everything else of the source are dropped.
    Returns one :class:`SeriesWritten` per source series, in first-seen order.
    """
    header = {**BASE_TEMPLATE, **(template or {})}
    new_study = study_uid or generate_uid()
    series_map: dict[str, SeriesWritten] = {}
    frame_map: dict[str, str] = {}
    out = Path(out_dir)
    for src in src_datasets:
        src_series = str(src.SeriesInstanceUID)
        if src_series not in series_map:
            series_map[src_series] = SeriesWritten(study_uid=new_study, series_uid=generate_uid())
        written = series_map[src_series]
        ds = Dataset()
        for keyword, value in header.items():
            setattr(ds, keyword, value)
        ds.SOPClassUID = src.SOPClassUID
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = new_study
        ds.SeriesInstanceUID = written.series_uid
        ds.SeriesNumber = list(series_map).index(src_series) + 1
        ds.Modality = src.Modality
        if "FrameOfReferenceUID" in src:
            ds.FrameOfReferenceUID = frame_map.setdefault(str(src.FrameOfReferenceUID), generate_uid())
        for keyword in GEOMETRY_KEYWORDS:
            if keyword in src:
                setattr(ds, keyword, src.data_element(keyword).value)
        if src.Modality == "CT":
            _copy_pixels_ct(src, ds)
        else:
            _copy_pixels_projection(src, ds)
        # Template keys win over the per-modality defaults (e.g. a shared WindowCenter).
        for keyword, value in (template or {}).items():
            setattr(ds, keyword, value)
        path = out / written.series_uid / f"{ds.SOPInstanceUID}.dcm"
        save_dataset(ds, path)
        written.paths.append(path)
        written.sop_uids.append(str(ds.SOPInstanceUID))
    return list(series_map.values())
