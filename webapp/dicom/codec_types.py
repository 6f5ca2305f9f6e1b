"""Small value types shared by the codec modules (no Django)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian


@dataclass(frozen=True)
class SeriesWritten:
    """What a writer produced: one series, its files and SOP Instance UIDs in slice order."""

    study_uid: str
    series_uid: str
    paths: list[Path] = field(default_factory=list)
    sop_uids: list[str] = field(default_factory=list)


def save_dataset(ds: Dataset, path: Path) -> None:
    """Save as a Part 10 file in Explicit VR Little Endian, the syntax every viewer decodes."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "RADSYNTH_01"
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
