"""DICOMweb views under /dicomweb/: QIDO-RS, WADO-RS and WADO-URI (thin: selectors do the reads)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse

from webapp.dicom import dicomweb_qido as qido
from webapp.dicom.dicomweb_frames import frames_payload
from webapp.dicom.dicomweb_http import (
    DicomWebError,
    dicomweb_view,
    json_response,
    multipart_content_type,
    multipart_parts,
    new_boundary,
    require_uid,
)
from webapp.dicom.ingest import ROOT_PLACEHOLDER
from webapp.dicom.models import Instance, Series
from webapp.dicom.selectors import (
    instance_get_for_user,
    series_get_for_user,
    studies_visible_to,
    study_get_for_user,
)

CACHE_IMMUTABLE = "private, max-age=86400"  # a SOP Instance UID never changes content


def dicomweb_root(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("dicomweb:root"))


def _page(qs, query: qido.Query) -> list:
    return list(qs[query.offset : query.offset + query.limit])


def _warning(query: qido.Query) -> str | None:
    return f"ignored unsupported matching keys: {', '.join(query.ignored)}" if query.ignored else None


# ---- QIDO-RS -------------------------------------------------------------------------------------


@dicomweb_view
def search_studies(request: HttpRequest) -> HttpResponse:
    query = qido.parse_query(request.GET, qido.STUDY_MATCHERS)
    studies = qido.annotate_study_counts(studies_visible_to(request.user).filter(query.filters))
    studies = studies.order_by("-study_date", "study_instance_uid")
    root = dicomweb_root(request)
    return json_response([qido.study_json(s, root) for s in _page(studies, query)], warning=_warning(query))


def _series_queryset(request: HttpRequest, study_uid: str | None) -> Q:
    if study_uid is None:
        return Q(study__in=studies_visible_to(request.user))
    study = study_get_for_user(user=request.user, study_uid=require_uid(study_uid, "StudyInstanceUID"))
    return Q(study=study)


@dicomweb_view
def search_series(request: HttpRequest, study_uid: str | None = None) -> HttpResponse:
    scope = _series_queryset(request, study_uid)
    query = qido.parse_query(request.GET, qido.SERIES_MATCHERS)
    series = (
        Series.objects.filter(scope)
        .filter(query.filters)
        .select_related("study")
        .defer("metadata_json")
        .order_by("study_id", "series_number", "id")
        .distinct()
    )
    root = dicomweb_root(request)
    return json_response([qido.series_json(s, root) for s in _page(series, query)], warning=_warning(query))


@dicomweb_view
def search_instances(request: HttpRequest, study_uid: str | None = None, series_uid: str | None = None) -> HttpResponse:
    if series_uid is not None:
        series = series_get_for_user(
            user=request.user,
            study_uid=require_uid(study_uid, "StudyInstanceUID"),
            series_uid=require_uid(series_uid, "SeriesInstanceUID"),
        )
        scope = Q(series=series)
    else:
        scope = Q(series__in=Series.objects.filter(_series_queryset(request, study_uid)))
    query = qido.parse_query(request.GET, qido.INSTANCE_MATCHERS)
    instances = (
        Instance.objects.filter(scope)
        .filter(query.filters)
        .select_related("series__study")
        .defer("series__metadata_json")
        .order_by("series_id", "position", "instance_number", "id")
        .distinct()
    )
    root = dicomweb_root(request)
    return json_response([qido.instance_json(i, root) for i in _page(instances, query)], warning=_warning(query))


# ---- WADO-RS metadata ----------------------------------------------------------------------------


def _metadata_text(series: Series, root: str) -> str:
    return series.metadata_json.replace(ROOT_PLACEHOLDER, root) if series.metadata_json else "[]"


@dicomweb_view
def series_metadata(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    series = series_get_for_user(
        user=request.user,
        study_uid=require_uid(study_uid, "StudyInstanceUID"),
        series_uid=require_uid(series_uid, "SeriesInstanceUID"),
        with_metadata=True,
    )
    response = json_response(_metadata_text(series, dicomweb_root(request)))
    response["Cache-Control"] = CACHE_IMMUTABLE
    return response


@dicomweb_view
def study_metadata(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = study_get_for_user(user=request.user, study_uid=require_uid(study_uid, "StudyInstanceUID"))
    root = dicomweb_root(request)
    # Each series is stored as a JSON array; splice them into one array without re-parsing.
    bodies = [_metadata_text(s, root).strip()[1:-1] for s in study.series.order_by("series_number", "id")]
    return json_response("[" + ",".join(b for b in bodies if b) + "]")


@dicomweb_view
def instance_metadata(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> HttpResponse:
    instance = instance_get_for_user(
        user=request.user,
        study_uid=require_uid(study_uid, "StudyInstanceUID"),
        series_uid=require_uid(series_uid, "SeriesInstanceUID"),
        sop_uid=require_uid(sop_uid, "SOPInstanceUID"),
    )
    series = Series.objects.only("metadata_json").get(pk=instance.series_id)
    items = json.loads(_metadata_text(series, dicomweb_root(request)))
    match = [item for item in items if item.get("00080018", {}).get("Value") == [sop_uid]]
    return json_response(match)


# ---- WADO-RS bulk data ---------------------------------------------------------------------------


def _parse_frames(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError as exc:
        raise DicomWebError(400, f"frame list {text!r} must be comma-separated numbers") from exc
    if not numbers or any(n < 1 for n in numbers):
        raise DicomWebError(400, "frame numbers start at 1")
    return numbers


@dicomweb_view
def instance_frames(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str, frames: str) -> HttpResponse:
    numbers = _parse_frames(frames)
    instance = instance_get_for_user(
        user=request.user,
        study_uid=require_uid(study_uid, "StudyInstanceUID"),
        series_uid=require_uid(series_uid, "SeriesInstanceUID"),
        sop_uid=require_uid(sop_uid, "SOPInstanceUID"),
    )
    if max(numbers) > instance.number_of_frames:
        raise DicomWebError(404, f"the instance has {instance.number_of_frames} frame(s); asked for {max(numbers)}")
    part_type, payloads = frames_payload(instance, numbers, request.headers.get("Accept", ""))
    boundary = new_boundary()
    body = b"".join(multipart_parts(((part_type, p) for p in payloads), boundary))
    response = HttpResponse(body, content_type=multipart_content_type("application/octet-stream", boundary))
    response["Cache-Control"] = CACHE_IMMUTABLE
    return response


def _file(instance: Instance) -> Path:
    return Path(settings.MEDIA_ROOT) / instance.file_path


def _stream_instances(instances: list[Instance]) -> StreamingHttpResponse:
    boundary = new_boundary()
    parts = ((f"application/dicom; transfer-syntax={i.transfer_syntax_uid}", _file(i).read_bytes()) for i in instances)
    return StreamingHttpResponse(
        multipart_parts(parts, boundary), content_type=multipart_content_type("application/dicom", boundary)
    )


@dicomweb_view
def retrieve_instance(request: HttpRequest, study_uid: str, series_uid: str, sop_uid: str) -> HttpResponse:
    instance = instance_get_for_user(
        user=request.user,
        study_uid=require_uid(study_uid, "StudyInstanceUID"),
        series_uid=require_uid(series_uid, "SeriesInstanceUID"),
        sop_uid=require_uid(sop_uid, "SOPInstanceUID"),
    )
    return _stream_instances([instance])


@dicomweb_view
def retrieve_series(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    series = series_get_for_user(
        user=request.user,
        study_uid=require_uid(study_uid, "StudyInstanceUID"),
        series_uid=require_uid(series_uid, "SeriesInstanceUID"),
    )
    return _stream_instances(list(series.instances.all()))


@dicomweb_view
def retrieve_study(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = study_get_for_user(user=request.user, study_uid=require_uid(study_uid, "StudyInstanceUID"))
    return _stream_instances(list(Instance.objects.filter(series__study=study).order_by("series_id", "position", "id")))


@dicomweb_view
def root(request: HttpRequest) -> HttpResponse:
    return json_response({"detail": "DICOMweb root: QIDO-RS studies/series/instances, WADO-RS, WADO-URI at wado"})
