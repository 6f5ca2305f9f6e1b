"""WADO-URI (PS3.18 §9): one instance by UIDs in the query string, as DICOM or a rendered image."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from PIL import Image

from webapp.dicom.codec_geometry import rescaled_pixels
from webapp.dicom.dicomweb_http import DicomWebError, dicomweb_view, require_uid
from webapp.dicom.selectors import instance_get_for_user

RENDERED = {"image/jpeg": "JPEG", "image/png": "PNG"}


def _number(request: HttpRequest, name: str, default: float | None) -> float | None:
    value = request.GET.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise DicomWebError(400, f"{name} must be a number") from exc


def _render(path: Path, request: HttpRequest, fmt: str) -> bytes:
    ds = pydicom.dcmread(path)
    frame = int(_number(request, "frameNumber", 1) or 1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 1 <= frame <= frames:
        raise DicomWebError(400, f"frameNumber must be between 1 and {frames}")
    pixels = rescaled_pixels(ds)
    if frames > 1:
        pixels = pixels[frame - 1]
    center = _number(request, "windowCenter", None)
    width = _number(request, "windowWidth", None)
    if center is None or width is None:
        low, high = np.percentile(pixels, [0.5, 99.5])
        center, width = (low + high) / 2, max(high - low, 1.0)
    scaled = np.clip((pixels - (center - width / 2)) / width, 0, 1) * 255
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        scaled = 255 - scaled
    out = io.BytesIO()
    Image.fromarray(scaled.astype(np.uint8)).save(out, format=fmt)
    return out.getvalue()


@dicomweb_view
def wado_uri(request: HttpRequest) -> HttpResponse:
    if request.GET.get("requestType") != "WADO":
        raise DicomWebError(400, "requestType=WADO is required")
    missing = [k for k in ("studyUID", "seriesUID", "objectUID") if not request.GET.get(k)]
    if missing:
        raise DicomWebError(400, f"missing {', '.join(missing)}")
    content_type = request.GET.get("contentType", "image/jpeg").split(";")[0].strip()
    if content_type != "application/dicom" and content_type not in RENDERED:
        raise DicomWebError(406, "contentType must be application/dicom, image/jpeg or image/png")
    instance = instance_get_for_user(
        user=request.user,
        study_uid=require_uid(request.GET["studyUID"], "studyUID"),
        series_uid=require_uid(request.GET["seriesUID"], "seriesUID"),
        sop_uid=require_uid(request.GET["objectUID"], "objectUID"),
    )
    path = Path(settings.MEDIA_ROOT) / instance.file_path
    if content_type == "application/dicom":
        response = FileResponse(open(path, "rb"), content_type="application/dicom")
        response["Content-Disposition"] = f'attachment; filename="{instance.sop_instance_uid}.dcm"'
        return response
    return HttpResponse(_render(path, request, RENDERED[content_type]), content_type=content_type)
