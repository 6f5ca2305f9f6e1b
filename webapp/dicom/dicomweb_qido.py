"""QIDO-RS: query parameters to ORM filters, index rows to DICOM JSON.

Matching follows PS3.18 §8.3.4 where the index can answer it: single values, UID lists,
wildcards (* and ?) in PatientName/PatientID/descriptions, and date ranges. Attribute keys may be
keywords or 8-digit tags. Malformed values are a 400; valid DICOM attributes the index cannot
match are ignored with a Warning header, as the standard allows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from webapp.dicom.dicomweb_http import DicomWebError
from webapp.dicom.ingest import is_valid_uid
from webapp.dicom.models import Instance, Series, Study

MAX_LIMIT = 1000
CONTROL_KEYS = {"limit", "offset", "includefield", "fuzzymatching"}


@dataclass
class Query:
    filters: Q = field(default_factory=Q)
    limit: int = 100
    offset: int = 0
    include_all: bool = False
    include: set[str] = field(default_factory=set)  # keywords
    ignored: list[str] = field(default_factory=list)


def _keyword(key: str) -> str:
    """Keyword for a query key given as keyword or 8-hex-digit tag; 400 when it is neither."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        keyword = keyword_for_tag(int(key, 16))
        if keyword:
            return keyword
    elif tag_for_keyword(key) is not None:
        return key
    raise DicomWebError(400, f"unknown query attribute {key!r}")


def _wildcard(field_name: str, value: str) -> Q:
    if "*" not in value and "?" not in value:
        return Q(**{f"{field_name}__iexact": value})
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return Q(**{f"{field_name}__iregex": f"^{pattern}$"})


def _uid_list(field_name: str, value: str) -> Q:
    uids = [u for u in re.split(r"[,\\]", value) if u]
    for uid in uids:
        if not is_valid_uid(uid):
            raise DicomWebError(400, f"{uid!r} is not a valid DICOM UID")
    return Q(**{f"{field_name}__in": uids})


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError as exc:
        raise DicomWebError(400, f"{text!r} is not a DICOM date (YYYYMMDD)") from exc


def _date_range(field_name: str, value: str) -> Q:
    if "-" not in value:
        return Q(**{field_name: _date(value)})
    start, _, end = value.partition("-")
    if not start and not end:
        raise DicomWebError(400, "a date range needs at least one end")
    q = Q()
    if start:
        q &= Q(**{f"{field_name}__gte": _date(start)})
    if end:
        q &= Q(**{f"{field_name}__lte": _date(end)})
    return q


def _modalities(prefix: str, value: str) -> Q:
    codes = [m.strip().upper() for m in re.split(r"[,\\]", value) if m.strip()]
    if not codes or any(not re.fullmatch(r"[A-Z0-9_]{1,16}", m) for m in codes):
        raise DicomWebError(400, f"{value!r} is not a list of modality codes")
    return Q(**{f"{prefix}modality__in": codes})


def _int(value: str, what: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value):
        raise DicomWebError(400, f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


Matcher = Callable[[str], Q]

# Per level: keyword -> matcher over that level's queryset.
STUDY_MATCHERS: dict[str, Matcher] = {
    "StudyInstanceUID": lambda v: _uid_list("study_instance_uid", v),
    "PatientID": lambda v: _wildcard("patient_id", v),
    "PatientName": lambda v: _wildcard("patient_name", v),
    "AccessionNumber": lambda v: _wildcard("accession_number", v),
    "StudyDescription": lambda v: _wildcard("description", v),
    "StudyID": lambda v: _wildcard("study_id", v),
    "StudyDate": lambda v: _date_range("study_date", v),
    "ModalitiesInStudy": lambda v: _modalities("series__", v),
}
SERIES_MATCHERS: dict[str, Matcher] = {
    **{k: (lambda v, m=m: _prefix(m(v), "study__")) for k, m in STUDY_MATCHERS.items() if k != "ModalitiesInStudy"},
    "SeriesInstanceUID": lambda v: _uid_list("series_instance_uid", v),
    "Modality": lambda v: _modalities("", v),
    "SeriesNumber": lambda v: Q(series_number=_int(v, "SeriesNumber")),
    "SeriesDescription": lambda v: _wildcard("series_description", v),
}
INSTANCE_MATCHERS: dict[str, Matcher] = {
    **{k: (lambda v, m=m: _prefix(m(v), "series__")) for k, m in SERIES_MATCHERS.items()},
    "SOPInstanceUID": lambda v: _uid_list("sop_instance_uid", v),
    "SOPClassUID": lambda v: _uid_list("sop_class_uid", v),
    "InstanceNumber": lambda v: Q(instance_number=_int(v, "InstanceNumber")),
}


def _prefix(q: Q, prefix: str) -> Q:
    """Re-root a Q on a related model (children may be nested Qs or (lookup, value) pairs)."""
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    clone.children = [
        _prefix(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1]) for child in q.children
    ]
    return clone


def parse_query(params, matchers: dict[str, Matcher]) -> Query:
    query = Query()
    for key in params:
        values = params.getlist(key)
        if key == "limit":
            query.limit = min(_int(values[-1], "limit"), MAX_LIMIT)
        elif key == "offset":
            query.offset = _int(values[-1], "offset")
        elif key == "fuzzymatching":
            if values[-1] not in {"true", "false"}:
                raise DicomWebError(400, "fuzzymatching must be true or false")
        elif key == "includefield":
            for item in (part for value in values for part in value.split(",") if part):
                if item == "all":
                    query.include_all = True
                else:
                    query.include.add(_keyword(item))
        else:
            keyword = _keyword(key)
            value = values[-1]
            if keyword in matchers:
                if value:  # an empty value is "return this attribute", not a filter
                    query.filters &= matchers[keyword](value)
                query.include.add(keyword)
            else:
                query.ignored.append(keyword)
    return query


# ---- DICOM JSON for index rows ------------------------------------------------------------------


def _attr(keyword: str, value) -> tuple[str, dict]:
    tag = f"{tag_for_keyword(keyword):08X}"
    vr = dictionary_VR(keyword)
    if value in (None, "", []):
        return tag, {"vr": vr}
    if vr == "PN":
        return tag, {"vr": vr, "Value": [{"Alphabetic": str(value)}]}
    values = value if isinstance(value, list) else [value]
    return tag, {"vr": vr, "Value": values}


def _dataset(pairs: list[tuple[str, object]]) -> dict:
    return dict(sorted(_attr(k, v) for k, v in pairs))


def study_json(study: Study, root: str) -> dict:
    return _dataset(
        [
            ("SpecificCharacterSet", "ISO_IR 192"),
            ("StudyDate", study.study_date.strftime("%Y%m%d") if study.study_date else ""),
            ("StudyTime", study.study_time),
            ("AccessionNumber", study.accession_number),
            ("ModalitiesInStudy", study.modality_list),
            ("ReferringPhysicianName", study.referring_physician_name),
            ("StudyDescription", study.description),
            ("PatientName", study.patient_name),
            ("PatientID", study.patient_id),
            ("PatientBirthDate", study.patient_birth_date),
            ("PatientSex", study.patient_sex),
            ("StudyInstanceUID", study.study_instance_uid),
            ("StudyID", study.study_id),
            ("NumberOfStudyRelatedSeries", getattr(study, "n_series", None)),
            ("NumberOfStudyRelatedInstances", getattr(study, "n_instances", None)),
            ("RetrieveURL", f"{root}studies/{study.study_instance_uid}"),
        ]
    )


def series_json(series: Series, root: str) -> dict:
    study_uid = series.study.study_instance_uid
    return _dataset(
        [
            ("SpecificCharacterSet", "ISO_IR 192"),
            ("Modality", series.modality),
            ("SeriesDescription", series.series_description),
            ("StudyInstanceUID", study_uid),
            ("SeriesInstanceUID", series.series_instance_uid),
            ("SeriesNumber", series.series_number),
            ("ViewPosition", series.view_position),
            ("NumberOfSeriesRelatedInstances", series.number_of_instances),
            ("RetrieveURL", f"{root}studies/{study_uid}/series/{series.series_instance_uid}"),
        ]
    )


def instance_json(instance: Instance, root: str) -> dict:
    series = instance.series
    study_uid = series.study.study_instance_uid
    return _dataset(
        [
            ("SpecificCharacterSet", "ISO_IR 192"),
            ("SOPClassUID", instance.sop_class_uid),
            ("SOPInstanceUID", instance.sop_instance_uid),
            ("AvailableTransferSyntaxUID", instance.transfer_syntax_uid),
            ("Modality", series.modality),
            ("StudyInstanceUID", study_uid),
            ("SeriesInstanceUID", series.series_instance_uid),
            ("SeriesNumber", series.series_number),
            ("InstanceNumber", instance.instance_number),
            ("Rows", instance.rows),
            ("Columns", instance.columns),
            ("NumberOfFrames", instance.number_of_frames),
            (
                "RetrieveURL",
                f"{root}studies/{study_uid}/series/{series.series_instance_uid}/instances/{instance.sop_instance_uid}",
            ),
        ]
    )


def annotate_study_counts(studies: QuerySet[Study]) -> QuerySet[Study]:
    return studies.annotate(
        n_series=Count("series", distinct=True), n_instances=Count("series__instances", distinct=True)
    )
