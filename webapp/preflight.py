"""Start-up checks: an unreachable database or broker gives one clear line, not a traceback.

Runs before Django is set up (from manage.py), so it only reads the environment and opens sockets.
"""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

from webapp.env import VAR_DIR, default_broker_url, default_database_url, env_str

# Commands that need the database and broker; `help`, `check`, `test` etc. do not.
SERVER_COMMANDS = {"runserver", "migrate", "seed_demo", "run_stack", "generate", "import_dicom"}
DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6380, "amqp": 5672}


class PreflightError(RuntimeError):
    """Raised with a one-line, actionable explanation."""


def _reachable(host: str, port: int, timeout: float = 2.0) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_database(url: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return
    if scheme not in DEFAULT_PORTS:
        raise PreflightError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite:///)")
    host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[scheme]
    problem = _reachable(host, port)
    if problem:
        raise PreflightError(
            f"cannot reach the database at {host}:{port} ({problem}); start PostgreSQL or "
            "fix DATABASE_URL (unset it to use the embedded SQLite database)"
        )


def check_broker(url: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in {"filesystem", "memory", "sqla", "db"}:
        return
    if scheme not in DEFAULT_PORTS:
        raise PreflightError(f"CELERY_BROKER_URL scheme {parts.scheme!r} is not supported")
    host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[scheme]
    problem = _reachable(host, port)
    if problem:
        raise PreflightError(
            f"cannot reach the Celery broker at {host}:{port} ({problem}); start Redis or fix "
            "CELERY_BROKER_URL (unset it to use the embedded filesystem broker)"
        )


def preflight() -> None:
    check_database(env_str("DATABASE_URL", default_database_url()))
    check_broker(env_str("CELERY_BROKER_URL", default_broker_url()))


def preflight_or_exit(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in SERVER_COMMANDS:
        return
    try:
        preflight()
    except PreflightError as exc:
        print(f"RadSynth: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
