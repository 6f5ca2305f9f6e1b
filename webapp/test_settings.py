"""Settings for the test suite: real PostgreSQL and Redis when they are reachable.

Locally a missing server falls back to the embedded defaults (SQLite, filesystem broker) with a
note; in CI (CI=true) a missing server is an error, never a silent skip.
"""

from __future__ import annotations

import os
import tempfile

from webapp.testing_services import choose_test_services

os.environ.update(choose_test_services())
os.environ.setdefault("RADSYNTH_ENV", "test")
# Test outputs go to a throw-away folder; worker processes inherit it through the environment.
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="radsynth-test-media-"))

from webapp.settings import *  # noqa: E402,F403
from webapp.settings import DATABASES, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so worker processes started by tests see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-radsynth.sqlite3")}
# live_server threads must not keep connections open, or the test database cannot be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
