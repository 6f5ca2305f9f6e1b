"""Frame bytes for WADO-RS: native data read straight from the stored offset, compressed via pydicom."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pydicom
from django.conf import settings
from pydicom.encaps import get_frame
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from webapp.dicom.dicomweb_http import DicomWebError
from webapp.dicom.models import Instance

NATIVE_LITTLE_ENDIAN = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}


def _requested_syntaxes(accept: str) -> set[str]:
    """Transfer syntaxes an Accept header names for octet-stream parts; '*' when it names none."""
    found = set(re.findall(r"transfer-syntax\s*=\s*\"?([0-9.*]+)", accept))
    return found or {"*"}


def _read_native(instance: Instance, numbers: list[int]) -> list[bytes]:
    # pread at the offset recorded at import: no DICOM parsing on the hot path.
    fd = os.open(Path(settings.MEDIA_ROOT) / instance.file_path, os.O_RDONLY)
    try:
        length = int(instance.frame_length)
        start = int(instance.pixel_data_offset)
        return [os.pread(fd, length, start + (n - 1) * length) for n in numbers]
    finally:
        os.close(fd)


def _read_encapsulated(instance: Instance, numbers: list[int]) -> list[bytes]:
    ds = pydicom.dcmread(Path(settings.MEDIA_ROOT) / instance.file_path)
    return [get_frame(ds.PixelData, n - 1, number_of_frames=instance.number_of_frames) for n in numbers]


def _decode(instance: Instance, numbers: list[int]) -> list[bytes]:
    ds = pydicom.dcmread(Path(settings.MEDIA_ROOT) / instance.file_path)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # no decoder for this syntax in this installation
        raise DicomWebError(406, f"cannot transcode {instance.transfer_syntax_uid} here; accept transfer-syntax=*") from exc
    if instance.number_of_frames == 1:
        pixels = pixels[None]
    return [pixels[n - 1].astype(pixels.dtype.newbyteorder("<")).tobytes() for n in numbers]


def frames_payload(instance: Instance, numbers: list[int], accept: str) -> tuple[str, list[bytes]]:
    """(part Content-Type with transfer-syntax=, frame payloads); the loader reads that parameter."""
    stored = UID(instance.transfer_syntax_uid)
    wanted = _requested_syntaxes(accept)
    native = instance.pixel_data_offset is not None and instance.frame_length
    if "*" in wanted or stored in wanted:
        syntax = stored
    elif stored in NATIVE_LITTLE_ENDIAN and wanted & NATIVE_LITTLE_ENDIAN:
        # Native little-endian pixel bytes are the same in either VR encoding.
        syntax = ExplicitVRLittleEndian if ExplicitVRLittleEndian in wanted else ImplicitVRLittleEndian
    elif wanted & NATIVE_LITTLE_ENDIAN:
        return f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}", _decode(instance, numbers)
    else:
        raise DicomWebError(406, f"frames are available as {stored} or Explicit VR Little Endian")
    if native:
        payloads = _read_native(instance, numbers)
    elif stored.is_encapsulated:
        payloads = _read_encapsulated(instance, numbers)
    else:
        return f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}", _decode(instance, numbers)
    return f"application/octet-stream; transfer-syntax={syntax}", payloads
