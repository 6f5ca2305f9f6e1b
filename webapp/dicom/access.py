"""Who may open a study: owners, study admins and superusers, plus rules other apps register.

The Visual Turing Test app registers a rule letting a reader open the presentation copies assigned
to them. Registered rules only ever apply to the study sources they name (by default presentation
copies), so a buggy rule cannot expose a reader to an original real or synthetic study.

    from webapp.dicom.access import register_study_access_rule
    register_study_access_rule(
        "turing_test.assigned_reader",
        allows=lambda user, study: Assignment.objects.filter(reader=user, items__study=study).exists(),
        visible=lambda user: Q(pk__in=...),   # optional, for listings
    )
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q

from webapp.core.roles import STUDY_ADMINS, has_role

Allows = Callable[[object, object], bool]
Visible = Callable[[object], Q]


@dataclass(frozen=True)
class StudyAccessRule:
    name: str
    allows: Allows
    visible: Visible | None
    sources: frozenset[str]


_RULES: dict[str, StudyAccessRule] = {}


def register_study_access_rule(
    name: str,
    *,
    allows: Allows,
    visible: Visible | None = None,
    sources: Iterable[str] = ("presentation",),
) -> None:
    """Add (or replace, by name) a rule; call it from your AppConfig.ready()."""
    _RULES[name] = StudyAccessRule(name=name, allows=allows, visible=visible, sources=frozenset(sources))


def unregister_study_access_rule(name: str) -> None:
    _RULES.pop(name, None)


def registered_rules() -> list[StudyAccessRule]:
    return list(_RULES.values())


def is_study_manager(user) -> bool:
    """Sees every study: superusers and study admins."""
    return bool(user.is_authenticated and (user.is_superuser or has_role(user, STUDY_ADMINS)))


def study_access_check(user, study) -> bool:
    """True when ``user`` may read ``study`` (its DICOM, viewer page and report)."""
    if not user.is_authenticated:
        return False
    if study.owner_id is not None and study.owner_id == user.pk:
        return True
    if is_study_manager(user):
        return True
    return any(rule.allows(user, study) for rule in _RULES.values() if study.source in rule.sources)


def visible_studies_q(user) -> Q | None:
    """Filter for listings; None means every study."""
    if is_study_manager(user):
        return None
    q = Q(owner_id=user.pk)
    for rule in _RULES.values():
        if rule.visible is not None:
            q |= rule.visible(user) & Q(source__in=rule.sources)
    return q
