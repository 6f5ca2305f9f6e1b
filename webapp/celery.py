"""The Celery application. Queues: `gpu` (generation; a CPU-only worker serves it too) and `cpu`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("radsynth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
