"""The JSON API: session and token auth, OpenAPI schema, interactive docs, JSON errors."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from webapp.core.roles import EDUCATORS, READERS

pytestmark = pytest.mark.django_db


def test_api_requires_authentication_with_a_json_message(client):
    response = client.get("/api/me/")
    assert response.status_code in (401, 403)
    assert "credentials" in response.json()["detail"].lower()


def test_token_authentication(client, role_user):
    user = role_user("tok", EDUCATORS, READERS)
    token = Token.objects.create(user=user)
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json() == {"username": "tok", "roles": sorted([EDUCATORS, READERS])}


def test_session_authentication(client, role_user):
    client.force_login(role_user("sess", READERS))
    assert client.get("/api/me/").json()["roles"] == [READERS]


def test_openapi_schema_lists_the_endpoints(client, role_user):
    client.force_login(role_user("s", READERS))
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/me/" in schema["paths"] and "/api/jobs/" in schema["paths"]


def test_interactive_docs_are_served_without_a_cdn(client, role_user):
    client.force_login(role_user("d", READERS))
    page = client.get("/api/docs/").content.decode()
    assert "swagger" in page.lower()
    assert "cdn." not in page and "jsdelivr" not in page


def test_malformed_json_body_is_a_400(client, role_user):
    client.force_login(role_user("m", EDUCATORS))
    response = client.post("/api/jobs/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
