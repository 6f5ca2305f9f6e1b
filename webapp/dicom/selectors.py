"""Reads of the study index, always through the access rules in access.py."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from webapp.core.roles import STUDY_ADMINS, has_role
from webapp.dicom.access import study_access_check, visible_studies_q
from webapp.dicom.models import Instance, Series, Study

__all__ = [
    "instance_get_for_user",
    "series_get_for_user",
    "series_list_for_study",
    "studies_visible_to",
    "study_access_check",
    "study_get_for_user",
    "viewer_plan",
]


def studies_visible_to(user) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    q = visible_studies_q(user)
    studies = Study.objects.all() if q is None else Study.objects.filter(q)
    return studies.distinct()


def _check(user, study: Study) -> None:
    if not study_access_check(user, study):
        raise PermissionDenied("You may not open this study.")


def study_get_for_user(*, user, study_uid: str) -> Study:
    """The study, or Study.DoesNotExist (unknown UID) / PermissionDenied (not yours)."""
    study = Study.objects.get(study_instance_uid=study_uid)
    _check(user, study)
    return study


def series_list_for_study(*, study: Study) -> QuerySet[Series]:
    return study.series.defer("metadata_json").order_by("series_number", "id")


def series_get_for_user(*, user, study_uid: str, series_uid: str, with_metadata: bool = False) -> Series:
    """The series (its study loaded), or Series.DoesNotExist / PermissionDenied."""
    qs = Series.objects.select_related("study")
    if not with_metadata:
        qs = qs.defer("metadata_json")
    series = qs.get(series_instance_uid=series_uid, study__study_instance_uid=study_uid)
    _check(user, series.study)
    return series


def instance_get_for_user(*, user, study_uid: str, series_uid: str, sop_uid: str) -> Instance:
    """One query for what a frame request needs, then the access check (no query for owners)."""
    instance = (
        Instance.objects.select_related("series__study")
        .defer("series__metadata_json")
        .get(
            sop_instance_uid=sop_uid,
            series__series_instance_uid=series_uid,
            series__study__study_instance_uid=study_uid,
        )
    )
    _check(user, instance.series.study)
    return instance


@dataclass(frozen=True)
class ViewerPlan:
    """What the viewer page shows: a CT volume (3 planes), radiographs (2-up), or why not."""

    mode: str  # "ct" | "cxr" | "none"
    series: list[Series]
    labels: list[str]
    reason: str = ""


FRONTAL_VIEWS = {"PA", "AP"}
LATERAL_VIEWS = {"LL", "RL", "LATERAL", "LAT"}


def viewer_plan(*, study: Study, series_uid: str | None = None) -> ViewerPlan:
    series = list(series_list_for_study(study=study))
    if series_uid:
        series = [s for s in series if s.series_instance_uid == series_uid]
        if not series:
            raise Series.DoesNotExist(f"no series {series_uid} in this study")
    volumes = [s for s in series if s.modality == "CT" and s.is_volume]
    if volumes:
        return ViewerPlan("ct", volumes[:1], [volumes[0].series_description or "CT"])
    cts = [s for s in series if s.modality == "CT"]
    if cts:
        reason = cts[0].not_volume_reason or "the CT series is not a regular volume"
        return ViewerPlan("none", cts[:1], [], f"This CT series cannot be shown in three planes: {reason}.")
    radiographs = [s for s in series if s.modality in {"DX", "CR"}]
    if radiographs:
        frontal = [s for s in radiographs if s.view_position.upper() in FRONTAL_VIEWS]
        lateral = [s for s in radiographs if s.view_position.upper() in LATERAL_VIEWS]
        other = [s for s in radiographs if s not in frontal and s not in lateral]
        chosen = (frontal[:1] + lateral[:1] + other)[:2]
        labels = [
            f"{'Frontal' if s in frontal else 'Lateral' if s in lateral else 'Radiograph'}"
            f"{' ' + s.view_position if s.view_position else ''}"
            for s in chosen
        ]
        return ViewerPlan("cxr", chosen, labels)
    modalities = ", ".join(sorted({s.modality for s in series})) or "no images"
    return ViewerPlan("none", series[:1], [], f"The viewer shows CT volumes and chest radiographs; this study holds {modalities}.")


def study_report_visible(*, user, study: Study) -> bool:
    """The stored report is shown to the study's owner, study admins and superusers only."""
    return bool(user.is_superuser or study.owner_id == user.pk or has_role(user, STUDY_ADMINS))
