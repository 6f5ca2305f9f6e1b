"""A task goes through the broker to a separate worker process and its result comes back."""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings

from tests.conftest import IN_CI
from webapp.core.tasks import ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_ping_task_runs_in_a_separate_worker_process(celery_worker_process):
    token = uuid.uuid4().hex
    result = ping.apply_async(kwargs={"token": token}).get(timeout=60, interval=0.1)
    assert result["token"] == token
    assert result["pid"] == celery_worker_process["process"].pid
    assert result["pid"] != os.getpid()


def test_ci_uses_redis_and_postgresql():
    if not IN_CI:
        pytest.skip("only enforced in CI, where .ci/run starts PostgreSQL and Redis")
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_healthz_reports_database_broker_and_worker(client, celery_worker_process):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert celery_worker_process["hostname"] in body["workers"]["workers"]
