"""Fixtures for the DICOM index, DICOMweb and viewer tests: users, a temporary MEDIA_ROOT, studies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # dicom_fixtures, without making tests a package

from dicom_fixtures import write_cxr_pair, write_marker_ct  # noqa: E402


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    Path(settings.MEDIA_ROOT).mkdir()
    return Path(settings.MEDIA_ROOT)


def _user(django_user_model, name: str, group: str | None = None):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username=name, password="pw-" + name)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def owner(db, django_user_model):
    return _user(django_user_model, "olivia", "educators")


@pytest.fixture
def other_user(db, django_user_model):
    return _user(django_user_model, "oscar", "educators")


@pytest.fixture
def study_admin(db, django_user_model):
    return _user(django_user_model, "ada", "study_admins")


@pytest.fixture
def reader(db, django_user_model):
    return _user(django_user_model, "rita", "readers")


@pytest.fixture
def ct_files(tmp_path) -> list[Path]:
    return write_marker_ct(tmp_path / "ct-in")


@pytest.fixture
def ct_study(media_root, owner, ct_files):
    from webapp.dicom.services import study_import

    return study_import(paths_or_zip=ct_files[0].parent, owner=owner, report="FINDINGS: markers.\nIMPRESSION: phantom.")


@pytest.fixture
def cxr_study(media_root, owner, tmp_path):
    from webapp.dicom.services import study_import

    folder = tmp_path / "cxr-in"
    folder.mkdir()
    write_cxr_pair(folder)
    return study_import(paths_or_zip=folder, owner=owner)
