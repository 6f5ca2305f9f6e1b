"""The one decorator every RadSynth Celery task uses.

Tasks take keyword-only primary keys, re-fetch their rows and skip work already done, so running
one twice is harmless. `acks_late` + `reject_on_worker_lost` put a task back on the queue when the
worker process dies mid-task; the job layer adds its own recovery for a killed main process.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import shared_task

# Task name -> queue; read by the router in webapp/celery.py (the `queue` task attribute is
# deprecated in Celery 5, routes are the supported way).
TASK_QUEUES: dict[str, str] = {}


def radsynth_task(*, queue: str = "cpu", **options) -> Callable:
    options.setdefault("acks_late", True)
    options.setdefault("reject_on_worker_lost", True)

    def decorator(func: Callable):
        task = shared_task(**options)(func)
        TASK_QUEUES[task.name] = queue
        return task

    return decorator


def route_task(name, args, kwargs, options, task=None, **kw):
    queue = TASK_QUEUES.get(name)
    return {"queue": queue} if queue else None


@radsynth_task(queue="cpu", name="core.ping")
def ping(*, token: str) -> dict:
    """Round-trip check used by /healthz and the worker tests: proves a worker process ran it."""
    import os
    import socket

    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}
