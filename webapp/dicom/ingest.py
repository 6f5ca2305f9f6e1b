"""Reading DICOM files for the index: collecting inputs, safe ZIP extraction, per-file facts.

No ORM here: services.py turns these facts into rows inside one transaction.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path, PurePosixPath

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from webapp.dicom.codec_geometry import NotAVolume, check_geometry, sort_key_along_normal

UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR: an index, not an image
MAX_ZIP_BYTES = 8 * 1024**3  # refuse ZIP bombs before unpacking
ROOT_PLACEHOLDER = "{DICOMWEB_ROOT}"


class ImportRejected(ValueError):
    """The input cannot be imported; the message says which file and why."""


def is_valid_uid(value: str) -> bool:
    return len(value) <= 64 and bool(UID_PATTERN.match(value))


def extract_zip_safely(zip_path: Path, into: Path) -> None:
    """Unpack ``zip_path`` refusing absolute names, ``..`` parts, links and oversized archives."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise ImportRejected(f"{zip_path.name} is not a readable ZIP archive") from exc
    with archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise ImportRejected(f"{zip_path.name} unpacks to more than {MAX_ZIP_BYTES >> 30} GiB")
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", member.filename):
                raise ImportRejected(f"refused ZIP entry {member.filename!r}: it points outside the archive")
            if (member.external_attr >> 16) & 0o170000 == 0o120000:
                raise ImportRejected(f"refused ZIP entry {member.filename!r}: symbolic links are not allowed")
        for member in members:
            if member.is_dir():
                continue
            target = into.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)


def _skippable(path: Path) -> bool:
    # Desktop clutter that ZIP tools add; everything else must be DICOM.
    return path.name.startswith(".") or "__MACOSX" in path.parts or path.name.lower() in {"thumbs.db", "desktop.ini"}


def collect_files(sources: Iterable[Path], scratch: Path) -> list[Path]:
    """Every file to import: folders walked, ZIPs unpacked into ``scratch``."""
    files: list[Path] = []
    for index, source in enumerate(sources):
        if not source.exists():
            raise ImportRejected(f"{source} does not exist")
        if source.is_dir():
            files.extend(p for p in sorted(source.rglob("*")) if p.is_file() and not _skippable(p))
        elif zipfile.is_zipfile(source):
            unpacked = scratch / f"zip{index}"
            unpacked.mkdir(parents=True)
            extract_zip_safely(source, unpacked)
            files.extend(p for p in sorted(unpacked.rglob("*")) if p.is_file() and not _skippable(p))
        else:
            files.append(source)
    if not files:
        raise ImportRejected("no files to import")
    return files


@dataclass
class FileFacts:
    path: Path
    dataset: Dataset  # header only (pixel data removed)
    transfer_syntax: str
    pixel_data_offset: int | None
    frame_length: int | None

    @property
    def sop_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)


def _pixel_layout(raw_pixel, ds: Dataset, transfer_syntax: UID) -> tuple[int | None, int | None]:
    """Where native pixel data starts and how long one frame is; (None, None) when not native."""
    if raw_pixel is None or transfer_syntax.is_compressed or transfer_syntax.is_deflated:
        return None, None
    if not hasattr(raw_pixel, "value_tell"):  # already decoded: no file offset to record
        return None, None
    bits = int(ds.get("BitsAllocated", 0))
    if bits % 8:
        return None, None  # 1-bit data does not split into whole-byte frames
    frame = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if raw_pixel.length == 0xFFFFFFFF or raw_pixel.length < frame * frames:
        return None, None
    return int(raw_pixel.value_tell), frame


def read_file_facts(path: Path) -> FileFacts:
    try:
        # Large values stay on disk; the pixel data element then tells where its bytes start.
        ds = pydicom.dcmread(path, defer_size=4096)
    except (InvalidDicomError, EOFError, OSError, ValueError) as exc:
        raise ImportRejected(f"{path.name} is not a DICOM file ({exc})") from exc
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = str(ds.get(keyword, "") or "")
        if not value:
            raise ImportRejected(f"{path.name} has no {keyword}")
        if not is_valid_uid(value):
            raise ImportRejected(f"{path.name} has a malformed {keyword} {value!r}")
    transfer_syntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2")))
    raw_pixel = ds.get_item(0x7FE00010, keep_deferred=True)
    offset, frame_length = _pixel_layout(raw_pixel, ds, transfer_syntax)
    if raw_pixel is not None:
        del ds[0x7FE00010]
    return FileFacts(path, ds, str(transfer_syntax), offset, frame_length)


def series_geometry(headers: list[Dataset], modality: str) -> tuple[bool, str, dict, list[float | None]]:
    """(is_volume, reason if not, geometry summary, position per header) for one series."""
    positions: list[float | None] = []
    for ds in headers:
        try:
            positions.append(sort_key_along_normal(ds))
        except (AttributeError, TypeError, ValueError, IndexError):
            positions.append(None)
    if modality not in {"CT", "MR", "PT", "NM"}:
        return False, f"{modality} images are projections, not a volume", {}, positions
    try:
        geometry, _ = check_geometry(headers)
    except NotAVolume as exc:
        return False, str(exc), {}, positions
    return True, "", geometry.summary(), positions


def instance_json(facts: FileFacts, study_uid: str, series_uid: str) -> dict:
    """DICOM JSON of one instance, PixelData replaced by a BulkDataURI under the DICOMweb root."""
    ds = facts.dataset
    body = ds.to_json_dict(bulk_data_threshold=1 << 30)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    frame_list = ",".join(str(i) for i in range(1, frames + 1))
    uri = f"{ROOT_PLACEHOLDER}studies/{study_uid}/series/{series_uid}/instances/{facts.sop_uid}/frames/{frame_list}"
    if "Rows" in ds:
        body["7FE00010"] = {"vr": "OW" if int(ds.get("BitsAllocated", 16)) > 8 else "OB", "BulkDataURI": uri}
    body["00083002"] = {"vr": "UI", "Value": [facts.transfer_syntax]}
    return body


def series_metadata_text(items: list[dict]) -> str:
    return json.dumps(items, separators=(",", ":"))


def as_paths(paths_or_zip: str | PathLike[str] | Iterable[str | PathLike[str]]) -> list[Path]:
    if isinstance(paths_or_zip, (str, PathLike)):
        return [Path(paths_or_zip)]
    return [Path(p) for p in paths_or_zip]
