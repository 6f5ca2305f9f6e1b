"""Which database and broker the tests use (imported before Django settings)."""

from __future__ import annotations

import os
import sys

from webapp.preflight import _reachable

TEST_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/radsynth"
TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def choose_test_services() -> dict[str, str]:
    chosen: dict[str, str] = {}
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    missing = []
    if not os.environ.get("DATABASE_URL"):
        if _reachable("127.0.0.1", 5432) is None:
            chosen["DATABASE_URL"] = TEST_POSTGRES_URL
        else:
            missing.append("PostgreSQL on 127.0.0.1:5432")
    if not os.environ.get("CELERY_BROKER_URL"):
        if _reachable("127.0.0.1", 6379) is None:
            chosen["CELERY_BROKER_URL"] = TEST_REDIS_URL
        else:
            missing.append("Redis on 127.0.0.1:6379")
    if missing and in_ci:
        raise SystemExit(f"CI needs {' and '.join(missing)}: .ci/run starts them; it could not.")
    if missing:
        print(f"note: {' and '.join(missing)} not reachable; tests use the embedded defaults", file=sys.stderr)
    return chosen
