"""Reading configuration from the environment, with the project's development defaults.

Every setting that an operator may change is read here, so `docker/compose.yaml`, the README and
`tests/webapp/test_config.py` can check one list (`DOCUMENTED_VARIABLES`).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RADSYNTH_VAR_DIR", BASE_DIR / "var"))

DOCUMENTED_VARIABLES = (
    "RADSYNTH_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "RADSYNTH_WEIGHTS_DIR",
    "RADSYNTH_TEXT_ENCODERS_DIR",
    "RADSYNTH_VAR_DIR",
    "RADSYNTH_JOB_TIMEOUT_S",
    "RADSYNTH_SECURE_SSL_REDIRECT",
)


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'radsynth.sqlite3'}"


def default_broker_url() -> str:
    # kombu's filesystem transport: a broker that needs no server (see shared/notes).
    return "filesystem://localhost//"
