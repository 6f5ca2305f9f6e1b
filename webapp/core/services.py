"""Writes for accounts and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from webapp.core.roles import ALL_ROLES, EDUCATORS, READERS, STUDY_ADMINS

DEMO_PASSWORD = "radsynth-demo"
# (username, roles, description) — printed by `make run`.
DEMO_ACCOUNTS = (
    ("reader1", (READERS,), "radiologist who rates studies"),
    ("reader2", (READERS,), "a second reader, for agreement statistics"),
    ("educator", (EDUCATORS,), "generates images and writes teaching cases"),
    ("studyadmin", (STUDY_ADMINS,), "builds Visual Turing Tests and exports statistics"),
)


def roles_ensure() -> dict[str, Group]:
    return {name: Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES}


@transaction.atomic
def user_create_with_roles(*, username: str, password: str, roles: tuple[str, ...], email: str = "") -> object:
    """Create the user or bring an existing one to exactly these roles (idempotent)."""
    groups = roles_ensure()
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    user.groups.remove(*[g for name, g in groups.items() if name not in roles])
    user.groups.add(*[groups[name] for name in roles])
    return user


def demo_accounts_ensure() -> list[dict]:
    accounts = []
    for username, roles, description in DEMO_ACCOUNTS:
        user_create_with_roles(username=username, password=DEMO_PASSWORD, roles=roles)
        accounts.append({"username": username, "password": DEMO_PASSWORD, "roles": roles, "description": description})
    return accounts
