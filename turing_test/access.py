"""The DICOM access rule: a reader may open the presentation copies of items in their own open,
unsubmitted assignment — nothing else (webapp.dicom.access applies rules to presentation copies only)."""

from __future__ import annotations

from django.db.models import Q

RULE_NAME = "turing_test.assigned_reader"


def _reader_items_q(user) -> Q:
    from turing_test.models import Assignment, Study

    return Q(
        turing_presented_items__entries__assignment__reader_id=user.pk,
        turing_presented_items__entries__assignment__status__in=[Assignment.Status.ASSIGNED, Assignment.Status.ACTIVE],
        turing_presented_items__study__status=Study.Status.OPEN,
    )


def reader_may_open(user, study) -> bool:
    from webapp.dicom.models import Study as DicomStudy

    if not getattr(user, "is_authenticated", False):
        return False
    return DicomStudy.objects.filter(pk=study.pk).filter(_reader_items_q(user)).exists()


def reader_visible_q(user) -> Q:
    from webapp.dicom.models import Study as DicomStudy

    ids = DicomStudy.objects.filter(_reader_items_q(user)).values("pk")
    return Q(pk__in=ids)


def register_reader_access() -> None:
    from webapp.dicom.access import register_study_access_rule

    register_study_access_rule(RULE_NAME, allows=reader_may_open, visible=reader_visible_q, sources=("presentation",))
