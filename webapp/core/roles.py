"""The three roles of RadSynth, held as Django groups.

Readers rate studies they are assigned to; educators generate images and author teaching cases;
study admins build and run Visual Turing Tests. Superusers hold every role.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

READERS = "readers"
EDUCATORS = "educators"
STUDY_ADMINS = "study_admins"
ALL_ROLES = (READERS, EDUCATORS, STUDY_ADMINS)

ROLE_LABELS = {
    READERS: "Reader",
    EDUCATORS: "Educator",
    STUDY_ADMINS: "Study admin",
}


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ALL_ROLES)
    cached = getattr(user, "_radsynth_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._radsynth_roles = cached
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
