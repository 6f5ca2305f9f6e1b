"""Liveness of the three things a RadSynth site needs: database, broker, at least one worker."""

from __future__ import annotations

import time

from django.db import connection

from webapp.celery import app as celery_app


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return {"ok": False, "error": str(exc).splitlines()[0], "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor, "ms": round(1000 * (time.perf_counter() - started), 1)}


def check_broker() -> dict:
    started = time.perf_counter()
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": str(exc).splitlines()[0]}
    return {"ok": True, "transport": transport, "ms": round(1000 * (time.perf_counter() - started), 1)}


def check_workers(timeout: float = 1.5) -> dict:
    try:
        replies = celery_app.control.ping(timeout=timeout) or []
    except Exception as exc:
        return {"ok": False, "workers": [], "error": str(exc).splitlines()[0]}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": False, "workers": [], "error": f"no worker answered a ping within {timeout} s"}
    return {"ok": True, "workers": names}


def health_report() -> dict:
    database = check_database()
    broker = check_broker()
    workers = check_workers() if broker["ok"] else {"ok": False, "workers": [], "error": "broker down"}
    return {
        "status": "ok" if database["ok"] and broker["ok"] and workers["ok"] else "degraded",
        "database": database,
        "broker": broker,
        "workers": workers,
    }
