"""Each role logs in and sees its own dashboard; bad input never becomes a 500."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from webapp.core.roles import EDUCATORS, READERS, STUDY_ADMINS
from webapp.core.services import DEMO_ACCOUNTS, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_creates_each_role(django_user_model):
    call_command("seed_demo")
    call_command("seed_demo")
    for username, roles, _ in DEMO_ACCOUNTS:
        user = django_user_model.objects.get(username=username)
        assert set(user.groups.values_list("name", flat=True)) == set(roles)
    assert django_user_model.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).count() == len(DEMO_ACCOUNTS)


@pytest.mark.parametrize(
    ("username", "shown", "hidden"),
    [
        ("reader1", READERS, (EDUCATORS, STUDY_ADMINS)),
        ("educator", EDUCATORS, (READERS, STUDY_ADMINS)),
        ("studyadmin", STUDY_ADMINS, (READERS, EDUCATORS)),
    ],
)
def test_each_demo_role_sees_its_dashboard(client, username, shown, hidden):
    call_command("seed_demo")
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert f'data-role="{shown}"' in page
    for other in hidden:
        assert f'data-role="{other}"' not in page


def test_wrong_password_is_rejected_with_a_message(client):
    call_command("seed_demo")
    response = client.post("/accounts/login/", {"username": "reader1", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_reader_cannot_open_educator_pages(client, role_user):
    user = role_user("r", READERS)
    client.force_login(user)
    response = client.get("/jobs/new/")
    assert response.status_code == 403
    assert "Educator" in response.content.decode()


def test_unknown_page_is_a_404_page_not_a_500(client, role_user):
    client.force_login(role_user("e", EDUCATORS))
    assert client.get("/no/such/page/").status_code == 404
    api = client.get("/api/no-such-endpoint/")
    assert api.status_code == 404 and api.json()["detail"]
